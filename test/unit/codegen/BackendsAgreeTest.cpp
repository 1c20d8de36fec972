// The Halide and MLIR variants of one int8-activation kernel compute the
// same numbers: exact int32 sums of q x codes per chunk, then the same f32
// operations in the same order (LowbitLinearMlir.h). Each kernel of the
// library (test/kernels/backends_agree.kf) runs both variants on the same
// packed weights and rows; the outputs must be equal bit for bit.
//  - arm64 (emitted for arm64-neon-dotprod and arm64-sve): NEON through
//    Halide against scalable SVE through MLIR, under qemu
//    (cmake/aarch64-runtime/tests) at several SVE vector lengths;
//  - x86 (emitted for x86-avx512vnni): the bucket-any variant through Halide
//    against the decode bucket's `backend mlir` variant.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "TestLibrary.h"

namespace {

struct Kernel {
    const char *name;
    bool uint;      // zero points
    bool bias;
    int levels;     // codes 0..levels-1
    int group;      // 0 = per channel
    int scaleBytes; // 4 = f32, 2 = f16/bf16
};

const Kernel kKernels[] = {
    {"int4_channel", false, false, 16, 0, 4},  {"int8_channel", false, false, 256, 0, 4},
    {"ternary_base3", false, false, 3, 0, 2},  {"uint3_g64", true, false, 8, 64, 2},
    {"int2_g128", false, false, 4, 128, 2},    {"ternary_channel", false, false, 3, 0, 2},
    {"binary_g32_bias", false, true, 2, 32, 4},
};

using kf::testing::defOf;

// The variant of the kernel for the target whose symbol suffix is `target`:
// its bucket-any one, or with `anyBucket` false the first of another bucket.
std::string variantFor(const kf_kernel_def *def, const std::string &target, bool anyBucket = true) {
    kf_kernel_info info{};
    kf_kernel_query(def, &info);
    for (int v = 0; v < info.num_variants; ++v) {
        const std::string name = kf_variant_name(def, v);
        if ((kf_variant_bucket(def, v) == 0) == anyBucket && name.find("__" + target) != std::string::npos) return name;
    }
    return "";
}

// The two variants compared: {Halide, MLIR}.
std::pair<std::string, std::string> backendsOf(const kf_kernel_def *def) {
#if defined(__x86_64__)
    return {variantFor(def, "x86_avx512vnni"), variantFor(def, "x86_avx512vnni", false)};
#else
    return {variantFor(def, "arm64_neondot"), variantFor(def, "arm64_sve")};
#endif
}

bool supported(const kf_kernel_def *def, const std::string &variant) {
    kf_kernel_info info{};
    kf_kernel_query(def, &info);
    for (int v = 0; v < info.num_variants; ++v)
        if (variant == kf_variant_name(def, v)) return kf_variant_supported(def, v) != 0;
    return false;
}

std::vector<float> run(const kf_kernel_def *def, const std::string &variant, const Kernel &k, int64_t M, int64_t N,
                       int64_t K, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> code(0, k.levels - 1);
    const int64_t cols = k.group ? (K + k.group - 1) / k.group : 1;
    std::vector<uint8_t> codes(static_cast<size_t>(N * K)), zp(k.uint ? static_cast<size_t>(N * cols) : 0);
    for (auto &c : codes) c = static_cast<uint8_t>(code(rng));
    for (auto &z : zp) z = static_cast<uint8_t>(code(rng));
    std::vector<uint8_t> scales(static_cast<size_t>(N * cols * k.scaleBytes));
    std::uniform_int_distribution<int> mant(0, 127);
    for (int64_t i = 0; i < N * cols; ++i) {
        if (k.scaleBytes == 4) {
            const float s = 0.001f * static_cast<float>(1 + mant(rng));
            std::memcpy(&scales[static_cast<size_t>(i * 4)], &s, 4);
        } else {  // bf16 / f16 of a value in [2^-8, 2^-7): exponent and mantissa bits valid for both
            const uint16_t h = k.name[0] == 't' ? static_cast<uint16_t>(0x3B80 | mant(rng))   // bf16
                                                : static_cast<uint16_t>(0x1C00 | mant(rng));  // f16
            std::memcpy(&scales[static_cast<size_t>(i * 2)], &h, 2);
        }
    }
    std::vector<float> bias(k.bias ? static_cast<size_t>(N) : 0);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    for (auto &b : bias) b = unit(rng);
    std::vector<float> x(static_cast<size_t>(M * K));
    for (auto &v : x) v = unit(rng);

    kf_linear *layer = nullptr;
    EXPECT_EQ(kf_linear_create(def, N, K, variant.c_str(), &layer), KF_OK) << kf_last_error();
    if (!layer) return {};
    const kf_linear_weights w{codes.data(), scales.data(), zp.empty() ? nullptr : zp.data(), nullptr,
                              bias.empty() ? nullptr : bias.data()};
    EXPECT_EQ(kf_linear_pack_weights(layer, &w), KF_OK) << kf_last_error();
    std::vector<float> y(static_cast<size_t>(M * N), NAN);
    EXPECT_EQ(kf_linear_run(layer, x.data(), M, y.data(), 0), KF_OK) << kf_last_error();
    kf_linear_destroy(layer);
    return y;
}

class BackendsAgree : public ::testing::TestWithParam<Kernel> {};

TEST_P(BackendsAgree, BitForBit) {
    const Kernel &k = GetParam();
    const kf_kernel_def *def = defOf(k.name);
    ASSERT_NE(def, nullptr);
    const auto [halide, mlir] = backendsOf(def);
    ASSERT_FALSE(halide.empty());
    ASSERT_FALSE(mlir.empty());
    if (!supported(def, halide) || !supported(def, mlir))
        GTEST_SKIP() << "this CPU cannot run both " << halide << " and " << mlir;
    // K = 33000: past the 1024 blocks after which the AVX-512 kernel folds its
    // per-slot sums of a per-channel row (LowbitLinearMlir.cpp).
    for (const auto &[M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 48, 256}, {3, 33, 200}, {8, 100, 640},
                                  {33, 17, 130}, {2, 40, 33000}}) {
        SCOPED_TRACE("M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
        const std::vector<float> a = run(def, halide, k, M, N, K, 7), b = run(def, mlir, k, M, N, K, 7);
        ASSERT_EQ(a.size(), b.size());
        size_t differ = 0, first = a.size();
        for (size_t i = 0; i < a.size(); ++i)
            if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0 && differ++ == 0) first = i;
        EXPECT_EQ(differ, 0u) << halide << " vs " << mlir << ": first at row " << first / N << " column " << first % N
                              << ": " << (first < a.size() ? a[first] : 0.0f) << " vs "
                              << (first < a.size() ? b[first] : 0.0f);
    }
}

#if defined(__aarch64__)
// The SVE variants run only where the CPU has SVE (HWCAP_SVE), and then
// dispatch prefers them: KFORGE_EXPECT_SVE (1 or 0) says which CPU the test
// is run on (qemu -cpu max, or max,sve=off).
TEST(SveDispatch, FollowsTheCpu) {
    const char *expect = std::getenv("KFORGE_EXPECT_SVE");
    if (!expect) GTEST_SKIP() << "KFORGE_EXPECT_SVE not set";
    const bool sve = std::string(expect) == "1";
    for (const Kernel &k : kKernels) {
        SCOPED_TRACE(k.name);
        const kf_kernel_def *def = defOf(k.name);
        ASSERT_NE(def, nullptr);
        EXPECT_EQ(supported(def, variantFor(def, "arm64_sve")), sve);
        EXPECT_TRUE(supported(def, variantFor(def, "arm64_neondot")));
        kf_linear *layer = nullptr;
        ASSERT_EQ(kf_linear_create(def, 64, 256, nullptr, &layer), KF_OK) << kf_last_error();
        EXPECT_EQ(std::string(kf_linear_variant(layer)), variantFor(def, sve ? "arm64_sve" : "arm64_neondot"));
        kf_linear_destroy(layer);
    }
}

#endif

INSTANTIATE_TEST_SUITE_P(Lowbit, BackendsAgree, ::testing::ValuesIn(kKernels),
                         [](const ::testing::TestParamInfo<Kernel> &i) { return std::string(i.param.name); });

}  // namespace
