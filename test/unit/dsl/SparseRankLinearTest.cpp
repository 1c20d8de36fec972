// sparse_rank_linear: weight / rank / sparsity.
#include "TestUtil.h"

#include <gtest/gtest.h>

namespace kf::dsl {
namespace {

using test::load;
using test::messages;

std::string kernel(const std::string &weight, const std::string &rank, const std::string &sparsity) {
    return "kernel s : sparse_rank_linear {\n  " + weight + "\n  " + rank + "\n  " + sparsity +
           "\n  input f32\n  output f32\n}\n";
}

const SparseRankLinearParams &params(const LoadResult &r) {
    return std::get<SparseRankLinearParams>(r.module->kernels.at(0).params);
}

TEST(SparseRankLinear, DenseThreshold) {
    auto r = load(kernel("weight f32 shape=[N=4096, K=4096]", "rank 256", "sparsity threshold"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &p = params(r);
    EXPECT_TRUE(p.denseWeight);
    EXPECT_EQ(p.n.size, 4096);
    EXPECT_EQ(p.rank, 256);
    EXPECT_EQ(p.mode, SparsityMode::Threshold);
}

TEST(SparseRankLinear, QuantizedTopK) {
    auto r = load(kernel("weight int8 shape=[N=4096, K=11008] scale=f16 group=128", "rank 64", "sparsity topk=512"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &p = params(r);
    EXPECT_FALSE(p.denseWeight);
    EXPECT_EQ(p.weight.kind, WeightKind::Int);
    EXPECT_EQ(p.weight.bits, 8);
    EXPECT_EQ(p.scaleType, ScalarType::F16);
    EXPECT_EQ(p.group, 128);
    EXPECT_EQ(p.mode, SparsityMode::TopK);
    EXPECT_EQ(p.topK, 512);
}

TEST(SparseRankLinear, ThresholdValueAndInt8Factors) {
    auto r = load(kernel("weight int4 shape=[N=64, K=128] group=32", "rank 0", "sparsity threshold tau=0.125"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).tau, 0.125);
    EXPECT_EQ(params(r).rank, 0);
    EXPECT_EQ(params(r).factorBits, 32);
    r = load(kernel("weight int4 shape=[N=64, K=128] group=32", "rank 16 factors=int8", "sparsity threshold tau=2"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).tau, 2.0);
    EXPECT_EQ(params(r).factorBits, 8);
    EXPECT_EQ(messages(load(kernel("weight f32 shape=[N=64, K=32]", "rank 8 factors=int4", "sparsity threshold tau=-1"))),
              (std::vector<std::string>{
                  "unknown factor format 'int4'; expected one of f32, bf16, int8",
                  "tau must be a finite number >= 0 (|x| > tau marks a channel active), got '-1'"}));
    EXPECT_EQ(messages(load(kernel("weight f32 shape=[N=64, K=32]", "rank 8", "sparsity topk=4 tau=1.5"))),
              std::vector<std::string>{"tau= is the threshold of 'sparsity threshold'; a topk kernel has none"});
}

TEST(SparseRankLinear, Bf16WeightAndFactors) {
    auto r = load(kernel("weight bf16 shape=[N=64, K=128]", "rank 16 factors=bf16", "sparsity topk=8"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_TRUE(params(r).denseWeight);
    EXPECT_EQ(params(r).denseBits, 16);
    EXPECT_FALSE(params(r).noWeight);
    EXPECT_EQ(params(r).factorBits, 16);
    EXPECT_EQ(messages(load(kernel("weight bf16 shape=[N=64, K=128] scale=f16", "rank 1", "sparsity threshold"))),
              std::vector<std::string>{"scale= is only for quantized weights, not bf16"});
}

// `weight none`: y = U (V x), no mask, so no `sparsity` statement and r >= 1.
TEST(SparseRankLinear, NoWeightIsPureLowRank) {
    auto r = load("kernel s : sparse_rank_linear {\n  weight none shape=[N=64, K=128]\n  rank 16 factors=int8\n"
                  "  input f32\n  output f32\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_TRUE(params(r).noWeight);
    EXPECT_EQ(params(r).rank, 16);
    EXPECT_EQ(messages(load(kernel("weight none shape=[N=64, K=128]", "rank 0", "sparsity threshold"))),
              (std::vector<std::string>{
                  "rank 0 with 'weight none' leaves the layer nothing to compute; give r >= 1",
                  "'weight none' has no sparse term and so no mask: every channel goes through U (V x); remove "
                  "'sparsity'"}));
    // Every other W still needs its mask.
    EXPECT_EQ(messages(load("kernel s : sparse_rank_linear {\n  weight f32 shape=[N=64, K=128]\n  rank 16\n"
                            "  input f32\n  output f32\n}\n")),
              std::vector<std::string>{"kernel 's' (sparse_rank_linear) has no 'sparsity' statement"});
}

TEST(SparseRankLinear, Errors) {
    EXPECT_EQ(messages(load(kernel("weight seq2 shape=[N=64, K=32]", "rank 100", "sparsity topk=64"))),
              (std::vector<std::string>{
                  "unknown weight format 'seq2' for sparse_rank_linear; expected one of f32, bf16, int2, int3, int4, "
                  "int8, none",
                  "rank 100 exceeds min(N, K) = 32", "topk 64 exceeds K=32"}));
    EXPECT_EQ(messages(load(kernel("weight f32 shape=[N=64, K=32] group=32", "rank -1", "sparsity"))),
              (std::vector<std::string>{
                  "group= is only for quantized weights, not f32",
                  "rank must be an integer between 0 and 32, got -1",
                  "'sparsity' takes either 'threshold' or topk=<k>; usage: sparsity threshold [tau=<t>] | sparsity topk=<k>"}));
    EXPECT_EQ(messages(load(kernel("weight f32 shape=[N, K]", "rank 8", "sparsity dense"))),
              std::vector<std::string>{"unknown sparsity mode 'dense'; expected threshold"});
}

}  // namespace
}  // namespace kf::dsl
