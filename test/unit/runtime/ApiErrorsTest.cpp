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

}  // namespace
