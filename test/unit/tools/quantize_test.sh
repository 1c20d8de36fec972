#!/usr/bin/env bash
# `kforge quantize` (tools/kforge/Quantize.h) on a small checkpoint written by
# the reference `safetensors` library:
#   1. the report's errors equal a double-precision numpy computation written
#      from docs/formats.md (the quantizers, the levels, dynamic int8 rows):
#      relative error of W and of the layer's output on the sample rows, per
#      kernel of the file, to 1e-6 relative;
#   2. the packed-weights file: header, one layer per matched matrix, packings
#      for the targets asked, directory at the end (the C ABI side, loading and
#      running, is test/unit/runtime/WeightsFileTest.cpp and examples/minilm);
#   3. bad input: status 2 or 1 and a message naming what is wrong, and an
#      existing output file left as it was.
#   quantize_test.sh KFORGE PYTHON
set -euo pipefail
kforge="$1" python="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -x "$python" ]] || fail "no Python venv at $python: run scripts/install-deps.sh"

cat > "$tmp/layers.kf" <<'KF'
kernel q_int4 : lowbit_linear {
  weight int4 shape=[N, K] scale=f16 group=32
  input  f32 rows=M
  output f32
  bias   f32
}
kernel q_int8 : lowbit_linear {
  weight int8 shape=[N, K] scale=f32 group=channel
  input  f32 rows=M
  output f32
}
kernel q_int8a : lowbit_linear {
  weight int8 shape=[N, K] scale=f32 group=channel
  input  int8 rows=M
  output f32
}
kernel q_ternary : lowbit_linear {
  weight ternary shape=[N, K] scale=f32 group=channel
  input  f32 rows=M
  output f32
}
kernel q_fixed : lowbit_linear {
  weight int4 shape=[N=8, K=64] scale=f16 group=32
  input  f32 rows=M
  output f32
}
KF

# The checkpoint (f32 and f16 matrices, a bias, a 1-D tensor the pattern also
# matches) and the sample rows of each layer.
"$python" - "$tmp" <<'PY'
import sys
import numpy as np
from safetensors.numpy import save_file
out = sys.argv[1]
rng = np.random.default_rng(7)
w0 = rng.standard_normal((48, 100)).astype(np.float32)
w0[:, 3] *= 20  # an outlier channel
save_file({
    "blk.0.proj.weight": w0,
    "blk.0.proj.bias": rng.standard_normal(48).astype(np.float32),
    "blk.1.proj.weight": rng.standard_normal((40, 64)).astype(np.float16),
    "blk.1.norm.weight": np.ones(64, np.float32),
}, f"{out}/model.safetensors", {"format": "pt"})
save_file({"blk.0.proj": np.ones((3, 7), np.float32)}, f"{out}/samples_bad.safetensors")
save_file({
    "blk.0.proj": rng.standard_normal((20, 100)).astype(np.float32),
    "blk.1.proj.weight": rng.standard_normal((5, 4, 64)).astype(np.float32),
}, f"{out}/samples.safetensors")
PY

"$kforge" quantize "$tmp/model.safetensors" "$tmp/layers.kf" --no-db -t x86-avx2 -t x86-avx512vnni \
  -l 'blk.0.*=q_int4' -l 'blk.1.*=q_int8' --samples "$tmp/samples.safetensors" --max-samples 12 \
  --report-json "$tmp/report.json" -o "$tmp/model.kfw" > "$tmp/out.txt" 2> "$tmp/err.txt" ||
  fail "quantize: $(cat "$tmp/err.txt")"
grep -q '^\[1/2\] blk.0.proj.weight 48x100 -> q_int4 (quantized): W rel err .*, output rel err .* (12 rows)' "$tmp/out.txt" ||
  fail "progress line: $(cat "$tmp/out.txt")"
grep -q "wrote $tmp/model.kfw: 2 layers, .* for x86-avx2, x86-avx512vnni; .*2 matching tensors that are not matrices skipped" \
  "$tmp/out.txt" || fail "summary: $(tail -1 "$tmp/out.txt")"

"$python" - "$tmp" <<'PY' || fail "report vs the numpy reference"
import json, struct, sys
import numpy as np
from safetensors.numpy import load_file
d = sys.argv[1]
m = load_file(f"{d}/model.safetensors")
s = load_file(f"{d}/samples.safetensors")
rep = json.load(open(f"{d}/report.json"))
assert rep["kforge_quantize_report"] == 1 and rep["targets"] == ["x86-avx2", "x86-avx512vnni"], rep

def round_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)

# docs/formats.md, "From float weights": group statistics in double, the
# scale rounded once to its type, codes round(w / s) half away from zero from
# that rounded scale, in double.
def quantize(w, fmt):
    w = w.astype(np.float64)
    n, k = w.shape
    g, qmax, lo, hi, stat, st = {"int4 g32 f16": (32, 7, -8, 7, "absmax", np.float16),
                                 "int8": (k, 127, -128, 127, "absmax", np.float32),
                                 "int8a": (k, 127, -128, 127, "absmax", np.float32),
                                 "ternary": (k, 1, -1, 1, "meanabs", np.float32)}[fmt]
    out = np.zeros((n, k))
    for c0 in range(0, k, g):
        blk = w[:, c0:c0 + g]
        v = np.abs(blk).max(1) if stat == "absmax" else np.abs(blk).sum(1) / blk.shape[1]
        sc = (v / qmax).astype(st).astype(np.float64)
        safe = np.where(sc == 0, 1, sc)
        q = np.clip(round_away(blk / safe[:, None]), lo, hi)
        out[:, c0:c0 + g] = np.where(sc[:, None] == 0, 0, q * sc[:, None])
    return out

def q8_rows(x):
    x = x.astype(np.float32)
    sc = (np.abs(x).max(1) / np.float32(127)).astype(np.float32)
    safe = np.where(sc == 0, 1, sc)
    q = np.clip(round_away((x / safe[:, None]).astype(np.float32)), -127, 127)
    return q.astype(np.float64) * sc[:, None]

def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)

fmts = {"q_int4": "int4 g32 f16", "q_int8": "int8", "q_int8a": "int8a", "q_ternary": "ternary"}
layers = {l["name"]: l for l in rep["layers"]}
assert list(layers) == ["blk.0.proj.weight", "blk.1.proj.weight"], list(layers)
samples = {"blk.0.proj.weight": s["blk.0.proj"][:12], "blk.1.proj.weight": s["blk.1.proj.weight"].reshape(-1, 64)[:12]}
bias = {"blk.0.proj.weight": m["blk.0.proj.bias"].astype(np.float64), "blk.1.proj.weight": 0.0}
checked = 0
for name, l in layers.items():
    w = m[name].astype(np.float32)
    x = samples[name].astype(np.float64)
    y = x @ w.astype(np.float64).T + bias[name]
    kernels = [r["kernel"] for r in l["results"]]
    assert kernels[0] == l["kernel"], (name, kernels)
    assert "q_fixed" not in kernels, "a kernel declared 8x64 was compared on another shape"
    assert sorted(kernels) == sorted(fmts), kernels
    for r in l["results"]:
        f = fmts[r["kernel"]]
        wq = quantize(w, f)
        want_w = rel(w.astype(np.float64), wq)
        xq = q8_rows(x) if f == "int8a" else x
        want_y = rel(y, xq @ wq.T + bias[name])
        for got, want, what in ((r["weight_rel_err"], want_w, "W"), (r["output_rel_err"], want_y, "output")):
            if abs(got - want) > 1e-6 * want:
                raise SystemExit(f"{name} {r['kernel']} {what}: kforge {got!r}, reference {want!r}")
        checked += 1
assert layers["blk.0.proj.weight"]["source"] == "quantized"
print(f"{checked} (layer, kernel) errors equal the reference")

# The file: header fields and its directory at the end.
b = open(f"{d}/model.kfw", "rb").read()
assert b[:8] == b"KFWEIGHT", b[:8]
version, layers_n, packings_n = struct.unpack_from("<III", b, 8)
dir_off, dir_len = struct.unpack_from("<QQ", b, 24)
size, = struct.unpack_from("<Q", b, 48)
assert (version, layers_n, size) == (1, 2, len(b)) and dir_off + dir_len == len(b), (version, layers_n, size)
assert packings_n >= 2, packings_n  # at least one per layer; two where the targets' layouts differ
PY

# kforge inspect reads the file back: layers, kernels, shapes, targets.
"$kforge" inspect "$tmp/model.kfw" > "$tmp/inspect.txt"
grep -q "model.kfw: kforge packed weights, 2 layers" "$tmp/inspect.txt" || fail "inspect: $(cat "$tmp/inspect.txt")"
grep -Eq '^blk.0.proj.weight +q_int4 +int4 +48 x 100 +x86-avx2' "$tmp/inspect.txt" || fail "inspect row: $(cat "$tmp/inspect.txt")"
head -c 1000 "$tmp/model.kfw" > "$tmp/cut.kfw"
if "$kforge" inspect "$tmp/cut.kfw" 2> "$tmp/e.txt"; then fail "inspect took a truncated file"; fi
grep -q "cut.kfw: the header says .* bytes, the file has 1000 (truncated or appended to)" "$tmp/e.txt" ||
  fail "truncated: $(cat "$tmp/e.txt")"

# Bad input: what is wrong, by name; the output file untouched.
printf 'keep me' > "$tmp/existing.kfw"
expect_error() {   # expect_error FRAGMENT ARGS...
  local fragment="$1"
  shift
  if "$kforge" quantize "$@" > "$tmp/o.txt" 2> "$tmp/e.txt"; then fail "accepted: $*"; fi
  grep -qF -- "$fragment" "$tmp/e.txt" || fail "message for $*: $(cat "$tmp/e.txt"), wanted: $fragment"
  [[ "$(cat "$tmp/existing.kfw")" == "keep me" ]] || fail "the output file was changed by: $*"
}
ck="$tmp/model.safetensors" kf="$tmp/layers.kf" out="$tmp/existing.kfw"
expect_error "matches no matrix of $ck" "$ck" "$kf" --no-db -l 'nothing.*=q_int8' -o "$out"
expect_error "no lowbit_linear kernel 'q_none' in $kf" "$ck" "$kf" --no-db -l 'blk.*=q_none' -o "$out"
expect_error "expected GLOB=KERNEL" "$ck" "$kf" --no-db -l 'blk.*' -o "$out"
expect_error "has a bias ('blk.0.proj.bias') but kernel 'q_int8' declares none" "$ck" "$kf" --no-db -l 'blk.*=q_int8' -o "$out"
expect_error "has no tensor 'blk.1.proj.bias'" "$ck" "$kf" --no-db -l 'blk.*=q_int4' -o "$out"
expect_error "layer 'blk.0.proj.weight' is 48x100, kernel 'q_fixed' is declared 8x64" "$ck" "$kf" --no-db -l 'blk.0.*=q_fixed' -o "$out"
expect_error "the output is one of the inputs" "$ck" "$kf" --no-db -l 'blk.1.*=q_int8' -o "$ck"
expect_error "is not rows of K = 100" "$ck" "$kf" --no-db -l 'blk.0.*=q_int4' --samples "$tmp/samples_bad.safetensors" -o "$out"
printf 'not a checkpoint' > "$tmp/bad.safetensors"
expect_error "$tmp/bad.safetensors: " "$tmp/bad.safetensors" "$kf" --no-db -l 'blk.*=q_int8' -o "$out"
echo "kforge quantize: report, file and errors as expected"
