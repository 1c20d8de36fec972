// \file
// Random lowbit_linear layers and activations (RandomLayer.h).
#include "dsl/families/lowbit_linear/RandomLayer.h"
#include "dsl/families/lowbit_linear/Reference.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace kf::families::lowbit {

namespace {

// Scale bit patterns of type t: +-m * 2^e, m in [1, 2), e in [-10, -3]. The
// f16 pattern is built from the f32 fields (normal in f16 for these
// exponents, mantissa truncated to 10 bits); bf16 truncates the f32 pattern.
void fillScales(dsl::ScalarType t, std::vector<uint8_t> &bytes, std::size_t count, std::mt19937_64 &rng) {
    std::uniform_int_distribution<int> exp(-10, -3), sign(0, 1);
    std::uniform_real_distribution<float> mant(1.0f, 2.0f);
    const std::size_t size = t == dsl::ScalarType::F32 ? 4 : 2;
    bytes.resize(count * size);
    for (std::size_t i = 0; i < count; ++i) {
        const float v = std::ldexp(mant(rng), exp(rng)) * (sign(rng) ? -1.0f : 1.0f);
        uint32_t f;
        std::memcpy(&f, &v, 4);
        if (t == dsl::ScalarType::F32) {
            std::memcpy(&bytes[i * 4], &f, 4);
            continue;
        }
        uint16_t h;
        if (t == dsl::ScalarType::BF16) {
            h = static_cast<uint16_t>(f >> 16);
        } else {
            const int e = static_cast<int>((f >> 23) & 0xff) - 127;  // -10 .. -3
            h = static_cast<uint16_t>((f >> 31) << 15 | static_cast<uint32_t>(e + 15) << 10 | ((f >> 13) & 0x3ff));
        }
        std::memcpy(&bytes[i * 2], &h, 2);
    }
}

// Uniform codes in [0, levels): 16 bits of a 64-bit draw each (layers have
// tens of millions of codes; one draw per code would dominate a check).
void fillCodes(std::vector<uint8_t> &codes, unsigned levels, std::mt19937_64 &rng) {
    std::size_t i = 0;
    while (i < codes.size()) {
        uint64_t r = rng();
        for (int j = 0; j < 4 && i < codes.size(); ++j, r >>= 16)
            codes[i++] = static_cast<uint8_t>(((r & 0xffffu) * levels) >> 16);
    }
}

template <typename T>
const T *orNull(const std::vector<T> &v) {
    return v.empty() ? nullptr : v.data();
}

}  // namespace

unsigned codeCount(const dsl::WeightFormat &format) {
    switch (format.kind) {
    case dsl::WeightKind::Binary: return 2;
    case dsl::WeightKind::Ternary: return 3;
    case dsl::WeightKind::Seq2: return 4;
    default: return 1u << format.bits;
    }
}

ReferenceWeights RandomLayer::reference() const {
    ReferenceWeights w;
    w.codes = codes.data();
    w.scales = scales.data();
    w.zeroPoints = orNull(zeroPoints);
    w.codebook = orNull(codebook);
    w.bias = orNull(bias);
    return w;
}

RandomLayer makeRandomLayer(const dsl::LowbitLinearParams &p, int64_t n, int64_t k, uint64_t seed) {
    std::mt19937_64 rng(seed ^ 0x6b666f7267650000ull);
    RandomLayer l;
    l.n = n;
    l.k = k;
    const unsigned levels = codeCount(p.weight);
    l.codes.resize(static_cast<std::size_t>(n * k));
    fillCodes(l.codes, levels, rng);
    const int64_t cols = p.group ? (k + p.group - 1) / p.group : 1;
    fillScales(p.scaleType, l.scales, static_cast<std::size_t>(n * cols), rng);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    if (p.weight.kind == dsl::WeightKind::Uint) {
        l.zeroPoints.resize(static_cast<std::size_t>(n * cols));
        fillCodes(l.zeroPoints, levels, rng);
    }
    if (p.weight.kind == dsl::WeightKind::Codebook) {
        l.codebook.resize(static_cast<std::size_t>((p.weight.perChannelCodebook ? n : 1) * levels));
        for (float &v : l.codebook) v = unit(rng);
    }
    if (p.bias) {
        l.bias.resize(static_cast<std::size_t>(n));
        for (float &v : l.bias) v = unit(rng);
    }
    return l;
}

RandomInput makeRandomInput(const dsl::LowbitLinearParams &p, int64_t m, int64_t k, uint64_t seed) {
    std::mt19937_64 rng(seed ^ 0x78696e7075740000ull);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    RandomInput in;
    in.f32.resize(static_cast<std::size_t>(m * k));
    for (float &v : in.f32) v = unit(rng);
    if (p.input == dsl::ActKind::BF16) {
        in.bf16.resize(in.f32.size());
        for (std::size_t i = 0; i < in.f32.size(); ++i) {
            uint32_t f;
            std::memcpy(&f, &in.f32[i], 4);
            in.bf16[i] = static_cast<uint16_t>(f >> 16);
        }
    }
    return in;
}

// Relative L2 error of y ([M][N]) against referenceLinear on `rows` of x. The
// reference decodes one weight at a time: blocks of output rows run in
// parallel, each block a layer of its own (the weights are row-major).
double relativeError(const dsl::LowbitLinearParams &p, int64_t N, int64_t K, const ReferenceWeights &all,
                     const void *x, const float *y, const std::vector<int64_t> &rows) {
    const int64_t R = static_cast<int64_t>(rows.size());
    const std::size_t xe = p.input == dsl::ActKind::BF16 ? 2 : 4;
    std::vector<uint8_t> xs(static_cast<std::size_t>(R * K) * xe);
    for (int64_t r = 0; r < R; ++r)
        std::memcpy(&xs[static_cast<std::size_t>(r * K) * xe],
                    static_cast<const uint8_t *>(x) + static_cast<std::size_t>(rows[r] * K) * xe,
                    static_cast<std::size_t>(K) * xe);
    const int64_t G = p.group ? (K + p.group - 1) / p.group : 1;
    const std::size_t scaleBytes = p.scaleType == dsl::ScalarType::F32 ? 4 : 2;
    const int64_t entries = int64_t(1) << p.weight.bits;
    constexpr int64_t kBlock = 64;
    const int64_t blocks = (N + kBlock - 1) / kBlock;
    std::vector<double> err2(static_cast<std::size_t>(blocks)), ref2(static_cast<std::size_t>(blocks));
    tbb::parallel_for(int64_t{0}, blocks, [&](int64_t b) {
        const int64_t n0 = b * kBlock, nb = std::min(kBlock, N - n0);
        ReferenceWeights rw;
        rw.codes = all.codes + n0 * K;
        rw.scales = static_cast<const uint8_t *>(all.scales) + static_cast<std::size_t>(n0 * G) * scaleBytes;
        if (all.zeroPoints) rw.zeroPoints = all.zeroPoints + n0 * G;
        if (all.codebook) rw.codebook = all.codebook + (p.weight.perChannelCodebook ? n0 * entries : 0);
        if (all.bias) rw.bias = all.bias + n0;
        std::vector<double> ref(static_cast<std::size_t>(R * nb));
        referenceLinear(p, R, nb, K, xs.data(), rw, ref.data());
        double e = 0, r2 = 0;
        for (int64_t r = 0; r < R; ++r)
            for (int64_t n = 0; n < nb; ++n) {
                const double v = ref[static_cast<std::size_t>(r * nb + n)];
                const double d = double(y[rows[r] * N + n0 + n]) - v;
                e += d * d;
                r2 += v * v;
            }
        err2[static_cast<std::size_t>(b)] = e;
        ref2[static_cast<std::size_t>(b)] = r2;
    });
    double e = 0, r2 = 0;
    for (int64_t b = 0; b < blocks; ++b) {
        e += err2[static_cast<std::size_t>(b)];
        r2 += ref2[static_cast<std::size_t>(b)];
    }
    return std::sqrt(e / std::max(r2, 1e-300));
}

}  // namespace kf::families::lowbit
