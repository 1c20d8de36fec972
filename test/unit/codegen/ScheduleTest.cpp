// Resolution of lowbit_linear schedules: target defaults, directives applied,
// and every directive the lowering cannot honour rejected with its location.
#include <gtest/gtest.h>

#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "kforge/detail/Linear.h"
#include "codegen/Naming.h"
#include "codegen/lowbit_linear/LinearSchedule.h"
#include "dsl/Load.h"

namespace kf::codegen {
namespace {

// The lowbit_linear packed layout of a lowered variant.
const rt::LinearLayout &linearLayout(const LoweredVariant &v) { return std::any_cast<const rt::LinearLayout &>(v.layout); }

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

// Lowering the first kernel of `text` for `target` fails with `fragment` in
// the message (which starts with the file:line:col when `located`).
void expectLoweringRejected(const std::string &text, const char *target, const std::string &fragment,
                            bool located = false) {
    auto m = load(text);
    try {
        lowerKernel(m, m.kernels[0], *targets::find(target));
        ADD_FAILURE() << "accepted: " << text;
    } catch (const CodegenError &e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        if (located) {
            EXPECT_EQ(std::string(e.what()).rfind("t.kf:", 0), 0u) << e.what();
        }
    }
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
  unroll k 64
  prefetch weight 256
}
)");
    auto s = lowbit::resolveSchedule(paramsOf(m), &m.schedules[0], *targets::find("x86-avx512"));
    EXPECT_EQ(s.interleave, 32);
    EXPECT_EQ(s.nBlock, 128);
    EXPECT_EQ(s.unrollK, 64);
    EXPECT_EQ(s.prefetch, 256);  // k ahead
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
    expectRejected("schedule k for x86-avx512 {\n  pack weight interleave=8\n}\n", "multiple of 16 rows");
    expectRejected("schedule k for x86-avx512 {\n  pack weight interleave=16\n  vectorize n 32\n}\n", "multiple of the vector width");
    expectRejected("schedule k for x86-avx512 {\n  unroll k 4\n}\n", "multiple of the packed k-block (32)");
    expectRejected("schedule k for x86-avx512 {\n  split n 96\n}\n", "multiple of pack interleave=64");
    expectRejected("schedule k for x86-avx512 {\n  reorder n k m\n}\n", "'reorder m k' (the default");
    expectRejected("schedule k for x86-avx512 {\n  reorder k m\n}\n", "int8 activations only");
    expectRejected("schedule k for x86-avx512 {\n  threads 2\n}\n", "chosen at run time");
    expectRejected("schedule k for x86-avx512 {\n  pack weight layout=nibble\n}\n", "unknown packed layout 'nibble'");
}

// rotation_attention's schedule: directives it cannot honour are rejected at
// their file:line:col (the context chunk must be whole blocks of the cache's K).
TEST(AttentionSchedule, RejectsWhatItCannotHonour) {
    const std::string kernel = "kernel a : rotation_attention {\n  heads q=8 kv=2 dim=64\n  kv_cache int4\n"
                               "  input f32\n}\n";
    expectLoweringRejected(kernel + "schedule a for x86-avx512 {\n  split t 24\n}\n", "x86-avx512",
                           "a multiple of 16 (the cache's K block) in 16..8192, got 24", true);
    expectLoweringRejected(kernel + "schedule a for x86-avx512 {\n  split t 8\n}\n", "x86-avx512", "got 8", true);
    expectLoweringRejected(kernel + "schedule a for x86-avx512 {\n  vectorize d 64\n}\n", "x86-avx512",
                           "dividing head_dim / 2 = 32, got 64", true);
    expectLoweringRejected(kernel + "schedule a for x86-avx512 {\n  unroll t 2\n}\n", "x86-avx512",
                           "does not apply to rotation_attention (one loop order per mode)", true);
    auto m = load(kernel + "schedule a for x86-avx512 bucket=prefill {\n  parallel h\n  split t 48\n}\n");
    EXPECT_NO_THROW(lowerKernel(m, m.kernels[0], *targets::find("x86-avx512")));
}

// sparse_rank_linear's schedule: W's column blocks (split n), the register
// tile (unroll n), U's and V's tile (split r); the rest is rejected at its
// file:line:col.
TEST(SparseRankSchedule, RejectsWhatItCannotHonour) {
    const std::string kernel = "kernel s : sparse_rank_linear {\n  weight int2 shape=[N, K] scale=f16 group=64\n"
                               "  rank 16\n  sparsity threshold\n  input f32\n  output f32\n}\n";
    const auto rejected = [&](const std::string &body, const std::string &fragment) {
        expectLoweringRejected(kernel + "schedule s for x86-avx2 {\n" + body + "}\n", "x86-avx2", fragment, true);
    };
    rejected("  split n 48\n", "must be a multiple of 32 (4 codes per byte x 8 lanes)");
    rejected("  split n 128\n  unroll n 96\n", "divide split n 128");
    rejected("  unroll n 16\n", "must be a multiple of 32");
    rejected("  split r 12\n", "multiple of the 8 lanes");
    rejected("  split k 64\n", "splits n (W's output rows per tile), r (U's and V's) or m");
    rejected("  vectorize n 2\n", "power of two in 4..64");
    rejected("  reorder n k\n", "orders its loops 'reorder k m' (the default: each column of the union");
    rejected("  prefetch weight 65\n", "prefetches at most 64 listed columns ahead");
    rejected("  prefetch weight 8 hint=t0\n", "a distance in listed columns only");
    expectLoweringRejected(kernel + "schedule s for x86-avx2 bucket=small {\n  split m 2\n  reorder m k\n}\n",
                           "x86-avx2", "split m 2 shares each decoded column among rows of x, but 'reorder m k' (line 10)", true);
    expectLoweringRejected("kernel s : sparse_rank_linear {\n  weight none shape=[N, K]\n  rank 16\n  input f32\n"
                           "  output f32\n}\nschedule s for x86-avx2 bucket=small {\n  reorder m k\n}\n",
                           "x86-avx2", "'weight none' has no mask", true);
    rejected("  pack weight interleave=16\n", "'pack weight' does not apply");
    rejected("  threads 2\n", "chosen at run time");
    rejected("  split m 4\n", "at most the bucket's smallest M (any: 1)");
    expectLoweringRejected(kernel + "schedule s for x86-avx2 bucket=prefill {\n  split n 128\n  unroll n 128\n  split m 4\n}\n",
                           "x86-avx2", "at most 32 vectors with the 4 rows of split m", true);
    auto m = load(kernel + "schedule s for x86-avx2 {\n  split n 128\n  unroll n 64\n  split r 16\n  prefetch weight 32\n}\n");
    EXPECT_NO_THROW(lowerKernel(m, m.kernels[0], *targets::find("x86-avx2")));
}

// Which planes each `pack weight layout=` gives a b-bit code (the runtime
// packs whatever planes the variant's layout lists).
std::string planesOf(const std::string &weight, const std::string &layout, const std::string &extra = "") {
    auto m = load("kernel k : lowbit_linear {\n  weight " + weight + " shape=[N, K] scale=f32 group=channel" + extra +
                  "\n  input int8\n  output f32\n}\n" +
                  (layout.empty() ? "" : "schedule k for x86-avx512vnni {\n  pack weight layout=" + layout + "\n}\n"));
    const LoweredVariant v = lowerKernel(m, m.kernels[0], *targets::find("x86-avx512vnni")).at(0);
    const auto &L = linearLayout(v);
    std::string text;
    for (int p = 0; p < L.numPlanes; ++p)
        text += std::string(p ? " " : "") + std::to_string(L.planes[p].width) + "@" + std::to_string(L.planes[p].shift);
    return text;
}

TEST(LinearSchedule, PackedLayouts) {
    EXPECT_EQ(planesOf("int3", ""), "2@0 1@2");
    EXPECT_EQ(planesOf("int3", "planes"), "2@0 1@2");
    EXPECT_EQ(planesOf("uint7", "", " zero_point"), "4@0 2@4 1@6");
    EXPECT_EQ(planesOf("int4", "bitplanes"), "1@0 1@1 1@2 1@3");
    EXPECT_EQ(planesOf("uint8", "bitplanes", " zero_point"), "1@0 1@1 1@2 1@3 1@4 1@5 1@6 1@7");
    EXPECT_EQ(planesOf("int3", "nibbles"), "4@0");
    EXPECT_EQ(planesOf("ternary", "bytes"), "8@0");
    EXPECT_EQ(planesOf("ternary", "", " packing=base3"), "0@0");
    // Non-default layouts get their own symbols (emit compiles one object per symbol).
    auto m = load(std::string(kKernel) + "schedule k for x86-avx512 {\n  pack weight layout=bytes\n}\n");
    const LoweredVariant bytes = lowerKernel(m, m.kernels[0], *targets::find("x86-avx512")).at(0);
    const LoweredVariant planes = lowerKernel(load(kKernel), load(kKernel).kernels[0], *targets::find("x86-avx512")).at(0);
    EXPECT_NE(bytes.symbol, planes.symbol);
    EXPECT_TRUE(isValidKernelSymbol(bytes.symbol)) << bytes.symbol;

    auto rejected = [](const std::string &weight, const std::string &extra, const std::string &layout,
                       const std::string &fragment) {
        expectLoweringRejected("kernel k : lowbit_linear {\n  weight " + weight +
                                   " shape=[N, K] scale=f32 group=channel" + extra +
                                   "\n  input f32\n  output f32\n}\n"
                                   "schedule k for x86-avx512 {\n  pack weight layout=" + layout + "\n}\n",
                               "x86-avx512", fragment, /*located=*/true);
    };
    rejected("uint5", " zero_point", "nibbles", "at most 4 bits; uint5 has 5");
    rejected("ternary", " packing=base3", "bytes", "has its own layout");
}

TEST(Lowering, SymbolsFollowTheGrammarAndTargetsWithoutLoweringFail) {
    auto m = load(kKernel);
    for (const char *t : {"x86-avx2", "x86-avx512", "x86-avx512vnni"}) {
        std::vector<LoweredVariant> vs = lowerKernel(m, m.kernels[0], *targets::find(t));
        ASSERT_EQ(vs.size(), 1u);
        EXPECT_TRUE(isValidKernelSymbol(vs[0].symbol)) << vs[0].symbol;
        EXPECT_EQ(linearLayout(vs[0]).group, 128);
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
    for (const char *t : {"x86-avx2", "x86-avx512"}) {
        std::vector<LoweredVariant> vs = lowerKernel(sparse, sparse.kernels[0], *targets::find(t));
        ASSERT_EQ(vs.size(), 1u);
        EXPECT_TRUE(isValidKernelSymbol(vs[0].symbol)) << vs[0].symbol;
        EXPECT_TRUE(isValidKernelSymbol(vs[0].symbol + vs[0].extras.at(0).first)) << vs[0].extras.at(0).first;
    }
    try {
        lowerKernel(sparse, sparse.kernels[0], *targets::find("cuda-sm80"));
        ADD_FAILURE() << "sparse_rank_linear lowered for cuda-sm80";
    } catch (const CodegenError &e) {
        EXPECT_NE(std::string(e.what()).find("no lowering of sparse_rank_linear for cuda-sm80"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace kf::codegen

namespace kf::codegen {
namespace {

const char *kInt8Kernel = R"(
kernel q : lowbit_linear {
  weight int4 shape=[N, K] scale=f16 group=128
  input int8
  output f32
}
)";

TEST(Buckets, EachScheduledBucketIsAVariantSharingTheLayout) {
    auto m = load(std::string(kInt8Kernel) + R"(
schedule q for x86-avx512vnni bucket=prefill {
  split m 4
}
schedule q for x86-avx512vnni bucket=decode {
  prefetch weight 128
}
)");
    auto vs = lowerKernel(m, m.kernels[0], *targets::find("x86-avx512vnni"));
    ASSERT_EQ(vs.size(), 3u);
    EXPECT_EQ(vs[0].bucket, dsl::Bucket::Any);
    EXPECT_EQ(vs[1].bucket, dsl::Bucket::Decode);
    EXPECT_EQ(vs[2].bucket, dsl::Bucket::Prefill);
    EXPECT_NE(vs[2].symbol.find("_4x64x128__"), std::string::npos) << vs[2].symbol;  // M tile in the name
    EXPECT_EQ(linearLayout(vs[1]).interleave, linearLayout(vs[0]).interleave);
    // Same tile, other prefetch: the symbols differ (emit compiles one object
    // per symbol, so equal names would run the bucket-any code for decode).
    EXPECT_NE(vs[1].symbol, vs[0].symbol);
    EXPECT_TRUE(isValidKernelSymbol(vs[1].symbol)) << vs[1].symbol;
    EXPECT_EQ(vs[0].symbol.find("__s"), std::string::npos) << "defaults carry no schedule tag: " << vs[0].symbol;
}

TEST(Buckets, RejectsLayoutMismatchAndTilesLargerThanTheBucket) {
    expectLoweringRejected(std::string(kInt8Kernel) + "schedule q for x86-avx512vnni bucket=prefill {\n"
                                                      "  pack weight interleave=32\n}\n",
                           "x86-avx512vnni", "the buckets of a target share one packed layout");
    expectLoweringRejected(std::string(kInt8Kernel) + "schedule q for x86-avx512vnni bucket=prefill {\n"
                                                      "  pack weight layout=bytes\n}\n",
                           "x86-avx512vnni",
                           "splits the codes into planes (8 bits) unlike the target's bucket-any schedule (4 bits)");
    expectLoweringRejected(std::string(kInt8Kernel) + "schedule q for x86-avx512vnni bucket=decode {\n  split m 4\n}\n",
                           "x86-avx512vnni", "bucket=decode starts at M=1");
    expectLoweringRejected(std::string(kKernel) + "schedule k for x86-avx512 bucket=prefill {\n  split m 4\n}\n",
                           "x86-avx512", "int8 activations only");
}

}  // namespace
}  // namespace kf::codegen

// `backend <name>` and `prefetch weight <k> hint=`.
namespace kf::codegen {
namespace {

const char *kF32Int4 = R"(
kernel k : lowbit_linear {
  weight int4 shape=[N=256, K=256] scale=f16 group=128
  input f32
  output f32
}
)";

void expectCheckRejected(const std::string &text, const char *target, const std::string &message) {
    auto m = load(text);
    try {
        checkSchedule(m.kernels[0], m.schedules.at(0), *targets::find(target));
        ADD_FAILURE() << "accepted: " << text;
    } catch (const CodegenError &e) {
        EXPECT_EQ(std::string(e.what()), message);
    }
}

TEST(BackendDirective, PrefetchHintResolves) {
    auto m = load(std::string(kF32Int4) + "schedule k for x86-avx512 {\n  prefetch weight 128 hint=nta\n}\n");
    const auto s = lowbit::resolveSchedule(paramsOf(m), &m.schedules[0], *targets::find("x86-avx512"));
    EXPECT_EQ(s.prefetch, 128);
    EXPECT_EQ(s.prefetchHint, lowbit::PrefetchHint::Nta);
    auto t0 = load(std::string(kF32Int4) + "schedule k for x86-avx512 {\n  prefetch weight 64 hint=t0\n}\n");
    EXPECT_EQ(lowbit::resolveSchedule(paramsOf(t0), &t0.schedules[0], *targets::find("x86-avx512")).prefetchHint,
              lowbit::PrefetchHint::T0);
    EXPECT_EQ(static_cast<int>(lowbit::PrefetchHint::T1), 2);  // LLVM's locality argument
    // hint=nta is Halide's prefetch: it lowers, with the symbol of the schedule without the hint.
    auto plain = load(std::string(kF32Int4) + "schedule k for x86-avx512 {\n  prefetch weight 128\n}\n");
    EXPECT_EQ(lowerKernel(m, m.kernels[0], *targets::find("x86-avx512")).at(0).symbol,
              lowerKernel(plain, plain.kernels[0], *targets::find("x86-avx512")).at(0).symbol);
}

TEST(BackendDirective, HalideRejectsLocalityHints) {
    expectCheckRejected(std::string(kF32Int4) + "schedule k for x86-avx512 {\n  prefetch weight 64 hint=t1\n}\n",
                        "x86-avx512", "t.kf:8:3: Halide 14 emits prefetchnta only; hint=t1 needs 'backend mlir'");
    expectLoweringRejected(std::string(kF32Int4) + "schedule k for x86-avx2 {\n  prefetch weight 64 hint=t2\n}\n",
                           "x86-avx2", "hint=t2 needs 'backend mlir'", true);
}

TEST(BackendDirective, TargetMustListTheBackend) {
    expectCheckRejected(std::string(kF32Int4) + "schedule k for x86-avx512 {\n  backend mlir\n}\n", "x86-avx512",
                        "t.kf:8:3: x86-avx512 compiles through halide; 'backend mlir' is not one of them");
    expectLoweringRejected(std::string(kF32Int4) + "schedule k for x86-avx2 {\n  backend cuda\n}\n", "x86-avx2",
                           "x86-avx2 compiles through halide; 'backend cuda' is not one of them", true);
    auto m = load(std::string(kF32Int4) + "schedule k for x86-avx512 {\n  backend halide\n}\n");
    const auto vs = lowerKernel(m, m.kernels[0], *targets::find("x86-avx512"));
    ASSERT_EQ(vs.size(), 1u);
    EXPECT_STREQ(vs[0].backend->name, "halide");
    // The target's own backend named: the same symbol as without the directive.
    auto plain = load(kF32Int4);
    EXPECT_EQ(vs[0].symbol, lowerKernel(plain, plain.kernels[0], *targets::find("x86-avx512")).at(0).symbol);
}

#if KFORGE_HAVE_MLIR
TEST(BackendDirective, ChoosesTheLoweringPerBucketOnSve) {
    const targets::TargetInfo &sve = *targets::find("arm64-sve");
    auto dflt = load(kF32Int4);
    EXPECT_STREQ(loweringFor(dflt.kernels[0], sve).backend, "mlir");
    EXPECT_EQ(coveringLowerings(dflt.kernels[0], sve).size(), 2u);

    auto m = load(std::string(kF32Int4) + "schedule k for arm64-sve bucket=decode {\n  backend halide\n}\n"
                                          "schedule k for arm64-sve bucket=prefill {\n  backend mlir\n}\n");
    EXPECT_STREQ(loweringFor(m.kernels[0], sve, &m.schedules[0]).backend, "halide");
    const auto vs = lowerKernel(m, m.kernels[0], sve);
    ASSERT_EQ(vs.size(), 3u);
    EXPECT_STREQ(vs[0].backend->name, "mlir");  // bucket any: the target's first covering backend
    EXPECT_STREQ(vs[1].backend->name, "halide");
    EXPECT_STREQ(vs[2].backend->name, "mlir");
    EXPECT_TRUE(sameLayout(m.kernels[0], vs[0], vs[1]));
    EXPECT_NE(vs[0].symbol, vs[1].symbol);  // the same numbers through two code generators
    EXPECT_EQ(vs[0].symbol, vs[2].symbol);

    // Each backend's own check: Halide unrolls k on arm64-sve, the SVE kernel does not.
    auto unroll = load(std::string(kF32Int4) + "schedule k for arm64-sve {\n  backend halide\n  unroll k 64\n}\n");
    EXPECT_NO_THROW(checkSchedule(unroll.kernels[0], unroll.schedules[0], sve));
    expectCheckRejected(std::string(kF32Int4) + "schedule k for arm64-sve {\n  backend mlir\n  unroll k 64\n}\n",
                        "arm64-sve", "t.kf:9:3: 'unroll k' is not lowered on arm64-sve (MLIR, scalable SVE) yet");

    // A backend whose lowering does not cover the kernel (codebooks are Halide's).
    const std::string cb = "kernel k : lowbit_linear {\n  weight codebook4 shape=[N=256, K=256] scale=f16 group=128\n"
                           "  input f32\n  output f32\n}\n";
    expectCheckRejected(cb + "schedule k for arm64-sve {\n  backend mlir\n}\n", "arm64-sve",
                        "t.kf:7:3: 'backend mlir' has no lowering of this lowbit_linear kernel for arm64-sve");
}
#endif

}  // namespace
}  // namespace kf::codegen
