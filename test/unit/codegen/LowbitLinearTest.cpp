// Every kernel of test/kernels/lowbit_int4.kf x every variant in the emitted
// library, against the scalar reference written from FORMATS.md
// (dsl/families/lowbit_linear/Reference.h). The kernel list and parameters come
// from the kernel file itself, so adding a kernel there adds its tests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dsl/Load.h"
#include "dsl/families/lowbit_linear/Reference.h"
#include "kforge_test_lowbit.h"

namespace {

using kf::dsl::LowbitLinearParams;

struct Case {
    std::string kernel;
    int variant;
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.kernel << " variant " << c.variant; }

const kf::dsl::Module &kernelFile() {
    static const kf::dsl::Module module = [] {
        auto r = kf::dsl::loadFile(KFORGE_TEST_KERNELS, {});
        if (!r.ok()) throw std::runtime_error("cannot load " KFORGE_TEST_KERNELS);
        return *r.module;
    }();
    return module;
}

const kf_kernel_def *defOf(const std::string &name) {
    int count = 0;
    const kf_kernel_def *const *all = kf_test_lowbit_kernels(&count);
    for (int i = 0; i < count; ++i) {
        kf_linear_info info;
        if (kf_linear_query(all[i], &info) == KF_OK && name == info.kernel_name) return all[i];
    }
    return nullptr;
}

std::vector<Case> allCases() {
    std::vector<Case> cases;
    int count = 0;
    const kf_kernel_def *const *all = kf_test_lowbit_kernels(&count);
    for (int i = 0; i < count; ++i) {
        kf_linear_info info;
        kf_linear_query(all[i], &info);
        for (int v = 0; v < info.num_variants; ++v) cases.push_back({info.kernel_name, v});
    }
    return cases;
}

// Random scales as bit patterns of the declared type, magnitudes 2^-10..2^-2.
std::vector<uint8_t> randomScales(kf::dsl::ScalarType t, size_t count, std::mt19937 &rng) {
    std::uniform_int_distribution<int> exp(-10, -3), sign(0, 1);
    std::uniform_real_distribution<float> mant(1.0f, 2.0f);
    std::vector<uint8_t> bytes(count * (t == kf::dsl::ScalarType::F32 ? 4 : 2));
    for (size_t i = 0; i < count; ++i) {
        float v = std::ldexp(mant(rng), exp(rng)) * (sign(rng) ? -1.0f : 1.0f);
        uint32_t f;
        std::memcpy(&f, &v, 4);
        if (t == kf::dsl::ScalarType::F32) {
            std::memcpy(&bytes[i * 4], &f, 4);
        } else if (t == kf::dsl::ScalarType::BF16) {
            uint16_t b = static_cast<uint16_t>(f >> 16);  // truncation: any bf16 pattern is valid input
            std::memcpy(&bytes[i * 2], &b, 2);
        } else {
            // f16 with the same exponent range: sign | (exp + 15) << 10 | mantissa bits.
            int e;
            std::frexp(v, &e);
            uint16_t h = static_cast<uint16_t>((f >> 31) << 15 | (e - 1 + 15) << 10 | ((f >> 13) & 0x3FF));
            std::memcpy(&bytes[i * 2], &h, 2);
        }
    }
    return bytes;
}

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

    // Packs random weights of N x K, runs M rows at `threads`, compares.
    void check(int64_t M, int64_t N, int64_t K, uint32_t seed, int threads = 0) {
        SCOPED_TRACE("M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                     " seed=" + std::to_string(seed) + " threads=" + std::to_string(threads));
        std::mt19937 rng(seed);
        kf_linear *layer = nullptr;
        ASSERT_EQ(kf_linear_create(def_, N, K, kf_variant_name(def_, GetParam().variant), &layer), KF_OK)
            << kf_last_error();
        EXPECT_STREQ(kf_linear_variant(layer), kf_variant_name(def_, GetParam().variant));

        std::vector<uint8_t> codes(N * K);
        std::uniform_int_distribution<int> code(0, 15);
        for (auto &c : codes) c = static_cast<uint8_t>(code(rng));
        const int64_t groups = params_.group ? (K + params_.group - 1) / params_.group : 1;
        std::vector<uint8_t> scales = randomScales(params_.scaleType, N * groups, rng);
        std::vector<float> x(M * K);
        std::uniform_real_distribution<float> xd(-1.0f, 1.0f);
        for (auto &v : x) v = xd(rng);

        ASSERT_EQ(kf_linear_pack(layer, codes.data(), scales.data()), KF_OK) << kf_last_error();
        std::vector<float> y(M * N, NAN);
        ASSERT_EQ(kf_linear_run(layer, x.data(), M, y.data(), threads), KF_OK) << kf_last_error();

        std::vector<double> ref(M * N);
        kf::families::lowbit::referenceLinear(params_, M, N, K, x.data(), codes.data(), scales.data(), ref.data());
        double err = 0, norm = 0;
        for (int64_t i = 0; i < M * N; ++i) {
            err += (y[i] - ref[i]) * (y[i] - ref[i]);
            norm += ref[i] * ref[i];
        }
        EXPECT_LE(std::sqrt(err), 1e-5 * std::sqrt(norm)) << "relative error " << std::sqrt(err / norm);

        // Bit-exact round trip of what was packed.
        std::vector<uint8_t> codesBack(codes.size()), scalesBack(scales.size());
        ASSERT_EQ(kf_linear_unpack(layer, codesBack.data(), scalesBack.data()), KF_OK);
        EXPECT_EQ(codesBack, codes);
        EXPECT_EQ(scalesBack, scales);
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
    check(1, 300, 1000, 7, 1);
    check(1, 300, 1000, 7, 2);
}

TEST_P(LowbitLinear, RandomShapes) {
    if (info_.n) GTEST_SKIP() << "fixed-shape kernel";
    std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed() + 12345u);
    std::uniform_int_distribution<int64_t> m(1, 6), n(1, 400), k(1, 800);
    for (int i = 0; i < 6; ++i) check(m(rng), n(rng), k(rng), static_cast<uint32_t>(rng()));
}

TEST_P(LowbitLinear, ThreadCountsAgreeBitwise) {
    const int64_t N = info_.n ? info_.n : 1000, K = info_.k ? info_.k : 512;
    kf_linear *layer = nullptr;
    ASSERT_EQ(kf_linear_create(def_, N, K, kf_variant_name(def_, GetParam().variant), &layer), KF_OK);
    std::mt19937 rng(99);
    std::vector<uint8_t> codes(N * K);
    for (auto &c : codes) c = static_cast<uint8_t>(rng() & 15);
    const int64_t groups = params_.group ? (K + params_.group - 1) / params_.group : 1;
    std::vector<uint8_t> scales = randomScales(params_.scaleType, N * groups, rng);
    std::vector<float> x(2 * K, 0.5f), y1(2 * N), y2(2 * N);
    ASSERT_EQ(kf_linear_pack(layer, codes.data(), scales.data()), KF_OK);
    ASSERT_EQ(kf_linear_run(layer, x.data(), 2, y1.data(), 1), KF_OK);
    ASSERT_EQ(kf_linear_run(layer, x.data(), 2, y2.data(), 2), KF_OK);
    EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)));
    kf_linear_destroy(layer);
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
    std::string s = info.param.kernel + "__" + kf_variant_name(defOf(info.param.kernel), info.param.variant);
    s = s.substr(0, s.find("__")) + "__" + s.substr(s.rfind("__") + 2);  // kernel__target
    return s;
}

INSTANTIATE_TEST_SUITE_P(Emitted, LowbitLinear, ::testing::ValuesIn(allCases()), caseName);

}  // namespace
