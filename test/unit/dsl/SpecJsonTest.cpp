// --emit=spec JSON: shape, key order, every family.
#include "dsl/SpecJson.h"

#include "TestUtil.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kf::dsl {
namespace {

TEST(SpecJson, ModuleRoundTripsThroughJsonParser) {
    auto r = test::load(test::lowbitKernel("  weight uint4 shape=[N=4096, K] scale=bf16 group=64 zero_point") +
                        "kernel h : hadamard {\n  size N=11008 factor=172\n  input f32\n  output int8\n}\n"
                        "kernel a : rotation_attention {\n  heads q=32 kv=8 dim=128\n  kv_cache int4\n  input f32\n}\n"
                        "kernel s : sparse_rank_linear {\n  weight int4 shape=[N=64, K=64]\n  rank 8\n"
                        "  sparsity topk=16\n  input f32\n  output f32\n}\n"
                        "schedule lin for x86-avx2 bucket=decode {\n  split n 64\n  pack weight interleave=16\n"
                        "  tune {\n    split k in [64, 128]\n  }\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    std::string text = toJson(*r.module);
    auto j = nlohmann::ordered_json::parse(text);
    EXPECT_EQ(j["file"], "t.kf");
    ASSERT_EQ(j["kernels"].size(), 4u);
    const auto &lin = j["kernels"][0];
    EXPECT_EQ(lin["name"], "lin");
    EXPECT_EQ(lin["family"], "lowbit_linear");
    EXPECT_EQ(lin["params"]["weight"]["format"], "uint4");
    EXPECT_EQ(lin["params"]["weight"]["kind"], "uint");
    EXPECT_EQ(lin["params"]["n"]["size"], 4096);
    EXPECT_TRUE(lin["params"]["k"]["size"].is_null());
    EXPECT_EQ(lin["params"]["scale_type"], "bf16");
    EXPECT_EQ(lin["params"]["group"], 64);
    EXPECT_EQ(lin["params"]["zero_point"], true);
    EXPECT_EQ(j["kernels"][1]["params"]["m"], 172);
    EXPECT_EQ(j["kernels"][1]["params"]["output"], "int8");
    EXPECT_EQ(j["kernels"][2]["params"]["num_kv_heads"], 8);
    EXPECT_EQ(j["kernels"][3]["params"]["mode"], "topk");
    EXPECT_EQ(j["kernels"][3]["params"]["topk"], 16);
    const auto &s = j["schedules"][0];
    EXPECT_EQ(s["bucket"], "decode");
    EXPECT_EQ(s["directives"][0]["kind"], "split");
    EXPECT_EQ(s["directives"][0]["factor"], 64);
    EXPECT_EQ(s["directives"][1]["options"]["interleave"], "16");
    EXPECT_EQ(s["tune"]["axes"][0]["values"], (std::vector<int>{64, 128}));
    // Keys stay in declaration order.
    std::vector<std::string> keys;
    for (auto it = lin.begin(); it != lin.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"name", "family", "params", "loc"}));
    EXPECT_NE(text.find("\n  \"kernels\": ["), std::string::npos);
}

TEST(SpecJson, NoTuneIsNull) {
    auto r = test::load(test::lowbitKernel("  weight int4 shape=[N=8, K=8]") + "schedule lin for x86-avx2 {\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    auto j = nlohmann::json::parse(toJson(*r.module));
    EXPECT_TRUE(j["schedules"][0]["tune"].is_null());
    EXPECT_TRUE(j["schedules"][0]["directives"].empty());
}

TEST(SpecNames, ToString) {
    EXPECT_STREQ(toString(Family::SparseRankLinear), "sparse_rank_linear");
    EXPECT_STREQ(toString(Bucket::SmallBatch), "small");
    EXPECT_STREQ(toString(ActKind::QInt8PerToken), "int8");
    EXPECT_STREQ(toString(ScalarType::BF16), "bf16");
    EXPECT_STREQ(toString(Directive::Kind::Vectorize), "vectorize");
    EXPECT_STREQ(toString(WeightKind::Codebook), "codebook");
    EXPECT_EQ(formatName(WeightFormat{WeightKind::Codebook, 3, false, true}), "codebook3");
    EXPECT_EQ(formatName(WeightFormat{WeightKind::Ternary, 2, true, false}), "ternary");
}

}  // namespace
}  // namespace kf::dsl
