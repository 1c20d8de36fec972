// Schedules: headers (kernel, target, bucket, duplicates), directives, tune.
#include "TestUtil.h"

#include <gtest/gtest.h>

namespace kf::dsl {
namespace {

using test::load;
using test::messages;

const std::string kLinear = test::lowbitKernel("  weight int4 shape=[N=4096, K=4096] group=128", "lin");
const std::string kHadamard = "kernel h : hadamard {\n  size N=4096\n  input f32\n  output f32\n}\n";
const std::string kAttn =
    "kernel att : rotation_attention {\n  heads q=32 kv=8 dim=128\n  kv_cache int4\n  input f32\n}\n";
const std::string kSparse = "kernel sp : sparse_rank_linear {\n  weight f32 shape=[N=64, K=64]\n  rank 8\n"
                            "  sparsity threshold\n  input f32\n  output f32\n}\n";

LoadResult schedule(const std::string &kernel, const std::string &header, const std::string &body) {
    return load(kernel + header + " {\n" + body + "}\n");
}

TEST(Schedule, DesignExample) {
    auto r = schedule(kLinear, "schedule lin for x86-avx512",
                      "  pack weight   interleave=16 layout=nibbles\n"
                      "  split n 64 ; split k 256\n"
                      "  vectorize n 16\n  unroll k 4\n  parallel n\n  reorder k n m\n  threads 8\n"
                      "  tune {\n"
                      "    split n in [16, 32, 64, 128]\n    unroll k in [1, 2, 4]\n"
                      "    vectorize n in [8, 16]\n    pack weight interleave in [8, 16, 32]\n    threads in [1, 4]\n"
                      "  }\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    ASSERT_EQ(r.module->schedules.size(), 1u);
    const auto &s = r.module->schedules[0];
    EXPECT_EQ(s.kernel, "lin");
    EXPECT_EQ(s.target, "x86-avx512");
    EXPECT_EQ(s.bucket, Bucket::Any);
    ASSERT_EQ(s.directives.size(), 8u);
    EXPECT_EQ(s.directives[0].kind, Directive::Kind::Pack);
    EXPECT_EQ(s.directives[0].vars, std::vector<std::string>{"weight"});
    using Opt = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(s.directives[0].options, (Opt{{"interleave", "16"}, {"layout", "nibbles"}}));
    EXPECT_EQ(s.directives[1].kind, Directive::Kind::Split);
    EXPECT_EQ(s.directives[1].vars, std::vector<std::string>{"n"});
    EXPECT_EQ(s.directives[1].factor, 64);
    EXPECT_EQ(s.directives[2].factor, 256);
    EXPECT_EQ(s.directives[2].loc.line, 8);
    EXPECT_EQ(s.directives[2].loc.col, 16);
    EXPECT_EQ(s.directives[6].kind, Directive::Kind::Reorder);
    EXPECT_EQ(s.directives[6].vars, (std::vector<std::string>{"k", "n", "m"}));
    EXPECT_EQ(s.directives[7].kind, Directive::Kind::Threads);
    EXPECT_EQ(s.directives[7].factor, 8);
    ASSERT_TRUE(s.tune);
    ASSERT_EQ(s.tune->axes.size(), 5u);
    EXPECT_EQ(s.tune->axes[0].directive.kind, Directive::Kind::Split);
    EXPECT_EQ(s.tune->axes[0].values, (std::vector<int64_t>{16, 32, 64, 128}));
    EXPECT_EQ(s.tune->axes[3].directive.kind, Directive::Kind::Pack);
    EXPECT_EQ(s.tune->axes[3].option, "interleave");
    EXPECT_EQ(s.tune->axes[3].values, (std::vector<int64_t>{8, 16, 32}));
    EXPECT_TRUE(s.tune->axes[4].directive.vars.empty());
}

TEST(Schedule, BucketsAndOrderIndependence) {
    auto r = load("schedule lin for x86-avx2 bucket=decode {\n}\nschedule lin for x86-avx2 bucket=prefill {\n}\n"
                  "schedule lin for x86-avx2 bucket=small {\n}\nschedule lin for x86-avx2 {\n}\n" + kLinear);
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    ASSERT_EQ(r.module->schedules.size(), 4u);
    EXPECT_EQ(r.module->schedules[0].bucket, Bucket::Decode);
    EXPECT_EQ(r.module->schedules[1].bucket, Bucket::Prefill);
    EXPECT_EQ(r.module->schedules[2].bucket, Bucket::SmallBatch);
    EXPECT_EQ(r.module->schedules[3].bucket, Bucket::Any);
}

TEST(Schedule, HeaderErrors) {
    auto r = load(kLinear + "schedule lni for x86-avx9 bucket=huge {\n}\n"
                            "schedule lin for x86-avx2 {\n}\nschedule lin for x86-avx2 bucket=any {\n}\n"
                            "kernel lin : hadamard {\n size N=64\n input f32\n output f32\n}\n"
                            "kernel z : conv2d {\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "schedule for undeclared kernel 'lni'; did you mean 'lin'?",
                               "unknown target 'x86-avx9'; known targets: x86-avx2, x86-avx512, arm64-neon-dotprod",
                               "unknown bucket 'huge'; expected one of any, decode (1 <= M <= 8), small (9 <= M <= 31), prefill (M >= 32)",
                               "duplicate schedule for kernel 'lin' on target 'x86-avx2' bucket=any (first at line 8)",
                               "duplicate kernel 'lin' (first defined at line 1)",
                               "unknown kernel family 'conv2d'; expected one of lowbit_linear, hadamard, rotation_attention, sparse_rank_linear"}));
    EXPECT_EQ(r.diagnostics[1].loc.col, 18);
}

TEST(Schedule, AnyTargetWhenRegistryEmpty) {
    auto r = load(kLinear + "schedule lin for riscv-rvv {\n split n 8\n}\n", {});
    EXPECT_TRUE(r.ok()) << test::rendered(r);
}

TEST(Schedule, DirectiveErrors) {
    auto r = schedule(kLinear, "schedule lin for x86-avx2",
                      "  tile n 4\n  split q 0\n  vectorize n 12\n  unroll k x\n  split n\n  parallel\n"
                      "  reorder n n\n  threads 0\n  pack bias interleave=3\n  pack weight swizzle=2\n"
                      "  split k 8\n  split k 16\n  parallel n m\n  split n 8 foo=1\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
        "unknown schedule primitive 'tile'; expected one of split, vectorize, unroll, parallel, reorder, threads, pack, prefetch, backend",
        "unknown loop variable 'q' for lowbit_linear; expected one of m, n, k",
        "split factor must be an integer between 1 and 2147483647, got 0",
        "vectorize factor must be a power of two between 1 and 64, got 12",
        "unroll factor must be an integer, got 'x'; usage: unroll <var> <factor>",
        "missing argument to 'split'; usage: split <var> <factor>",
        "missing argument to 'parallel'; usage: parallel <var>",
        "loop variable 'n' appears twice in 'reorder'",
        "thread count must be an integer between 1 and 4096, got 0",
        "'pack' applies to 'weight', got 'bias'",
        "pack interleave must be a power of two between 4 and 64, got 3",
        "unknown attribute 'swizzle' for 'pack'; expected one of interleave, layout",
        "duplicate 'split k' in schedule (first at line 17)",
        "unexpected argument 'm' to 'parallel'; usage: parallel <var>",
        "unknown attribute 'foo' for 'split'; it takes none"}));
}

TEST(Schedule, FamilyVariablesAndPackLegality) {
    auto r = schedule(kHadamard, "schedule h for x86-avx2", "  split n 64\n  split k 4\n  pack weight interleave=8\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
                               "unknown loop variable 'k' for hadamard; expected one of m, n",
                               "'pack' is not legal for hadamard kernels: they have no packed weights"}));
    r = schedule(kAttn, "schedule att for x86-avx2", "  split t 64\n  vectorize d 16\n  parallel h\n  split n 4\n");
    EXPECT_EQ(messages(r), std::vector<std::string>{
                               "unknown loop variable 'n' for rotation_attention; expected one of h, t, d"});
    r = schedule(kSparse, "schedule sp for x86-avx2", "  split r 16\n  pack weight interleave=8\n  reorder m n k r\n");
    EXPECT_TRUE(r.ok()) << test::rendered(r);
}

TEST(Schedule, TuneLayoutNames) {
    auto r = schedule(kLinear, "schedule lin for x86-avx2", "  tune {\n    pack weight layout in [planes, bytes]\n  }\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &axis = r.module->schedules[0].tune->axes.at(0);
    EXPECT_EQ(axis.option, "layout");
    EXPECT_EQ(axis.words, (std::vector<std::string>{"planes", "bytes"}));
    EXPECT_EQ(axis.values, (std::vector<int64_t>{0, 1}));
    r = schedule(kLinear, "schedule lin for x86-avx2", "  tune {\n    pack weight layout in [bytes, bytes]\n  }\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{"duplicate value bytes in tune list for 'pack weight layout'"}));
}

TEST(Schedule, TuneErrors) {
    auto r = schedule(kLinear, "schedule lin for x86-avx2",
                      "  tune {\n    split n in []\n    parallel n in [1]\n    vectorize n in [8, 3]\n"
                      "    unroll k in [2, 2]\n    pack weight layout in [1]\n    split k in [a, 4]\n"
                      "    split n in [8]\n    split n in [16]\n  }\n  tune {\n  }\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{
        "empty tune list for 'split n'; give at least one value",
        "'parallel' has no value to tune; tunable primitives are split, vectorize, unroll, threads, prefetch weight (and its hint), pack weight interleave / layout and backend",
        "vectorize factor must be a power of two between 1 and 64, got 3",
        "duplicate value 2 in tune list for 'unroll k'",
        "tune values of 'pack weight layout' must be layout names, got 1",
        "tune values of 'split k' must be integers, got a",
        "duplicate tune axis 'split n' (first at line 14)",
        "duplicate 'tune' block (first at line 7); put all tunable axes in one block"}));
}

TEST(Schedule, ScheduleOfBrokenKernelIsStillChecked) {
    auto r = load(test::lowbitKernel("  weight int5 shape=[N=8, K=8]", "lin") +
                  "schedule lin for x86-avx2 {\n  split z 4\n}\n");
    EXPECT_EQ(r.diagnostics.size(), 2u);
    EXPECT_EQ(r.diagnostics[1].message, "unknown loop variable 'z' for lowbit_linear; expected one of m, n, k");
}

}  // namespace
}  // namespace kf::dsl

namespace kf::dsl {
namespace {

TEST(SchedulePrefetch, ParsesFixedAndTuned) {
    auto r = test::load(test::lowbitKernel("  weight int4 shape=[N=64, K=256] group=128") +
                        "schedule lin for x86-avx512 {\n  prefetch weight 128\n"
                        "  tune {\n    prefetch weight in [0, 64, 256]\n  }\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &s = r.module->schedules[0];
    ASSERT_EQ(s.directives.size(), 1u);
    EXPECT_EQ(s.directives[0].kind, Directive::Kind::Prefetch);
    EXPECT_EQ(s.directives[0].vars, std::vector<std::string>{"weight"});
    EXPECT_EQ(s.directives[0].factor, 128);
    ASSERT_TRUE(s.tune);
    EXPECT_EQ(s.tune->axes[0].directive.kind, Directive::Kind::Prefetch);
    EXPECT_EQ(s.tune->axes[0].values, (std::vector<int64_t>{0, 64, 256}));
}

TEST(SchedulePrefetch, RejectsBadDistanceOperandAndFamily) {
    const std::string lin = test::lowbitKernel("  weight int4 shape=[N=64, K=256] group=128");
    auto bad = test::load(lin + "schedule lin for x86-avx512 {\n  prefetch weight 5000\n}\n");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(test::rendered(bad).find("t.kf:7:19: error: prefetch distance must be an integer between 0 and 4096"),
              std::string::npos)
        << test::rendered(bad);
    auto operand = test::load(lin + "schedule lin for x86-avx512 {\n  prefetch bias 64\n}\n");
    EXPECT_NE(test::rendered(operand).find("'prefetch' applies to 'weight', got 'bias'"), std::string::npos)
        << test::rendered(operand);
    auto family = test::load("kernel h : hadamard {\n  size N=4096\n  input f32\n  output f32\n}\n"
                             "schedule h for x86-avx512 {\n  prefetch weight 64\n}\n");
    EXPECT_NE(test::rendered(family).find("'prefetch' is not legal for hadamard kernels"), std::string::npos)
        << test::rendered(family);
}

}  // namespace
}  // namespace kf::dsl

// `backend <name>` and `prefetch weight <k> hint=`: parsed, checked with
// file:line:col, tunable as word axes.
namespace kf::dsl {
namespace {

LoadResult loadWithBackends(const std::string &text) {
    CheckOptions options;
    options.knownTargets = {"x86-avx512", "arm64-sve"};
    options.knownBackends = {"halide", "mlir"};
    return loadString(text, "t.kf", options);
}

TEST(ScheduleBackend, ParsesDirectiveHintAndTuneAxes) {
    auto r = loadWithBackends(test::lowbitKernel("  weight int4 shape=[N=64, K=256] group=128") +
                              "schedule lin for arm64-sve {\n  backend halide\n  prefetch weight 64 hint=t1\n"
                              "  tune {\n    backend in [halide, mlir]\n    prefetch weight hint in [t0, t1, nta]\n"
                              "    prefetch weight in [0, 64]\n  }\n}\n");
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    const auto &s = r.module->schedules[0];
    ASSERT_EQ(s.directives.size(), 2u);
    EXPECT_EQ(s.directives[0].kind, Directive::Kind::Backend);
    EXPECT_EQ(s.directives[0].vars, std::vector<std::string>{"halide"});
    EXPECT_EQ(s.directives[1].factor, 64);
    EXPECT_EQ(s.directives[1].options, (std::vector<std::pair<std::string, std::string>>{{"hint", "t1"}}));
    ASSERT_TRUE(s.tune);
    ASSERT_EQ(s.tune->axes.size(), 3u);
    EXPECT_EQ(s.tune->axes[0].directive.kind, Directive::Kind::Backend);
    EXPECT_EQ(s.tune->axes[0].words, (std::vector<std::string>{"halide", "mlir"}));
    EXPECT_EQ(s.tune->axes[0].values, (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(s.tune->axes[1].option, "hint");
    EXPECT_EQ(s.tune->axes[1].words, (std::vector<std::string>{"t0", "t1", "nta"}));
    EXPECT_TRUE(s.tune->axes[2].option.empty());
}

TEST(ScheduleBackend, ErrorsWithLocations) {
    const std::string lin = test::lowbitKernel("  weight int4 shape=[N=64, K=256] group=128");
    auto unknown = loadWithBackends(lin + "schedule lin for arm64-sve {\n  backend mlr\n}\n");
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(test::rendered(unknown).find(
                  "t.kf:7:11: error: unknown backend 'mlr'; known backends: halide, mlir (did you mean 'mlir'?)"),
              std::string::npos)
        << test::rendered(unknown);
    auto dup = loadWithBackends(lin + "schedule lin for arm64-sve {\n  backend mlir\n  backend halide\n}\n");
    EXPECT_NE(test::rendered(dup).find("t.kf:8:3: error: duplicate 'backend' in schedule (first at line 7)"),
              std::string::npos)
        << test::rendered(dup);
    auto number = loadWithBackends(lin + "schedule lin for arm64-sve {\n  backend 3\n}\n");
    EXPECT_NE(test::rendered(number).find("t.kf:7:11: error: backend must be a name"), std::string::npos)
        << test::rendered(number);
    auto none = loadWithBackends(lin + "schedule lin for arm64-sve {\n  backend\n}\n");
    EXPECT_FALSE(none.ok());
    auto hint = loadWithBackends(lin + "schedule lin for arm64-sve {\n  prefetch weight 64 hint=t3\n}\n");
    EXPECT_NE(test::rendered(hint).find("t.kf:7:27: error: unknown prefetch hint 't3'; expected one of t0, t1, t2, nta"),
              std::string::npos)
        << test::rendered(hint);
    auto tuned = loadWithBackends(lin + "schedule lin for arm64-sve {\n  tune {\n    backend in [halide, cuda]\n"
                                        "    prefetch weight hint in [t1, t1]\n  }\n}\n");
    EXPECT_NE(test::rendered(tuned).find("t.kf:8:25: error: unknown backend 'cuda'"), std::string::npos)
        << test::rendered(tuned);
    EXPECT_NE(test::rendered(tuned).find("duplicate value t1 in tune list for 'prefetch weight hint'"),
              std::string::npos)
        << test::rendered(tuned);
    // Without a list of backends (a tuning record checked against its file) any word passes.
    auto any = test::load(lin + "schedule lin for x86-avx512 {\n  backend mlir\n}\n");
    EXPECT_TRUE(any.ok()) << test::rendered(any);
}

}  // namespace
}  // namespace kf::dsl
