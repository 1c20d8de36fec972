#include "dsl/families/lowbit_linear/Reference.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

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
}  // namespace

void referenceLinear(const dsl::LowbitLinearParams &p, int64_t M, int64_t N, int64_t K, const float *x,
                     const uint8_t *codes, const void *scales, double *y) {
    const int64_t g = p.group ? p.group : K;
    const int64_t groups = (K + g - 1) / g;
    for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
            double sum = 0;
            for (int64_t k = 0; k < K; ++k) {
                const double w = scaleAt(p.scaleType, scales, n * groups + k / g) * referenceLevel(p.weight, codes[n * K + k]);
                sum += static_cast<double>(x[m * K + k]) * w;
            }
            y[m * N + n] = sum;
        }
}

}  // namespace kf::families::lowbit
