#!/usr/bin/env bash
# The test command: build everything (scripts/build.sh), then run the whole
# suite with ctest. Exits non-zero if the build or any test fails.
# Arguments go to ctest, e.g. scripts/test.sh -R lit
set -euo pipefail
# shellcheck source=scripts/build.sh
source "$(dirname "${BASH_SOURCE[0]}")/build.sh"

kforge_build
ctest --test-dir "$KFORGE_BUILD_DIR" --output-on-failure -j"$(kforge_jobs)" "$@"
