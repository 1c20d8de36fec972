#include <gtest/gtest.h>

#include "codegen/Naming.h"

namespace kf::codegen {
namespace {

TEST(Naming, FollowsTheGrammar) {
    SymbolParts p{"linear", "f32", "qd8", "seq2g128f16", "", 1, 64, 256, "x86_avx512vnni", ""};
    EXPECT_EQ(kernelSymbol(p), "kf_linear_f32_qd8_seq2g128f16_1x64x256__x86_avx512vnni");
    EXPECT_TRUE(isValidKernelSymbol(kernelSymbol(p)));
    p.epilogue = "bias";
    EXPECT_EQ(kernelSymbol(p), "kf_linear_f32_qd8_seq2g128f16_bias_1x64x256__x86_avx512vnni");
    EXPECT_TRUE(isValidKernelSymbol(kernelSymbol(p)));
    p.scheduleTag = "s0123abcd";  // a non-default schedule
    EXPECT_EQ(kernelSymbol(p), "kf_linear_f32_qd8_seq2g128f16_bias_1x64x256__x86_avx512vnni__s0123abcd");
    EXPECT_TRUE(isValidKernelSymbol(kernelSymbol(p)));
}

TEST(Naming, RejectsMalformedSymbols) {
    EXPECT_FALSE(isValidKernelSymbol("kf_linear_f32_f32_int4g128f16_1x64x128_x86_avx512"));   // single '_' before target
    EXPECT_FALSE(isValidKernelSymbol("kf_linear_f32_f32_int4g128f16__x86_avx512"));            // no tile
    EXPECT_FALSE(isValidKernelSymbol("linear_f32_f32_int4g128f16_1x64x128__x86_avx512"));      // no kf_ prefix
    EXPECT_FALSE(isValidKernelSymbol("kf_linear_f32_f64_int4g128f16_1x64x128__x86_avx512"));   // unknown act
    EXPECT_FALSE(isValidKernelSymbol("kf_linear_f32_f32_int4g128f16_1x64x128__x86_avx512__s12"));  // short tag
}

}  // namespace
}  // namespace kf::codegen
