// Every kernel of an emitted library x every variant in it, against the
// scalar reference written from docs/formats.md (dsl/families/lowbit_linear/
// Reference.h). The kernel list and parameters come from the kernel file
// itself (KFORGE_TEST_KERNELS), so adding a kernel there — or to the family's
// instantiation list the kernel files are generated from — adds its tests.
// The library is named by KFORGE_TEST_LIB, its header by KFORGE_TEST_HEADER.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dsl/Load.h"
#include "dsl/families/lowbit_linear/Reference.h"

#include "TestLibrary.h"

namespace {

using kf::testing::defOf;
using kf::testing::kernelFile;

using kf::dsl::LowbitLinearParams;

using kf::testing::Case;

std::vector<Case> allCases() {
    std::vector<Case> cases;
    int count = 0;
    const kf_kernel_def *const *all = KF_TEST_KERNELS_FN(&count);
    for (int i = 0; i < count; ++i) {
        kf_linear_info info;
        if (kf_linear_query(all[i], &info) != KF_OK) continue;  // another family's kernel
        // One case per target (its bucket-any variant); bucket variants run
        // through the same layer when M falls in their bucket.
        for (int v = 0; v < info.num_variants; ++v)
            if (kf_variant_bucket(all[i], v) == 0) cases.push_back({info.kernel_name, v});
    }
    return cases;
}

// The target of a variant symbol: ..._<tile>__<target>[__s<schedule tag>]
// (codegen/Naming.h).
std::string targetOf(const std::string &symbol) {
    const std::string rest = symbol.substr(symbol.find("__") + 2);
    return rest.substr(0, rest.find("__"));
}

uint16_t bf16Of(float v) {
    uint32_t f;
    std::memcpy(&f, &v, 4);
    return static_cast<uint16_t>(f >> 16);  // truncation: any bf16 pattern is valid input
}

// Random scales as bit patterns of the declared type, magnitudes 2^-10..2^-3.
std::vector<uint8_t> randomScales(kf::dsl::ScalarType t, size_t count, std::mt19937 &rng) {
    std::uniform_int_distribution<int> exp(-10, -3), sign(0, 1);
    std::uniform_real_distribution<float> mant(1.0f, 2.0f);
    std::vector<uint8_t> bytes(count * (t == kf::dsl::ScalarType::F32 ? 4 : 2));
    for (size_t i = 0; i < count; ++i) {
        const float v = std::ldexp(mant(rng), exp(rng)) * (sign(rng) ? -1.0f : 1.0f);
        uint32_t f;
        std::memcpy(&f, &v, 4);
        if (t == kf::dsl::ScalarType::F32) {
            std::memcpy(&bytes[i * 4], &f, 4);
        } else if (t == kf::dsl::ScalarType::BF16) {
            const uint16_t b = bf16Of(v);
            std::memcpy(&bytes[i * 2], &b, 2);
        } else {
            // f16 with the same exponent range: sign | (exp + 15) << 10 | mantissa bits.
            int e;
            std::frexp(v, &e);
            const uint16_t h = static_cast<uint16_t>((f >> 31) << 15 | (e - 1 + 15) << 10 | ((f >> 13) & 0x3FF));
            std::memcpy(&bytes[i * 2], &h, 2);
        }
    }
    return bytes;
}

// A random layer of the kernel's format, in the checkpoint layout.
struct Layer {
    std::vector<uint8_t> codes, scales, zeroPoints;
    std::vector<float> codebook, bias;

    Layer(const LowbitLinearParams &p, int64_t N, int64_t K, std::mt19937 &rng) {
        const unsigned levels = p.weight.kind == kf::dsl::WeightKind::Binary    ? 2
                                : p.weight.kind == kf::dsl::WeightKind::Ternary ? 3
                                                                                : 1u << p.weight.bits;
        std::uniform_int_distribution<unsigned> code(0, levels - 1);
        codes.resize(static_cast<size_t>(N * K));
        for (auto &c : codes) c = static_cast<uint8_t>(code(rng));
        const int64_t cols = p.group ? (K + p.group - 1) / p.group : 1;
        scales = randomScales(p.scaleType, static_cast<size_t>(N * cols), rng);
        std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
        if (p.weight.kind == kf::dsl::WeightKind::Uint) {
            zeroPoints.resize(static_cast<size_t>(N * cols));
            for (auto &z : zeroPoints) z = static_cast<uint8_t>(code(rng));
        }
        if (p.weight.kind == kf::dsl::WeightKind::Codebook) {
            codebook.resize(static_cast<size_t>((p.weight.perChannelCodebook ? N : 1) * levels));
            for (auto &v : codebook) v = unit(rng);
        }
        if (p.bias) {
            bias.resize(static_cast<size_t>(N));
            for (auto &v : bias) v = unit(rng);
        }
    }
    template <typename T>
    static T *ptr(std::vector<T> &v) { return v.empty() ? nullptr : v.data(); }
    kf_linear_weights api() {
        return {codes.data(), scales.data(), ptr(zeroPoints), ptr(codebook), ptr(bias)};
    }
    kf::families::lowbit::ReferenceWeights reference() {
        kf::families::lowbit::ReferenceWeights w;
        w.codes = codes.data();
        w.scales = scales.data();
        w.zeroPoints = ptr(zeroPoints);
        w.codebook = ptr(codebook);
        w.bias = ptr(bias);
        return w;
    }
};

class LowbitLinear : public ::testing::TestWithParam<Case> {
  protected:
    void SetUp() override {
        const Case &c = GetParam();
        def_ = defOf(c.kernel);
        ASSERT_NE(def_, nullptr) << c.kernel;
        ASSERT_EQ(kf_linear_query(def_, &info_), KF_OK);
        if (!kf_variant_supported(def_, c.variant))
            GTEST_SKIP() << kf_variant_name(def_, c.variant) << ": this CPU cannot run its target";
        const auto *spec = kernelFile().findKernel(c.kernel);
        ASSERT_NE(spec, nullptr);
        params_ = std::get<LowbitLinearParams>(spec->params);
    }

    // Packs a random layer of N x K, runs M rows at `threads`, compares.
    void check(int64_t M, int64_t N, int64_t K, uint32_t seed, int threads = 0) {
        SCOPED_TRACE("M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                     " seed=" + std::to_string(seed) + " threads=" + std::to_string(threads));
        std::mt19937 rng(seed);
        kf_linear *layer = nullptr;
        ASSERT_EQ(kf_linear_create(def_, N, K, kf_variant_name(def_, GetParam().variant), &layer), KF_OK)
            << kf_last_error();
        EXPECT_STREQ(kf_linear_variant(layer), kf_variant_name(def_, GetParam().variant));

        Layer w(params_, N, K, rng);
        std::uniform_real_distribution<float> xd(-1.0f, 1.0f);
        std::vector<float> x(static_cast<size_t>(M * K));
        for (auto &v : x) v = xd(rng);
        std::vector<uint16_t> xb;
        const void *xArg = x.data();
        if (params_.input == kf::dsl::ActKind::BF16) {
            for (float v : x) xb.push_back(bf16Of(v));
            xArg = xb.data();
        }

        const kf_linear_weights api = w.api();
        ASSERT_EQ(kf_linear_pack_weights(layer, &api), KF_OK) << kf_last_error();
        // The variant for M is one of this target's (its bucket's, or the any one).
        const std::string used = kf_linear_variant_for_rows(layer, M);
        EXPECT_EQ(targetOf(used), targetOf(kf_variant_name(def_, GetParam().variant))) << used;
        std::vector<float> y(static_cast<size_t>(M * N), NAN);
        ASSERT_EQ(kf_linear_run(layer, xArg, M, y.data(), threads), KF_OK) << kf_last_error();

        std::vector<double> ref(static_cast<size_t>(M * N));
        kf::families::lowbit::referenceLinear(params_, M, N, K, xArg, w.reference(), ref.data());
        // rel <= 1e-5, and for outputs whose terms cancel (a random layer of
        // one row can sum to 1e-4 of its terms) f32 rounding of the terms
        // themselves: 1e-6 of sum_k |w x| (a wrong weight or scale costs about
        // 1/K of that, far above).
        const kf::families::lowbit::ReferenceWeights rw = w.reference();
        double err = 0, norm = 0, mag = 0;
        std::vector<double> wAbs(static_cast<size_t>(K));
        for (int64_t n = 0; n < N; ++n) {
            for (int64_t kk = 0; kk < K; ++kk) wAbs[kk] = std::fabs(kf::families::lowbit::referenceWeight(params_, K, rw, n, kk));
            for (int64_t m = 0; m < M; ++m) {
                const size_t i = static_cast<size_t>(m * N + n);
                err += (y[i] - ref[i]) * (y[i] - ref[i]);
                norm += ref[i] * ref[i];
                double terms = 0;
                for (int64_t kk = 0; kk < K; ++kk) terms += wAbs[kk] * std::fabs(x[m * K + kk]);
                mag += terms * terms;
            }
        }
        EXPECT_LE(std::sqrt(err), 1e-5 * std::sqrt(norm) + 1e-6 * std::sqrt(mag))
            << "relative error " << std::sqrt(err / norm) << ", " << std::sqrt(err / mag) << " of sum |w x|";

        // Bit-exact round trip of everything that was packed.
        Layer back = w;
        for (auto *v : {&back.codes, &back.scales, &back.zeroPoints}) std::fill(v->begin(), v->end(), 0xAB);
        for (auto *v : {&back.codebook, &back.bias}) std::fill(v->begin(), v->end(), -7.0f);
        ASSERT_EQ(kf_linear_unpack_weights(layer, back.codes.data(), back.scales.data(), Layer::ptr(back.zeroPoints),
                                           Layer::ptr(back.codebook), Layer::ptr(back.bias)),
                  KF_OK)
            << kf_last_error();
        EXPECT_EQ(back.codes, w.codes);
        EXPECT_EQ(back.scales, w.scales);
        EXPECT_EQ(back.zeroPoints, w.zeroPoints);
        EXPECT_EQ(back.codebook, w.codebook);
        EXPECT_EQ(back.bias, w.bias);
        kf_linear_destroy(layer);
    }

    const kf_kernel_def *def_ = nullptr;
    kf_linear_info info_{};
    LowbitLinearParams params_;
};

TEST_P(LowbitLinear, EdgeShapes) {
    if (info_.n) {  // fixed shape: only the declared one
        check(1, info_.n, info_.k, 1);
        check(3, info_.n, info_.k, 2);
        return;
    }
    check(1, 64, 256, 1);     // aligned
    check(1, 67, 130, 2);     // odd N, K not a multiple of any group
    check(1, 1, 1, 3);        // smallest
    check(2, 3, 2, 4);        // N below one vector
    check(1, 17, 33, 5);      // one past a vector / a group of 32
    check(5, 129, 300, 6);    // several rows
    check(1, 200, 600, 7, 1);
    check(1, 200, 600, 7, 2);
    check(12, 40, 100, 8);    // small-batch bucket
    check(35, 50, 130, 9);    // prefill bucket, rows not a multiple of an M tile
    check(1, 1, 330, 2611567362u);  // one output whose terms cancel (a RandomShapes failure at 512-bit SVE)
}

// The edge shapes that matter to a vector-length-agnostic kernel, small
// enough for qemu's SVE at long vectors (EdgeShapes costs ten times more at
// 256 bits than at 128 there): N below, at and past a vector, K tails of
// every size class, and a row count in each M bucket (1, 3, 12, 33).
TEST_P(LowbitLinear, VectorTails) {
    if (info_.n) {
        check(1, info_.n, info_.k, 1);
        return;
    }
    check(1, 64, 256, 1);
    check(1, 67, 130, 2);
    check(1, 1, 1, 3);
    check(3, 3, 2, 4);
    check(1, 17, 33, 5);
    check(1, 5, 41, 6);
    check(12, 9, 40, 7);
    check(33, 5, 45, 8);
}

TEST_P(LowbitLinear, RandomShapes) {
    if (info_.n) GTEST_SKIP() << "fixed-shape kernel";
    const uint32_t seed = ::testing::UnitTest::GetInstance()->random_seed() + 12345u;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> m(1, 6), n(1, 300), k(1, 700);
    for (int i = 0; i < 3; ++i) check(m(rng), n(rng), k(rng), static_cast<uint32_t>(rng()));
}

TEST_P(LowbitLinear, ThreadCountsAgreeBitwise) {
    const int64_t N = info_.n ? info_.n : 600, K = info_.k ? info_.k : 512;
    kf_linear *layer = nullptr;
    ASSERT_EQ(kf_linear_create(def_, N, K, kf_variant_name(def_, GetParam().variant), &layer), KF_OK);
    std::mt19937 rng(99);
    Layer w(params_, N, K, rng);
    const kf_linear_weights api = w.api();
    ASSERT_EQ(kf_linear_pack_weights(layer, &api), KF_OK) << kf_last_error();
    std::vector<float> x(static_cast<size_t>(2 * K), 0.5f), y1(static_cast<size_t>(2 * N)), y2(y1.size());
    std::vector<uint16_t> xb(x.size(), bf16Of(0.5f));
    const void *xArg = params_.input == kf::dsl::ActKind::BF16 ? static_cast<const void *>(xb.data()) : x.data();
    ASSERT_EQ(kf_linear_run(layer, xArg, 2, y1.data(), 1), KF_OK);
    ASSERT_EQ(kf_linear_run(layer, xArg, 2, y2.data(), 2), KF_OK);
    EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)));
    kf_linear_destroy(layer);
}

// docs/c-api.md: once packed, a layer may be run from many threads at once.
// Eight threads share one layer of each kernel, each with rows of its own
// (M across the buckets, N and K padded so the per-thread padding buffers are
// used, num_threads 0 / 1 / 2 so the layer's arena cache is shared), and must
// get what a run alone gives, bit for bit. `scripts/sanitize.sh thread` runs
// this under ThreadSanitizer.
TEST(Concurrent, EightThreadsShareOneLayer) {
    constexpr int kThreads = 8, kRepeats = 6;
    const int64_t rows[kThreads] = {1, 3, 35, 2, 12, 1, 5, 40};
    std::vector<std::string> done;
    for (const Case &c : allCases()) {
        const kf_kernel_def *def = defOf(c.kernel);
        if (std::find(done.begin(), done.end(), c.kernel) != done.end() || !kf_variant_supported(def, c.variant))
            continue;
        done.push_back(c.kernel);
        SCOPED_TRACE(c.kernel);
        kf_linear_info info;
        ASSERT_EQ(kf_linear_query(def, &info), KF_OK);
        const LowbitLinearParams params = std::get<LowbitLinearParams>(kernelFile().findKernel(c.kernel)->params);
        const int64_t N = info.n ? info.n : 67, K = info.k ? info.k : 130;
        kf_linear *layer = nullptr;
        ASSERT_EQ(kf_linear_create(def, N, K, kf_variant_name(def, c.variant), &layer), KF_OK) << kf_last_error();
        std::mt19937 rng(static_cast<uint32_t>(done.size()));
        Layer w(params, N, K, rng);
        const kf_linear_weights api = w.api();
        ASSERT_EQ(kf_linear_pack_weights(layer, &api), KF_OK) << kf_last_error();

        const bool bf16 = params.input == kf::dsl::ActKind::BF16;
        std::vector<std::vector<float>> xf(kThreads), expected(kThreads);
        std::vector<std::vector<uint16_t>> xb(kThreads);
        std::uniform_real_distribution<float> xd(-1.0f, 1.0f);
        auto input = [&](int t) -> const void * { return bf16 ? static_cast<const void *>(xb[t].data()) : xf[t].data(); };
        for (int t = 0; t < kThreads; ++t) {
            xf[t].resize(static_cast<size_t>(rows[t] * K));
            for (auto &v : xf[t]) v = xd(rng);
            for (float v : xf[t]) xb[t].push_back(bf16Of(v));
            expected[t].resize(static_cast<size_t>(rows[t] * N));
            ASSERT_EQ(kf_linear_run(layer, input(t), rows[t], expected[t].data(), t % 3), KF_OK) << kf_last_error();
        }
        const auto [failures, mismatches] =
            kf::testing::runConcurrently(expected, kRepeats, [&](int t, float *y) { return kf_linear_run(layer, input(t), rows[t], y, t % 3); });
        EXPECT_EQ(failures, 0);
        EXPECT_EQ(mismatches, 0) << "runs that differ from the serial result";
        kf_linear_destroy(layer);
    }
    EXPECT_FALSE(done.empty()) << "no kernel of this library runs here";
}

// Dispatch takes the best target the CPU runs: KFORGE_EXPECT_TARGET names
// its symbol suffix (arm64_sve2_i8mm under qemu -cpu max), or "none" for a
// CPU that runs no variant of the library (qemu's a64fx: SVE without dot
// products or i8mm, for a library of SVE targets only), where a ctest sets it.
TEST(Dispatch, TakesTheExpectedTarget) {
    const char *expect = std::getenv("KFORGE_EXPECT_TARGET");
    if (!expect) GTEST_SKIP() << "KFORGE_EXPECT_TARGET not set";
    int count = 0;
    const kf_kernel_def *const *all = KF_TEST_KERNELS_FN(&count);
    for (int i = 0; i < count; ++i) {
        kf_linear_info info;
        if (kf_linear_query(all[i], &info) != KF_OK) continue;
        SCOPED_TRACE(info.kernel_name);
        kf_linear *layer = nullptr;
        const kf_status st = kf_linear_create(all[i], info.n ? info.n : 64, info.k ? info.k : 256, nullptr, &layer);
        if (std::string(expect) == "none") {
            EXPECT_NE(st, KF_OK);
            EXPECT_EQ(layer, nullptr);
            EXPECT_NE(std::string(kf_last_error()).find("runs on this CPU"), std::string::npos) << kf_last_error();
            continue;
        }
        ASSERT_EQ(st, KF_OK) << kf_last_error();
        const std::string symbol = kf_linear_variant(layer);
        EXPECT_EQ(targetOf(symbol), expect) << symbol;
        kf_linear_destroy(layer);
    }
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
    const std::string symbol = kf_variant_name(defOf(info.param.kernel), info.param.variant);
    // kernel__target, or kernel__target__s<tag> for a non-default schedule's variant
    return info.param.kernel + "__" + symbol.substr(symbol.find("__") + 2);
}

INSTANTIATE_TEST_SUITE_P(Emitted, LowbitLinear, ::testing::ValuesIn(allCases()), caseName);

}  // namespace
