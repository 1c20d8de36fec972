// \file
// The rotation_attention family's double-precision reference (Reference.h),
// from docs/formats.md only.
#include "dsl/families/rotation_attention/Reference.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace kf::families::rotation_attention {

namespace {

// fl32(a / b): one f32 division. The source is compiled in ISO C++ mode
// (CMAKE_CXX_EXTENSIONS OFF), so float expressions are evaluated in float and
// a division is never fused with anything; the assignment to a float is the
// rounding the format prescribes even on a target with excess precision.
float fl32Div(float a, float b) {
    const float q = a / b;
    return q;
}

// rha(v) = sign(v) floor(|v| + 1/2) of an f32 v, exactly. |v| + 0.5 in double
// never rounds across an integer: an f32 |v| that is not a half-integer lies at
// least one f32 spacing (>= 2^-25 near 0.5, >= 2^-24 |v| above) from one, far
// more than a double rounding; an integer |v| >= 2^53 rounds back to itself.
// The f32 evaluation floor(fl32(|v| + 0.5)) ("Dynamic int8 per token") differs
// at |v| = 0.5 - 2^-25; the notation's rha is the exact one.
double rha(float v) {
    const double a = std::floor(std::fabs(static_cast<double>(v)) + 0.5);
    return v < 0 ? -a : a;
}

void checkHeadDim(const char *what, int d) {
    if (d < 2 || d % 2 != 0)
        throw std::invalid_argument(std::string(what) + ": head_dim " + std::to_string(d) +
                                    " is not a positive even number");
}

void checkPowerOfTwo(const char *what, int d) {
    if (d < 1 || !std::has_single_bit(static_cast<unsigned>(d)))
        throw std::invalid_argument(std::string(what) + ": head_dim " + std::to_string(d) +
                                    " is not a power of two (R3 is the Sylvester Hadamard matrix)");
}

// What the kernels do to a query head before the dot products: RoPE at its
// position, then R3. q is one head, f32; out is double [d].
void rotateQuery(const dsl::RotationAttentionParams &params, const float *q, int64_t position, double theta,
                 double *out) {
    referenceCacheRow(params, /*isKey=*/true, q, position, theta, out);
}

}  // namespace

void referenceRopeTable(int d, int64_t position, double theta, float *cosOut, float *sinOut) {
    checkHeadDim("referenceRopeTable", d);
    const double p = static_cast<double>(position);
    for (int j = 0; j < d / 2; ++j) {
        const double angle = p * std::pow(theta, -2.0 * j / d);
        cosOut[j] = static_cast<float>(std::cos(angle));
        sinOut[j] = static_cast<float>(std::sin(angle));
    }
}

void referenceRope(dsl::RopeKind kind, int d, int64_t position, double theta, double *x) {
    if (kind == dsl::RopeKind::None) return;
    checkHeadDim("referenceRope", d);
    const int half = d / 2;
    std::vector<float> c(static_cast<std::size_t>(half)), s(static_cast<std::size_t>(half));
    referenceRopeTable(d, position, theta, c.data(), s.data());
    for (int j = 0; j < half; ++j) {
        const int ia = kind == dsl::RopeKind::Half ? j : 2 * j;
        const int ib = kind == dsl::RopeKind::Half ? j + half : 2 * j + 1;
        const double cj = c[static_cast<std::size_t>(j)], sj = s[static_cast<std::size_t>(j)];
        const double a = x[ia], b = x[ib];
        x[ia] = a * cj - b * sj;
        x[ib] = a * sj + b * cj;
    }
}

void referenceR3(int d, const double *x, double *y) {
    checkPowerOfTwo("referenceR3", d);
    const double root = std::sqrt(static_cast<double>(d));
    for (int i = 0; i < d; ++i) {
        double sum = 0;
        for (int j = 0; j < d; ++j) {
            const bool negative = std::popcount(static_cast<unsigned>(i & j)) % 2 != 0;
            sum += negative ? -x[j] : x[j];
        }
        y[i] = sum / root;
    }
}

void referenceCacheRow(const dsl::RotationAttentionParams &params, bool isKey, const float *in, int64_t position,
                       double theta, double *out) {
    const int d = params.headDim;
    if (d < 1) throw std::invalid_argument("referenceCacheRow: head_dim " + std::to_string(d) + " is not positive");
    if (!isKey) {
        for (int i = 0; i < d; ++i) out[i] = in[i];
        return;
    }
    std::vector<double> roped(in, in + d);
    referenceRope(params.rope, d, position, theta, roped.data());
    if (params.rotate)
        referenceR3(d, roped.data(), out);
    else
        std::copy(roped.begin(), roped.end(), out);
}

void referenceQuantizeGroup(const float *x, int n, int bits, uint8_t *codes, float *s, float *z, double *margin) {
    if (bits != 4 && bits != 8)
        throw std::invalid_argument("referenceQuantizeGroup: bits " + std::to_string(bits) + " is not 4 or 8");
    if (n <= 0) throw std::invalid_argument("referenceQuantizeGroup: group of " + std::to_string(n) + " values");
    for (int i = 0; i < n; ++i)
        if (!std::isfinite(x[i])) throw std::invalid_argument("referenceQuantizeGroup: a value is not finite");
    const int levels = (1 << bits) - 1;  // L
    const float lo = *std::min_element(x, x + n), hi = *std::max_element(x, x + n);

    if (hi == lo) {
        // Constant group: s (0 - z) = |v| sign(v) = v exactly. The 0 case
        // writes +0 rather than -0 for z.
        *s = std::fabs(lo);
        *z = lo > 0 ? -1.0f : lo < 0 ? 1.0f : 0.0f;
        std::fill(codes, codes + n, uint8_t{0});
        if (margin) *margin = std::numeric_limits<double>::infinity();
        return;
    }

    const float range = hi - lo;  // fl32(hi - lo)
    const float scale = fl32Div(range, static_cast<float>(levels));
    // docs/formats.md does not say what a group whose range underflows s to 0
    // (hi - lo < L * 2^-150) or overflows hi - lo to infinity is stored as;
    // rather than invent it, refuse.
    if (scale == 0 || !std::isfinite(scale))
        throw std::invalid_argument("referenceQuantizeGroup: the group's scale fl32(fl32(hi - lo) / L) is " +
                                    std::string(scale == 0 ? "0" : "not finite") +
                                    ", which docs/formats.md does not define");
    const double zero = rha(fl32Div(-lo, scale));
    double closest = std::numeric_limits<double>::infinity();
    for (int i = 0; i < n; ++i) {
        const float q = fl32Div(x[i], scale);
        const double c = std::clamp(rha(q) + zero, 0.0, static_cast<double>(levels));
        codes[i] = static_cast<uint8_t>(c);
        const double a = std::fabs(static_cast<double>(q));
        closest = std::min(closest, std::fabs(a - std::floor(a) - 0.5));
    }
    *s = scale;
    *z = static_cast<float>(zero);  // exact: an integer below 2^24, or the f32 quotient itself
    if (margin) *margin = closest;
}

double referenceDequantize(uint8_t code, float s, float z) {
    return static_cast<double>(s) * (static_cast<double>(code) - static_cast<double>(z));
}

double referenceStoreFloat(float x, int bits) {
    if (bits == 32) return x;
    if (bits != 16) throw std::invalid_argument("referenceStoreFloat: bits " + std::to_string(bits) + " is not 16 or 32");
    if (!std::isfinite(x) || x == 0) return x;
    // binary16: 11 significant bits for |x| >= 2^-14, a fixed step of 2^-24 below.
    const double v = x;
    const int exponent = std::max(std::ilogb(v), -14);  // |v| in [2^e, 2^(e+1))
    const double step = std::ldexp(1.0, exponent - 10);
    const double r = std::nearbyint(v / step) * step;  // ties to even (the default rounding mode); exact
    return std::fabs(r) > 65504.0 ? std::copysign(std::numeric_limits<double>::infinity(), v) : r;
}

double referenceHalfValue(uint16_t bits) {
    const int sign = bits >> 15, exponent = (bits >> 10) & 31, fraction = bits & 1023;
    double magnitude;
    if (exponent == 31)
        magnitude = fraction ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    else if (exponent == 0)
        magnitude = std::ldexp(fraction, -24);
    else
        magnitude = std::ldexp(1024 + fraction, exponent - 25);
    return sign ? -magnitude : magnitude;
}

int referenceCodeBytes(const dsl::RotationAttentionParams &params) {
    return params.kvBits == 4 ? params.headDim / 2 : params.headDim * (params.kvBits / 8);
}

int referenceGroups(const dsl::RotationAttentionParams &params) {
    return params.kvBits > 8 || params.kvGroup == 0 ? 1 : params.headDim / params.kvGroup;
}

std::vector<double> referenceCacheValues(const dsl::RotationAttentionParams &params, const uint8_t *codes,
                                         const float *scales, const float *zeros, int64_t count) {
    const int d = params.headDim, bytes = referenceCodeBytes(params), groups = referenceGroups(params);
    const int group = d / groups;
    std::vector<double> out(static_cast<size_t>(count * d));
    for (int64_t r = 0; r < count; ++r) {
        const uint8_t *at = codes + r * bytes;
        for (int i = 0; i < d; ++i) {
            double v;
            switch (params.kvBits) {
            case 32: {
                float f;
                std::memcpy(&f, at + 4 * i, 4);
                v = f;
                break;
            }
            case 16: v = referenceHalfValue(static_cast<uint16_t>(at[2 * i] | at[2 * i + 1] << 8)); break;
            default: {
                // int4: element j in the low nibble of byte j, element j + d/2 in its high nibble.
                const int code = params.kvBits == 8 ? at[i] : i < d / 2 ? at[i] & 15 : at[i - d / 2] >> 4;
                const int64_t g = r * groups + i / group;
                v = referenceDequantize(static_cast<uint8_t>(code), scales[g], zeros[g]);
            }
            }
            out[static_cast<size_t>(r * d + i)] = v;
        }
    }
    return out;
}

void referenceAttention(const dsl::RotationAttentionParams &params, const float *q, int64_t T, int64_t firstPos,
                        double theta, const double *keys, const double *values, int64_t len, double *out) {
    const int d = params.headDim, heads = params.numHeads, kvHeads = params.numKvHeads;
    auto fail = [](const std::string &why) { throw std::invalid_argument("referenceAttention: " + why); };
    if (d < 1) fail("head_dim " + std::to_string(d) + " is not positive");
    if (params.rope != dsl::RopeKind::None) checkHeadDim("referenceAttention", d);
    if (params.rotate) checkPowerOfTwo("referenceAttention", d);
    if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0)
        fail(std::to_string(heads) + " query heads are not a multiple of " + std::to_string(kvHeads) + " kv heads");
    if (T < 1) fail("T = " + std::to_string(T) + " queries; at least one is needed");
    if (len < 1) fail("the cache holds " + std::to_string(len) + " tokens; at least one is needed");
    if (firstPos < 0) fail("first position " + std::to_string(firstPos) + " is negative");
    if (firstPos > (int64_t{1} << 31) - T)
        fail("positions " + std::to_string(firstPos) + " + " + std::to_string(T) + " reach 2^31 (docs/formats.md)");
    if (params.causal && firstPos + T > len)
        fail("causal queries at positions " + std::to_string(firstPos) + ".." + std::to_string(firstPos + T - 1) +
             " need their tokens in the cache, which holds " + std::to_string(len));

    const int group = heads / kvHeads;
    const double root = std::sqrt(static_cast<double>(d));
    // One job per (query, head): each writes its own output row.
    tbb::parallel_for(int64_t{0}, T * heads, [&](int64_t job) {
        const int64_t t = job / heads;
        const int h = static_cast<int>(job % heads), kv = h / group;
        std::vector<double> qh(static_cast<std::size_t>(d));
        rotateQuery(params, q + job * d, firstPos + t, theta, qh.data());

        const int64_t seen = params.causal ? firstPos + t + 1 : len;
        const double *k = keys + static_cast<int64_t>(kv) * len * d;
        const double *v = values + static_cast<int64_t>(kv) * len * d;
        std::vector<double> score(static_cast<std::size_t>(seen));
        double top = -std::numeric_limits<double>::infinity();
        for (int64_t u = 0; u < seen; ++u) {
            double dot = 0;
            for (int i = 0; i < d; ++i) dot += qh[static_cast<std::size_t>(i)] * k[u * d + i];
            score[static_cast<std::size_t>(u)] = dot / root;
            top = std::max(top, dot / root);
        }
        double total = 0;
        for (double &e : score) {
            e = std::exp(e - top);
            total += e;
        }
        double *o = out + job * d;
        std::fill(o, o + d, 0.0);
        for (int64_t u = 0; u < seen; ++u) {
            const double p = score[static_cast<std::size_t>(u)] / total;
            for (int i = 0; i < d; ++i) o[i] += p * v[u * d + i];
        }
    });
}

double relativeError(const float *y, const double *ref, int64_t count) {
    double err = 0, norm = 0;
    for (int64_t i = 0; i < count; ++i) {
        const double diff = static_cast<double>(y[i]) - ref[i];
        err += diff * diff;
        norm += ref[i] * ref[i];
    }
    if (norm == 0) return err == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(err / norm);
}

std::vector<float> randomValues(int64_t count, uint64_t seed) {
    // As hadamard's randomRows: mt19937_64's sequence is fixed by the
    // standard, the distributions are not, so the conversion to [-1, 1) is
    // spelt out: 24 random bits scaled.
    std::mt19937_64 rng(seed);
    std::vector<float> out(static_cast<std::size_t>(count));
    for (float &v : out) v = static_cast<float>(static_cast<double>(rng() >> 40) * 0x1p-23 - 1.0);
    return out;
}

}  // namespace kf::families::rotation_attention
