#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan; build-fuzz/) and runs
# each over its seed corpus in test/fuzz/corpus/<name>/.
#
#   scripts/fuzz.sh               20 s per target (what .ci/run does)
#   scripts/fuzz.sh 600           10 minutes per target
#   scripts/fuzz.sh 60 dsl        one target
#
# New inputs the fuzzer finds go to a scratch corpus, not into the tree; a
# crash, a sanitizer report, a hang (> 10 s per input) or a failed oracle
# stops with the input saved as build-fuzz/artifacts/<name>/crash-* and a
# non-zero exit. Reproduce with: build-fuzz/test/fuzz/kforge_fuzz_<name> <file>.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-20}"
shift || true
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(dsl pack db_record safetensors gguf weights)
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [seconds per target] [dsl|pack|db_record|safetensors|gguf|weights ...]" >&2
  exit 2
fi
"$root/scripts/install-deps.sh"
build="${KFORGE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DKFORGE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
targets=()
for n in "${names[@]}"; do targets+=("kforge_fuzz_$n"); done
cmake --build "$build" -j"${KFORGE_JOBS:-$(nproc)}" --target "${targets[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/kforge-fuzz-corpus-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
# One target per CPU at a time (each libFuzzer run is one process): the
# default 6 x 20 s takes 60 s on 2 cores instead of 120.
fuzz_one() {
  local n="$1"
  local seeds="$root/test/fuzz/corpus/$n"
  local artifacts="$build/artifacts/$n"
  mkdir -p "$scratch/$n" "$artifacts"
  local dict=()
  [[ -f "$root/test/fuzz/$n.dict" ]] && dict=(-dict="$root/test/fuzz/$n.dict")
  if ! "$build/test/fuzz/kforge_fuzz_$n" "$scratch/$n" "$seeds" "${dict[@]}" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 > "$build/fuzz-$n.log" 2>&1; then
    echo "kforge_fuzz_$n failed; the input is in $artifacts/, the log in $build/fuzz-$n.log:" >&2
    tail -n 40 "$build/fuzz-$n.log" >&2
    return 1
  fi
  echo "$n: $(grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$build/fuzz-$n.log" | tr '\n' ' ')"
}
jobs_max="${KFORGE_JOBS:-$(nproc)}"
status=0
running=0
for n in "${names[@]}"; do
  echo "fuzzing $n for ${seconds}s (seeds: $(find "$root/test/fuzz/corpus/$n" -type f | wc -l))"
  fuzz_one "$n" &
  running=$((running + 1))
  if ((running >= jobs_max)); then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n || status=1
  running=$((running - 1))
done
exit "$status"
