// Tensor values out of a checkpoint (Checkpoint.h): float conversion, GGML
// dequantization, and GGML blocks that are exactly a kforge format.
//
// The GGML block layouts below are written from ggml's block definitions
// (ggml-common.h) and checked element for element against the `gguf` Python
// package's dequantizer in test/unit/checkpoint. Each value is computed with
// the same f32 operations in the same order as ggml's reference dequantizer
// (this file is built with -ffp-contract=off: no fused multiply-adds), so the
// results are bit-identical, not just close.
#include "checkpoint/Checkpoint.h"

#include <cmath>
#include <cstring>

namespace kf::checkpoint {

float halfToFloat(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {   // subnormal: man * 2^-24, exact in f32
        float f = static_cast<float>(man) * 0x1p-24f;
        std::memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t floatToHalf(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00 | ((ax >> 13) & 0x3ff));   // NaN stays NaN
    if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);                        // rounds past 65504
    if (ax < 0x38800000u) {   // below the smallest normal half: round to a multiple of 2^-24
        float a;
        std::memcpy(&a, &ax, 4);
        float q = std::nearbyint(a * 0x1p24f);   // round to nearest even (default rounding mode)
        return static_cast<uint16_t>(sign | static_cast<uint16_t>(q));
    }
    uint32_t exp = (ax >> 23) - 112, man = ax & 0x7fffff;
    uint32_t h = (exp << 10) | (man >> 13);
    uint32_t rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;   // carries into the exponent correctly
    return static_cast<uint16_t>(sign | h);
}

float bf16ToFloat(uint16_t b) {
    uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t floatToBf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);   // quiet NaN
    x += 0x7fff + ((x >> 16) & 1);
    return static_cast<uint16_t>(x >> 16);
}

namespace {

uint16_t rd16(const uint8_t *p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
float rdHalf(const uint8_t *p) { return halfToFloat(rd16(p)); }

[[noreturn]] void refuse(const TensorView &t, const std::string &why) {
    throw CheckpointError("tensor '" + t.name + "' of type " + typeName(t.type) + ": " + why);
}
[[noreturn]] void refuseConversion(const TensorView &t) {
    refuse(t, "kforge cannot convert this type to f32 (it converts F64/F32/F16/BF16 and the GGML types "
              "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, TQ1_0, TQ2_0)");
}

// One block of each GGML type -> its elements (out[0 .. blockSize)).
void q4_0(const uint8_t *b, float *out) {
    float d = rdHalf(b);
    for (int j = 0; j < 16; ++j) {
        out[j] = d * static_cast<float>((b[2 + j] & 0xf) - 8);
        out[j + 16] = d * static_cast<float>((b[2 + j] >> 4) - 8);
    }
}
void q4_1(const uint8_t *b, float *out) {
    float d = rdHalf(b), m = rdHalf(b + 2);
    for (int j = 0; j < 16; ++j) {
        out[j] = d * static_cast<float>(b[4 + j] & 0xf) + m;
        out[j + 16] = d * static_cast<float>(b[4 + j] >> 4) + m;
    }
}
void q5_0(const uint8_t *b, float *out) {
    float d = rdHalf(b);
    uint32_t qh;
    std::memcpy(&qh, b + 2, 4);
    for (int j = 0; j < 16; ++j) {
        int lo = (b[6 + j] & 0xf) | (((qh >> j) & 1) << 4);
        int hi = (b[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
        out[j] = d * static_cast<float>(lo - 16);
        out[j + 16] = d * static_cast<float>(hi - 16);
    }
}
void q5_1(const uint8_t *b, float *out) {
    float d = rdHalf(b), m = rdHalf(b + 2);
    uint32_t qh;
    std::memcpy(&qh, b + 4, 4);
    for (int j = 0; j < 16; ++j) {
        int lo = (b[8 + j] & 0xf) | (((qh >> j) & 1) << 4);
        int hi = (b[8 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
        out[j] = d * static_cast<float>(lo) + m;
        out[j + 16] = d * static_cast<float>(hi) + m;
    }
}
void q8_0(const uint8_t *b, float *out) {
    float d = rdHalf(b);
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}
// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
// Element e = 128·h + 32·s + m comes from bits 2s of qs[32h + m]; its
// sub-block of 16 is e / 16.
void q2_k(const uint8_t *b, float *out) {
    const uint8_t *sc = b, *qs = b + 16;
    float d = rdHalf(b + 80), dmin = rdHalf(b + 82);
    for (int e = 0; e < 256; ++e) {
        int h = e / 128, s = (e / 32) % 4, m = e % 32;
        int q = (qs[32 * h + m] >> (2 * s)) & 3;
        float dl = d * static_cast<float>(sc[e / 16] & 0xf), ml = dmin * static_cast<float>(sc[e / 16] >> 4);
        out[e] = dl * static_cast<float>(q) - ml;
    }
}
// Q3_K: hmask[32], qs[64], scales[12] (16 six-bit scales), d. The high bit
// of element e is bit e / 32 of hmask[e % 32]; when it is 0 the value is q - 4.
void q3_k(const uint8_t *b, float *out) {
    const uint8_t *hm = b, *qs = b + 32, *sc = b + 96;
    float d = rdHalf(b + 108);
    float scale[16];
    for (int i = 0; i < 16; ++i) {
        int lo = i < 8 ? (sc[i] & 0xf) : (sc[i - 8] >> 4);
        int hi = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
        scale[i] = static_cast<float>(static_cast<int8_t>(static_cast<uint8_t>(lo | (hi << 4))) - 32);
    }
    for (int e = 0; e < 256; ++e) {
        int h = e / 128, s = (e / 32) % 4, m = e % 32;
        int ql = (qs[32 * h + m] >> (2 * s)) & 3;
        int high = (hm[m] >> (e / 32)) & 1;
        int q = ql - (high ? 0 : 4);
        float dl = d * scale[e / 16];
        out[e] = dl * static_cast<float>(q);
    }
}
// The 8 six-bit (scale, min) pairs of Q4_K and Q5_K, packed in 12 bytes.
void scaleMinK(const uint8_t *s, int j, int &sc, int &mn) {
    if (j < 4) {
        sc = s[j] & 63;
        mn = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
        mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}
// Q4_K: d, dmin, scales[12], qs[128]. Sub-block j (32 elements) takes the
// low (j even) or high (j odd) nibbles of qs[32·(j/2) ..].
void q4_k(const uint8_t *b, float *out) {
    float d = rdHalf(b), dmin = rdHalf(b + 2);
    const uint8_t *qs = b + 16;
    for (int j = 0; j < 8; ++j) {
        int sc, mn;
        scaleMinK(b + 4, j, sc, mn);
        float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(mn);
        for (int m = 0; m < 32; ++m) {
            int q = (qs[32 * (j / 2) + m] >> (4 * (j % 2))) & 0xf;
            out[32 * j + m] = dl * static_cast<float>(q) - ml;
        }
    }
}
// Q5_K: as Q4_K with qh[32] between the scales and qs: bit j of qh[m] is the
// fifth bit of element m of sub-block j.
void q5_k(const uint8_t *b, float *out) {
    float d = rdHalf(b), dmin = rdHalf(b + 2);
    const uint8_t *qh = b + 16, *qs = b + 48;
    for (int j = 0; j < 8; ++j) {
        int sc, mn;
        scaleMinK(b + 4, j, sc, mn);
        float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(mn);
        for (int m = 0; m < 32; ++m) {
            int q = ((qs[32 * (j / 2) + m] >> (4 * (j % 2))) & 0xf) | (((qh[m] >> j) & 1) << 4);
            out[32 * j + m] = dl * static_cast<float>(q) - ml;
        }
    }
}
// Q6_K: ql[128], qh[64], scales[16] (int8), d. Element e = 128·h + 32·s + m:
// low nibble of ql[64h + 32·(s%2) + m] (the high one for s ≥ 2), two high
// bits from qh[32h + m] >> 2s; value q - 32 times the scale of e / 16.
void q6_k(const uint8_t *b, float *out) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = reinterpret_cast<const int8_t *>(b + 192);
    float d = rdHalf(b + 208);
    for (int e = 0; e < 256; ++e) {
        int h = e / 128, s = (e / 32) % 4, m = e % 32;
        int lo = (ql[64 * h + 32 * (s % 2) + m] >> (4 * (s / 2))) & 0xf;
        int hi = (qh[32 * h + m] >> (2 * s)) & 3;
        int q = (lo | (hi << 4)) - 32;
        float dl = d * static_cast<float>(sc[e / 16]);
        out[e] = dl * static_cast<float>(q);
    }
}
// TQ1_0: qs[48] then qh[4], then d. Each byte holds 5 (qs) or 4 (qh) trits as
// a fixed-point fraction of 3^5 = 243: trit i of byte x is ((x · 3^i mod 256) · 3) >> 8.
// Elements: qs[0..32) give e = 32·i + byte, qs[32..48) e = 160 + 16·i + byte,
// qh e = 240 + 4·i + byte.
int tq1Trit(uint8_t x, int i) {
    static constexpr uint8_t pow3[5] = {1, 3, 9, 27, 81};
    uint8_t v = static_cast<uint8_t>(x * pow3[i]);
    return (static_cast<int>(v) * 3) >> 8;
}
void tq1Codes(const uint8_t *b, uint8_t *codes) {
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 32; ++j) codes[32 * i + j] = static_cast<uint8_t>(tq1Trit(b[j], i));
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 16; ++j) codes[160 + 16 * i + j] = static_cast<uint8_t>(tq1Trit(b[32 + j], i));
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) codes[240 + 4 * i + j] = static_cast<uint8_t>(tq1Trit(b[48 + j], i));
}
// TQ2_0: qs[64] then d; element e = 128·h + 32·s + m is bits 2s of qs[32h + m].
void tq2Codes(const uint8_t *b, uint8_t *codes) {
    for (int e = 0; e < 256; ++e) {
        int h = e / 128, s = (e / 32) % 4, m = e % 32;
        codes[e] = static_cast<uint8_t>((b[32 * h + m] >> (2 * s)) & 3);
    }
}
void tq1_0(const uint8_t *b, float *out) {
    uint8_t codes[256];
    tq1Codes(b, codes);
    float d = rdHalf(b + 52);
    for (int e = 0; e < 256; ++e) out[e] = d * static_cast<float>(codes[e] - 1);
}
void tq2_0(const uint8_t *b, float *out) {
    uint8_t codes[256];
    tq2Codes(b, codes);
    float d = rdHalf(b + 64);
    for (int e = 0; e < 256; ++e) out[e] = d * static_cast<float>(codes[e] - 1);
}

using BlockFn = void (*)(const uint8_t *, float *);
BlockFn blockDecoder(Type t) {
    switch (t) {
    case Type::Q4_0: return q4_0;
    case Type::Q4_1: return q4_1;
    case Type::Q5_0: return q5_0;
    case Type::Q5_1: return q5_1;
    case Type::Q8_0: return q8_0;
    case Type::Q2_K: return q2_k;
    case Type::Q3_K: return q3_k;
    case Type::Q4_K: return q4_k;
    case Type::Q5_K: return q5_k;
    case Type::Q6_K: return q6_k;
    case Type::TQ1_0: return tq1_0;
    case Type::TQ2_0: return tq2_0;
    default: return nullptr;
    }
}

}  // namespace

bool canConvertToFloat(Type t) { return info(t).isFloat || blockDecoder(t) != nullptr; }

std::vector<float> toFloat(const TensorView &t) {
    const TypeInfo &ti = info(t.type);
    int64_t n = t.numel();
    std::vector<float> out(static_cast<std::size_t>(n));
    const uint8_t *p = t.bytes.data();
    switch (t.type) {
    case Type::F32: if (n) std::memcpy(out.data(), p, 4 * static_cast<std::size_t>(n)); return out;
    case Type::F64:
        for (int64_t i = 0; i < n; ++i) {
            double v;
            std::memcpy(&v, p + 8 * i, 8);
            out[i] = static_cast<float>(v);
        }
        return out;
    case Type::F16: for (int64_t i = 0; i < n; ++i) out[i] = halfToFloat(rd16(p + 2 * i)); return out;
    case Type::BF16: for (int64_t i = 0; i < n; ++i) out[i] = bf16ToFloat(rd16(p + 2 * i)); return out;
    default: break;
    }
    BlockFn fn = blockDecoder(t.type);
    if (!fn) refuseConversion(t);
    for (int64_t blk = 0; blk < n / ti.blockSize; ++blk) fn(p + blk * ti.blockBytes, out.data() + blk * ti.blockSize);
    return out;
}

std::optional<ExactFormat> exactFormat(Type t) {
    switch (t) {
    case Type::Q8_0: return ExactFormat{"int8", 32};
    case Type::Q4_0: return ExactFormat{"int4", 32};
    case Type::TQ1_0:
    case Type::TQ2_0: return ExactFormat{"ternary", 256};
    default: return std::nullopt;
    }
}

std::optional<LowbitCodes> exactLowbit(const TensorView &t) {
    const std::optional<ExactFormat> f = exactFormat(t.type);
    if (!f) return std::nullopt;
    const TypeInfo &ti = info(t.type);
    LowbitCodes lc;
    lc.format = f->format;
    lc.group = f->group;
    lc.n = t.rows();
    lc.k = t.cols();
    int64_t blocks = t.numel() / ti.blockSize;
    lc.codes.resize(static_cast<std::size_t>(t.numel()));
    lc.scalesF16.resize(static_cast<std::size_t>(blocks));
    const uint8_t *p = t.bytes.data();
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const uint8_t *b = p + blk * ti.blockBytes;
        uint8_t *codes = lc.codes.data() + blk * ti.blockSize;
        switch (t.type) {
        case Type::Q8_0:   // level v in [-128, 127] -> code v + 128
            lc.scalesF16[blk] = rd16(b);
            for (int j = 0; j < 32; ++j) codes[j] = static_cast<uint8_t>(static_cast<int8_t>(b[2 + j]) + 128);
            break;
        case Type::Q4_0:   // ggml stores q with level q - 8: the code is q
            lc.scalesF16[blk] = rd16(b);
            for (int j = 0; j < 16; ++j) {
                codes[j] = b[2 + j] & 0xf;
                codes[j + 16] = b[2 + j] >> 4;
            }
            break;
        case Type::TQ1_0:  // trit q with level q - 1: the code is q
            lc.scalesF16[blk] = rd16(b + 52);
            tq1Codes(b, codes);
            break;
        default:
            lc.scalesF16[blk] = rd16(b + 64);
            tq2Codes(b, codes);
            break;
        }
        for (int64_t j = 0; j < ti.blockSize; ++j)
            if (codes[j] > 2 && lc.format == "ternary")
                refuse(t, "element " + std::to_string(blk * ti.blockSize + j) + " has code " + std::to_string(codes[j]) +
                              ", which is not a ternary level (ggml reads it as +2)");
    }
    return lc;
}

LinearWeights linearWeights(const TensorView &t, ConvertPolicy policy,
                            const std::function<void(const std::string &)> &warn) {
    if (t.shape.size() < 2) refuse(t, "a linear layer's weight needs at least 2 dimensions");
    LinearWeights w;
    w.n = t.rows();
    w.k = t.cols();
    if (auto lc = exactLowbit(t)) {
        w.lowbit = std::move(lc);
        return w;
    }
    if (!info(t.type).isFloat) {
        if (policy == ConvertPolicy::Refuse)
            refuse(t, "not a kforge weight format (those are F32/F16/BF16, Q8_0, Q4_0, TQ1_0, TQ2_0); "
                      "convert it through f32 and re-quantize (--convert) or re-export the checkpoint");
        if (!canConvertToFloat(t.type)) refuseConversion(t);
        if (warn)
            warn("tensor '" + t.name + "' of type " + typeName(t.type) +
                 " is not a kforge format: converted through f32 and re-quantized");
    }
    w.values = toFloat(t);
    return w;
}

}  // namespace kf::checkpoint
