#!/usr/bin/env bash
# The test suite under sanitizers, in a build directory of its own.
#
#   scripts/sanitize.sh            ASan + UBSan: the whole suite (build-asan/)
#   scripts/sanitize.sh thread     TSan: the runtime's concurrency tests (build-tsan/)
#
# Extra arguments go to ctest (e.g. scripts/sanitize.sh address -R lit).
# kforge's own code is instrumented (KFORGE_SANITIZE, cmake/KforgeWarnings.cmake),
# and so is the runtime every emitted library merges, so tests that emit and
# link a library run it instrumented too; Halide, TBB and generated kernels are
# not. Any report fails its test (-fno-sanitize-recover). Takes about three
# times as long as scripts/test.sh.
set -euo pipefail
mode="${1:-address}"
[[ $# -gt 0 ]] && shift
case "$mode" in
  address)
    export KFORGE_BUILD_DIR="${KFORGE_BUILD_DIR:-build-asan}"
    sanitize="address,undefined"
    build_targets=()
    tests=()
    ;;
  thread)
    export KFORGE_BUILD_DIR="${KFORGE_BUILD_DIR:-build-tsan}"
    sanitize="thread"
    build_targets=(--target kforge_test_lowbit_tests kforge_test_hadamard_tests kforge_test_attention_tests)
    tests=(-R 'Concurrent|OneAndTwoThreads|TwoThreadsAppend')
    ;;
  *)
    echo "usage: scripts/sanitize.sh [address|thread] [ctest args...]" >&2
    exit 2
    ;;
esac
export KFORGE_CMAKE_ARGS="-DKFORGE_SANITIZE=$sanitize -DKFORGE_BUILD_BENCH=OFF ${KFORGE_CMAKE_ARGS:-}"
# Reports go to stderr with a stack; a report is a failure.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tsan.supp}"
# shellcheck source=scripts/build.sh
source "$(dirname "${BASH_SOURCE[0]}")/build.sh"
kforge_build "${build_targets[@]}"
ctest --test-dir "$KFORGE_BUILD_DIR" --output-on-failure -j"$(kforge_jobs)" "${tests[@]}" "$@"
