#!/usr/bin/env bash
# Configure and build kforge (Release) into $KFORGE_BUILD_DIR (default: build/).
#
#   scripts/build.sh [cmake --build args...]     e.g. scripts/build.sh --target kforge
#
# Installs missing Debian packages first (scripts/install-deps.sh). Other
# scripts source this file and call kforge_build; sourcing only defines
# KFORGE_ROOT, KFORGE_BUILD_DIR and the functions, and changes no shell options.
# Extra configure flags: KFORGE_CMAKE_ARGS="-DKFORGE_BUILD_BENCH=OFF ...".

KFORGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KFORGE_BUILD_DIR="${KFORGE_BUILD_DIR:-build}"
case "$KFORGE_BUILD_DIR" in
  /*) ;;
  *) KFORGE_BUILD_DIR="$KFORGE_ROOT/$KFORGE_BUILD_DIR" ;;
esac
export KFORGE_ROOT KFORGE_BUILD_DIR

kforge_jobs() {
  # At most the number of online CPUs; KFORGE_JOBS overrides.
  echo "${KFORGE_JOBS:-$(nproc)}"
}

kforge_build() (
  # A subshell: strict mode here does not leak into a shell that sourced us.
  set -euo pipefail
  "$KFORGE_ROOT/scripts/install-deps.sh"
  local -a extra=()
  if [[ -n "${KFORGE_CMAKE_ARGS:-}" ]]; then
    read -r -a extra <<<"$KFORGE_CMAKE_ARGS"
  fi
  cmake -S "$KFORGE_ROOT" -B "$KFORGE_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${extra[@]}"
  cmake --build "$KFORGE_BUILD_DIR" -j"$(kforge_jobs)" "$@"
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  kforge_build "$@"
fi
