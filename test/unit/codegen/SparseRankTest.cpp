// Every sparse_rank_linear kernel of an emitted library (test/kernels/
// sparse_rank.kf) x every target's variant, against the double-precision
// reference written from docs/formats.md (dsl/families/sparse_rank_linear/
// Reference.h): inputs built so the mask is known (sparsity 0, 10, 50, 90,
// 100 %), rows 1, 3, 8, 33, 1 and 2 threads bit for bit; the identities
// (sparsity 0 = the dense low-bit layer of the same W, rank = K at sparsity
// 100 % = W x, top-k keeps exactly k with ties to the lower index); the bytes
// read falling with sparsity; per-token masks; bf16 W and factors rounded to
// nearest even; W absent (pure low rank); and the C API's answers to bad
// calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "dsl/families/lowbit_linear/RandomLayer.h"
#include "dsl/families/lowbit_linear/ReferenceQuantizer.h"
#include "dsl/families/sparse_rank_linear/Reference.h"
#include "runtime/sparse_rank_linear/LowRank.h"

#include "TestLibrary.h"

namespace {

using kf::dsl::SparseRankLinearParams;
using kf::testing::Case;
using kf::testing::defOf;
using kf::testing::kernelFile;
namespace ref = kf::families::sparse_rank_linear;

constexpr float kTau = 0.5f;  // threshold of the threshold kernels in these tests

const SparseRankLinearParams &paramsOf(const std::string &kernel) {
    return std::get<SparseRankLinearParams>(kernelFile().findKernel(kernel)->params);
}

// Shapes of a kernel: declared, or these for a dynamic one.
int64_t sizeN(const SparseRankLinearParams &p) { return p.n.size.value_or(136); }
int64_t sizeK(const SparseRankLinearParams &p) { return p.k.size.value_or(72); }

// A layer's tensors: W from the low-bit family's random layers (codes over
// the format's range, scales exact in their type) or f32 normal; U, V normal.
struct Layer {
    std::vector<uint8_t> codes, scales;
    std::vector<float> w, u, v;
    // factors=int8: U and V as the reference quantizer stores them (what pack must make of u, v).
    std::vector<uint8_t> uCodes, vCodes;
    std::vector<float> uScales, vScales;
    ref::ReferenceLayer reference(int64_t n, int64_t k, int64_t r) const {
        ref::ReferenceLayer L{n, k, r, codes.empty() ? nullptr : codes.data(), scales.empty() ? nullptr : scales.data(),
                              w.empty() ? nullptr : w.data(), u.empty() ? nullptr : u.data(), v.empty() ? nullptr : v.data()};
        if (!uCodes.empty()) {
            L.uCodes = uCodes.data();
            L.uScales = uScales.data();
            L.vCodes = vCodes.data();
            L.vScales = vScales.data();
        }
        return L;
    }
    // U and V of an int8-factor kernel through the reference quantizer
    // (int8, one f32 scale per row).
    void quantizeFactors(int64_t n, int64_t k, int64_t r) {
        kf::dsl::LowbitLinearParams lp;
        lp.weight = kf::dsl::WeightFormat{kf::dsl::WeightKind::Int, 8, false, false};
        lp.group = 0;
        lp.scaleType = kf::dsl::ScalarType::F32;
        const auto qu = kf::families::lowbit::referenceQuantize(lp, n, r, u.data());
        const auto qv = kf::families::lowbit::referenceQuantize(lp, r, k, v.data());
        uCodes = qu.codes;
        vCodes = qv.codes;
        uScales.assign(qu.scales.begin(), qu.scales.end());
        vScales.assign(qv.scales.begin(), qv.scales.end());
    }
    kf_sparse_rank_weights weights() const {
        return {codes.empty() ? nullptr : codes.data(), scales.empty() ? nullptr : scales.data(),
                w.empty() ? nullptr : w.data(), u.empty() ? nullptr : u.data(), v.empty() ? nullptr : v.data()};
    }
};

Layer makeLayer(const SparseRankLinearParams &p, int64_t N, int64_t K, uint64_t seed) {
    Layer L;
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    if (p.noWeight) {
    } else if (p.denseWeight) {
        L.w.resize(static_cast<size_t>(N * K));
        for (float &x : L.w) x = normal(rng) * 0.05f;
    } else {
        kf::dsl::LowbitLinearParams lp;
        lp.weight = p.weight;
        lp.group = p.group;
        lp.scaleType = p.scaleType;
        auto rl = kf::families::lowbit::makeRandomLayer(lp, N, K, seed);
        L.codes = std::move(rl.codes);
        L.scales = std::move(rl.scales);
    }
    if (p.rank > 0) {
        L.u.resize(static_cast<size_t>(N * p.rank));
        L.v.resize(static_cast<size_t>(p.rank * K));
        for (float &x : L.u) x = normal(rng) * 0.1f;
        for (float &x : L.v) x = normal(rng) * 0.1f;
        if (p.factorBits == 8) L.quantizeFactors(N, K, p.rank);
    }
    return L;
}

// x [M][K] whose rows each have round(sparsity * K) channels below the
// threshold (|x| <= 0.25) and the rest well above it (1 <= |x| < 2), at
// random positions; for top-k kernels the magnitudes are distinct, so the
// mask is the reference's whatever the order.
std::vector<float> makeInput(int64_t M, int64_t K, double sparsity, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> low(0.0f, 0.25f), high(1.0f, 2.0f);
    std::vector<float> x(static_cast<size_t>(M * K));
    std::vector<int64_t> order(static_cast<size_t>(K));
    const int64_t off = std::llround(sparsity * static_cast<double>(K));
    for (int64_t m = 0; m < M; ++m) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        for (int64_t i = 0; i < K; ++i) {
            const float mag = i < off ? low(rng) : high(rng);
            x[static_cast<size_t>(m * K + order[static_cast<size_t>(i)])] = (rng() & 1) ? mag : -mag;
        }
    }
    return x;
}

double relError(const std::vector<float> &y, const std::vector<double> &expected) {
    double num = 0, den = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        const double d = y[i] - expected[i];
        num += d * d;
        den += expected[i] * expected[i];
    }
    return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

std::vector<Case> allCases() {
    std::vector<Case> cases;
    int count = 0;
    const kf_kernel_def *const *all = KF_TEST_KERNELS_FN(&count);
    for (int i = 0; i < count; ++i) {
        kf_sparse_rank_info info;
        if (kf_sparse_rank_query(all[i], &info) != KF_OK) continue;
        for (int v = 0; v < info.num_variants; ++v)
            if (kf_variant_bucket(all[i], v) == 0) cases.push_back({info.kernel_name, v});
    }
    return cases;
}

class SparseRank : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        def_ = defOf(GetParam().kernel);
        ASSERT_NE(def_, nullptr);
        if (!kf_variant_supported(def_, GetParam().variant))
            GTEST_SKIP() << kf_variant_name(def_, GetParam().variant) << " does not run on this CPU";
        p_ = paramsOf(GetParam().kernel);
        N_ = sizeN(p_);
        K_ = sizeK(p_);
        const int64_t n = p_.n.size ? 0 : N_, k = p_.k.size ? 0 : K_;
        ASSERT_EQ(kf_sparse_rank_create(def_, n, k, kf_variant_name(def_, GetParam().variant), &layer_), KF_OK)
            << kf_last_error();
        layer0_ = makeLayer(p_, N_, K_, 7);
        const kf_sparse_rank_weights w = layer0_.weights();
        ASSERT_EQ(kf_sparse_rank_pack(layer_, &w), KF_OK) << kf_last_error();
        if (p_.mode == kf::dsl::SparsityMode::Threshold && !p_.noWeight) {
            ASSERT_EQ(kf_sparse_rank_set_threshold(layer_, kTau), KF_OK);
        }
    }
    void TearDown() override { kf_sparse_rank_destroy(layer_); }

    std::vector<float> run(const std::vector<float> &x, int64_t M, int threads) {
        std::vector<float> y(static_cast<size_t>(M * N_), NAN);
        EXPECT_EQ(kf_sparse_rank_run(layer_, x.data(), M, y.data(), threads), KF_OK) << kf_last_error();
        return y;
    }
    std::vector<double> expected(const std::vector<float> &x, int64_t M) {
        return ref::referenceSparseRank(p_, layer0_.reference(N_, K_, p_.rank), x.data(), M, kTau);
    }

    const kf_kernel_def *def_ = nullptr;
    kf_sparse_rank *layer_ = nullptr;
    SparseRankLinearParams p_;
    int64_t N_ = 0, K_ = 0;
    Layer layer0_;
};

TEST_P(SparseRank, MatchesReferenceAtEverySparsityAndRowCount) {
    for (double sparsity : {0.0, 0.1, 0.5, 0.9, 1.0})
        for (int64_t M : {1, 3, 8, 33}) {
            const auto x = makeInput(M, K_, sparsity, 100 + static_cast<uint64_t>(M));
            const auto y = run(x, M, 1);
            EXPECT_LE(relError(y, expected(x, M)), 1e-5) << "sparsity " << sparsity << ", M=" << M;
            EXPECT_EQ(run(x, M, 2), y) << "2 threads differ from 1, sparsity " << sparsity << ", M=" << M;
        }
}

TEST_P(SparseRank, ColumnsAndBytesReadFallWithSparsity) {
    kf_sparse_rank_stats last{};
    for (double sparsity : {0.0, 0.5, 0.9}) {
        const auto x = makeInput(1, K_, sparsity, 5);
        run(x, 1, 1);
        kf_sparse_rank_stats s{};
        ASSERT_EQ(kf_sparse_rank_last_stats(layer_, &s), KF_OK);
        const auto mask = ref::referenceMask(p_, x.data(), K_, kTau);
        const int64_t active = std::count(mask.begin(), mask.end(), true);
        EXPECT_EQ(s.active_columns, active) << "sparsity " << sparsity;
        EXPECT_EQ(s.inactive_columns, p_.rank ? K_ - active : 0) << "sparsity " << sparsity;
        if (sparsity > 0 && p_.mode == kf::dsl::SparsityMode::Threshold && !p_.noWeight) {
            EXPECT_LT(s.active_columns, last.active_columns);
        }
        last = s;
    }
}

INSTANTIATE_TEST_SUITE_P(AllKernels, SparseRank, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<Case> &c) {
                             return c.param.kernel + "_v" + std::to_string(c.param.variant);
                         });

// Sparsity 0: every channel active, no low-rank term; equals the low-bit
// layer of the same codes and scales (both f32 accumulations: within 1e-5).
TEST(SparseRankIdentity, SparsityZeroEqualsTheDenseLowBitLayer) {
    const auto &p = paramsOf("int4_g32_f16");
    const int64_t N = 300, K = 200;
    const Layer L = makeLayer(p, N, K, 11);
    kf_sparse_rank *sr = nullptr;
    kf_linear *dense = nullptr;
    ASSERT_EQ(kf_sparse_rank_create(defOf("int4_g32_f16"), 0, 0, nullptr, &sr), KF_OK);
    ASSERT_EQ(kf_linear_create(defOf("dense_int4_g32_f16"), 0, 0, nullptr, &dense), KF_OK);
    const kf_sparse_rank_weights w = L.weights();
    ASSERT_EQ(kf_sparse_rank_pack(sr, &w), KF_OK);
    ASSERT_EQ(kf_linear_pack(dense, L.codes.data(), L.scales.data()), KF_OK);
    ASSERT_EQ(kf_sparse_rank_set_threshold(sr, 0.0f), KF_OK);
    for (int64_t M : {1, 5}) {
        const auto x = makeInput(M, K, 0.0, 3);
        std::vector<float> a(static_cast<size_t>(M * N)), b(a.size());
        ASSERT_EQ(kf_sparse_rank_run(sr, x.data(), M, a.data(), 1), KF_OK);
        ASSERT_EQ(kf_linear_run(dense, x.data(), M, b.data(), 1), KF_OK);
        std::vector<double> bd(b.begin(), b.end());
        EXPECT_LE(relError(a, bd), 1e-5) << "M=" << M;
        kf_sparse_rank_stats s{};
        kf_sparse_rank_last_stats(sr, &s);
        EXPECT_EQ(s.active_columns, K);
        EXPECT_EQ(s.inactive_columns, 0);
    }
    kf_sparse_rank_destroy(sr);
    kf_linear_destroy(dense);
}

// Rank = K with every channel inactive: y = U (V x). With V = I and U = W,
// that is W x exactly (the SVD's own identity is the packing test's).
TEST(SparseRankIdentity, FullRankAtFullSparsityEqualsTheDenseProduct) {
    const int64_t N = 48, K = 40;
    Layer L = makeLayer(paramsOf("f32_full_rank"), N, K, 13);
    L.u = L.w;  // U [N][r = K]
    L.v.assign(static_cast<size_t>(K * K), 0.0f);
    for (int64_t i = 0; i < K; ++i) L.v[static_cast<size_t>(i * K + i)] = 1.0f;
    kf_sparse_rank *sr = nullptr;
    ASSERT_EQ(kf_sparse_rank_create(defOf("f32_full_rank"), 0, 0, nullptr, &sr), KF_OK);
    const kf_sparse_rank_weights w = L.weights();
    ASSERT_EQ(kf_sparse_rank_pack(sr, &w), KF_OK);
    ASSERT_EQ(kf_sparse_rank_set_threshold(sr, 1e30f), KF_OK);
    const auto x = makeInput(3, K, 0.0, 17);
    std::vector<float> y(static_cast<size_t>(3 * N));
    ASSERT_EQ(kf_sparse_rank_run(sr, x.data(), 3, y.data(), 1), KF_OK);
    std::vector<double> wx(y.size());
    for (int64_t m = 0; m < 3; ++m)
        for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < K; ++k)
                wx[static_cast<size_t>(m * N + n)] += double(L.w[static_cast<size_t>(n * K + k)]) * x[static_cast<size_t>(m * K + k)];
    EXPECT_LE(relError(y, wx), 1e-5);
    kf_sparse_rank_stats s{};
    kf_sparse_rank_last_stats(sr, &s);
    EXPECT_EQ(s.active_columns, 0);
    EXPECT_EQ(s.inactive_columns, K);
    kf_sparse_rank_destroy(sr);
}

// topk=64 keeps exactly 64 channels of a row; among equal magnitudes the
// lower index wins (kforge/sparse_rank.h).
TEST(SparseRankIdentity, TopKKeepsExactlyKWithTiesToTheLowerIndex) {
    const auto &p = paramsOf("int2_g64_bf16");
    const int64_t N = 260, K = 256;
    const Layer L = makeLayer(p, N, K, 19);
    kf_sparse_rank *sr = nullptr;
    ASSERT_EQ(kf_sparse_rank_create(defOf("int2_g64_bf16"), 0, 0, nullptr, &sr), KF_OK);
    const kf_sparse_rank_weights w = L.weights();
    ASSERT_EQ(kf_sparse_rank_pack(sr, &w), KF_OK);
    // Every magnitude equal, signs alternating: the first 64 channels win.
    std::vector<float> x(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) x[static_cast<size_t>(k)] = (k % 2) ? -0.75f : 0.75f;
    const auto mask = ref::referenceMask(p, x.data(), K, 0);
    EXPECT_EQ(std::count(mask.begin(), mask.end(), true), 64);
    EXPECT_TRUE(std::all_of(mask.begin(), mask.begin() + 64, [](bool b) { return b; }));
    std::vector<float> y(static_cast<size_t>(N));
    ASSERT_EQ(kf_sparse_rank_run(sr, x.data(), 1, y.data(), 1), KF_OK);
    kf_sparse_rank_stats s{};
    kf_sparse_rank_last_stats(sr, &s);
    EXPECT_EQ(s.active_columns, 64);
    EXPECT_EQ(s.inactive_columns, K - 64);
    EXPECT_LE(relError(y, ref::referenceSparseRank(p, L.reference(N, K, p.rank), x.data(), 1, 0)), 1e-5);
    kf_sparse_rank_destroy(sr);
}

// kf_sparse_rank_pack_float: W through the low-bit quantizer (the same codes
// and scales kf_quantize_linear gives the dense kernel of that format), U and
// V from the truncated SVD (randomized for int4_g32_f16: r + 16 < 200; exact
// for f32_full_rank), then the layer against the reference of those tensors.
TEST(SparseRankPackFloat, QuantizesAndFactorsTheFloatWeights) {
    for (const char *name : {"int4_g32_f16", "f32_full_rank"}) {
        const auto &p = paramsOf(name);
        const int64_t N = *p.n.size, K = *p.k.size;
        std::mt19937_64 rng(31);
        std::normal_distribution<float> normal(0.0f, 0.05f);
        std::vector<float> w(static_cast<size_t>(N * K));
        for (float &v : w) v = normal(rng);
        kf_sparse_rank *L = nullptr;
        ASSERT_EQ(kf_sparse_rank_create(defOf(name), 0, 0, nullptr, &L), KF_OK);
        std::vector<double> sigma(static_cast<size_t>(p.rank));
        ASSERT_EQ(kf_sparse_rank_pack_float(L, w.data(), sigma.data()), KF_OK) << kf_last_error();
        ASSERT_EQ(kf_sparse_rank_set_threshold(L, kTau), KF_OK);

        Layer expect;
        if (p.denseWeight) {
            expect.w = w;
        } else {
            expect.codes.resize(static_cast<size_t>(N * K));
            expect.scales.resize(static_cast<size_t>(N * ((K + p.group - 1) / p.group)) * 2);
            ASSERT_EQ(kf_quantize_linear(defOf("dense_int4_g32_f16"), N, K, w.data(), expect.codes.data(),
                                         expect.scales.data(), nullptr),
                      KF_OK);
        }
        const kf::rt::LowRankFactors f = kf::rt::truncatedSvd(w.data(), N, K, p.rank);
        EXPECT_EQ(f.exact, std::string(name) == "f32_full_rank");
        EXPECT_EQ(sigma, f.sigma);
        expect.u = f.u;
        expect.v = f.v;
        const auto x = makeInput(3, K, 0.5, 37);
        std::vector<float> y(static_cast<size_t>(3 * N));
        ASSERT_EQ(kf_sparse_rank_run(L, x.data(), 3, y.data(), 1), KF_OK);
        EXPECT_LE(relError(y, ref::referenceSparseRank(p, expect.reference(N, K, p.rank), x.data(), 3, kTau)), 1e-5)
            << name;
        w[7] = INFINITY;
        EXPECT_EQ(kf_sparse_rank_pack_float(L, w.data(), nullptr), KF_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(kf_last_error()).find("w[0][7] is infinite"), std::string::npos) << kf_last_error();
        kf_sparse_rank_destroy(L);
    }
}

// int4_g32_f16 (N = 300, K = 200) on the target its bucket schedules in
// sparse_rank.kf are for (x86-avx2 or arm64-neon, whichever this library
// has), packed with a random layer and the tests' threshold; sr is nullptr
// when neither target is in the library.
struct ScheduledLayer {
    static constexpr int64_t N = 300, K = 200;
    const SparseRankLinearParams &p = paramsOf("int4_g32_f16");
    Layer L;
    kf_sparse_rank *sr = nullptr;
    explicit ScheduledLayer(uint64_t seed) : L(makeLayer(p, N, K, seed)) {
        for (const char *target : {"x86-avx2", "arm64-neon"})
            if (!sr && kf_sparse_rank_create(defOf("int4_g32_f16"), 0, 0, target, &sr) != KF_OK) sr = nullptr;
        const kf_sparse_rank_weights w = L.weights();
        if (sr && (kf_sparse_rank_pack(sr, &w) != KF_OK || kf_sparse_rank_set_threshold(sr, kTau) != KF_OK))
            ADD_FAILURE() << kf_last_error();
    }
    ~ScheduledLayer() { kf_sparse_rank_destroy(sr); }
    // y for M rows of x on 2 threads, checked against the reference.
    std::vector<float> runChecked(const std::vector<float> &x, int64_t M) {
        std::vector<float> y(static_cast<size_t>(M * N));
        EXPECT_EQ(kf_sparse_rank_run(sr, x.data(), M, y.data(), 2), KF_OK) << kf_last_error();
        EXPECT_LE(relError(y, ref::referenceSparseRank(p, L.reference(N, K, p.rank), x.data(), M, kTau)), 1e-5)
            << "M=" << M;
        return y;
    }
};

// A prefill schedule (split m 4) runs for M >= 32 and the bucket-any one for
// decode, on the same packed weights; both match the reference.
TEST(SparseRankBuckets, PrefillRowTileServesLargeM) {
    ScheduledLayer t(41);
    kf_sparse_rank *sr = t.sr;
    ASSERT_NE(sr, nullptr) << "neither x86-avx2 nor arm64-neon is in the library";
    EXPECT_NE(std::string(kf_sparse_rank_variant_for_rows(sr, 33)).find("_4x"), std::string::npos)
        << kf_sparse_rank_variant_for_rows(sr, 33);
    EXPECT_NE(std::string(kf_sparse_rank_variant_for_rows(sr, 1)).find("_1x"), std::string::npos)
        << kf_sparse_rank_variant_for_rows(sr, 1);
    for (int64_t M : {32, 37, 64}) t.runChecked(makeInput(M, t.K, 0.5, 43), M);
}

// A decode schedule with `reorder m k` (sparse_rank.kf): each of 2..8 rows
// runs on its own active columns, giving what one-row calls give, bit for
// bit; the stats add up every row's columns.
TEST(SparseRankPerToken, EachRowReadsItsOwnColumns) {
    ScheduledLayer t(47);
    kf_sparse_rank *sr = t.sr;
    const int64_t N = t.N, K = t.K;
    ASSERT_NE(sr, nullptr) << "neither x86-avx2 nor arm64-neon is in the library";
    EXPECT_STRNE(kf_sparse_rank_variant_for_rows(sr, 5), kf_sparse_rank_variant_for_rows(sr, 9));
    for (int64_t M : {2, 5, 8}) {
        const auto x = makeInput(M, K, 0.5, 53 + static_cast<uint64_t>(M));
        const std::vector<float> y = t.runChecked(x, M);
        std::vector<float> one(static_cast<size_t>(N));
        kf_sparse_rank_stats s{};
        ASSERT_EQ(kf_sparse_rank_last_stats(sr, &s), KF_OK);
        int64_t active = 0;
        for (int64_t row = 0; row < M; ++row) {
            const auto mask = ref::referenceMask(t.p, x.data() + row * K, K, kTau);
            active += std::count(mask.begin(), mask.end(), true);
            ASSERT_EQ(kf_sparse_rank_run(sr, x.data() + row * K, 1, one.data(), 2), KF_OK);
            EXPECT_TRUE(std::equal(one.begin(), one.end(), y.begin() + row * N)) << "M=" << M << ", row " << row;
        }
        EXPECT_EQ(s.active_columns, active) << "M=" << M;
        EXPECT_EQ(s.inactive_columns, M * K - active) << "M=" << M;
    }
}

// The reference's bf16 rounding, by hand: 8 significant bits, ties to the
// even significand, subnormals down to 2^-133.
TEST(SparseRankReference, Bf16RoundsToNearestEven) {
    EXPECT_EQ(ref::referenceBf16(1.0 + std::ldexp(1.0, -8)), 1.0);                           // tie, 1 is even
    EXPECT_EQ(ref::referenceBf16(1.0 + 3 * std::ldexp(1.0, -8)), 1.0 + std::ldexp(1.0, -6)); // tie, up to even
    EXPECT_EQ(ref::referenceBf16(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -20)), 1.0 + std::ldexp(1.0, -7));
    EXPECT_EQ(ref::referenceBf16(-(1.0 + 3 * std::ldexp(1.0, -8))), -(1.0 + std::ldexp(1.0, -6)));
    EXPECT_EQ(ref::referenceBf16(255.5), 256.0);  // 255.5 = 1.1111111 1 x 2^7: tie, odd, rounds up
    EXPECT_EQ(ref::referenceBf16(std::ldexp(1.0, -134)), 0.0);                              // tie with 0
    EXPECT_EQ(ref::referenceBf16(3 * std::ldexp(1.0, -134)), std::ldexp(1.0, -132));        // tie, up to even
    EXPECT_EQ(ref::referenceBf16(0.1), 0.10009765625);
}

// `weight bf16` rounds each f32 value of W to nearest even when packing:
// with every value of W a tie, a kernel that truncates or rounds ties away
// is off by a bf16 step in half of them. A value whose rounding overflows
// bf16 is refused, naming it.
TEST(SparseRankBf16, PackRoundsWToNearestEven) {
    const auto &p = paramsOf("bf16_w");
    const int64_t N = *p.n.size, K = *p.k.size;
    Layer L = makeLayer(p, N, K, 59);
    std::mt19937_64 rng(61);
    for (float &v : L.w) {
        // (128 + c + 1/2) * 2^e: halfway between two bf16 values (8 significant bits).
        const double c = static_cast<double>(rng() % 128);
        const int e = -static_cast<int>(rng() % 12) - 8;
        v = static_cast<float>((rng() & 1 ? -1 : 1) * std::ldexp(128 + c + 0.5, e));
    }
    kf_sparse_rank *sr = nullptr;
    ASSERT_EQ(kf_sparse_rank_create(defOf("bf16_w"), 0, 0, nullptr, &sr), KF_OK);
    kf_sparse_rank_weights w = L.weights();
    ASSERT_EQ(kf_sparse_rank_pack(sr, &w), KF_OK) << kf_last_error();
    ASSERT_EQ(kf_sparse_rank_set_threshold(sr, 0.0f), KF_OK);  // every channel active: y = W x
    const auto x = makeInput(2, K, 0.0, 67);
    std::vector<float> y(static_cast<size_t>(2 * N));
    ASSERT_EQ(kf_sparse_rank_run(sr, x.data(), 2, y.data(), 1), KF_OK);
    EXPECT_LE(relError(y, ref::referenceSparseRank(p, L.reference(N, K, p.rank), x.data(), 2, 0.0f)), 1e-5);
    Layer bad = L;
    bad.w[1 * K + 2] = 3.4e38f;  // rounds above bf16's largest finite value
    w = bad.weights();
    EXPECT_EQ(kf_sparse_rank_pack(sr, &w), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("w[1][2]"), std::string::npos) << kf_last_error();
    EXPECT_NE(std::string(kf_last_error()).find("overflows bf16"), std::string::npos) << kf_last_error();
    bad = L;
    bad.u[3] = -3.4e38f;
    w = bad.weights();
    EXPECT_EQ(kf_sparse_rank_pack(sr, &w), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("u[0][3]"), std::string::npos) << kf_last_error();
    kf_sparse_rank_destroy(sr);
}

// `weight none`: no W, no mask, no threshold; pack_float keeps the rank-r
// factors of the float weights.
TEST(SparseRankNoWeight, PureLowRankFromFloatWeights) {
    const auto &p = paramsOf("lowrank_only");
    const int64_t N = *p.n.size, K = *p.k.size;
    kf_sparse_rank_info info{};
    ASSERT_EQ(kf_sparse_rank_query(defOf("lowrank_only"), &info), KF_OK);
    EXPECT_STREQ(info.weight_format, "none");
    EXPECT_EQ(info.bits, 0);
    kf_sparse_rank *sr = nullptr;
    ASSERT_EQ(kf_sparse_rank_create(defOf("lowrank_only"), 0, 0, nullptr, &sr), KF_OK);
    EXPECT_EQ(kf_sparse_rank_set_threshold(sr, 0.5f), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("has no W"), std::string::npos) << kf_last_error();
    std::mt19937_64 rng(71);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> wf(static_cast<size_t>(N * K));
    for (float &v : wf) v = normal(rng);
    Layer given = makeLayer(p, N, K, 73);
    given.w = wf;  // a W given to a kernel without one
    kf_sparse_rank_weights w = given.weights();
    EXPECT_EQ(kf_sparse_rank_pack(sr, &w), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("weights->w must be NULL"), std::string::npos) << kf_last_error();
    ASSERT_EQ(kf_sparse_rank_pack_float(sr, wf.data(), nullptr), KF_OK) << kf_last_error();
    const kf::rt::LowRankFactors f = kf::rt::truncatedSvd(wf.data(), N, K, p.rank);
    Layer expect;
    expect.u = f.u;
    expect.v = f.v;
    const auto x = makeInput(3, K, 0.5, 79);
    std::vector<float> y(static_cast<size_t>(3 * N));
    ASSERT_EQ(kf_sparse_rank_run(sr, x.data(), 3, y.data(), 1), KF_OK);
    EXPECT_LE(relError(y, ref::referenceSparseRank(p, expect.reference(N, K, p.rank), x.data(), 3, 0.0f)), 1e-5);
    kf_sparse_rank_stats s{};
    ASSERT_EQ(kf_sparse_rank_last_stats(sr, &s), KF_OK);
    EXPECT_EQ(s.active_columns, 0);
    EXPECT_EQ(s.inactive_columns, K);
    kf_sparse_rank_destroy(sr);
}

TEST(SparseRankApi, BadCallsGetAStatusAndMessage) {
    const kf_kernel_def *thr = defOf("int4_g32_f16"), *topk = defOf("int8_g128"), *dyn = defOf("int4_dynamic");
    kf_sparse_rank *L = nullptr;
    EXPECT_EQ(kf_sparse_rank_create(nullptr, 0, 0, nullptr, &L), KF_ERR_NULL_POINTER);
    EXPECT_EQ(kf_sparse_rank_create(defOf("dense_int4_g32_f16"), 0, 0, nullptr, &L), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("lowbit_linear"), std::string::npos) << kf_last_error();
    EXPECT_EQ(kf_sparse_rank_create(thr, 301, 0, nullptr, &L), KF_ERR_SHAPE);
    EXPECT_EQ(kf_sparse_rank_create(dyn, 0, 64, nullptr, &L), KF_ERR_SHAPE);  // N dynamic, not given
    EXPECT_EQ(kf_sparse_rank_create(dyn, 2, 64, nullptr, &L), KF_ERR_SHAPE);  // rank 4 > min(N, K)
    EXPECT_NE(std::string(kf_last_error()).find("rank 4"), std::string::npos) << kf_last_error();
    EXPECT_EQ(kf_sparse_rank_create(thr, 0, 0, "no-such-variant", &L), KF_ERR_UNSUPPORTED_VARIANT);

    ASSERT_EQ(kf_sparse_rank_create(thr, 0, 0, nullptr, &L), KF_OK);
    const auto &p = paramsOf("int4_g32_f16");
    Layer good = makeLayer(p, 300, 200, 23);
    std::vector<float> x = makeInput(1, 200, 0.5, 29), y(300);
    EXPECT_EQ(kf_sparse_rank_run(L, x.data(), 1, y.data(), 1), KF_ERR_NOT_PACKED);
    kf_sparse_rank_weights w = good.weights();
    w.u = nullptr;
    EXPECT_EQ(kf_sparse_rank_pack(L, &w), KF_ERR_NULL_POINTER);
    w = good.weights();
    w.w = good.u.data();
    EXPECT_EQ(kf_sparse_rank_pack(L, &w), KF_ERR_INVALID_ARGUMENT);  // f32 W given to an int4 kernel
    w = good.weights();
    ASSERT_EQ(kf_sparse_rank_pack(L, &w), KF_OK);
    ASSERT_EQ(kf_sparse_rank_set_threshold(L, kTau), KF_OK);
    ASSERT_EQ(kf_sparse_rank_run(L, x.data(), 1, y.data(), 1), KF_OK);
    const std::vector<float> before = y;

    // A bad pack leaves the layer as it was.
    Layer bad = good;
    bad.codes[5 * 200 + 7] = 16;
    w = bad.weights();
    EXPECT_EQ(kf_sparse_rank_pack(L, &w), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("row 5, column 7"), std::string::npos) << kf_last_error();
    bad = good;
    bad.v[3] = NAN;
    w = bad.weights();
    EXPECT_EQ(kf_sparse_rank_pack(L, &w), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("v[0][3]"), std::string::npos) << kf_last_error();
    ASSERT_EQ(kf_sparse_rank_run(L, x.data(), 1, y.data(), 1), KF_OK);
    EXPECT_EQ(y, before);

    EXPECT_EQ(kf_sparse_rank_set_threshold(L, -1.0f), KF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(kf_sparse_rank_set_threshold(L, NAN), KF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(kf_sparse_rank_threshold(L), kTau);
    x[9] = NAN;
    EXPECT_EQ(kf_sparse_rank_run(L, x.data(), 1, y.data(), 1), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("x[0][9] is NaN"), std::string::npos) << kf_last_error();
    EXPECT_EQ(kf_sparse_rank_run(L, x.data(), 0, y.data(), 1), KF_ERR_SHAPE);
    EXPECT_EQ(kf_sparse_rank_run(L, nullptr, 1, y.data(), 1), KF_ERR_NULL_POINTER);
    EXPECT_EQ(kf_sparse_rank_run(L, x.data(), 1, y.data(), -1), KF_ERR_INVALID_ARGUMENT);
    kf_sparse_rank_destroy(L);

    ASSERT_EQ(kf_sparse_rank_create(topk, 0, 0, nullptr, &L), KF_OK);
    EXPECT_EQ(kf_sparse_rank_set_threshold(L, 0.1f), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("top 100"), std::string::npos) << kf_last_error();
    kf_sparse_rank_destroy(L);
}

}  // namespace
