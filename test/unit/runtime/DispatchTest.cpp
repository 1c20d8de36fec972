// Variant selection: automatic (best the CPU runs), forced by name or target,
// and from KFORGE_VARIANT; unknown or unrunnable variants are refused.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "TestTargets.h"
#include "kforge_test_lowbit.h"

namespace {

int bestSupported(const kf_kernel_def *def) {
    kf_linear_info info;
    kf_linear_query(def, &info);
    int best = -1;
    for (int i = 0; i < info.num_variants; ++i)
        if (kf_variant_supported(def, i)) best = i;  // variants are listed in ascending priority
    return best;
}

TEST(Dispatch, AutomaticPicksTheBestSupported) {
    const kf_kernel_def *def = kf_test_lowbit_int4_g128_f16();
    const int best = bestSupported(def);
    if (best < 0) GTEST_SKIP() << "this CPU runs none of the variants";
    kf_linear *layer = nullptr;
    unsetenv("KFORGE_VARIANT");
    ASSERT_EQ(kf_linear_create(def, 8, 8, nullptr, &layer), KF_OK) << kf_last_error();
    EXPECT_STREQ(kf_linear_variant(layer), kf_variant_name(def, best));
    kf_linear_destroy(layer);
}

TEST(Dispatch, ForcedByTargetNameOrSymbol) {
    const kf_kernel_def *def = kf_test_lowbit_int4_g128_f16();
    const std::string first = testTargets().at(0);  // variant 0, e.g. x86-avx2
    if (!kf_variant_supported(def, 0)) GTEST_SKIP() << "no " << first << " on this CPU";
    kf_linear *layer = nullptr;
    ASSERT_EQ(kf_linear_create(def, 8, 8, first.c_str(), &layer), KF_OK) << kf_last_error();
    EXPECT_STREQ(kf_linear_variant(layer), kf_variant_name(def, 0));
    kf_linear_destroy(layer);
    ASSERT_EQ(kf_linear_create(def, 8, 8, kf_variant_name(def, 0), &layer), KF_OK);
    kf_linear_destroy(layer);
}

TEST(Dispatch, EnvironmentOverridesAutomatic) {
    const kf_kernel_def *def = kf_test_lowbit_int4_g128_f16();
    const std::string first = testTargets().at(0);
    if (!kf_variant_supported(def, 0)) GTEST_SKIP() << "no " << first << " on this CPU";
    setenv("KFORGE_VARIANT", first.c_str(), 1);
    kf_linear *layer = nullptr;
    ASSERT_EQ(kf_linear_create(def, 8, 8, nullptr, &layer), KF_OK);
    EXPECT_STREQ(kf_linear_variant(layer), kf_variant_name(def, 0));
    kf_linear_destroy(layer);
    setenv("KFORGE_VARIANT", "x86-avx9", 1);
    EXPECT_EQ(kf_linear_create(def, 8, 8, nullptr, &layer), KF_ERR_UNSUPPORTED_VARIANT);
    EXPECT_NE(std::string(kf_last_error()).find("KFORGE_VARIANT variant 'x86-avx9'"), std::string::npos);
    unsetenv("KFORGE_VARIANT");
}

TEST(Dispatch, UnknownVariantIsRefusedWithTheList) {
    kf_linear *layer = nullptr;
    EXPECT_EQ(kf_linear_create(kf_test_lowbit_int4_g128_f16(), 8, 8, "sse2", &layer), KF_ERR_UNSUPPORTED_VARIANT);
    EXPECT_EQ(layer, nullptr);
    const std::string msg = kf_last_error();
    EXPECT_NE(msg.find("'sse2' is not in kernel 'int4_g128_f16'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(kf_variant_name(kf_test_lowbit_int4_g128_f16(), 1)), std::string::npos) << msg;
}

}  // namespace
