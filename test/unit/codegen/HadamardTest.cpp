// Every hadamard kernel of an emitted library x every variant in it, against
// the dense double-precision reference written from the definition
// (dsl/families/hadamard/Reference.h): rows 1, 3, 17 and 513, the transform
// followed by its inverse (Hᵀ) giving the rows back, the int8 output against the
// f32 twin's output quantized by the reference quantizer (exactly) and
// against the reference (one step at most), and R4 -> an int8 linear layer
// fused against the two steps apart. The kernels and their parameters come
// from the kernel file (KFORGE_TEST_KERNELS); the library is KFORGE_TEST_LIB
// with header KFORGE_TEST_HEADER. The C API's answers to bad calls too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dsl/Load.h"
#include "dsl/families/hadamard/HadamardMatrix.h"
#include "dsl/families/hadamard/Reference.h"
#include "dsl/families/lowbit_linear/Reference.h"

#include "TestLibrary.h"

namespace {

using kf::testing::defOf;
using kf::testing::kernelFile;

namespace ref = kf::families::hadamard;
using kf::dsl::HadamardParams;


const HadamardParams &paramsOf(const std::string &kernel) {
    return std::get<HadamardParams>(kernelFile().findKernel(kernel)->params);
}

using kf::testing::Case;

// Every hadamard kernel x the bucket-any variant of each target.
std::vector<Case> allCases() {
    std::vector<Case> cases;
    int count = 0;
    const kf_kernel_def *const *all = KF_TEST_KERNELS_FN(&count);
    for (int i = 0; i < count; ++i) {
        kf_hadamard_info info;
        if (kf_hadamard_query(all[i], &info) != KF_OK) continue;
        for (int v = 0; v < info.num_variants; ++v)
            if (kf_variant_bucket(all[i], v) == 0) cases.push_back({info.kernel_name, v});
    }
    return cases;
}

// The rows of a call checked against the O(n^2) reference: all of a few, the
// first, a middle and the last of many (every row for n <= 1024).
std::vector<int64_t> checkedRows(int64_t rows, int64_t n) {
    std::vector<int64_t> out;
    if (rows <= 3 || n <= 1024) {
        for (int64_t r = 0; r < rows; ++r) out.push_back(r);
        return out;
    }
    for (int64_t r : {int64_t{0}, rows / 2, rows - 1})
        if (out.empty() || out.back() != r) out.push_back(r);
    return out;
}

// Row counts for n: odd counts 1, 3, 17 and (up to n = 4096, where it stays cheap) 513.
std::vector<int64_t> rowCounts(int64_t n) {
    std::vector<int64_t> out{1, 3, 17};
    if (n <= 4096) out.push_back(513);
    return out;
}

class HadamardKernels : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        def_ = defOf(GetParam().kernel);
        ASSERT_NE(def_, nullptr);
        if (!kf_variant_supported(def_, GetParam().variant))
            GTEST_SKIP() << kf_variant_name(def_, GetParam().variant) << " does not run on this CPU";
        ASSERT_EQ(kf_hadamard_create(def_, kf_variant_name(def_, GetParam().variant), &h_), KF_OK) << kf_last_error();
        p_ = paramsOf(GetParam().kernel);
        n_ = *p_.n.size;
    }
    void TearDown() override { kf_hadamard_destroy(h_); }
    bool int8() const { return p_.output == kf::dsl::ActKind::QInt8PerToken; }

    // The rotation of `rows` rows by this kernel's f32 twin (itself, or the
    // f32 kernel of the file with the same n and H_m), on the same target.
    std::vector<float> f32Twin(const std::vector<float> &x, int64_t rows) {
        for (const auto &k : kernelFile().kernels) {
            const auto *p = std::get_if<HadamardParams>(&k.params);
            if (!p || p->output != kf::dsl::ActKind::F32 || *p->n.size != n_ || p->m != p_.m ||
                p->matrix != p_.matrix)
                continue;
            kf_hadamard *twin = nullptr;
            const kf_kernel_def *d = defOf(k.name);
            EXPECT_EQ(kf_hadamard_create(d, kf_variant_name(d, GetParam().variant), &twin), KF_OK) << kf_last_error();
            std::vector<float> y(x.size());
            EXPECT_EQ(kf_hadamard_run(twin, x.data(), rows, y.data(), 0), KF_OK) << kf_last_error();
            kf_hadamard_destroy(twin);
            return y;
        }
        ADD_FAILURE() << GetParam().kernel << " has no f32 twin in " KFORGE_TEST_KERNELS;
        return {};
    }

    const kf_kernel_def *def_ = nullptr;
    kf_hadamard *h_ = nullptr;
    HadamardParams p_;
    int64_t n_ = 0;
};

// Rows wider than this are checked on kSampled entries each (every output
// of a row costs n multiply-adds in the dense reference: a row of 32768 is
// ~10^9, minutes under qemu); int8 rows always whole (the scale is their max).
constexpr int64_t kWholeRowsUpTo = 4096;
constexpr int64_t kSampled = 1024;

TEST_P(HadamardKernels, MatchesTheDenseReference) {
    if (!int8() && n_ > kWholeRowsUpTo) {
        for (int64_t rows : rowCounts(n_)) {
            SCOPED_TRACE("rows " + std::to_string(rows) + ", seed " + std::to_string(rows));
            const std::vector<float> x = ref::randomRows(rows, n_, static_cast<uint64_t>(rows));
            std::vector<float> y(x.size(), NAN);
            ASSERT_EQ(kf_hadamard_run(h_, x.data(), rows, y.data(), 0), KF_OK) << kf_last_error();
            // Every row is finite; the first and last rows on kSampled entries:
            // both ends of the row, and a stride through the middle (every block a of H_m).
            for (float v : y) ASSERT_TRUE(std::isfinite(v));
            std::vector<int64_t> outputs;
            for (int64_t j = 0; j < kSampled; ++j) outputs.push_back(j < 64 ? j : j < 128 ? n_ - 128 + j : j * (n_ / kSampled) + j % 7);
            for (int64_t r : std::vector<int64_t>{0, rows - 1}) {
                std::vector<double> expect(outputs.size());
                ref::referenceHadamardEntries(p_, &x[r * n_], outputs, expect.data());
                std::vector<float> got;
                for (int64_t o : outputs) got.push_back(y[r * n_ + o]);
                EXPECT_LE(ref::relativeError(got.data(), expect.data(), kSampled), 1e-6) << "row " << r;
                if (rows == 1) break;
            }
        }
        return;
    }
    for (int64_t rows : rowCounts(n_)) {
        SCOPED_TRACE("rows " + std::to_string(rows) + ", seed " + std::to_string(rows));
        const std::vector<float> x = ref::randomRows(rows, n_, static_cast<uint64_t>(rows));
        const std::vector<int64_t> which = int8() && n_ > kWholeRowsUpTo ? std::vector<int64_t>{rows - 1}
                                                                           : checkedRows(rows, n_);
        std::vector<float> xr;
        for (int64_t r : which) xr.insert(xr.end(), x.begin() + r * n_, x.begin() + (r + 1) * n_);
        std::vector<double> expect(xr.size());
        ref::referenceHadamard(p_, static_cast<int64_t>(which.size()), xr.data(), expect.data());
        if (!int8()) {
            std::vector<float> y(x.size(), NAN);
            ASSERT_EQ(kf_hadamard_run(h_, x.data(), rows, y.data(), 0), KF_OK) << kf_last_error();
            for (std::size_t i = 0; i < which.size(); ++i)
                EXPECT_LE(ref::relativeError(&y[which[i] * n_], &expect[i * n_], n_), 1e-6) << "row " << which[i];
            continue;
        }
        std::vector<int8_t> codes(x.size());
        std::vector<float> scales(static_cast<std::size_t>(rows), NAN);
        ASSERT_EQ(kf_hadamard_run_q8(h_, x.data(), rows, codes.data(), scales.data(), 0), KF_OK) << kf_last_error();
        // Exactly the f32 twin's rows, quantized by the reference quantizer.
        const std::vector<float> y = f32Twin(x, rows);
        ASSERT_EQ(y.size(), x.size());
        std::vector<double> yd(y.begin(), y.end());
        std::vector<int8_t> wantCodes(x.size());
        std::vector<float> wantScales(static_cast<std::size_t>(rows));
        ref::referenceQuantizeRows(yd.data(), rows, n_, wantCodes.data(), wantScales.data());
        EXPECT_EQ(codes, wantCodes);
        EXPECT_EQ(scales, wantScales);
        // And the reference rotation quantized: a code differs by one step at
        // most (where the f32 rotation and the exact one straddle a rounding
        // boundary), and rarely.
        std::vector<int8_t> refCodes(expect.size());
        std::vector<float> refScales(which.size());
        ref::referenceQuantizeRows(expect.data(), static_cast<int64_t>(which.size()), n_, refCodes.data(), refScales.data());
        int64_t off = 0;
        for (std::size_t i = 0; i < which.size(); ++i) {
            EXPECT_NEAR(scales[which[i]], refScales[i], 1e-6 * refScales[i]);
            for (int64_t j = 0; j < n_; ++j) {
                const int d = std::abs(codes[which[i] * n_ + j] - refCodes[i * n_ + j]);
                ASSERT_LE(d, 1) << "row " << which[i] << " column " << j;
                off += d;
            }
        }
        EXPECT_LE(off, static_cast<int64_t>(expect.size()) / 1000 + 1);
    }
}

// The inverse of the transform with H_m is the one with H_mᵀ: the kernel
// itself for a symmetric H_m (every Paley and Sylvester one), else the
// kernel of the file whose H_m is the transpose (m172t, file12t).
TEST_P(HadamardKernels, ItsInverseGivesTheRowsBack) {
    if (int8()) GTEST_SKIP() << "int8 output";
    const std::vector<int8_t> hm = ref::factorMatrix(p_);
    std::vector<int8_t> transposed(hm.size());
    for (int a = 0; a < p_.m; ++a)
        for (int b = 0; b < p_.m; ++b) transposed[b * p_.m + a] = hm[a * p_.m + b];
    const kf_kernel_def *inverse = nullptr;
    for (const auto &k : kernelFile().kernels) {
        const auto *p = std::get_if<HadamardParams>(&k.params);
        if (p && p->output == kf::dsl::ActKind::F32 && *p->n.size == n_ && p->m == p_.m &&
            ref::factorMatrix(*p) == transposed)
            inverse = defOf(k.name);
    }
    ASSERT_NE(inverse, nullptr) << "no kernel with H_" << p_.m << "ᵀ in " KFORGE_TEST_KERNELS;
    kf_hadamard *inv = nullptr;
    ASSERT_EQ(kf_hadamard_create(inverse, kf_variant_name(inverse, GetParam().variant), &inv), KF_OK) << kf_last_error();
    const int64_t rows = 3;
    const std::vector<float> x = ref::randomRows(rows, n_, 11);
    std::vector<float> y(x.size()), back(x.size());
    ASSERT_EQ(kf_hadamard_run(h_, x.data(), rows, y.data(), 1), KF_OK) << kf_last_error();
    ASSERT_EQ(kf_hadamard_run(inv, y.data(), rows, back.data(), 2), KF_OK) << kf_last_error();
    kf_hadamard_destroy(inv);
    std::vector<double> xd(x.begin(), x.end());
    EXPECT_LE(ref::relativeError(back.data(), xd.data(), rows * n_), 1e-6);
}

TEST_P(HadamardKernels, RowsAreIndependentOfTheirNeighbours) {
    // A zero row and a row of one large value next to random rows: each row
    // is transformed (and quantized) on its own.
    const int64_t rows = 3;
    std::vector<float> x = ref::randomRows(rows, n_, 5);
    std::fill(x.begin(), x.begin() + n_, 0.0f);
    std::fill(x.begin() + n_, x.begin() + 2 * n_, 0.0f);
    x[n_ + n_ / 3] = 1e30f;
    if (!int8()) {
        std::vector<float> y(x.size());
        ASSERT_EQ(kf_hadamard_run(h_, x.data(), rows, y.data(), 0), KF_OK);
        for (int64_t j = 0; j < n_; ++j) ASSERT_EQ(y[j], 0.0f);
        const float v = 1e30f / std::sqrt(static_cast<float>(n_));
        for (int64_t j = 0; j < n_; ++j) ASSERT_NEAR(std::fabs(y[n_ + j]), v, 1e-6 * v) << j;
        return;
    }
    std::vector<int8_t> codes(x.size(), 1);
    std::vector<float> scales(rows, -1);
    ASSERT_EQ(kf_hadamard_run_q8(h_, x.data(), rows, codes.data(), scales.data(), 0), KF_OK);
    EXPECT_EQ(scales[0], 0.0f);
    for (int64_t j = 0; j < n_; ++j) ASSERT_EQ(codes[j], 0);
    for (int64_t j = 0; j < n_; ++j) ASSERT_EQ(std::abs(codes[n_ + j]), 127) << j;
}

INSTANTIATE_TEST_SUITE_P(All, HadamardKernels, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<Case> &i) {
                             return i.param.kernel + "_v" + std::to_string(i.param.variant);
                         });

// ---- R4 -> int8 linear --------------------------------------------------------

// The rotation quantizing its rows for an int8 layer (kf_hadamard_run_q8 +
// kf_linear_run_q8) gives exactly the two steps apart (kf_hadamard_run, then
// kf_linear_run quantizing the f32 rows), and the reference of the layer on
// the reference rotation's codes.
TEST(HadamardIntoLinear, FusedEqualsTheStepsApart) {
    const kf_kernel_def *rotF32 = defOf("m12"), *rotQ8 = defOf("m12_q8"), *down = defOf("down_q8");
    ASSERT_TRUE(rotF32 && rotQ8 && down);
    const auto &lp = std::get<kf::dsl::LowbitLinearParams>(kernelFile().findKernel("down_q8")->params);
    const int64_t K = 1536, N = 96;
    std::mt19937 rng(3);
    std::vector<uint8_t> codes(static_cast<std::size_t>(N * K));
    for (auto &c : codes) c = static_cast<uint8_t>(rng() & 15u);
    std::vector<uint16_t> scales(static_cast<std::size_t>(N * (K / 128)), 0x2000);  // f16 2^-7
    for (int64_t rows : {1, 5, 40}) {
        SCOPED_TRACE("rows " + std::to_string(rows));
        int checkedTargets = 0;
        for (int v = 0; v < 64; ++v) {
            const char *variant = kf_variant_name(rotQ8, v);
            if (!variant) break;
            if (kf_variant_bucket(rotQ8, v) != 0 || !kf_variant_supported(rotQ8, v)) continue;
            kf_hadamard *hf = nullptr, *hq = nullptr;
            kf_linear *layer = nullptr;
            ASSERT_EQ(kf_hadamard_create(rotF32, kf_variant_name(rotF32, v), &hf), KF_OK) << kf_last_error();
            ASSERT_EQ(kf_hadamard_create(rotQ8, variant, &hq), KF_OK) << kf_last_error();
            ASSERT_EQ(kf_linear_create(down, 0, 0, nullptr, &layer), KF_OK) << kf_last_error();
            ASSERT_EQ(kf_linear_pack(layer, codes.data(), scales.data()), KF_OK) << kf_last_error();
            const std::vector<float> x = ref::randomRows(rows, K, 9);
            std::vector<float> y(x.size()), apart(static_cast<std::size_t>(rows * N)), fused(apart.size());
            std::vector<int8_t> q(x.size());
            std::vector<float> s(static_cast<std::size_t>(rows));
            ASSERT_EQ(kf_hadamard_run(hf, x.data(), rows, y.data(), 0), KF_OK);
            ASSERT_EQ(kf_linear_run(layer, y.data(), rows, apart.data(), 0), KF_OK) << kf_last_error();
            ASSERT_EQ(kf_hadamard_run_q8(hq, x.data(), rows, q.data(), s.data(), 0), KF_OK);
            ASSERT_EQ(kf_linear_run_q8(layer, q.data(), s.data(), rows, fused.data(), 0), KF_OK) << kf_last_error();
            EXPECT_EQ(fused, apart) << variant;
            // The layer's reference on the f32 rotation's rows (it quantizes them itself).
            std::vector<double> want(apart.size());
            kf::families::lowbit::referenceLinear(lp, rows, N, K, y.data(), codes.data(), scales.data(), want.data());
            double err = 0, norm = 0;
            for (std::size_t i = 0; i < want.size(); ++i) {
                err += (fused[i] - want[i]) * (fused[i] - want[i]);
                norm += want[i] * want[i];
            }
            EXPECT_LE(std::sqrt(err / norm), 1e-5);
            kf_linear_destroy(layer);
            kf_hadamard_destroy(hf);
            kf_hadamard_destroy(hq);
            ++checkedTargets;
        }
        EXPECT_GT(checkedTargets, 0) << "no variant runs on this CPU";
    }
}

// ---- the C API on bad calls ---------------------------------------------------

// docs/c-api.md: a rotation may be run from many threads at once. Eight
// threads share one rotation of each f32 kernel (rows across the buckets,
// num_threads 0 / 1 / 2) and get what a run alone gives, bit for bit.
TEST(Concurrent, EightThreadsShareOneRotation) {
    constexpr int kThreads = 8, kRepeats = 6;
    const int64_t rows[kThreads] = {1, 3, 35, 2, 12, 1, 5, 40};
    int kernels = 0;
    for (const Case &c : allCases()) {
        const kf_kernel_def *def = defOf(c.kernel);
        kf_hadamard_info info;
        ASSERT_EQ(kf_hadamard_query(def, &info), KF_OK);
        if (info.output != KF_ACT_F32 || !kf_variant_supported(def, c.variant) || info.n > 4096) continue;
        SCOPED_TRACE(c.kernel);
        ++kernels;
        kf_hadamard *h = nullptr;
        ASSERT_EQ(kf_hadamard_create(def, kf_variant_name(def, c.variant), &h), KF_OK) << kf_last_error();
        std::mt19937 rng(static_cast<uint32_t>(kernels));
        std::uniform_real_distribution<float> xd(-1.0f, 1.0f);
        std::vector<std::vector<float>> x(kThreads), expected(kThreads);
        for (int t = 0; t < kThreads; ++t) {
            x[t].resize(static_cast<size_t>(rows[t] * info.n));
            for (auto &v : x[t]) v = xd(rng);
            expected[t].resize(x[t].size());
            ASSERT_EQ(kf_hadamard_run(h, x[t].data(), rows[t], expected[t].data(), t % 3), KF_OK) << kf_last_error();
        }
        const auto [failures, mismatches] =
            kf::testing::runConcurrently(expected, kRepeats, [&](int t, float *y) {
                return kf_hadamard_run(h, x[t].data(), rows[t], y, t % 3);
            });
        EXPECT_EQ(failures, 0);
        EXPECT_EQ(mismatches, 0) << "runs that differ from the serial result";
        kf_hadamard_destroy(h);
    }
    EXPECT_GT(kernels, 0) << "no f32 hadamard kernel of this library runs here";
}

TEST(HadamardApi, BadCallsGetAStatusAndAMessage) {
    const kf_kernel_def *f32 = defOf("p128"), *q8 = defOf("p32_q8"), *linear = defOf("down_q8");
    kf_hadamard *h = nullptr;
    EXPECT_EQ(kf_hadamard_create(nullptr, nullptr, &h), KF_ERR_NULL_POINTER);
    EXPECT_EQ(kf_hadamard_create(f32, nullptr, nullptr), KF_ERR_NULL_POINTER);
    EXPECT_EQ(kf_hadamard_create(linear, nullptr, &h), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("'down_q8' is a lowbit_linear kernel, not hadamard"), std::string::npos)
        << kf_last_error();
    kf_linear *l = nullptr;
    EXPECT_EQ(kf_linear_create(f32, 0, 0, nullptr, &l), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("is a hadamard kernel, not lowbit_linear"), std::string::npos);
    kf_hadamard_info info;
    EXPECT_EQ(kf_hadamard_query(f32, nullptr), KF_ERR_NULL_POINTER);
    ASSERT_EQ(kf_hadamard_query(f32, &info), KF_OK);
    EXPECT_EQ(info.n, 128);
    EXPECT_EQ(info.m, 1);
    EXPECT_EQ(info.output, KF_ACT_F32);
    EXPECT_EQ(kf_hadamard_create(f32, "sse2", &h), KF_ERR_UNSUPPORTED_VARIANT);
    ASSERT_EQ(kf_hadamard_create(f32, nullptr, &h), KF_OK) << kf_last_error();
    std::vector<float> x(128 * 2, 1.0f), y(128 * 2);
    std::vector<int8_t> c(128 * 2);
    std::vector<float> s(2);
    EXPECT_EQ(kf_hadamard_run(h, nullptr, 1, y.data(), 0), KF_ERR_NULL_POINTER);
    EXPECT_EQ(kf_hadamard_run(h, x.data(), 0, y.data(), 0), KF_ERR_SHAPE);
    EXPECT_EQ(kf_hadamard_run(h, x.data(), -3, y.data(), 0), KF_ERR_SHAPE);
    EXPECT_EQ(kf_hadamard_run(h, x.data(), 1, y.data(), -1), KF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(kf_hadamard_run(h, x.data(), 2, x.data() + 64, 0), KF_ERR_INVALID_ARGUMENT);  // overlap
    EXPECT_NE(std::string(kf_last_error()).find("overlap"), std::string::npos);
    EXPECT_EQ(kf_hadamard_run_q8(h, x.data(), 1, c.data(), s.data(), 0), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("use kf_hadamard_run"), std::string::npos);
    EXPECT_EQ(kf_hadamard_run(h, x.data(), 2, y.data(), 0), KF_OK);
    EXPECT_STREQ(kf_hadamard_variant_for_rows(h, 1), kf_hadamard_variant(h));
    EXPECT_EQ(kf_hadamard_variant_for_rows(h, 0), nullptr);
    kf_hadamard_destroy(h);
    ASSERT_EQ(kf_hadamard_create(q8, nullptr, &h), KF_OK);
    EXPECT_EQ(kf_hadamard_run(h, x.data(), 1, y.data(), 0), KF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kf_last_error()).find("use kf_hadamard_run_q8"), std::string::npos);
    EXPECT_EQ(kf_hadamard_run_q8(h, x.data(), 1, nullptr, s.data(), 0), KF_ERR_NULL_POINTER);
    EXPECT_EQ(kf_hadamard_run_q8(h, x.data(), 1, c.data(), s.data(), 0), KF_OK);
    kf_hadamard_destroy(h);
    kf_hadamard_destroy(nullptr);
    // The linear layer's pre-quantized entry is for int8-activation kernels only.
    EXPECT_EQ(kf_linear_run_q8(nullptr, c.data(), s.data(), 1, y.data(), 0), KF_ERR_NULL_POINTER);
}

}  // namespace
