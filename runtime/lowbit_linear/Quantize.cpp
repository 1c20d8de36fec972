// \file
// kf_quantize_linear / kf_linear_quantize: the paper quantizer of each weight
// format, from float weights to the codes, scales and zero points that
// kf_linear_pack_weights takes (docs/formats.md, "From float weights: the paper quantizer").
//
// Per scale group (`group` consecutive k of one row, the last one short; the
// whole row for per-channel scales):
//   binary   s = mean|w|, c = (w >= 0)                    ParetoQ 1-bit
//   ternary  s = mean|w|, L = clamp(round(w/s), -1, 1)    ParetoQ 1.58-bit, BitNet b1.58
//   seq2     s = max|w| / 1.5, L = nearest of {-1.5, -0.5, 0.5, 1.5}    ParetoQ SEQ
//   intN     s = max|w| / (2^(N-1) - 1), L = clamp(round(w/s), -2^(N-1), 2^(N-1)-1)
//                                                          ParetoQ LSQ, LLM-QAT
//   uintN    lo = min(0, min w), hi = max(0, max w), s = (hi - lo) / (2^N - 1),
//            z = clamp(round(-lo/s), 0, 2^N-1), c = clamp(round(w/s) + z, 0, 2^N-1)
//                                                          GPTQ (quant.py find_params)
// round = half away from zero (FORMATS); seq2 ties go away from zero too.
// The uint range always contains 0, as in GPTQ: the zero point then lies in
// the code range, so positive-only and negative-only groups keep their
// resolution instead of clipping at z = 0 / 2^N-1.
//
// Numerics, which make the result reproducible bit for bit (the reference
// quantizer dsl/families/lowbit_linear/ReferenceQuantizer.cpp checks it):
// group statistics are accumulated in double in ascending k; the scale is
// computed in double and rounded once, to nearest even, to the scale type;
// codes come from that rounded scale, so s * L(c) is what the kernel will
// compute. w / s is divided in double: for float operands the double quotient
// lies on the same side of every half-integer as the real one, so rounding
// decisions (ties included) are those of exact arithmetic. A scale that rounds
// to 0 (an all-zero group, or one too small for f16) stores 0 and the code of
// level 0; one that overflows the scale type is an error.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "kforge/detail/Linear.h"
#include "kforge/kforge.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/lowbit_linear/LayerAccess.h"
#include "runtime/lowbit_linear/Quantize.h"

using kf::rt::fail;

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;

// What a group's scale is derived from.
enum class Statistic { MeanAbs, AbsMax, Range };

struct Quantizer {
    kf_weight_kind kind;
    Statistic statistic;
    double divisor;   // s = statistic / divisor
    int levelOffset;  // code = level + levelOffset (INT: 2^(b-1))
    int maxCode;      // INT / UINT: 2^b - 1
    int zeroCode;     // the code of level 0, for a zero scale
};

Quantizer quantizerFor(kf_weight_kind kind, int bits) {
    switch (kind) {
    case KF_WEIGHT_BINARY: return {kind, Statistic::MeanAbs, 1.0, 0, 1, 1};
    case KF_WEIGHT_TERNARY: return {kind, Statistic::MeanAbs, 1.0, 1, 2, 1};
    case KF_WEIGHT_SEQ2: return {kind, Statistic::AbsMax, 1.5, 0, 3, 2};
    case KF_WEIGHT_INT: {
        const int half = 1 << (bits - 1);
        return {kind, Statistic::AbsMax, static_cast<double>(half - 1), half, 2 * half - 1, half};
    }
    default: return {kind, Statistic::Range, static_cast<double>((1 << bits) - 1), 0, (1 << bits) - 1, 0};
    }
}

// Round a finite v >= 0 to nearest even in a binary format with `mantBits`
// stored mantissa bits and exponent bias `bias` (binary16: 10, 15; bfloat16:
// 7, 127), subnormals included. Returns the bit pattern; one at or above the
// infinity pattern means v overflows the format.
uint32_t roundToNarrowFloat(double v, int mantBits, int bias, double *rounded) {
    const int minExp = 1 - bias;  // exponent of the smallest normal
    int e = 0;
    std::frexp(v, &e);  // v in [2^(e-1), 2^e)
    const int exp = v == 0 ? minExp : std::max(e - 1, minExp);
    // v / quantum, quantum = 2^(exp - mantBits): < 2^(mantBits+1), exact in double.
    const double q = std::ldexp(v, mantBits - exp);
    double m = std::floor(q);
    const double frac = q - m;
    if (frac > 0.5 || (frac == 0.5 && std::fmod(m, 2.0) != 0.0)) m += 1.0;
    *rounded = std::ldexp(m, exp - mantBits);
    // Normal: ((exp + bias) << mantBits) | (m - 2^mantBits) == ((exp - minExp) << mantBits) + m;
    // subnormal (exp == minExp, m < 2^mantBits): m. A carry of m into 2^(mantBits+1)
    // bumps the exponent field by itself.
    return (static_cast<uint32_t>(exp - minExp) << mantBits) + static_cast<uint32_t>(m);
}

// Rounds scale s (>= 0, finite) to the scale type. Stores its bits into
// scales[index] and returns the rounded value, or -1 if the type cannot hold it.
double storeScale(kf_scale_type type, double s, void *scales, int64_t index) {
    if (type == KF_SCALE_F32) {
        const float f = static_cast<float>(s);  // round to nearest even
        if (std::isinf(f)) return -1;
        static_cast<float *>(scales)[index] = f;
        return f;
    }
    const bool half = type == KF_SCALE_F16;
    double rounded = 0;
    const uint32_t bits = half ? roundToNarrowFloat(s, 10, 15, &rounded) : roundToNarrowFloat(s, 7, 127, &rounded);
    if (bits >= (half ? 0x7C00u : 0x7F80u)) return -1;
    static_cast<uint16_t *>(scales)[index] = static_cast<uint16_t>(bits);
    return rounded;
}

// Round half away from zero (FORMATS), exactly: the truncation and the
// fraction are exact in double. x is first limited to +-1024, which no code
// range reaches, so the int conversion is defined (callers clamp the result).
inline int roundHalfAway(double x) {
    x = std::clamp(x, -1024.0, 1024.0);
    const int t = static_cast<int>(x);  // toward zero
    const double frac = x - t;
    return t + (frac >= 0.5) - (frac <= -0.5);
}

// Why a row failed; the row scan reports its first problem.
struct RowError {
    enum Kind { None, NonFinite, ScaleOverflow } kind = None;
    int64_t column = 0;  // NonFinite: the column; ScaleOverflow: the group
    double value = 0;    // the weight or the scale
};

const char *scaleTypeName(kf_scale_type t) {
    return t == KF_SCALE_F32 ? "f32" : t == KF_SCALE_F16 ? "f16" : "bf16";
}

// Quantizes one row (k weights at w) into its codes, scales and zero points
// (scales / zero points from index scaleBase).
RowError quantizeRow(const Quantizer &q, kf_scale_type scaleType, int64_t group, int64_t numGroups, int64_t k,
                     const float *w, uint8_t *codes, void *scales, uint8_t *zeroPoints, int64_t scaleBase) {
    for (int64_t c = 0; c < k; ++c)
        if (!std::isfinite(w[c])) return {RowError::NonFinite, c, w[c]};

    for (int64_t gi = 0; gi < numGroups; ++gi) {
        const int64_t begin = gi * group, end = std::min(k, begin + group);
        double sumAbs = 0, maxAbs = 0, lo = 0, hi = 0;  // lo <= 0 <= hi (GPTQ)
        for (int64_t c = begin; c < end; ++c) {
            const double v = w[c];
            sumAbs += std::fabs(v);  // ascending k, in double
            maxAbs = std::max(maxAbs, std::fabs(v));
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        double stat = 0;
        switch (q.statistic) {
        case Statistic::MeanAbs: stat = sumAbs / static_cast<double>(end - begin); break;
        case Statistic::AbsMax: stat = maxAbs; break;
        case Statistic::Range: stat = hi - lo; break;
        }
        const double s = storeScale(scaleType, stat / q.divisor, scales, scaleBase + gi);
        if (s < 0) return {RowError::ScaleOverflow, gi, stat / q.divisor};

        int z = 0;
        if (q.kind == KF_WEIGHT_UINT) {
            if (s > 0) z = std::clamp(roundHalfAway(-lo / s), 0, q.maxCode);
            zeroPoints[scaleBase + gi] = static_cast<uint8_t>(z);
        }
        if (s == 0) {
            std::memset(codes + begin, q.zeroCode, static_cast<size_t>(end - begin));
            continue;
        }
        for (int64_t c = begin; c < end; ++c) {
            const double x = static_cast<double>(w[c]) / s;
            int code = 0;
            switch (q.kind) {
            case KF_WEIGHT_BINARY: code = w[c] >= 0.0f ? 1 : 0; break;
            case KF_WEIGHT_SEQ2:
                // Nearest of {-1.5, -0.5, 0.5, 1.5}, ties away from zero: the
                // midpoints are the integers, so |L| = floor(|x|) + 0.5 (capped).
                code = x >= 0 ? 2 + static_cast<int>(std::min(x, 1.0)) : 1 - static_cast<int>(std::min(-x, 1.0));
                break;
            case KF_WEIGHT_UINT:
                code = std::clamp(roundHalfAway(x) + z, 0, q.maxCode);
                break;
            default:  // TERNARY, INT: levels -offset .. maxCode - offset
                code = std::clamp(roundHalfAway(x) + q.levelOffset, 0, q.maxCode);
                break;
            }
            codes[c] = static_cast<uint8_t>(code);
        }
    }
    return {};
}

std::string kernelName(const kf_kernel_def &def, const kf::rt::LinearSpec &spec) {
    std::string s = std::string("kernel '") + (def.name ? def.name : "?") + "'";
    if (spec.weightFormat) s += std::string(" (") + spec.weightFormat + ")";
    return s;
}

std::string formatDouble(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

}  // namespace

// The quantizer for the format of `spec` (kn names the kernel in messages).
kf_status kf::rt::quantizeLinearWeights(const char *fn, const LinearSpec *spec, const std::string &kn, int64_t n,
                                        int64_t k, const float *w, uint8_t *codes, void *scales,
                                        uint8_t *zeroPoints) {
    const std::string f = fn;
    if (spec->weightKind == KF_WEIGHT_CODEBOOK)
        return fail(KF_ERR_INVALID_ARGUMENT,
                    f + ": " + kn + " has codebook weights; codebook weights need a clustering (eDKM / JLCM); "
                                    "pack codes and a codebook with kf_linear_pack_weights");
    if (static_cast<int>(spec->weightKind) < KF_WEIGHT_BINARY || static_cast<int>(spec->weightKind) > KF_WEIGHT_UINT)
        return fail(KF_ERR_INVALID_ARGUMENT, f + ": " + kn + " has an unknown weight kind " +
                                                 std::to_string(static_cast<int>(spec->weightKind)));
    if ((spec->weightKind == KF_WEIGHT_INT || spec->weightKind == KF_WEIGHT_UINT) && (spec->bits < 2 || spec->bits > 8))
        return fail(KF_ERR_INVALID_ARGUMENT, f + ": " + kn + " declares " + std::to_string(spec->bits) +
                                                 "-bit codes; int and uint weights have 2 to 8 bits");
    if (spec->group < 0)
        return fail(KF_ERR_INVALID_ARGUMENT,
                    f + ": " + kn + " declares group " + std::to_string(spec->group) + " (0 = per channel)");
    if (static_cast<int>(spec->scaleType) < KF_SCALE_F32 || static_cast<int>(spec->scaleType) > KF_SCALE_BF16)
        return fail(KF_ERR_INVALID_ARGUMENT, f + ": " + kn + " has an unknown scale type " +
                                                 std::to_string(static_cast<int>(spec->scaleType)));
    if (n <= 0 || k <= 0 || n >= kMaxDim || k >= kMaxDim)
        return fail(KF_ERR_SHAPE, f + ": " + kn + " needs 1 <= N, K < 2^31, got N=" + std::to_string(n) +
                                      ", K=" + std::to_string(k));
    if ((spec->n && n != spec->n) || (spec->k && k != spec->k))
        return fail(KF_ERR_SHAPE, f + ": " + kn + " is declared " + (spec->n ? std::to_string(spec->n) : "N") + "x" +
                                      (spec->k ? std::to_string(spec->k) : "K") + ", got " + std::to_string(n) + "x" +
                                      std::to_string(k));
    if (!w || !codes || !scales) return fail(KF_ERR_NULL_POINTER, f + ": w, codes and scales must not be NULL");
    const bool isUint = spec->weightKind == KF_WEIGHT_UINT;
    if (isUint && !zeroPoints)
        return fail(KF_ERR_NULL_POINTER, f + ": " + kn + " has a zero point per scale: zero_points must not be NULL");
    if (!isUint && zeroPoints)
        return fail(KF_ERR_INVALID_ARGUMENT, f + ": " + kn + " has no zero points: pass zero_points = NULL");

    const Quantizer q = quantizerFor(spec->weightKind, spec->bits);
    const int64_t group = spec->group ? std::min<int64_t>(spec->group, k) : k;
    const int64_t numGroups = (k + group - 1) / group;

    // Rows are independent; report the lowest failing row so that the message
    // does not depend on the thread schedule.
    std::atomic<int64_t> firstBad{n};
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / k);
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, static_cast<size_t>(grain)),
                      [&](const tbb::blocked_range<int64_t> &rows) {
                          for (int64_t r = rows.begin(); r != rows.end(); ++r) {
                              if (r > firstBad.load(std::memory_order_relaxed)) return;
                              const RowError e = quantizeRow(q, spec->scaleType, group, numGroups, k, w + r * k,
                                                             codes + r * k, scales, zeroPoints, r * numGroups);
                              if (e.kind == RowError::None) continue;
                              int64_t cur = firstBad.load();
                              while (r < cur && !firstBad.compare_exchange_weak(cur, r)) {}
                              return;
                          }
                      });
    const int64_t r = firstBad.load();
    if (r == n) return KF_OK;
    // Redo the failing row alone for its details (deterministic).
    const RowError e =
        quantizeRow(q, spec->scaleType, group, numGroups, k, w + r * k, codes + r * k, scales, zeroPoints, r * numGroups);
    if (e.kind == RowError::NonFinite)
        return fail(KF_ERR_INVALID_ARGUMENT, f + ": weight at row " + std::to_string(r) + ", column " +
                                                 std::to_string(e.column) + " is " + formatDouble(e.value) +
                                                 "; weights must be finite");
    return fail(KF_ERR_INVALID_ARGUMENT,
                f + ": " + kn + ": the scale of row " + std::to_string(r) + ", group " + std::to_string(e.column) +
                    " (" + formatDouble(e.value) + ") overflows " + scaleTypeName(spec->scaleType) +
                    "; use a wider scale type (f32) or rescale the weights");
}

namespace {

// kf_quantize_linear with `fn` naming the entry point in messages.
kf_status quantize(const char *fn, const kf_kernel_def *def, int64_t n, int64_t k, const float *w, uint8_t *codes,
                   void *scales, uint8_t *zeroPoints) {
    if (!def) return fail(KF_ERR_NULL_POINTER, std::string(fn) + ": def must not be NULL");
    const kf::rt::LinearSpec *spec = kf::rt::familySpecOf<kf::rt::LinearSpec>(def, "lowbit_linear", fn);
    if (!spec) return KF_ERR_INVALID_ARGUMENT;
    return kf::rt::quantizeLinearWeights(fn, spec, kernelName(*def, *spec), n, k, w, codes, scales, zeroPoints);
}

}  // namespace

extern "C" {

kf_status kf_quantize_linear(const kf_kernel_def *def, int64_t n, int64_t k, const float *w, uint8_t *codes,
                             void *scales, uint8_t *zero_points) {
    kf::rt::clearError();
    return quantize("kf_quantize_linear", def, n, k, w, codes, scales, zero_points);
}

kf_status kf_linear_quantize(kf_linear *layer, const float *w, const float *bias) {
    kf::rt::clearError();
    if (!layer || !w) return fail(KF_ERR_NULL_POINTER, "kf_linear_quantize: layer and w must not be NULL");
    const kf_kernel_def *def = kf::rt::layerDef(layer);
    int64_t n = 0, k = 0;
    kf::rt::layerShape(layer, &n, &k);
    const kf::rt::LinearSpec *spec = kf::rt::linearSpec(def);
    if (!spec || n <= 0 || k <= 0)
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_linear_quantize: the layer has no kernel or shape");
    if (spec->weightKind == KF_WEIGHT_CODEBOOK)  // before allocating N x K codes for nothing
        return quantize("kf_linear_quantize", def, n, k, w, nullptr, nullptr, nullptr);
    const int64_t group = spec->group ? std::min<int64_t>(spec->group, k) : k;
    const size_t cells = static_cast<size_t>(n * ((k + group - 1) / group));
    const size_t scaleBytes = spec->scaleType == KF_SCALE_F32 ? 4 : 2;
    std::vector<uint8_t> codes, zeroPoints;
    std::vector<uint64_t> scales;  // 8-byte elements: aligned for float and uint16_t views
    try {
        codes.resize(static_cast<size_t>(n * k));
        scales.resize((cells * scaleBytes + 7) / 8);
        if (spec->weightKind == KF_WEIGHT_UINT) zeroPoints.resize(cells);
    } catch (const std::bad_alloc &) {
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_quantize: cannot allocate codes and scales for " +
                                              std::to_string(n) + "x" + std::to_string(k) + " weights");
    }
    uint8_t *zp = zeroPoints.empty() ? nullptr : zeroPoints.data();
    if (kf_status s = quantize("kf_linear_quantize", def, n, k, w, codes.data(), scales.data(), zp)) return s;
    const kf_linear_weights weights{codes.data(), scales.data(), zp, nullptr, bias};
    if (kf_status s = kf_linear_pack_weights(layer, &weights))
        return fail(s, "kf_linear_quantize: " + std::string(kf_last_error()));
    return KF_OK;
}

}  // extern "C"
