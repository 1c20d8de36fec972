#include "dsl/families/lowbit_linear/Reference.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace kf::families::lowbit {

double referenceLevel(const dsl::WeightFormat &f, unsigned code) {
    switch (f.kind) {
    case dsl::WeightKind::Binary: return code ? 1.0 : -1.0;
    case dsl::WeightKind::Ternary: return static_cast<double>(code) - 1.0;
    case dsl::WeightKind::Seq2: return static_cast<double>(code) - 1.5;
    case dsl::WeightKind::Int: return static_cast<double>(code) - std::ldexp(1.0, f.bits - 1);
    default: throw std::invalid_argument("referenceLevel: format needs zero points or a codebook");
    }
}

double halfToDouble(uint16_t h) {
    const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    double v;
    if (exp == 0)
        v = std::ldexp(static_cast<double>(mant), -24);  // subnormal: mant * 2^-14 / 2^10
    else if (exp == 31)
        v = mant ? std::nan("") : INFINITY;
    else
        v = std::ldexp(1.0 + mant / 1024.0, exp - 15);
    return sign ? -v : v;
}

double bfloat16ToDouble(uint16_t b) {
    const uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

namespace {

double scaleAt(dsl::ScalarType t, const void *scales, int64_t index) {
    switch (t) {
    case dsl::ScalarType::F32: return static_cast<const float *>(scales)[index];
    case dsl::ScalarType::F16: return halfToDouble(static_cast<const uint16_t *>(scales)[index]);
    case dsl::ScalarType::BF16: return bfloat16ToDouble(static_cast<const uint16_t *>(scales)[index]);
    default: throw std::invalid_argument("scales must be f32, f16 or bf16");
    }
}

double activation(const dsl::LowbitLinearParams &p, const void *x, int64_t index) {
    if (p.input == dsl::ActKind::BF16) return bfloat16ToDouble(static_cast<const uint16_t *>(x)[index]);
    return static_cast<const float *>(x)[index];
}

}  // namespace

double referenceWeight(const dsl::LowbitLinearParams &p, int64_t K, const ReferenceWeights &w, int64_t n, int64_t k) {
    const int64_t g = p.group ? p.group : K;
    const int64_t groups = (K + g - 1) / g;
    const int64_t col = n * groups + k / g;
    const double s = scaleAt(p.scaleType, w.scales, col);
    const unsigned c = w.codes[n * K + k];
    switch (p.weight.kind) {
    case dsl::WeightKind::Uint: return s * (static_cast<double>(c) - w.zeroPoints[col]);
    case dsl::WeightKind::Codebook: {
        const int64_t entries = int64_t(1) << p.weight.bits;
        return s * w.codebook[(p.weight.perChannelCodebook ? n * entries : 0) + c];
    }
    default: return s * referenceLevel(p.weight, c);
    }
}

float referenceActScale(const float *xRow, int64_t K) {
    float amax = 0.0f;
    for (int64_t k = 0; k < K; ++k) amax = std::fmax(amax, std::fabs(xRow[k]));
    return amax / 127.0f;
}

int referenceActCode(float x, float sx) {
    if (sx == 0.0f) return 0;
    const float v = x / sx;
    // Half away from zero, exactly: v - trunc(v) is exact in f32, while
    // floor(v + 0.5f) would round 0.49999997 (the float below 0.5) up to 1.
    const float t = std::trunc(v), frac = v - t;
    const float r = t + (frac >= 0.5f ? 1.0f : frac <= -0.5f ? -1.0f : 0.0f);
    return static_cast<int>(std::fmin(127.0f, std::fmax(-127.0f, r)));
}

void referenceLinear(const dsl::LowbitLinearParams &p, int64_t M, int64_t N, int64_t K, const void *x,
                     const ReferenceWeights &w, double *y) {
    // Activations as the kernel's arithmetic sees them: x, or q with its s_x.
    std::vector<double> act(static_cast<size_t>(M * K)), sx(static_cast<size_t>(M), 1.0);
    for (int64_t m = 0; m < M; ++m) {
        if (p.input == dsl::ActKind::QInt8PerToken) {
            const float *xr = static_cast<const float *>(x) + m * K;
            const float s = referenceActScale(xr, K);
            for (int64_t k = 0; k < K; ++k) act[m * K + k] = referenceActCode(xr[k], s);
            sx[m] = s;
        } else {
            for (int64_t k = 0; k < K; ++k) act[m * K + k] = activation(p, x, m * K + k);
        }
    }
    std::vector<double> wrow(static_cast<size_t>(K));
    for (int64_t n = 0; n < N; ++n) {
        for (int64_t k = 0; k < K; ++k) wrow[k] = referenceWeight(p, K, w, n, k);
        for (int64_t m = 0; m < M; ++m) {
            double sum = 0;
            for (int64_t k = 0; k < K; ++k) sum += act[m * K + k] * wrow[k];
            y[m * N + n] = sx[m] * sum + (w.bias ? w.bias[n] : 0.0);
        }
    }
}

void referenceLinear(const dsl::LowbitLinearParams &p, int64_t M, int64_t N, int64_t K, const float *x,
                     const uint8_t *codes, const void *scales, double *y) {
    ReferenceWeights w;
    w.codes = codes;
    w.scales = scales;
    referenceLinear(p, M, N, K, x, w, y);
}

}  // namespace kf::families::lowbit
