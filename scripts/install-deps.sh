#!/usr/bin/env bash
# Install the Debian packages kforge builds and tests with.
#
# Idempotent: each package is checked with `dpkg -s`; apt-get update and
# apt-get install run only when something is missing. Everything comes from
# the distribution's apt repositories, nothing else is downloaded.
# Runs as root, or through sudo when not root.
set -euo pipefail

packages=(
  cmake g++ make pkg-config python3 python3-venv
  libhalide14-0-dev          # Halide 14: the CPU/CUDA code generator
  # MLIR / LLVM 19 for the MLIR backend (codegen/backends/mlir; configure
  # -DKFORGE_MLIR=OFF without them): find_package(MLIR) needs all four
  # (llvm-19-dev's LLVMConfig, mlir-19-tools' mlir-tblgen); ~1.3 GiB.
  libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  libtbb-dev                 # thread pool for generated kernels and the tuner
  libbenchmark-dev           # bench/
  libgtest-dev libgmock-dev  # test/
  libsqlite3-dev             # tuning database
  libpq-dev                  # tuning database on a PostgreSQL server (many tuners, many machines)
  postgresql                 # the server the shared-database tests start on loopback (initdb, pg_ctl)
  openssh-client             # kforge tune --runner ssh://
  openssh-server             # the sshd the SSH runner's tests start on loopback
  libeigen3-dev              # SVD of sparse-rank layers (header-only: emitted libraries link nothing more)
  libxgboost-dev             # the tuner's cost model (gradient-boosted trees)
  libcli11-dev libfmt-dev nlohmann-json3-dev
  llvm-14-tools              # lit.py + FileCheck for test/lit
  chromium                   # headless: the test of kforge report's page (tools.report_chromium)
  clang-14 libclang-rt-14-dev  # libFuzzer + sanitizer runtimes: test/fuzz (scripts/fuzz.sh)
  qemu-user                  # runs arm64 kernels on an x86 host
  g++-aarch64-linux-gnu      # cross-compiles arm64 test programs
)
# arm64 libraries that emitted arm64 libraries and their tests link (Debian
# multiarch: installed side by side with the amd64 ones, used by the cross
# compiler above). The arm64 architecture is added to dpkg when missing.
foreign_arch=arm64
foreign_packages=(
  libtbb-dev:arm64           # TBB for the arm64 kforge runtime
  libgtest-dev:arm64         # GoogleTest for the arm64 unit tests (run under qemu)
)

native_arch="$(dpkg --print-architecture)"
is_installed() {
  # "pkg" means the native (or arch: all) package, "pkg:arch" that architecture's.
  # dpkg-query -W rather than dpkg -s: the latter refuses a bare name once two
  # architectures of it are installed, and accepts removed-but-not-purged ones.
  local name="${1%%:*}" arch="$native_arch"
  [[ "$1" == *:* ]] && arch="${1#*:}"
  local status
  status="$(dpkg-query -W -f='${Architecture} ${db:Status-Abbrev}\n' "$name" 2>/dev/null || true)"
  grep -Eq "^($arch|all) ii" <<<"$status"
}

# PyPI packages Debian lacks (scripts/requirements.txt, pinned), in a venv
# of the checkout's own: .venv/, or $KFORGE_VENV. Rebuilt only when the
# requirements file changes (its hash is kept in the venv).
install_python_deps() {
  local root venv req stamp want
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="${KFORGE_VENV:-$root/.venv}"
  req="$root/scripts/requirements.txt"
  stamp="$venv/kforge-requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -x "$venv/bin/python3" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "install-deps: Python packages of scripts/requirements.txt already in $venv"
    return 0
  fi
  echo "install-deps: installing scripts/requirements.txt into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check --no-deps -r "$req"
  echo "$want" > "$stamp"
}

missing=()
for pkg in "${packages[@]}" "${foreign_packages[@]}"; do
  if ! is_installed "$pkg"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all $((${#packages[@]} + ${#foreign_packages[@]})) packages already installed"
  install_python_deps
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

if [[ "$native_arch" != "$foreign_arch" ]] &&
  ! dpkg --print-foreign-architectures | grep -qx "$foreign_arch"; then
  echo "install-deps: dpkg --add-architecture $foreign_arch"
  "${as_root[@]}" dpkg --add-architecture "$foreign_arch"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
install_python_deps
