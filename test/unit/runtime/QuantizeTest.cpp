// kf_quantize_linear against the reference quantizer written from docs/formats.md
// (dsl/families/lowbit_linear/ReferenceQuantizer.h): identical codes and zero
// points, bit-identical scales, for every weight format x scale type x
// granularity, on random shapes (seeded; set KFORGE_TEST_SEED to replay) and
// on the edge cases. Kernel definitions are built here as plain structs, so
// the test needs no emitted library.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "dsl/families/lowbit_linear/ReferenceQuantizer.h"
#include "kforge/detail/Linear.h"
#include "kforge/kforge.h"

namespace {

namespace dsl = kf::dsl;
namespace lowbit = kf::families::lowbit;

struct Format {
    const char *name;
    kf_weight_kind kind;
    dsl::WeightKind dslKind;
    int bits;
};

const Format kFormats[] = {
    {"binary", KF_WEIGHT_BINARY, dsl::WeightKind::Binary, 1},
    {"ternary", KF_WEIGHT_TERNARY, dsl::WeightKind::Ternary, 2},
    {"seq2", KF_WEIGHT_SEQ2, dsl::WeightKind::Seq2, 2},
    {"int2", KF_WEIGHT_INT, dsl::WeightKind::Int, 2},
    {"int3", KF_WEIGHT_INT, dsl::WeightKind::Int, 3},
    {"int4", KF_WEIGHT_INT, dsl::WeightKind::Int, 4},
    {"int8", KF_WEIGHT_INT, dsl::WeightKind::Int, 8},
    {"uint2", KF_WEIGHT_UINT, dsl::WeightKind::Uint, 2},
    {"uint3", KF_WEIGHT_UINT, dsl::WeightKind::Uint, 3},
    {"uint4", KF_WEIGHT_UINT, dsl::WeightKind::Uint, 4},
    {"uint5", KF_WEIGHT_UINT, dsl::WeightKind::Uint, 5},
    {"uint6", KF_WEIGHT_UINT, dsl::WeightKind::Uint, 6},
    {"uint7", KF_WEIGHT_UINT, dsl::WeightKind::Uint, 7},
    {"uint8", KF_WEIGHT_UINT, dsl::WeightKind::Uint, 8},
};
constexpr size_t kNumFormats = sizeof(kFormats) / sizeof(kFormats[0]);

const Format &format(const std::string &name) {
    for (const Format &f : kFormats)
        if (name == f.name) return f;
    throw std::invalid_argument("no format " + name);
}

const char *scaleName(kf_scale_type t) { return t == KF_SCALE_F32 ? "f32" : t == KF_SCALE_F16 ? "f16" : "bf16"; }

// A kernel as an emitted library would describe it, and the same kernel as the
// DSL's typed spec (what the reference quantizer takes).
struct Kernel {
    kf::rt::LinearSpec spec{};
    kf_kernel_def def{};
    dsl::LowbitLinearParams params;
    std::string name;

    Kernel(const Format &f, kf_scale_type scale, int group, int64_t n = 0, int64_t k = 0) {
        name = std::string("q_") + f.name + "_" + scaleName(scale) + "_g" + std::to_string(group);
        spec.weightFormat = f.name;
        spec.bits = f.bits;
        spec.n = n;
        spec.k = k;
        spec.group = group;
        spec.scaleType = scale;
        spec.weightKind = f.kind;
        spec.actType = KF_ACT_F32;
        def.name = name.c_str();
        def.family = "lowbit_linear";
        def.spec = &spec;
        def.variants = nullptr;
        def.numVariants = 0;
        params.weight.kind = f.dslKind;
        params.weight.bits = f.bits;
        params.scaleType = scale == KF_SCALE_F32 ? dsl::ScalarType::F32
                           : scale == KF_SCALE_F16 ? dsl::ScalarType::F16
                                                   : dsl::ScalarType::BF16;
        params.group = group;
        params.zeroPoint = f.kind == KF_WEIGHT_UINT;
    }
    Kernel(const Kernel &) = delete;
    bool isUint() const { return spec.weightKind == KF_WEIGHT_UINT; }
};

int64_t numGroups(const Kernel &kn, int64_t k) { return kn.spec.group ? (k + kn.spec.group - 1) / kn.spec.group : 1; }

// kf_quantize_linear's outputs, scales as bit patterns.
struct Quantized {
    kf_status status = KF_OK;
    std::string error;
    std::vector<uint8_t> codes, zeroPoints;
    std::vector<uint32_t> scaleBits;
};

Quantized runtimeQuantize(const Kernel &kn, int64_t n, int64_t k, const float *w) {
    Quantized out;
    const int64_t cells = n * numGroups(kn, k);
    out.codes.assign(static_cast<size_t>(n * k), 0xEE);
    std::vector<float> f32(static_cast<size_t>(cells));
    std::vector<uint16_t> u16(static_cast<size_t>(cells));
    if (kn.isUint()) out.zeroPoints.assign(static_cast<size_t>(cells), 0xEE);
    void *scales = kn.spec.scaleType == KF_SCALE_F32 ? static_cast<void *>(f32.data()) : u16.data();
    out.status = kf_quantize_linear(&kn.def, n, k, w, out.codes.data(), scales,
                                    kn.isUint() ? out.zeroPoints.data() : nullptr);
    out.error = kf_last_error();
    for (int64_t i = 0; i < cells; ++i) {
        uint32_t bits = u16[i];
        if (kn.spec.scaleType == KF_SCALE_F32) std::memcpy(&bits, &f32[i], sizeof bits);
        out.scaleBits.push_back(bits);
    }
    return out;
}

// The exact (unrounded) scale of the group, for the dequantization bound.
double exactScale(const Kernel &kn, const float *w, int64_t len) {
    double sum = 0, lo = 0, hi = 0;
    for (int64_t i = 0; i < len; ++i) {
        sum += std::fabs(double(w[i]));
        lo = std::min(lo, double(w[i]));
        hi = std::max(hi, double(w[i]));
    }
    switch (kn.spec.weightKind) {
    case KF_WEIGHT_SEQ2: return std::max(-lo, hi) / 1.5;
    case KF_WEIGHT_INT: return std::max(-lo, hi) / ((1 << (kn.spec.bits - 1)) - 1);
    case KF_WEIGHT_UINT: return (hi - lo) / ((1 << kn.spec.bits) - 1);
    default: return sum / double(len);
    }
}

// Largest |level| a clipped weight can be assigned to (seq2, intN, uintN).
double maxLevel(const Kernel &kn) {
    switch (kn.spec.weightKind) {
    case KF_WEIGHT_SEQ2: return 1.5;
    case KF_WEIGHT_INT: return (1 << (kn.spec.bits - 1)) - 1;
    case KF_WEIGHT_UINT: return (1 << kn.spec.bits) - 1;
    default: return 0;
    }
}

// Runtime == reference, and (seq2 / int / uint) |w - s L(c)| <= s/2 + the
// clipping that rounding the scale down causes.
void expectMatchesReference(const Kernel &kn, int64_t n, int64_t k, const std::vector<float> &w,
                            const std::string &what) {
    SCOPED_TRACE(what + ": " + kn.name + " N=" + std::to_string(n) + " K=" + std::to_string(k));
    const Quantized got = runtimeQuantize(kn, n, k, w.data());
    ASSERT_EQ(got.status, KF_OK) << kf_status_name(got.status) << ": " << got.error;
    const lowbit::QuantizedWeights ref = lowbit::referenceQuantize(kn.params, n, k, w.data());
    const int64_t G = numGroups(kn, k);
    ASSERT_EQ(ref.groups, G);
    for (int64_t i = 0; i < n * k; ++i)
        ASSERT_EQ(int(got.codes[i]), int(ref.codes[i]))
            << "code at row " << i / k << ", column " << i % k << " (w = " << w[i] << ", scale "
            << ref.scales[i / k * G + i % k / (kn.spec.group ? kn.spec.group : k)] << ")";
    for (int64_t i = 0; i < n * G; ++i) {
        ASSERT_EQ(got.scaleBits[i], ref.scaleBits[i]) << std::hex << "scale bits at row " << std::dec << i / G
                                                      << ", group " << i % G << " (reference " << ref.scales[i] << ")";
        if (kn.isUint()) {
            ASSERT_EQ(int(got.zeroPoints[i]), int(ref.zeroPoints[i]))
                << "zero point at row " << i / G << ", group " << i % G;
        }
    }
    if (maxLevel(kn) == 0) return;
    const std::vector<double> deq = lowbit::referenceDequantize(kn.params, n, k, ref);
    const int64_t g = kn.spec.group ? kn.spec.group : k;
    for (int64_t r = 0; r < n; ++r)
        for (int64_t gi = 0; gi < G; ++gi) {
            const int64_t k0 = gi * g, len = std::min(k, k0 + g) - k0;
            const double sr = ref.scales[r * G + gi];
            const double se = exactScale(kn, &w[r * k + k0], len);
            if (sr == 0) continue;  // all zeros, or a scale the type flushes to 0
            const double bound = sr / 2 + maxLevel(kn) * std::fabs(se - sr) + 1e-12 * se;
            for (int64_t c = k0; c < k0 + len; ++c)
                ASSERT_LE(std::fabs(deq[r * k + c] - double(w[r * k + c])), bound)
                    << "dequantized weight at row " << r << ", column " << c << " (w = " << w[r * k + c]
                    << ", s = " << sr << ")";
        }
}

uint32_t testSeed() {
    static const uint32_t seed = [] {
        const char *env = std::getenv("KFORGE_TEST_SEED");
        const uint32_t s = env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : 20240611u;
        std::cout << "[ seed     ] KFORGE_TEST_SEED=" << s << "\n";
        return s;
    }();
    return seed;
}

// Rows of different character: Gaussian over six decades, positive-only,
// negative-only, all zero, sparse, heavy-tailed.
std::vector<float> randomWeights(std::mt19937 &rng, int64_t n, int64_t k) {
    std::vector<float> w(static_cast<size_t>(n * k));
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int64_t r = 0; r < n; ++r) {
        const int style = static_cast<int>(rng() % 6);
        const double mag = std::pow(10.0, unit(rng) * 6 - 3);
        for (int64_t c = 0; c < k; ++c) {
            double v = normal(rng) * mag;
            switch (style) {
            case 1: v = std::fabs(v) + mag * 0.1; break;
            case 2: v = -std::fabs(v); break;
            case 3: v = 0; break;
            case 4: v = unit(rng) < 0.6 ? 0.0 : v; break;
            case 5: v = mag * std::tan((unit(rng) - 0.5) * 3.0); break;
            default: break;
            }
            w[r * k + c] = static_cast<float>(v);
        }
    }
    return w;
}

// ---------------------------------------------------------------------------
// Every format x scale type x granularity on random shapes.

using SweepParam = std::tuple<size_t, kf_scale_type, int>;

class QuantizeSweep : public ::testing::TestWithParam<SweepParam> {};

TEST_P(QuantizeSweep, MatchesReference) {
    const auto [fi, scale, group] = GetParam();
    const Kernel kn(kFormats[fi], scale, group);
    const uint32_t seed = testSeed() ^ static_cast<uint32_t>(fi * 7919 + int(scale) * 104729 + group);
    SCOPED_TRACE("seed " + std::to_string(testSeed()) + " (case seed " + std::to_string(seed) + ")");
    std::mt19937 rng(seed);
    const int64_t g = group ? group : 64;
    // Edge shapes always (K = 1, K = group + 1, K a multiple of the group),
    // then random ones.
    std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1}, {3, g + 1}, {2, 4 * g}, {5, 3 * g - 7}};
    for (int i = 0; i < 4; ++i) shapes.push_back({1 + int64_t(rng() % 9), 1 + int64_t(rng() % 1100)});
    for (const auto &[n, k] : shapes) {
        const std::vector<float> w = randomWeights(rng, n, k);
        expectMatchesReference(kn, n, k, w, "random");
        if (::testing::Test::HasFatalFailure()) return;
    }
}

std::string sweepName(const ::testing::TestParamInfo<SweepParam> &info) {
    const auto [fi, scale, group] = info.param;
    return std::string(kFormats[fi].name) + "_" + scaleName(scale) + "_" +
           (group ? "g" + std::to_string(group) : std::string("channel"));
}

INSTANTIATE_TEST_SUITE_P(AllFormats, QuantizeSweep,
                         ::testing::Combine(::testing::Range<size_t>(0, kNumFormats),
                                            ::testing::Values(KF_SCALE_F32, KF_SCALE_F16, KF_SCALE_BF16),
                                            ::testing::Values(32, 64, 128, 256, 0)),
                         sweepName);

// ---------------------------------------------------------------------------
// Hand-computed codes: the formulas themselves, not only agreement.

struct HandCase {
    const char *format;
    std::vector<float> w;  // one row, per-channel f32 scale
    float scale;
    std::vector<int> codes;
    int zeroPoint = -1;
};

TEST(Quantize, HandComputedCodes) {
    const HandCase cases[] = {
        // s = 7 / 7 = 1; 2.5 -> 3 and -2.5 -> -3 (half away from zero); code = level + 8.
        {"int4", {7, -7, 2.5f, -2.5f, 0.49f, 3.5f, -0.5f, 6.6f}, 1.0f, {15, 1, 11, 5, 8, 12, 7, 15}},
        {"int8", {127, 0.5f, -0.5f, 1.5f, -126.5f}, 1.0f, {255, 129, 127, 130, 1}},
        // int2: levels {-2 .. 1}, s = max|w| / 1, so -2 goes unused; +-0.5 ties away from zero.
        {"int2", {-4, 2, -2, 0.5f, -3}, 4.0f, {1, 3, 1, 2, 1}},
        // mean |w| = 2: +-1.5 -> +-1, +-0.5 -> +-1 (ties away from zero).
        {"ternary", {3, -3, 1, -1}, 2.0f, {2, 0, 2, 0}},
        {"ternary", {4, 0, 0.4f, -0.4f}, 1.2f, {2, 1, 1, 1}},
        // sign; 0 and -0 are +1.
        {"binary", {0.5f, -0.25f, 0.0f, -0.0f}, 0.1875f, {1, 0, 1, 1}},
        // s = 1.5 / 1.5; ties at +-1 go to +-1.5, at 0 to +0.5.
        {"seq2", {1.5f, -1.5f, 1.0f, -1.0f, 0.0f, -0.0f, 0.2f, -0.2f, 0.999f, -1.001f}, 1.0f,
         {3, 0, 3, 0, 2, 2, 2, 1, 2, 0}},
        // lo = -5, hi = 10: s = 1, z = 5; 2.5 -> 3 + 5, -2.5 -> -3 + 5.
        {"uint4", {-5, 10, 2.5f, -2.5f, 0, 9.6f}, 1.0f, {0, 15, 8, 2, 5, 15}, 5},
        // positive only: the range still starts at 0 (z = 0), no clipping.
        {"uint4", {3, 7.5f, 15}, 1.0f, {3, 8, 15}, 0},
        // negative only: z = 15.
        {"uint4", {-15, -7.5f, -3}, 1.0f, {0, 7, 12}, 15},
        // -lo / s = 1.5 ties to z = 2.
        {"uint2", {-1.5f, 1.5f, 0.4f}, 1.0f, {0, 3, 2}, 2},
    };
    for (const HandCase &hc : cases) {
        SCOPED_TRACE(hc.format);
        const Kernel kn(format(hc.format), KF_SCALE_F32, 0);
        const int64_t k = static_cast<int64_t>(hc.w.size());
        const Quantized got = runtimeQuantize(kn, 1, k, hc.w.data());
        ASSERT_EQ(got.status, KF_OK) << got.error;
        float s;
        std::memcpy(&s, &got.scaleBits[0], sizeof s);
        EXPECT_EQ(s, hc.scale);
        EXPECT_EQ(std::vector<int>(got.codes.begin(), got.codes.end()), hc.codes);
        if (hc.zeroPoint >= 0) {
            EXPECT_EQ(int(got.zeroPoints[0]), hc.zeroPoint);
        }
        expectMatchesReference(kn, 1, k, hc.w, "hand");
    }
}

// The scale is rounded to its type first and the codes use the rounded value.
TEST(Quantize, CodesUseTheRoundedScale) {
    const double u = std::ldexp(1.0, -11);  // half an f16 ulp at 1
    {
        // s = 1 + 2^-11 is a tie between f16 1 and 1 + 2^-10: to even, 1.0 (0x3C00).
        const Kernel kn(format("int4"), KF_SCALE_F16, 0);
        const std::vector<float> w = {float(7 * (1 + u)), 3.5f};
        const Quantized got = runtimeQuantize(kn, 1, 2, w.data());
        ASSERT_EQ(got.status, KF_OK) << got.error;
        EXPECT_EQ(got.scaleBits[0], 0x3C00u);
        EXPECT_EQ(int(got.codes[1]), 12);  // 3.5 / 1 ties to 4
    }
    {
        // s = 1 + 3 * 2^-11 ties between 1 + 2^-10 and 1 + 2^-9: to even, 1 + 2^-9 (0x3C02).
        // w = 3.5 (1 + 2^-9) - ulp: below the tie with the rounded scale
        // (level 3) though above it with the exact one (level 4).
        const Kernel kn(format("int4"), KF_SCALE_F16, 0);
        const float justBelow = std::nextafter(float(3.5 * (1 + 4 * u)), 0.0f);
        const std::vector<float> w = {float(7 * (1 + 3 * u)), justBelow};
        ASSERT_GT(double(justBelow) / (1 + 3 * u), 3.5);
        const Quantized got = runtimeQuantize(kn, 1, 2, w.data());
        ASSERT_EQ(got.status, KF_OK) << got.error;
        EXPECT_EQ(got.scaleBits[0], 0x3C02u);
        EXPECT_EQ(int(got.codes[1]), 11);
        expectMatchesReference(kn, 1, 2, w, "f16 rounding");
    }
    {
        // A mean-abs scale is rounded once, from double: the mean of {2 + 2^-10, 2^-29}
        // is 1 + 2^-11 + 2^-30, just above the f16 tie between 1 and 1 + 2^-10
        // (going through float first would land on the tie and round to 1.0).
        const Kernel kn(format("binary"), KF_SCALE_F16, 0);
        const std::vector<float> w = {float(2 + std::ldexp(1.0, -10)), float(std::ldexp(1.0, -29))};
        const Quantized got = runtimeQuantize(kn, 1, 2, w.data());
        ASSERT_EQ(got.status, KF_OK) << got.error;
        EXPECT_EQ(got.scaleBits[0], 0x3C01u);
        expectMatchesReference(kn, 1, 2, w, "mean-abs f16 rounding");
    }
    {
        // bf16: s = 1 + 2^-8 ties between 1 and 1 + 2^-7: to even, 1.0 (0x3F80).
        const Kernel kn(format("int4"), KF_SCALE_BF16, 0);
        const std::vector<float> w = {float(7 * (1 + std::ldexp(1.0, -8))), -2.5f};
        const Quantized got = runtimeQuantize(kn, 1, 2, w.data());
        ASSERT_EQ(got.status, KF_OK) << got.error;
        EXPECT_EQ(got.scaleBits[0], 0x3F80u);
        EXPECT_EQ(int(got.codes[1]), 5);  // -2.5 -> -3
    }
}

TEST(Quantize, KEqualsOneAndShortLastGroup) {
    std::mt19937 rng(testSeed());
    for (const Format &f : kFormats)
        for (kf_scale_type t : {KF_SCALE_F32, KF_SCALE_F16, KF_SCALE_BF16}) {
            const Kernel perChannel(f, t, 0), grouped(f, t, 128);
            expectMatchesReference(perChannel, 5, 1, randomWeights(rng, 5, 1), "K=1");
            expectMatchesReference(grouped, 5, 1, randomWeights(rng, 5, 1), "K=1");
            expectMatchesReference(grouped, 3, 300, randomWeights(rng, 3, 300), "K=300, group 128");
        }
    // The short last group has its own statistic: max of its 44 weights.
    const Kernel kn(format("int8"), KF_SCALE_F32, 128);
    std::vector<float> w(300, 1.0f);
    w[299] = -127.0f * 3;
    const Quantized got = runtimeQuantize(kn, 1, 300, w.data());
    ASSERT_EQ(got.status, KF_OK) << got.error;
    ASSERT_EQ(got.scaleBits.size(), 3u);
    float s[3];
    for (int i = 0; i < 3; ++i) std::memcpy(&s[i], &got.scaleBits[i], sizeof(float));
    EXPECT_EQ(s[0], 1.0f / 127);
    EXPECT_EQ(s[2], 3.0f);
    EXPECT_EQ(int(got.codes[299]), 1);  // level -127
    EXPECT_EQ(int(got.codes[298]), 128);  // 1 / 3 -> 0
}

// An all-zero group stores scale 0 and the code of level 0.
TEST(Quantize, ZeroGroups) {
    for (const Format &f : kFormats)
        for (kf_scale_type t : {KF_SCALE_F32, KF_SCALE_F16, KF_SCALE_BF16}) {
            const Kernel kn(f, t, 32);
            std::vector<float> w(3 * 70, 0.0f);
            for (int c = 0; c < 70; c += 2) w[70 + c] = -0.0f;  // row 1: signed zeros
            for (int c = 0; c < 70; ++c) w[140 + c] = c < 64 ? 0.0f : 1.0f;  // row 2: last group only
            const Quantized got = runtimeQuantize(kn, 3, 70, w.data());
            ASSERT_EQ(got.status, KF_OK) << got.error;
            const int zero = f.kind == KF_WEIGHT_BINARY || f.kind == KF_WEIGHT_TERNARY ? 1
                             : f.kind == KF_WEIGHT_SEQ2                              ? 2
                             : f.kind == KF_WEIGHT_INT                               ? 1 << (f.bits - 1)
                                                                                     : 0;
            for (int64_t i = 0; i < 2 * 70 + 64; ++i) ASSERT_EQ(int(got.codes[i]), zero) << f.name << " weight " << i;
            for (int64_t i = 0; i < 3 * 3; ++i) {
                if (i != 8) {
                    EXPECT_EQ(got.scaleBits[i], 0u) << f.name << " scale " << i;
                }
            }
            EXPECT_NE(got.scaleBits[8], 0u);
            if (kn.isUint()) {
                for (int i = 0; i < 9; ++i) EXPECT_EQ(int(got.zeroPoints[i]), 0);
            }
            expectMatchesReference(kn, 3, 70, w, "zero groups");
        }
}

TEST(Quantize, ExtremeMagnitudes) {
    const float big = FLT_MAX, tiny = std::numeric_limits<float>::denorm_min();
    const std::vector<std::vector<float>> rows = {
        {big, -big, big / 3, 1.0f, -big / 7, 0.0f, big, 2.0f},
        {tiny, -tiny, 3 * tiny, 0.0f, 1e-40f, -1e-42f, tiny, 0.0f},
        {1e-30f, -3e-31f, 2e-30f, 0.0f, -1e-30f, 5e-31f, 1e-31f, -2e-30f},
        {1e30f, 2e30f, 3e30f, 4e30f, 5e30f, 6e30f, 7e30f, 8e30f},  // positive only, huge
    };
    for (const Format &f : kFormats)
        for (const auto &row : rows) expectMatchesReference(Kernel(f, KF_SCALE_F32, 0), 1, 8, row, "extreme, f32");
    // Tiny weights flush an f16 scale to 0: the group is stored as zeros.
    const std::vector<float> small = {1e-9f, -2e-9f, 3e-9f, 0.0f};
    for (const Format &f : kFormats) {
        const Kernel kn(f, KF_SCALE_F16, 0);
        const Quantized got = runtimeQuantize(kn, 1, 4, small.data());
        ASSERT_EQ(got.status, KF_OK) << got.error;
        EXPECT_EQ(got.scaleBits[0], 0u) << f.name;
        expectMatchesReference(kn, 1, 4, small, "tiny, f16");
        expectMatchesReference(Kernel(f, KF_SCALE_BF16, 0), 1, 4, small, "tiny, bf16");
    }
}

// A scale the type cannot hold is an error naming the row and group.
TEST(Quantize, ScaleOverflow) {
    const std::vector<float> w = {1.0f, 2.0f, 3.0f, 4.0f, 1e5f, -1e5f, 2e5f, 1e5f};
    const Kernel kn(format("binary"), KF_SCALE_F16, 4);
    const Quantized got = runtimeQuantize(kn, 2, 4, w.data());
    EXPECT_EQ(got.status, KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(got.error.find("row 1, group 0"), std::string::npos) << got.error;
    EXPECT_NE(got.error.find("overflows f16"), std::string::npos) << got.error;
    EXPECT_THROW(lowbit::referenceQuantize(kn.params, 2, 4, w.data()), std::invalid_argument);

    const std::vector<float> huge(4, FLT_MAX);  // mean FLT_MAX rounds to bf16 infinity
    const Kernel bf(format("ternary"), KF_SCALE_BF16, 0);
    EXPECT_EQ(runtimeQuantize(bf, 1, 4, huge.data()).status, KF_ERR_INVALID_ARGUMENT);
    EXPECT_THROW(lowbit::referenceQuantize(bf.params, 1, 4, huge.data()), std::invalid_argument);
    // int8 divides by 127 first: fine in bf16.
    expectMatchesReference(Kernel(format("int8"), KF_SCALE_BF16, 0), 1, 4, huge, "FLT_MAX, int8 bf16");
}

TEST(Quantize, NonFiniteWeights) {
    const Kernel kn(format("int4"), KF_SCALE_F16, 32);
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
        std::vector<float> w(4 * 40, 0.5f);
        w[2 * 40 + 5] = bad;
        w[3 * 40 + 1] = bad;
        const Quantized got = runtimeQuantize(kn, 4, 40, w.data());
        EXPECT_EQ(got.status, KF_ERR_INVALID_ARGUMENT);
        EXPECT_NE(got.error.find("row 2, column 5"), std::string::npos) << got.error;
        EXPECT_NE(got.error.find("finite"), std::string::npos) << got.error;
        EXPECT_THROW(lowbit::referenceQuantize(kn.params, 4, 40, w.data()), std::invalid_argument);
    }
    // Many rows (several threads): still the first bad row.
    std::vector<float> w(400 * 256, 0.25f);
    w[350 * 256 + 7] = NAN;
    w[41 * 256 + 200] = INFINITY;
    const Kernel big(format("int4"), KF_SCALE_F32, 128);
    const Quantized got = runtimeQuantize(big, 400, 256, w.data());
    EXPECT_EQ(got.status, KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(got.error.find("row 41, column 200"), std::string::npos) << got.error;
}

TEST(Quantize, LargeMatrixThreaded) {
    std::mt19937 rng(testSeed() + 1);
    const std::vector<float> w = randomWeights(rng, 300, 2048);
    expectMatchesReference(Kernel(format("int4"), KF_SCALE_F16, 128), 300, 2048, w, "300x2048");
    expectMatchesReference(Kernel(format("uint4"), KF_SCALE_BF16, 64), 300, 2048, w, "300x2048");
}

// ---------------------------------------------------------------------------
// Bad arguments: a status and a message naming the call.

void expectError(kf_status got, kf_status want, const std::string &fragment) {
    EXPECT_EQ(got, want) << kf_status_name(got) << ": " << kf_last_error();
    EXPECT_NE(std::string(kf_last_error()).find(fragment), std::string::npos) << kf_last_error();
}

TEST(QuantizeErrors, NullPointers) {
    const Kernel kn(format("int4"), KF_SCALE_F32, 32);
    std::vector<float> w(64, 1.0f), s(2);
    std::vector<uint8_t> c(64);
    expectError(kf_quantize_linear(nullptr, 1, 64, w.data(), c.data(), s.data(), nullptr), KF_ERR_NULL_POINTER,
                "kf_quantize_linear: def");
    expectError(kf_quantize_linear(&kn.def, 1, 64, nullptr, c.data(), s.data(), nullptr), KF_ERR_NULL_POINTER,
                "must not be NULL");
    expectError(kf_quantize_linear(&kn.def, 1, 64, w.data(), nullptr, s.data(), nullptr), KF_ERR_NULL_POINTER,
                "must not be NULL");
    expectError(kf_quantize_linear(&kn.def, 1, 64, w.data(), c.data(), nullptr, nullptr), KF_ERR_NULL_POINTER,
                "must not be NULL");
    expectError(kf_linear_quantize(nullptr, w.data(), nullptr), KF_ERR_NULL_POINTER, "kf_linear_quantize");
    EXPECT_EQ(kf_quantize_linear(&kn.def, 1, 64, w.data(), c.data(), s.data(), nullptr), KF_OK);
    EXPECT_STREQ(kf_last_error(), "");
}

TEST(QuantizeErrors, ZeroPointPresence) {
    std::vector<float> w(64, 1.0f), s(2);
    std::vector<uint8_t> c(64), z(2);
    const Kernel u(format("uint4"), KF_SCALE_F32, 32), i(format("int4"), KF_SCALE_F32, 32);
    expectError(kf_quantize_linear(&u.def, 1, 64, w.data(), c.data(), s.data(), nullptr), KF_ERR_NULL_POINTER,
                "zero_points must not be NULL");
    expectError(kf_quantize_linear(&i.def, 1, 64, w.data(), c.data(), s.data(), z.data()), KF_ERR_INVALID_ARGUMENT,
                "zero_points = NULL");
}

TEST(QuantizeErrors, Shapes) {
    const Kernel dyn(format("int4"), KF_SCALE_F32, 32);
    std::vector<float> w(64, 1.0f), s(4);
    std::vector<uint8_t> c(64);
    expectError(kf_quantize_linear(&dyn.def, 0, 64, w.data(), c.data(), s.data(), nullptr), KF_ERR_SHAPE, "N=0");
    expectError(kf_quantize_linear(&dyn.def, 1, -3, w.data(), c.data(), s.data(), nullptr), KF_ERR_SHAPE, "K=-3");
    expectError(kf_quantize_linear(&dyn.def, int64_t(1) << 31, 1, w.data(), c.data(), s.data(), nullptr),
                KF_ERR_SHAPE, "2^31");
    const Kernel fixed(format("int4"), KF_SCALE_F32, 32, 2, 32);
    expectError(kf_quantize_linear(&fixed.def, 1, 32, w.data(), c.data(), s.data(), nullptr), KF_ERR_SHAPE,
                "declared 2x32, got 1x32");
    EXPECT_EQ(kf_quantize_linear(&fixed.def, 2, 32, w.data(), c.data(), s.data(), nullptr), KF_OK);
}

TEST(QuantizeErrors, Codebook) {
    Kernel kn(format("int4"), KF_SCALE_F32, 0);
    kn.spec.weightKind = KF_WEIGHT_CODEBOOK;
    kn.spec.weightFormat = "codebook4";
    kn.params.weight.kind = dsl::WeightKind::Codebook;
    std::vector<float> w(8, 1.0f), s(1);
    std::vector<uint8_t> c(8);
    expectError(kf_quantize_linear(&kn.def, 1, 8, w.data(), c.data(), s.data(), nullptr), KF_ERR_INVALID_ARGUMENT,
                "codebook weights need a clustering (eDKM / JLCM); pack codes and a codebook with "
                "kf_linear_pack_weights");
    EXPECT_THROW(lowbit::referenceQuantize(kn.params, 1, 8, w.data()), std::invalid_argument);
}

TEST(QuantizeErrors, BadKernelDefinitions) {
    std::vector<float> w(8, 1.0f), s(1);
    std::vector<uint8_t> c(8);
    Kernel wide(format("int8"), KF_SCALE_F32, 0);
    wide.spec.bits = 9;
    expectError(kf_quantize_linear(&wide.def, 1, 8, w.data(), c.data(), s.data(), nullptr), KF_ERR_INVALID_ARGUMENT,
                "2 to 8 bits");
    Kernel negative(format("int4"), KF_SCALE_F32, -32);
    expectError(kf_quantize_linear(&negative.def, 1, 8, w.data(), c.data(), s.data(), nullptr),
                KF_ERR_INVALID_ARGUMENT, "group -32");
}

}  // namespace
