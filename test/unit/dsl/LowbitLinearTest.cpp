// lowbit_linear: statements -> LowbitLinearParams, and each error class.
#include "TestUtil.h"
#include "dsl/families/lowbit_linear/Reference.h"

#include <gtest/gtest.h>

namespace kf::dsl {
namespace {

using test::load;
using test::lowbitKernel;
using test::messages;

const LowbitLinearParams &params(const LoadResult &r) {
    return std::get<LowbitLinearParams>(r.module->kernels.at(0).params);
}

TEST(LowbitLinear, FullKernel) {
    auto r = load("kernel down_proj : lowbit_linear {\n"
                  "  weight  seq2  shape=[N=4096, K=11008]  scale=f16 group=128\n"
                  "  input   int8  rows=T\n"
                  "  output  f32\n"
                  "  bias    f32\n"
                  "}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &k = r.module->kernels[0];
    EXPECT_EQ(k.name, "down_proj");
    EXPECT_EQ(k.family, Family::LowbitLinear);
    EXPECT_EQ(k.loc.line, 1);
    EXPECT_EQ(k.loc.col, 8);
    const auto &p = params(r);
    EXPECT_EQ(p.weight.kind, WeightKind::Seq2);
    EXPECT_EQ(p.weight.bits, 2);
    EXPECT_EQ(p.n.name, "N");
    EXPECT_EQ(p.n.size, 4096);
    EXPECT_EQ(p.k.size, 11008);
    EXPECT_EQ(p.scaleType, ScalarType::F16);
    EXPECT_EQ(p.group, 128);
    EXPECT_EQ(p.input, ActKind::QInt8PerToken);
    EXPECT_EQ(p.rows, "T");
    EXPECT_TRUE(p.bias);
    EXPECT_FALSE(p.zeroPoint);
}

TEST(LowbitLinear, EveryFormat) {
    struct Case { const char *name; WeightKind kind; int bits; };
    const Case cases[] = {
        {"binary", WeightKind::Binary, 1}, {"ternary", WeightKind::Ternary, 2}, {"seq2", WeightKind::Seq2, 2},
        {"int2", WeightKind::Int, 2},      {"int3", WeightKind::Int, 3},        {"int4", WeightKind::Int, 4},
        {"int8", WeightKind::Int, 8},      {"codebook1", WeightKind::Codebook, 1},
        {"codebook8", WeightKind::Codebook, 8},
    };
    for (const auto &c : cases) {
        auto r = load(lowbitKernel(std::string("  weight ") + c.name + " shape=[N=8, K=64]"));
        ASSERT_TRUE(r.ok()) << c.name << "\n" << test::rendered(r);
        EXPECT_EQ(params(r).weight.kind, c.kind) << c.name;
        EXPECT_EQ(params(r).weight.bits, c.bits) << c.name;
        EXPECT_EQ(formatName(params(r).weight), c.name);
    }
    for (int b = 2; b <= 8; ++b) {
        auto r = load(lowbitKernel("  weight uint" + std::to_string(b) + " shape=[N=8, K=64] zero_point"));
        ASSERT_TRUE(r.ok()) << test::rendered(r);
        EXPECT_EQ(params(r).weight.kind, WeightKind::Uint);
        EXPECT_EQ(params(r).weight.bits, b);
        EXPECT_TRUE(params(r).zeroPoint);
    }
}

TEST(LowbitLinear, PackingCodebookSymbolicShapeChannelGroup) {
    auto r = load(lowbitKernel("  weight ternary shape=[N, K] packing=base3 group=channel scale=bf16"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_TRUE(params(r).weight.ternaryBase3);
    EXPECT_FALSE(params(r).n.size.has_value());
    EXPECT_FALSE(params(r).k.size.has_value());
    EXPECT_EQ(params(r).group, 0);
    EXPECT_EQ(params(r).scaleType, ScalarType::BF16);

    r = load(lowbitKernel("  weight codebook4 shape=[N=16, K] codebook=channel"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_TRUE(params(r).weight.perChannelCodebook);
    EXPECT_EQ(params(r).n.size, 16);
}

TEST(LowbitLinear, UnknownFormatNamesTheList) {
    auto r = load(lowbitKernel("  weight int5 shape=[N=8, K=8]"));
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].message,
              "unknown weight format 'int5'; expected one of binary, ternary, seq2, int2, int3, int4, int8, "
              "uint2..uint8, codebook1..codebook8");
    EXPECT_EQ(r.diagnostics[0].loc.line, 2);
    EXPECT_EQ(r.diagnostics[0].loc.col, 10);
    EXPECT_FALSE(r.module.has_value());
}

TEST(LowbitLinear, ZeroPointRules) {
    auto r = load(lowbitKernel("  weight uint4 shape=[N=8, K=8]"));
    EXPECT_EQ(messages(r), std::vector<std::string>{
        "uint4 needs zero_point (asymmetric: w = s * (c - z)); add 'zero_point' to the weight statement or use int4"});
    r = load(lowbitKernel("  weight int4 shape=[N=8, K=8] zero_point"));
    EXPECT_EQ(messages(r), std::vector<std::string>{"zero_point is only for uint2..uint8 weights, not 'int4'"});
    EXPECT_EQ(r.diagnostics[0].loc.col, 32);
}

TEST(LowbitLinear, GroupErrors) {
    auto r = load(lowbitKernel("  weight int4 shape=[N=8, K=4096] group=100"));
    EXPECT_EQ(messages(r), std::vector<std::string>{"group must be one of 32, 64, 128, 256 or channel, got 100"});
    r = load(lowbitKernel("  weight int4 shape=[N=8, K=64] group=128"));
    EXPECT_EQ(messages(r), std::vector<std::string>{
                               "group 128 is larger than K=64; use a smaller group or group=channel"});
    // K need not be a multiple of the group: the last group is short.
    r = load(lowbitKernel("  weight int4 shape=[N=8, K=100] group=64"));
    EXPECT_TRUE(r.ok()) << test::rendered(r);
}

TEST(LowbitLinear, ShapeErrors) {
    auto r = load(lowbitKernel("  weight int4 shape=[N=0, K=99999999999]"));
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "dimension N must be an integer between 1 and 2147483647, got 0",
                               "dimension K must be an integer between 1 and 2147483647, got 99999999999"}));
    r = load(lowbitKernel("  weight int4 shape=[K=4, N=4]"));
    ASSERT_EQ(r.diagnostics.size(), 2u);
    EXPECT_EQ(r.diagnostics[0].message,
              "expected dimension 'N' here (N=<size> or N for a size given at run time), found 'K'");
    r = load(lowbitKernel("  weight int4 shape=[N=4]"));
    EXPECT_EQ(messages(r), std::vector<std::string>{
                               "shape must be [N=<size>, K=<size>] (a size may be left symbolic: [N, K]), got 1 dimensions"});
    r = load(lowbitKernel("  weight int4"));
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].message.substr(0, 37), "'weight' needs shape=[N=<n>, K=<k>]; ");
}

TEST(LowbitLinear, AttributeAndOptionErrors) {
    auto r = load(lowbitKernel("  weight int4 shape=[N=8, K=8] grp=32 packing=base3 codebook=channel scale=f64"));
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "unknown attribute 'grp' for 'weight'; expected one of shape, scale, group, packing, codebook",
                               "packing=base3 is only for ternary weights, not 'int4'",
                               "codebook= is only for codebook1..codebook8 weights, not 'int4'",
                               "unknown scale type 'f64'; expected one of f32, f16, bf16"}));
    r = load(lowbitKernel("  weight int4 shape=[N=8, K=8] scale=f16 scale=f32"));
    EXPECT_EQ(messages(r), std::vector<std::string>{"duplicate attribute 'scale' for 'weight'"});
}

TEST(LowbitLinear, StatementErrors) {
    auto r = load("kernel lin : lowbit_linear {\n  weight int4 shape=[N=8, K=8]\n  input f16\n  output bf16 extra\n"
                  "  biass f32\n  weight int8 shape=[N=8, K=8]\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "unknown input type 'f16'; expected one of f32, bf16, int8",
                               "unknown output type 'bf16'; expected f32",
                               "unexpected argument 'extra' to 'output'; usage: output f32",
                               "unknown statement 'biass' in lowbit_linear kernel; expected one of weight, input, output, bias (did you mean 'bias'?)",
                               "duplicate 'weight' statement (first at line 2)"}));
}

TEST(LowbitLinear, MissingStatementsAtKernelName) {
    auto r = load("kernel lin : lowbit_linear {\n  weight int4 shape=[N=8, K=8]\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{"kernel 'lin' (lowbit_linear) has no 'input' statement",
                                                     "kernel 'lin' (lowbit_linear) has no 'output' statement"}));
    EXPECT_EQ(r.diagnostics[0].loc.col, 8);
}

TEST(LowbitLinear, TuneBlockInKernelIsAnError) {
    auto r = load("kernel lin : lowbit_linear {\n  weight int4 shape=[N=8, K=8]\n  input f32\n  output f32\n"
                  "  tune { split n in [1] }\n}\n");
    EXPECT_EQ(messages(r), std::vector<std::string>{"'tune' blocks belong in a schedule, not in kernel 'lin'"});
}

}  // namespace
}  // namespace kf::dsl

// The one place a reference rounds int8 activations (docs/formats.md,
// "Dynamic int8 per token"): half away from zero of the f32 quotient, exactly,
// including the float just below 0.5, which floor(v + 0.5f) would round up.
TEST(LowbitLinearReference, ActivationCodesRoundHalfAwayExactly) {
    using kf::families::lowbit::referenceActCode;
    EXPECT_EQ(referenceActCode(0.49999997f, 1.0f), 0);
    EXPECT_EQ(referenceActCode(-0.49999997f, 1.0f), 0);
    EXPECT_EQ(referenceActCode(0.5f, 1.0f), 1);
    EXPECT_EQ(referenceActCode(-0.5f, 1.0f), -1);
    EXPECT_EQ(referenceActCode(2.5f, 1.0f), 3);
    EXPECT_EQ(referenceActCode(-126.5f, 1.0f), -127);
    EXPECT_EQ(referenceActCode(300.0f, 1.0f), 127);
    EXPECT_EQ(referenceActCode(1.0f, 0.0f), 0);  // an all-zero row
    // The quotient is rounded to f32 first: 0.3 / 0.6 is 0.5 in f32.
    EXPECT_EQ(referenceActCode(0.3f, 0.6f), 1);
}
