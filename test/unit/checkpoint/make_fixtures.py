#!/usr/bin/env python3
"""Reference checkpoints for kforge's readers, written by the reference
libraries (the `safetensors` and `gguf` PyPI packages, scripts/requirements.txt).

    make_fixtures.py OUTDIR

writes into OUTDIR:
  ref.safetensors        tensors of every float dtype, an int64 buffer, a scalar,
                         an empty tensor and metadata, by safetensors' writer
  ref_safetensors.json   for each tensor: dtype, shape, and the f32 bit pattern of
                         every element as numpy converts it (float tensors only)
  ref.gguf               tensors of every GGML type kforge converts, some quantized
                         from floats by gguf's quantizer, some random blocks (every
                         code pattern), and metadata of every GGUF value type, by
                         gguf's GGUFWriter
  ref_gguf_expected.safetensors  each GGUF tensor dequantized to f32 by the gguf
                         package (gguf.quants.dequantize): the ground truth
  ref_gguf.json          the GGUF metadata as written, and each tensor's type and shape
  delta_{post,base,newbase}.safetensors, delta_expected.safetensors
                         ParamΔ inputs and Θpost − Θbase + Θ'base computed by numpy
                         in float64, rounded to f32 and then to the tensor's dtype
"""
import json
import os
import sys

import numpy as np
from safetensors import TensorSpec, serialize_file
from safetensors.numpy import save_file

import gguf
from gguf import GGMLQuantizationType as Q

rng = np.random.default_rng(20261206)


def f32_bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).ravel().tolist()


def bf16_from_f32(a):
    """f32 -> bf16 bit patterns, round to nearest even (NaN kept quiet)."""
    return gguf.quants.quantize(np.ascontiguousarray(a, dtype=np.float32), Q.BF16).view(np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def write_with_bf16(path, tensors, metadata):
    """tensors: name -> numpy array, or ("BF16", uint16 array) for bf16."""
    keep, specs = [], {}
    for name, t in tensors.items():
        if isinstance(t, tuple):
            arr = np.ascontiguousarray(t[1])
            specs[name] = TensorSpec(dtype="bfloat16", shape=list(arr.shape), data_ptr=arr.ctypes.data,
                                     data_len=arr.nbytes)
        else:
            arr = np.asarray(t, order="C")   # (ascontiguousarray would make a scalar 1-D)
            specs[name] = TensorSpec(dtype=arr.dtype.name, shape=list(arr.shape), data_ptr=arr.ctypes.data,
                                     data_len=arr.nbytes)
        keep.append(arr)
    serialize_file(specs, path, metadata=metadata)


def safetensors_fixture(out):
    f32 = rng.standard_normal((3, 5)).astype(np.float32)
    f32[0, 0], f32[0, 1], f32[0, 2] = np.float32(1e-40), np.float32(-0.0), np.float32(3.0e38)
    f16 = rng.standard_normal(7).astype(np.float16)
    f16[0], f16[1] = np.float16(6.0e-8), np.float16(65504)   # a subnormal, the largest half
    f64 = rng.standard_normal((2, 2)) * 1e3
    bf = bf16_from_f32(rng.standard_normal((2, 3, 4)).astype(np.float32))
    tensors = {
        "linear.weight": f32,
        "norm.weight": f16,
        "stats.f64": f64,
        "embed.bf16": ("BF16", bf),
        "position_ids": np.arange(6, dtype=np.int64).reshape(1, 6),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    write_with_bf16(os.path.join(out, "ref.safetensors"), tensors, {"format": "pt", "source": "make_fixtures.py"})
    expect = {"__metadata__": {"format": "pt", "source": "make_fixtures.py"}, "tensors": {}}
    for name, t in tensors.items():
        if isinstance(t, tuple):
            expect["tensors"][name] = {"dtype": "BF16", "shape": list(t[1].shape), "f32_bits": f32_bits(bf16_to_f32(t[1]))}
            continue
        dtype = {"float32": "F32", "float16": "F16", "float64": "F64", "int64": "I64"}[t.dtype.name]
        e = {"dtype": dtype, "shape": list(t.shape)}
        if dtype != "I64":
            e["f32_bits"] = f32_bits(t.astype(np.float32))
        expect["tensors"][name] = e
    with open(os.path.join(out, "ref_safetensors.json"), "w") as f:
        json.dump(expect, f)


# Byte offsets of the f16 scale fields in each block, set to sane values in
# random blocks so that every element is finite.
SCALE_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
    Q.TQ1_0: [52], Q.TQ2_0: [64],
}


def random_blocks(qtype, rows, cols):
    block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    nblocks = rows * cols // block
    raw = rng.integers(0, 256, size=(nblocks, nbytes), dtype=np.uint8)
    for off in SCALE_FIELDS[qtype]:
        d = (rng.uniform(1e-3, 0.1, size=nblocks) * rng.choice([-1, 1], size=nblocks)).astype(np.float16)
        raw[:, off:off + 2] = d.view(np.uint8).reshape(nblocks, 2)
    if qtype == Q.TQ1_0:
        # Bytes past 242 are not trit encodings ggml writes (3^5 = 243 values).
        raw[:, :52] = raw[:, :52] % 243
    return raw.reshape(rows, cols // block * nbytes)


def gguf_fixture(out):
    w = gguf.GGUFWriter(os.path.join(out, "ref.gguf"), arch="kforgetest")
    meta = {
        "kforgetest.u8": ("uint8", 200), "kforgetest.i8": ("int8", -5), "kforgetest.u16": ("uint16", 60000),
        "kforgetest.i16": ("int16", -30000), "kforgetest.u32": ("uint32", 4000000000),
        "kforgetest.i32": ("int32", -2000000000), "kforgetest.f32": ("float32", 0.5),
        "kforgetest.u64": ("uint64", 2**40), "kforgetest.i64": ("int64", -(2**40)), "kforgetest.f64": ("float64", 0.25),
        "kforgetest.flag": ("bool", True), "kforgetest.name": ("string", "tiny ünïcode"),
    }
    for key, (kind, value) in meta.items():
        getattr(w, "add_" + kind)(key, value)
    w.add_array("kforgetest.tokens", ["a", "bb", "ccc"])
    w.add_array("kforgetest.ints", [1, 2, 3])
    expected = {}
    tensors = {}

    def add(name, qtype, raw_or_float, rows, cols):
        if qtype in (Q.F32, Q.F16):
            data = raw_or_float
            w.add_tensor(name, data)
            deq = data.astype(np.float32)
        elif qtype == Q.BF16:
            w.add_tensor(name, raw_or_float.view(np.uint8).reshape(rows, cols * 2), raw_dtype=Q.BF16)
            deq = bf16_to_f32(raw_or_float)
        else:
            raw = raw_or_float
            w.add_tensor(name, raw, raw_dtype=qtype)
            deq = gguf.quants.dequantize(raw, qtype).reshape(rows, cols).astype(np.float32)
        tensors[name] = np.ascontiguousarray(deq)
        expected[name] = {"type": qtype.name, "shape": [rows, cols]}

    add("f32.weight", Q.F32, rng.standard_normal((2, 32)).astype(np.float32), 2, 32)
    add("f16.weight", Q.F16, rng.standard_normal((3, 16)).astype(np.float16), 3, 16)
    add("bf16.weight", Q.BF16, bf16_from_f32(rng.standard_normal((2, 8))).reshape(2, 8), 2, 8)
    for qtype in SCALE_FIELDS:
        block = gguf.GGML_QUANT_SIZES[qtype][0]
        rows, cols = 3, 2 * block
        add("random." + qtype.name, qtype, random_blocks(qtype, rows, cols), rows, cols)
    # What a converter writes: floats through gguf's own quantizers (with
    # outliers and an all-zero row, whose scale is 0).
    for qtype in (Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.TQ1_0, Q.TQ2_0):
        block = gguf.GGML_QUANT_SIZES[qtype][0]
        rows, cols = 4, 2 * max(block, 32)
        x = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
        x[1, 3] = 1.5
        x[2, :] = 0
        add("quantized." + qtype.name, qtype, gguf.quants.quantize(x, qtype), rows, cols)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    save_file(tensors, os.path.join(out, "ref_gguf_expected.safetensors"))
    meta_json = {k: v for k, (_, v) in meta.items()}
    meta_json["kforgetest.tokens"] = ["a", "bb", "ccc"]
    meta_json["kforgetest.ints"] = [1, 2, 3]
    meta_json["general.architecture"] = "kforgetest"
    with open(os.path.join(out, "ref_gguf.json"), "w") as f:
        json.dump({"metadata": meta_json, "tensors": expected}, f, ensure_ascii=False)


def delta_fixture(out):
    shapes = {"a.weight": (4, 6), "b.weight": (5,), "c.weight": (3, 2)}
    dtypes = {"a.weight": "F32", "b.weight": "F16", "c.weight": "BF16"}
    ids = np.arange(8, dtype=np.int64)
    files = {}
    for role in ("post", "base", "newbase"):
        t = {}
        for name, shape in shapes.items():
            x = rng.standard_normal(shape).astype(np.float32)
            if dtypes[name] == "F32":
                t[name] = x
            elif dtypes[name] == "F16":
                t[name] = x.astype(np.float16)
            else:
                t[name] = ("BF16", bf16_from_f32(x).reshape(shape))
        t["position_ids"] = ids if role != "newbase" else ids + 1
        files[role] = t
        write_with_bf16(os.path.join(out, f"delta_{role}.safetensors"), t, {"format": "pt", "role": role})

    def as64(v):
        return bf16_to_f32(v[1]).astype(np.float64) if isinstance(v, tuple) else v.astype(np.float64)

    expect = {}
    for name in shapes:
        r = (as64(files["post"][name]) - as64(files["base"][name]) + as64(files["newbase"][name])).astype(np.float32)
        if dtypes[name] == "F32":
            expect[name] = r
        elif dtypes[name] == "F16":
            expect[name] = r.astype(np.float16)
        else:
            expect[name] = ("BF16", bf16_from_f32(r).reshape(shapes[name]))
    expect["position_ids"] = files["newbase"]["position_ids"]
    write_with_bf16(os.path.join(out, "delta_expected.safetensors"), expect, {"format": "pt", "role": "newbase"})


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    safetensors_fixture(out)
    gguf_fixture(out)
    delta_fixture(out)


if __name__ == "__main__":
    main()
