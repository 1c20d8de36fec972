#!/usr/bin/env bash
# The test command: build everything (scripts/build.sh), run the whole suite
# with ctest, then a short fuzzing run of every libFuzzer target
# (scripts/fuzz.sh, $KFORGE_FUZZ_SECONDS per target, default 20; 0 skips it).
# Exits non-zero if the build, any test or the fuzzing fails.
# Arguments go to ctest and skip the fuzzing, e.g. scripts/test.sh -R lit
set -euo pipefail
# shellcheck source=scripts/build.sh
source "$(dirname "${BASH_SOURCE[0]}")/build.sh"

kforge_build
ctest --test-dir "$KFORGE_BUILD_DIR" --output-on-failure -j"$(kforge_jobs)" "$@"
fuzz_seconds="${KFORGE_FUZZ_SECONDS:-20}"
if [[ $# -eq 0 && "$fuzz_seconds" != 0 ]]; then
  "$KFORGE_ROOT/scripts/fuzz.sh" "$fuzz_seconds"
fi
