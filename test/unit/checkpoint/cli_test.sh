#!/usr/bin/env bash
# `kforge inspect` and `kforge delta` on the reference checkpoints
# (make_fixtures.py), and the reference `safetensors` library reading what
# kforge delta wrote.
#   cli_test.sh KFORGE PYTHON FIXTURES
set -euo pipefail
kforge="$1" python="$2" fx="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# inspect: the table names every tensor with its type, shape and what it loads as.
"$kforge" inspect "$fx/ref.gguf" > "$tmp/inspect.txt"
grep -q '^.*ref.gguf: GGUF v3, 22 tensors' "$tmp/inspect.txt" || fail "inspect header: $(head -1 "$tmp/inspect.txt")"
grep -Eq '^quantized.Q4_0 +Q4_0 +\[4, 64\] +144 +int4 g32 f16 scales \(exact\)' "$tmp/inspect.txt" || fail "Q4_0 row"
grep -Eq '^random.Q6_K +Q6_K +\[3, 512\] +1260 +f32 \(converted\)' "$tmp/inspect.txt" || fail "Q6_K row"
grep -q 'kforgetest.tokens = \[3 values: "a", ...\]' "$tmp/inspect.txt" || fail "metadata array"
"$kforge" inspect --json "$fx/ref.safetensors" > "$tmp/inspect.json"
"$python" - "$tmp/inspect.json" <<'PY' || fail "inspect --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["format"] == "safetensors", j["format"]
t = {x["name"]: x for x in j["tensors"]}
assert t["embed.bf16"]["type"] == "BF16" and t["embed.bf16"]["shape"] == [2, 3, 4], t["embed.bf16"]
assert t["position_ids"]["loads_as"] == "not convertible"
assert j["metadata"]["format"] == "pt"
PY

# A file that is not a checkpoint: its path and what is wrong, status 1, no crash.
printf 'hello world, not a checkpoint' > "$tmp/bad.safetensors"
if "$kforge" inspect "$tmp/bad.safetensors" 2> "$tmp/err.txt"; then fail "inspect accepted a bad file"; fi
grep -q "error: $tmp/bad.safetensors: the header length .* runs past the end of the file" "$tmp/err.txt" ||
  fail "bad file message: $(cat "$tmp/err.txt")"

# delta: bit-identical to numpy's, and read back by the reference library.
"$kforge" delta --post "$fx/delta_post.safetensors" --base "$fx/delta_base.safetensors" \
  --new-base "$fx/delta_newbase.safetensors" -o "$tmp/mixed.safetensors" > "$tmp/delta.txt" 2> "$tmp/delta.err"
grep -q "3 tensors mixed (post - base + new base), 1 non-float tensors from the new base" "$tmp/delta.txt" ||
  fail "delta summary: $(cat "$tmp/delta.txt")"
grep -q "delta: 4/4 tensors" "$tmp/delta.err" || fail "delta progress: $(cat "$tmp/delta.err")"
"$python" - "$tmp/mixed.safetensors" "$fx/delta_expected.safetensors" <<'PY' || fail "the safetensors library disagrees"
import sys
from safetensors import deserialize, safe_open
with safe_open(sys.argv[1], "numpy") as got, safe_open(sys.argv[2], "numpy") as want:
    assert got.metadata() == want.metadata(), got.metadata()
# Raw bytes, dtype and shape of every tensor (numpy has no bf16).
got = {name: t for name, t in deserialize(open(sys.argv[1], "rb").read())}
want = {name: t for name, t in deserialize(open(sys.argv[2], "rb").read())}
assert got.keys() == want.keys(), (got.keys(), want.keys())
for k in want:
    for field in ("dtype", "shape", "data"):
        assert got[k][field] == want[k][field], (k, field, got[k][field], want[k][field])
PY

# The output may not be an input: refused, and the input is unchanged.
before="$(sha256sum < "$fx/delta_post.safetensors")"
if "$kforge" delta --post "$fx/delta_post.safetensors" --base "$fx/delta_base.safetensors" \
    --new-base "$fx/delta_newbase.safetensors" -o "$fx/delta_post.safetensors" 2> "$tmp/err.txt"; then
  fail "delta overwrote an input"
fi
grep -q "the output is one of the inputs" "$tmp/err.txt" || fail "same-file message: $(cat "$tmp/err.txt")"
[[ "$(sha256sum < "$fx/delta_post.safetensors")" == "$before" ]] || fail "the input changed"
echo "kforge inspect and delta: ok"
