// Resolution of lowbit_linear schedules: target defaults, directives applied,
// and every directive the lowering cannot honour rejected with its location.
#include <gtest/gtest.h>

#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "codegen/Naming.h"
#include "codegen/lowbit_linear/LinearSchedule.h"
#include "dsl/Load.h"

namespace kf::codegen {
namespace {

dsl::Module load(const std::string &text) {
    auto r = dsl::loadString(text, "t.kf", {});
    for (const auto &d : r.diagnostics) ADD_FAILURE() << d.render();
    return *r.module;
}

const char *kKernel = R"(
kernel k : lowbit_linear {
  weight int4 shape=[N, K] scale=f16 group=128
  input f32
  output f32
}
)";

const dsl::LowbitLinearParams &paramsOf(const dsl::Module &m) {
    return std::get<dsl::LowbitLinearParams>(m.kernels[0].params);
}

TEST(LinearSchedule, TargetDefaults) {
    auto m = load(kKernel);
    auto s512 = lowbit::resolveSchedule(paramsOf(m), nullptr, *targets::find("x86-avx512"));
    EXPECT_EQ(s512.vector, 16);
    EXPECT_EQ(s512.interleave, 64);
    EXPECT_EQ(s512.kChunk, 128);
    auto s2 = lowbit::resolveSchedule(paramsOf(m), nullptr, *targets::find("x86-avx2"));
    EXPECT_EQ(s2.vector, 8);
    EXPECT_EQ(s2.interleave, 32);
}

TEST(LinearSchedule, DirectivesApply) {
    auto m = load(std::string(kKernel) + R"(
schedule k for x86-avx512 {
  pack weight interleave=32
  vectorize n 16
  split n 128
  unroll k 4
  prefetch weight 256
}
)");
    auto s = lowbit::resolveSchedule(paramsOf(m), &m.schedules[0], *targets::find("x86-avx512"));
    EXPECT_EQ(s.interleave, 32);
    EXPECT_EQ(s.nBlock, 128);
    EXPECT_EQ(s.unrollK, 4);
    EXPECT_EQ(s.prefetch, 128);  // k-pairs
}

void expectRejected(const std::string &schedule, const std::string &fragment) {
    auto m = load(std::string(kKernel) + schedule);
    try {
        lowbit::resolveSchedule(paramsOf(m), &m.schedules[0], *targets::find("x86-avx512"));
        ADD_FAILURE() << "accepted: " << schedule;
    } catch (const CodegenError &e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).rfind("t.kf:", 0), 0u) << e.what();
    }
}

TEST(LinearSchedule, RejectsWhatItCannotHonour) {
    expectRejected("schedule k for x86-avx512 {\n  vectorize k 16\n}\n", "vectorizes over n only");
    expectRejected("schedule k for x86-avx512 {\n  split k 64\n}\n", "must equal the scale group (128)");
    expectRejected("schedule k for x86-avx512 {\n  pack weight interleave=8\n}\n", "multiple of the vector width");
    expectRejected("schedule k for x86-avx512 {\n  split n 96\n}\n", "multiple of pack interleave=64");
    expectRejected("schedule k for x86-avx512 {\n  reorder n k m\n}\n", "'reorder' is not supported");
    expectRejected("schedule k for x86-avx512 {\n  threads 2\n}\n", "chosen at run time");
    expectRejected("schedule k for x86-avx512 {\n  prefetch weight 33\n}\n", "must be even for int4");
}

TEST(Lowering, SymbolsFollowTheGrammarAndFamiliesWithoutLoweringFail) {
    auto m = load(kKernel);
    for (const char *t : {"x86-avx2", "x86-avx512", "x86-avx512vnni"}) {
        LoweredVariant v = lowerKernel(m, m.kernels[0], *targets::find(t));
        EXPECT_TRUE(isValidKernelSymbol(v.symbol)) << v.symbol;
        EXPECT_EQ(v.layout.group, 128);
    }
    auto sparse = load(R"(
kernel s : sparse_rank_linear {
  weight f32 shape=[N=64, K=64]
  rank 8
  sparsity threshold
  input f32
  output f32
}
)");
    try {
        lowerKernel(sparse, sparse.kernels[0], *targets::find("x86-avx512"));
        ADD_FAILURE() << "sparse_rank_linear lowered";
    } catch (const CodegenError &e) {
        EXPECT_NE(std::string(e.what()).find("no lowering of sparse_rank_linear for x86-avx512"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace kf::codegen
