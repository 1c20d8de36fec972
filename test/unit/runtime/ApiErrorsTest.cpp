#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "TestTargets.h"
#include "kforge_test_lowbit.h"

namespace {

class Api : public ::testing::Test {
  protected:
    void SetUp() override {
        def_ = kf_test_lowbit_int4_g128_f16();
        ASSERT_EQ(kf_linear_create(def_, 32, 256, nullptr, &layer_), KF_OK) << kf_last_error();
    }
    void TearDown() override { kf_linear_destroy(layer_); }
    void pack() {
        std::vector<uint8_t> codes(32 * 256, 3);
        std::vector<uint16_t> scales(32 * 2, 0x3C00);  // 1.0 in f16
        ASSERT_EQ(kf_linear_pack(layer_, codes.data(), scales.data()), KF_OK);
    }
    const kf_kernel_def *def_ = nullptr;
    kf_linear *layer_ = nullptr;
};

// The message names the call and the problem.
void expectError(kf_status got, kf_status want, const std::string &fragment) {
    EXPECT_EQ(got, want) << kf_status_name(got);
    EXPECT_NE(std::string(kf_last_error()).find(fragment), std::string::npos) << kf_last_error();
}

TEST_F(Api, NullPointers) {
    kf_linear *out = nullptr;
    expectError(kf_linear_create(nullptr, 1, 1, nullptr, &out), KF_ERR_NULL_POINTER, "kf_linear_create");
    expectError(kf_linear_create(def_, 1, 1, nullptr, nullptr), KF_ERR_NULL_POINTER, "must not be NULL");
    expectError(kf_linear_pack(nullptr, nullptr, nullptr), KF_ERR_NULL_POINTER, "kf_linear_pack");
    expectError(kf_linear_pack(layer_, nullptr, nullptr), KF_ERR_NULL_POINTER, "kf_linear_pack");
    float x[256] = {}, y[32];
    expectError(kf_linear_run(layer_, nullptr, 1, y, 0), KF_ERR_NULL_POINTER, "kf_linear_run");
    expectError(kf_linear_run(layer_, x, 1, nullptr, 0), KF_ERR_NULL_POINTER, "kf_linear_run");
    expectError(kf_linear_query(nullptr, nullptr), KF_ERR_NULL_POINTER, "kf_linear_query");
    EXPECT_EQ(kf_linear_variant(nullptr), nullptr);
    EXPECT_EQ(kf_linear_packed_bytes(nullptr), 0u);
    kf_linear_destroy(nullptr);  // no-op
}

TEST_F(Api, Shapes) {
    kf_linear *out = nullptr;
    expectError(kf_linear_create(def_, 0, 256, nullptr, &out), KF_ERR_SHAPE, "dynamic");
    expectError(kf_linear_create(def_, -4, 256, nullptr, &out), KF_ERR_SHAPE, "N=-4");
    expectError(kf_linear_create(def_, 4, int64_t(1) << 40, nullptr, &out), KF_ERR_SHAPE, "2^31");
    EXPECT_EQ(out, nullptr);
    // A fixed-shape kernel only takes its declared shape.
    expectError(kf_linear_create(kf_test_lowbit_int4_fixed(), 48, 128, nullptr, &out), KF_ERR_SHAPE, "48x256");
    ASSERT_EQ(kf_linear_create(kf_test_lowbit_int4_fixed(), 0, 0, nullptr, &out), KF_OK);
    kf_linear_destroy(out);
    pack();
    float x[256] = {}, y[32];
    expectError(kf_linear_run(layer_, x, 0, y, 0), KF_ERR_SHAPE, "M must be >= 1");
    expectError(kf_linear_run(layer_, x, 1, y, -1), KF_ERR_INVALID_ARGUMENT, "num_threads");
}

TEST_F(Api, RunBeforePack) {
    float x[256] = {}, y[32];
    expectError(kf_linear_run(layer_, x, 1, y, 0), KF_ERR_NOT_PACKED, "kf_linear_pack first");
    std::vector<uint8_t> codes(32 * 256);
    std::vector<uint16_t> scales(64);
    expectError(kf_linear_unpack(layer_, codes.data(), scales.data()), KF_ERR_NOT_PACKED, "not been packed");
}

TEST_F(Api, CodeOutOfRange) {
    std::vector<uint8_t> codes(32 * 256, 3);
    codes[5 * 256 + 7] = 16;
    std::vector<uint16_t> scales(64, 0x3C00);
    expectError(kf_linear_pack(layer_, codes.data(), scales.data()), KF_ERR_INVALID_ARGUMENT,
                "code 16 at row 5, column 7");
}

TEST_F(Api, StatusNames) {
    EXPECT_STREQ(kf_status_name(KF_OK), "KF_OK");
    EXPECT_STREQ(kf_status_name(KF_ERR_SHAPE), "KF_ERR_SHAPE");
    EXPECT_STREQ(kf_status_name(static_cast<kf_status>(99)), "KF_ERR_UNKNOWN");
    pack();
    float x[256] = {}, y[32];
    EXPECT_EQ(kf_linear_run(layer_, x, 1, y, 0), KF_OK);
    EXPECT_STREQ(kf_last_error(), "");  // success clears the message
}

TEST_F(Api, QueryDescribesTheDeclaredKernel) {
    kf_linear_info info;
    ASSERT_EQ(kf_linear_query(def_, &info), KF_OK);
    EXPECT_STREQ(info.kernel_name, "int4_g128_f16");
    EXPECT_STREQ(info.weight_format, "int4");
    EXPECT_EQ(info.bits, 4);
    EXPECT_EQ(info.group, 128);
    EXPECT_EQ(info.scale_type, KF_SCALE_F16);
    EXPECT_EQ(info.n, 0);
    const int variants = static_cast<int>(testTargets().size());
    EXPECT_EQ(info.num_variants, variants);
    EXPECT_EQ(kf_variant_name(def_, variants), nullptr);
    EXPECT_EQ(kf_variant_name(def_, -1), nullptr);
    // 64 rows x 256 k of 4-bit codes + 64 x 2 f16 scales: no padding for any
    // variant's tile (32 or 64 rows); 32 rows pad to 64 on AVX-512.
    kf_linear *layer = nullptr;
    ASSERT_EQ(kf_linear_create(def_, 64, 256, nullptr, &layer), KF_OK);
    EXPECT_EQ(kf_linear_packed_bytes(layer), 64u * 256 / 2 + 64 * 2 * 2);
    kf_linear_destroy(layer);
}

TEST_F(Api, CopyWeightsErrors) {
    kf_linear *other = nullptr;
    ASSERT_EQ(kf_linear_create(def_, 32, 256, nullptr, &other), KF_OK) << kf_last_error();
    expectError(kf_linear_copy_weights(nullptr, layer_), KF_ERR_NULL_POINTER, "kf_linear_copy_weights");
    expectError(kf_linear_copy_weights(other, nullptr), KF_ERR_NULL_POINTER, "must not be NULL");
    expectError(kf_linear_copy_weights(other, layer_), KF_ERR_NOT_PACKED, "src has not been packed");
    pack();
    kf_linear *wide = nullptr, *g32 = nullptr;
    ASSERT_EQ(kf_linear_create(def_, 64, 256, nullptr, &wide), KF_OK);
    expectError(kf_linear_copy_weights(wide, layer_), KF_ERR_INVALID_ARGUMENT, "shapes must match");
    ASSERT_EQ(kf_linear_create(kf_test_lowbit_int4_g32_f32(), 32, 256, nullptr, &g32), KF_OK);
    expectError(kf_linear_copy_weights(g32, layer_), KF_ERR_INVALID_ARGUMENT, "same kernel def");
    // The message names both kernels.
    EXPECT_NE(std::string(kf_last_error()).find("int4_g32_f32"), std::string::npos) << kf_last_error();
    // A failed copy leaves dst unpacked.
    float x[256] = {}, y[32];
    expectError(kf_linear_run(g32, x, 1, y, 0), KF_ERR_NOT_PACKED, "kf_linear_pack first");
    // Variants of other targets: refused when their packed layouts differ
    // (different packed sizes imply different layouts).
    int count = 0;
    kf_linear_info info;
    ASSERT_EQ(kf_linear_query(def_, &info), KF_OK);
    for (int v = 0; v < info.num_variants; ++v) {
        if (!kf_variant_supported(def_, v) || kf_variant_bucket(def_, v) != 0) continue;
        kf_linear *t = nullptr;
        ASSERT_EQ(kf_linear_create(def_, 32, 256, kf_variant_name(def_, v), &t), KF_OK) << kf_last_error();
        if (kf_linear_packed_bytes(t) != kf_linear_packed_bytes(layer_)) {
            expectError(kf_linear_copy_weights(t, layer_), KF_ERR_INVALID_ARGUMENT, "pack weights differently");
            ++count;
        }
        kf_linear_destroy(t);
    }
    RecordProperty("layouts_refused", count);
    kf_linear_destroy(other);
    kf_linear_destroy(wide);
    kf_linear_destroy(g32);
}

// A copied layer computes exactly what its source does (codes, scales, bias),
// for every M bucket, and unpacks to the same tensors.
TEST(CopyWeights, CopyRunsLikeTheSource) {
    const kf_kernel_def *def = kf_test_lowbit_w4a8_buckets();  // int4 g64 f16, int8 activations, bias
    const int64_t N = 40, K = 192, G = K / 64;
    std::vector<uint8_t> codes(N * K);
    std::vector<uint16_t> scales(N * G);
    std::vector<float> bias(N);
    for (int64_t i = 0; i < N * K; ++i) codes[i] = static_cast<uint8_t>((i * 7 + i / 13) % 16);
    for (int64_t i = 0; i < N * G; ++i) scales[i] = static_cast<uint16_t>(0x2000 + 37 * i);  // small f16 scales
    for (int64_t i = 0; i < N; ++i) bias[i] = 0.25f * static_cast<float>(i % 5) - 0.5f;
    kf_linear *src = nullptr, *dst = nullptr;
    ASSERT_EQ(kf_linear_create(def, N, K, nullptr, &src), KF_OK) << kf_last_error();
    ASSERT_EQ(kf_linear_create(def, N, K, nullptr, &dst), KF_OK) << kf_last_error();
    const kf_linear_weights w{codes.data(), scales.data(), nullptr, nullptr, bias.data()};
    ASSERT_EQ(kf_linear_pack_weights(src, &w), KF_OK) << kf_last_error();
    ASSERT_EQ(kf_linear_copy_weights(dst, src), KF_OK) << kf_last_error();
    EXPECT_STREQ(kf_last_error(), "");
    for (int64_t M : {1, 12, 40}) {
        std::vector<float> x(M * K), y0(M * N, -1.0f), y1(M * N, -2.0f);
        for (int64_t i = 0; i < M * K; ++i) x[i] = static_cast<float>((i * 31) % 17) / 8.0f - 1.0f;
        ASSERT_EQ(kf_linear_run(src, x.data(), M, y0.data(), 0), KF_OK) << kf_last_error();
        ASSERT_EQ(kf_linear_run(dst, x.data(), M, y1.data(), 0), KF_OK) << kf_last_error();
        EXPECT_EQ(y0, y1) << "M=" << M;
    }
    std::vector<uint8_t> codesBack(N * K);
    std::vector<uint16_t> scalesBack(N * G);
    std::vector<float> biasBack(N);
    ASSERT_EQ(kf_linear_unpack_weights(dst, codesBack.data(), scalesBack.data(), nullptr, nullptr, biasBack.data()),
              KF_OK)
        << kf_last_error();
    EXPECT_EQ(codesBack, codes);
    EXPECT_EQ(scalesBack, scales);
    EXPECT_EQ(biasBack, bias);
    kf_linear_destroy(src);
    kf_linear_destroy(dst);
}

}  // namespace
