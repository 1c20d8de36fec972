#!/usr/bin/env bash
# Install the Debian packages kforge builds and tests with.
#
# Idempotent: each package is checked with `dpkg -s`; apt-get update and
# apt-get install run only when something is missing. Everything comes from
# the distribution's apt repositories, nothing else is downloaded.
# Runs as root, or through sudo when not root.
set -euo pipefail

packages=(
  cmake g++ make pkg-config python3
  libhalide14-0-dev          # Halide 14: the CPU/CUDA code generator
  libtbb-dev                 # thread pool for generated kernels and the tuner
  libbenchmark-dev           # bench/
  libgtest-dev libgmock-dev  # test/
  libsqlite3-dev             # tuning database
  libcli11-dev libfmt-dev nlohmann-json3-dev
  llvm-14-tools              # lit.py + FileCheck for test/lit
  qemu-user                  # runs arm64 kernels on an x86 host
  g++-aarch64-linux-gnu      # cross-compiles arm64 test programs
)

is_installed() {
  # dpkg -s also succeeds for removed-but-not-purged packages; check the state.
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

missing=()
for pkg in "${packages[@]}"; do
  if ! is_installed "$pkg"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if ((EUID == 0)); then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, no sudo" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
