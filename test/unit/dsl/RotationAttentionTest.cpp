// rotation_attention: heads / kv_cache / switches.
#include "TestUtil.h"

#include <gtest/gtest.h>

namespace kf::dsl {
namespace {

using test::load;
using test::messages;

const RotationAttentionParams &params(const LoadResult &r) {
    return std::get<RotationAttentionParams>(r.module->kernels.at(0).params);
}

TEST(RotationAttention, Defaults) {
    auto r = load("kernel a : rotation_attention {\n  heads q=32 kv=8 dim=128\n  kv_cache int4\n  input f32\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &p = params(r);
    EXPECT_EQ(p.numHeads, 32);
    EXPECT_EQ(p.numKvHeads, 8);
    EXPECT_EQ(p.headDim, 128);
    EXPECT_EQ(p.kvBits, 4);
    EXPECT_EQ(p.kvGroup, 0);
    EXPECT_TRUE(p.rotate);
    EXPECT_EQ(p.rope, dsl::RopeKind::Half);
    EXPECT_TRUE(p.causal);
}

TEST(RotationAttention, Switches) {
    auto r = load("kernel a : rotation_attention {\n  heads q=8 kv=8 dim=64\n  kv_cache int8 group=32\n"
                  "  rotate none\n  rope none\n  mask none\n  input f32\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &p = params(r);
    EXPECT_EQ(p.kvBits, 8);
    EXPECT_EQ(p.kvGroup, 32);
    EXPECT_FALSE(p.rotate);
    EXPECT_EQ(p.rope, dsl::RopeKind::None);
    EXPECT_FALSE(p.causal);
    r = load("kernel a : rotation_attention {\n  heads q=8 kv=8 dim=64\n  kv_cache int8\n"
             "  rotate r3\n  rope\n  mask causal\n  input f32\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_TRUE(params(r).rotate && params(r).causal);
    EXPECT_EQ(params(r).rope, dsl::RopeKind::Half);
    for (auto [word, bits] : {std::pair{"f16", 16}, std::pair{"f32", 32}}) {
        r = load(std::string("kernel a : rotation_attention {\n  heads q=8 kv=8 dim=64\n  kv_cache ") + word +
                 "\n  input f32\n}\n");
        ASSERT_TRUE(r.ok()) << test::rendered(r);
        EXPECT_EQ(params(r).kvBits, bits) << word;
        EXPECT_EQ(params(r).kvGroup, 0) << word;
    }
    for (auto [word, kind] : {std::pair{"half", dsl::RopeKind::Half}, std::pair{"interleaved", dsl::RopeKind::Interleaved}}) {
        r = load(std::string("kernel a : rotation_attention {\n  heads q=8 kv=8 dim=64\n  kv_cache int4\n  rope ") +
                 word + "\n  input f32\n}\n");
        ASSERT_TRUE(r.ok()) << test::rendered(r);
        EXPECT_EQ(params(r).rope, kind) << word;
    }
}

TEST(RotationAttention, Errors) {
    auto r = load("kernel a : rotation_attention {\n  heads q=32 kv=6 dim=96\n  kv_cache int2 group=48\n"
                  "  rotate r4\n  rope yes\n  mask sliding\n  input f32\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "q=32 is not a multiple of kv=6 (each kv head serves q/kv query heads)",
                               "dim (head dimension) must be a power of two between 32 and 256, got 96",
                               "unknown kv cache format 'int2'; expected one of int4, int8, f16, f32",
                               "unknown 'rotate' setting 'r4'; expected one of r3, none",
                               "unknown 'rope' pairing 'yes'; expected one of half, interleaved, none",
                               "unknown 'mask' setting 'sliding'; expected one of causal, none"}));
    r = load("kernel a : rotation_attention {\n  heads q=32 dim=128\n  kv_cache int4 group=48\n  input f32\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "'heads' needs kv=; usage: heads q=<heads> kv=<kv heads> dim=<head dim>",
                               "kv_cache group 48 does not divide dim=128"}));
    r = load("kernel a : rotation_attention {\n  heads q=8 kv=8 dim=64\n  kv_cache f16 group=32\n  input f32\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{"kv_cache f16 stores the values themselves: it has no group "
                                                     "(group= is for int4 and int8)"}));
    r = load("kernel a : rotation_attention {\n  input f32\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "kernel 'a' (rotation_attention) has no 'heads' statement",
                               "kernel 'a' (rotation_attention) has no 'kv_cache' statement"}));
}

}  // namespace
}  // namespace kf::dsl
