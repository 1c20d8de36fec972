#include "dsl/families/lowbit_linear/ReferenceQuantizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dsl/families/lowbit_linear/Reference.h"

namespace kf::families::lowbit {
namespace {

using dsl::ScalarType;
using dsl::WeightKind;

// Round half away from zero (FORMATS), for v >= 0, exactly.
double roundHalfUp(double v) {
    const double t = std::floor(v);
    return v - t >= 0.5 ? t + 1 : t;
}

}  // namespace

// The largest pattern p not above v, then the midpoint between p and p + 1
// decides. Positive patterns are ordered like their values.
uint16_t roundToPattern(double v, double (*decode)(uint16_t), uint16_t infPattern, const char *typeName) {
    uint32_t lo = 0, hi = infPattern;  // decode(lo) <= v < decode(hi)
    while (hi - lo > 1) {
        const uint32_t mid = (lo + hi) / 2;
        (decode(static_cast<uint16_t>(mid)) <= v ? lo : hi) = mid;
    }
    const double below = decode(static_cast<uint16_t>(lo));
    // Past the largest finite value the next one would be below + one step.
    const double above = hi == infPattern ? below + (below - decode(static_cast<uint16_t>(lo - 1)))
                                          : decode(static_cast<uint16_t>(hi));
    const double midpoint = (below + above) / 2;  // exact: both are short binary fractions
    uint32_t p = v < midpoint ? lo : v > midpoint ? hi : (lo % 2 == 0 ? lo : hi);
    if (p >= infPattern)
        throw std::invalid_argument("value " + std::to_string(v) + " overflows " + typeName);
    return static_cast<uint16_t>(p);
}

namespace {

struct RoundedScale {
    uint32_t bits;
    double value;
};

RoundedScale roundScale(double s, ScalarType type) {
    switch (type) {
    case ScalarType::F32: {
        const float f = static_cast<float>(s);
        if (std::isinf(f)) throw std::invalid_argument("scale " + std::to_string(s) + " overflows f32");
        uint32_t bits;
        std::memcpy(&bits, &f, sizeof bits);
        return {bits, f};
    }
    case ScalarType::F16: {
        const uint16_t p = roundToPattern(s, halfToDouble, 0x7C00, "f16");
        return {p, halfToDouble(p)};
    }
    case ScalarType::BF16: {
        const uint16_t p = roundToPattern(s, bfloat16ToDouble, 0x7F80, "bf16");
        return {p, bfloat16ToDouble(p)};
    }
    default: throw std::invalid_argument("scales must be f32, f16 or bf16");
    }
}

// The format's levels, ascending (code = index); uint: 0 .. 2^b - 1 before
// the zero point is subtracted.
std::vector<double> levelsOf(const dsl::WeightFormat &f) {
    std::vector<double> levels;
    if (f.kind == WeightKind::Uint) {
        for (int c = 0; c < (1 << f.bits); ++c) levels.push_back(c);
        return levels;
    }
    const unsigned count = f.kind == WeightKind::Binary    ? 2
                           : f.kind == WeightKind::Ternary ? 3
                           : f.kind == WeightKind::Seq2    ? 4
                                                           : 1u << f.bits;
    for (unsigned c = 0; c < count; ++c) levels.push_back(referenceLevel(f, c));
    return levels;
}

// Index of the level nearest x, ties away from zero (to the positive level at
// 0): x passes the midpoint m between two neighbours when x > m, or x == m >= 0.
unsigned nearestLevel(const std::vector<double> &levels, double x) {
    unsigned code = 0;
    for (size_t i = 1; i < levels.size(); ++i) {
        const double m = (levels[i - 1] + levels[i]) / 2;
        if (x > m || (x == m && m >= 0)) code = static_cast<unsigned>(i);
    }
    return code;
}

}  // namespace

QuantizedWeights referenceQuantize(const dsl::LowbitLinearParams &p, int64_t n, int64_t k, const float *w) {
    const dsl::WeightFormat &f = p.weight;
    if (f.kind == WeightKind::Codebook)
        throw std::invalid_argument("codebook weights need a clustering (eDKM / JLCM), not a quantizer");
    if (n < 1 || k < 1) throw std::invalid_argument("N and K must be >= 1");
    for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c)
            if (!std::isfinite(w[r * k + c]))
                throw std::invalid_argument("weight at row " + std::to_string(r) + ", column " + std::to_string(c) +
                                            " is not finite");

    const int64_t g = p.group > 0 ? p.group : k;
    QuantizedWeights q;
    q.groups = (k + g - 1) / g;
    q.codes.resize(static_cast<size_t>(n * k));
    q.scaleBits.resize(static_cast<size_t>(n * q.groups));
    q.scales.resize(q.scaleBits.size());
    const bool isUint = f.kind == WeightKind::Uint;
    if (isUint) q.zeroPoints.resize(q.scaleBits.size());
    const std::vector<double> baseLevels = levelsOf(f);
    const double maxCode = static_cast<double>(baseLevels.size() - 1);

    for (int64_t r = 0; r < n; ++r)
        for (int64_t gi = 0; gi < q.groups; ++gi) {
            const int64_t k0 = gi * g, k1 = std::min(k, k0 + g);
            const float *wg = w + r * k + k0;
            const int64_t len = k1 - k0;

            double s = 0, lo = 0, hi = 0;
            switch (f.kind) {
            case WeightKind::Binary:
            case WeightKind::Ternary: {  // mean |w| (ParetoQ, BitNet b1.58 absmean)
                double sum = 0;
                for (int64_t i = 0; i < len; ++i) sum += std::fabs(static_cast<double>(wg[i]));
                s = sum / static_cast<double>(len);
                break;
            }
            case WeightKind::Seq2:
            case WeightKind::Int: {  // abs-max over the largest level
                double m = 0;
                for (int64_t i = 0; i < len; ++i) m = std::max(m, std::fabs(static_cast<double>(wg[i])));
                s = m / (f.kind == WeightKind::Seq2 ? 1.5 : std::ldexp(1.0, f.bits - 1) - 1);
                break;
            }
            case WeightKind::Uint:  // min-max over the code range, 0 always inside (GPTQ)
                for (int64_t i = 0; i < len; ++i) {
                    lo = std::min(lo, static_cast<double>(wg[i]));
                    hi = std::max(hi, static_cast<double>(wg[i]));
                }
                s = (hi - lo) / maxCode;
                break;
            default: break;
            }

            const RoundedScale rs = roundScale(s, p.scaleType);
            const size_t si = static_cast<size_t>(r * q.groups + gi);
            q.scaleBits[si] = rs.bits;
            q.scales[si] = rs.value;

            std::vector<double> levels = baseLevels;
            if (isUint) {
                const double z = rs.value > 0 ? std::min(roundHalfUp(-lo / rs.value), maxCode) : 0.0;
                q.zeroPoints[si] = static_cast<uint8_t>(z);
                for (double &l : levels) l -= z;
            }
            for (int64_t i = 0; i < len; ++i) {
                const double x = rs.value > 0 ? static_cast<double>(wg[i]) / rs.value : 0.0;
                q.codes[static_cast<size_t>(r * k + k0 + i)] = static_cast<uint8_t>(nearestLevel(levels, x));
            }
        }
    return q;
}

std::vector<double> referenceDequantize(const dsl::LowbitLinearParams &p, int64_t n, int64_t k,
                                        const QuantizedWeights &q) {
    const int64_t g = p.group > 0 ? p.group : k;
    std::vector<double> out(static_cast<size_t>(n * k));
    for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) {
            const size_t si = static_cast<size_t>(r * q.groups + c / g);
            const unsigned code = q.codes[static_cast<size_t>(r * k + c)];
            const double level = p.weight.kind == WeightKind::Uint
                                     ? static_cast<double>(code) - static_cast<double>(q.zeroPoints[si])
                                     : referenceLevel(p.weight, code);
            out[static_cast<size_t>(r * k + c)] = q.scales[si] * level;
        }
    return out;
}

}  // namespace kf::families::lowbit
