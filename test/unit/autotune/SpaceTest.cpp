// The search space of a task: axes from the tune block or the family's default
// space, pruning by the lowering's own check, pinned axes, the fall-back to the
// bucket-any schedule, and the canonical text of every point parsing back to
// the same schedule.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <string>

#include "autotune/Space.h"
#include "TestShapes.h"
#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "dsl/Load.h"
#include "targets/Target.h"

namespace kf::autotune {
namespace {

dsl::Module load(const std::string &text) {
    auto r = dsl::loadString(text, "t.kf", {});
    for (const auto &d : r.diagnostics) ADD_FAILURE() << d.render();
    if (!r.module) throw std::runtime_error("kernel text did not load");
    return *r.module;
}

// int4 weights, f16 scales per 128, f32 activations (down_proj of Llama-2-7B).
const char *kInt4F32 = R"(
kernel k : lowbit_linear {
  weight int4 shape=[N=4096, K=11008] scale=f16 group=128
  input f32
  output f32
}
)";
// Ternary, one scale per output row, dynamic int8 activations.
const char *kTernaryInt8 = R"(
kernel k : lowbit_linear {
  weight ternary shape=[N=4096, K=4096] scale=f32
  input int8
  output f32
}
)";
const char *kInt4Int8 = R"(
kernel k : lowbit_linear {
  weight int4 shape=[N=11008, K=4096] scale=f16 group=128
  input int8
  output f32
}
)";

Task taskFor(const dsl::Module &m, const char *target, dsl::Bucket bucket = dsl::Bucket::Decode) {
    Task t;
    t.module = &m;
    t.kernel = &m.kernels.at(0);
    t.target = targets::find(target);
    EXPECT_NE(t.target, nullptr) << target;
    t.bucket = bucket;
    const auto &p = std::get<dsl::LowbitLinearParams>(t.kernel->params);
    t.shape = testing::mnk(dsl::bucketDef(bucket).defaultRows, p.n.size.value_or(4096), p.k.size.value_or(4096));
    return t;
}

std::string valuesOf(const Space &s, std::size_t i) {
    std::string out;
    for (std::size_t a = 0; a < s.axisNames().size(); ++a)
        out += s.axisNames()[a] + "=" + s.valueText(a, i) + " ";
    return out;
}

// Every point: legal for the lowering, and its text loads back (kernel text +
// schedule text) into the very same directives.
void expectRoundTrip(const Space &space, const std::string &kernelText) {
    std::set<std::string> texts;
    for (std::size_t i = 0; i < space.size(); ++i) {
        SCOPED_TRACE(valuesOf(space, i));
        const dsl::Schedule s = space.schedule(i);
        const std::string text = space.scheduleText(i);
        EXPECT_TRUE(texts.insert(text).second) << "two points print the same:\n" << text;
        auto r = dsl::loadString(kernelText + text, "roundtrip.kf", {});
        ASSERT_TRUE(r.ok()) << text << (r.diagnostics.empty() ? "" : r.diagnostics[0].render());
        ASSERT_EQ(r.module->schedules.size(), 1u);
        const dsl::Schedule &back = r.module->schedules[0];
        EXPECT_EQ(back.kernel, s.kernel);
        EXPECT_EQ(back.target, s.target);
        EXPECT_EQ(back.bucket, s.bucket);
        EXPECT_FALSE(back.tune.has_value());
        ASSERT_EQ(back.directives.size(), s.directives.size()) << text;
        for (std::size_t d = 0; d < s.directives.size(); ++d) {
            EXPECT_EQ(back.directives[d].kind, s.directives[d].kind) << text;
            EXPECT_EQ(back.directives[d].vars, s.directives[d].vars) << text;
            EXPECT_EQ(back.directives[d].factor, s.directives[d].factor) << text;
            EXPECT_EQ(back.directives[d].options, s.directives[d].options) << text;
        }
        EXPECT_NO_THROW(codegen::checkSchedule(*r.module->findKernel(s.kernel), back, *targets::find(s.target)));
    }
}

TEST(Space, TuneBlockPrunesWhatTheLoweringRejects) {
    const std::string text = std::string(kInt4F32) + R"(
schedule k for x86-avx512 {
  vectorize n 16
  parallel n
  tune {
    pack weight interleave in [16, 32, 64]
    split n in [32, 64, 128]
    unroll k in [1, 64, 96]
  }
}
)";
    const dsl::Module m = load(text);
    const Space space = Space::forTask(taskFor(m, "x86-avx512"));
    EXPECT_TRUE(space.fromTuneBlock());
    EXPECT_EQ(space.axisNames(), (std::vector<std::string>{"pack weight interleave", "split n", "unroll k"}));
    // 27 points: split n 32 is not a multiple of interleave 64 (3 points), and
    // unroll k 96 does not divide the 128-k group (9 points): 27 - 3 - 9 + 1.
    EXPECT_EQ(space.size(), 16u);
    EXPECT_EQ(space.indexOf({2, 0, 0}), space.size());  // interleave 64, split n 32
    EXPECT_EQ(space.indexOf({0, 0, 2}), space.size());  // unroll k 96
    EXPECT_NE(space.indexOf({1, 0, 1}), space.size());  // interleave 32, split n 32, unroll 64
    for (std::size_t i = 0; i < space.size(); ++i) {
        EXPECT_EQ(space.indexOf(space.point(i)), i);
        const auto &p = space.point(i);
        EXPECT_EQ(space.axisValues()[1][p[1]] % space.axisValues()[0][p[0]], 0) << valuesOf(space, i);
        EXPECT_NE(space.axisValues()[2][p[2]], 96) << valuesOf(space, i);
    }
    // Index order: the first axis varies slowest.
    EXPECT_EQ(space.point(0), (std::vector<int>{0, 0, 0}));
    EXPECT_EQ(space.point(1), (std::vector<int>{0, 0, 1}));
    EXPECT_EQ(space.scheduleText(1), "schedule k for x86-avx512 bucket=decode {\n"
                                     "  pack weight interleave=16\n"
                                     "  vectorize n 16\n"
                                     "  split n 32\n"
                                     "  unroll k 64\n"
                                     "  parallel n\n"
                                     "}\n");
    expectRoundTrip(space, kInt4F32);
}

TEST(Space, SplitMNeedsInt8AndRows) {
    const std::string text = std::string(kInt4Int8) + R"(
schedule k for x86-avx512vnni {
  tune {
    split m in [1, 2, 4]
  }
}
)";
    const dsl::Module m = load(text);
    // decode starts at M = 1: only split m 1 is legal; prefill (M >= 32) takes all three.
    EXPECT_EQ(Space::forTask(taskFor(m, "x86-avx512vnni", dsl::Bucket::Decode)).size(), 1u);
    EXPECT_EQ(Space::forTask(taskFor(m, "x86-avx512vnni", dsl::Bucket::Prefill)).size(), 3u);
}

TEST(Space, NothingLegalIsAnError) {
    const dsl::Module m = load(std::string(kInt4F32) + R"(
schedule k for x86-avx512 {
  tune {
    split n in [8, 24]
  }
}
)");
    try {
        Space::forTask(taskFor(m, "x86-avx512"));
        FAIL() << "expected CodegenError";
    } catch (const codegen::CodegenError &e) {
        EXPECT_NE(std::string(e.what()).find("no legal schedule"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("split n 8 must be a multiple"), std::string::npos) << e.what();
    }
    const dsl::Module fixedReorder = load(std::string(kInt4F32) + "schedule k for x86-avx2 { reorder n k }\n");
    EXPECT_THROW(Space::forTask(taskFor(fixedReorder, "x86-avx2")), codegen::CodegenError);
}

TEST(Space, NoLoweringIsAnError) {
    const dsl::Module m = load(std::string(kInt4F32) + R"(
kernel sr : sparse_rank_linear {
  weight f32 shape=[N=64, K=64]
  rank 8
  sparsity threshold
  input f32
  output f32
}
)");
    Task cuda = taskFor(m, "cuda-sm80");
    EXPECT_THROW(Space::forTask(cuda), codegen::CodegenError);
    Task sparse = taskFor(m, "cuda-sm80");
    sparse.kernel = m.findKernel("sr");
    try {
        Space::forTask(sparse);
        FAIL() << "expected CodegenError";
    } catch (const codegen::CodegenError &e) {
        EXPECT_NE(std::string(e.what()).find("no lowering of sparse_rank_linear for cuda-sm80"), std::string::npos)
            << e.what();
    }
    // On a CPU target the sparse-rank family has a default space (its tuner).
    Task cpu = taskFor(m, "x86-avx512");
    cpu.kernel = m.findKernel("sr");
    EXPECT_GT(Space::forTask(cpu).size(), 1u);
    // In the small bucket it also tries per-token masks (`reorder m k`),
    // only with one row per register tile (the rest is illegal).
    Task small = taskFor(m, "x86-avx512", dsl::Bucket::SmallBatch);
    small.kernel = m.findKernel("sr");
    const Space space = Space::forTask(small);
    int perToken = 0;
    for (std::size_t i = 0; i < space.size(); ++i) {
        const std::string text = space.scheduleText(i);
        if (text.find("reorder m k") == std::string::npos) continue;
        ++perToken;
        EXPECT_NE(text.find("split m 1\n"), std::string::npos) << text;
    }
    EXPECT_GT(perToken, 0);
}

// The hadamard family's default space comes from its lowering (radix, rows
// per task for short rows, H_m's partial-sum group), every point legal.
TEST(Space, HadamardDefaultSpace) {
    const dsl::Module m = load(R"(
kernel h : hadamard {
  size N=1536 factor=12
  input f32
  output f32
}
)");
    Task t;
    t.module = &m;
    t.kernel = &m.kernels.at(0);
    t.target = targets::find("x86-avx512");
    t.bucket = dsl::Bucket::Decode;
    t.shape = dsl::Shape{{{"M", 1}, {"N", 1536}}};
    const Space space = Space::forTask(t);
    EXPECT_EQ(space.axisNames(), (std::vector<std::string>{"split n", "split m", "unroll n"}));
    EXPECT_GT(space.size(), 10u);
    EXPECT_NE(space.scheduleText(0).find("schedule h for x86-avx512 bucket=decode {"), std::string::npos);
}

TEST(Space, PinnedAxes) {
    const std::string text = std::string(kInt4F32) + R"(
schedule k for x86-avx512 {
  tune {
    pack weight interleave in [16, 64]
    split n in [64, 128, 256]
  }
}
)";
    const dsl::Module m = load(text);
    const Task task = taskFor(m, "x86-avx512");
    EXPECT_EQ(Space::forTask(task).size(), 6u);

    const Space in = Space::forTask(task, {{"pack weight interleave", "64"}});
    EXPECT_EQ(in.axisValues()[0], (std::vector<int64_t>{64}));
    EXPECT_EQ(in.size(), 3u);
    for (std::size_t i = 0; i < in.size(); ++i)
        EXPECT_NE(in.scheduleText(i).find("interleave=64\n"), std::string::npos) << in.scheduleText(i);

    // A value the axis does not list becomes its only value.
    const Space added = Space::forTask(task, {{"pack weight interleave", "32"}, {"unroll k", "64"}});
    EXPECT_EQ(added.axisValues()[0], (std::vector<int64_t>{32}));
    EXPECT_EQ(added.size(), 3u);
    EXPECT_EQ(added.axisNames().size(), 2u);  // "unroll k" is not an axis: ignored

    EXPECT_THROW(Space::forTask(task, {{"pack weight interleave", "48"}}), std::invalid_argument);
    expectRoundTrip(added, kInt4F32);
}

TEST(Space, BucketFallsBackToTheAnySchedule) {
    const std::string text = std::string(kInt4F32) + R"(
schedule k for x86-avx2 {
  split n 128
  pack weight interleave=32
  parallel n
  vectorize n 8
  tune {
    prefetch weight in [0, 128]
  }
}
)";
    const dsl::Module m = load(text);
    const Space space = Space::forTask(taskFor(m, "x86-avx2", dsl::Bucket::SmallBatch));
    EXPECT_TRUE(space.fromTuneBlock());
    ASSERT_EQ(space.size(), 2u);
    EXPECT_EQ(space.scheduleText(1), "schedule k for x86-avx2 bucket=small {\n"
                                     "  pack weight interleave=32\n"
                                     "  vectorize n 8\n"
                                     "  split n 128\n"
                                     "  prefetch weight 128\n"
                                     "  parallel n\n"
                                     "}\n");
    expectRoundTrip(space, kInt4F32);

    // Without a tune block, the family's default space over the file's directives.
    const dsl::Module plain = load(std::string(kInt4F32) + "schedule k for x86-avx2 { vectorize n 8 }\n");
    const Space defaults = Space::forTask(taskFor(plain, "x86-avx2", dsl::Bucket::Any));
    EXPECT_FALSE(defaults.fromTuneBlock());
    for (std::size_t i = 0; i < defaults.size(); ++i)
        EXPECT_NE(defaults.scheduleText(i).find("  vectorize n 8\n"), std::string::npos);
    expectRoundTrip(defaults, kInt4F32);
}

TEST(Space, DefaultSpacesForEveryCpuTargetAndBucket) {
    for (const char *kernelText : {kInt4F32, kTernaryInt8, kInt4Int8}) {
        const dsl::Module m = load(kernelText);
        const bool int8 = std::get<dsl::LowbitLinearParams>(m.kernels[0].params).input == dsl::ActKind::QInt8PerToken;
        for (const targets::TargetInfo *target : targets::all()) {
            if (target->arch == targets::Arch::Cuda) continue;  // no lowering yet (NoLoweringIsAnError)
            for (dsl::Bucket b : {dsl::Bucket::Any, dsl::Bucket::Decode, dsl::Bucket::SmallBatch, dsl::Bucket::Prefill}) {
                SCOPED_TRACE(std::string(target->name) + " " + dsl::toString(b) + kernelText);
                const Space space = Space::forTask(taskFor(m, target->name, b));
                EXPECT_FALSE(space.fromTuneBlock());
                // Scalable SVE (MLIR) kernels have fewer knobs: tile, task size, rows of x.
                EXPECT_GE(space.size(), target->caps.scalableVectors ? 12u : 48u);
                // arm64-sve: the MLIR and the Halide kernel (the backend axis);
                // int8 per-channel small / prefill: 144 MLIR + 576 Halide points.
                EXPECT_LE(space.size(), target->caps.scalableVectors ? 720u : 650u);
                const auto &names = space.axisNames();
                const bool splitM = std::find(names.begin(), names.end(), "split m") != names.end();
                EXPECT_EQ(splitM, int8 && (b == dsl::Bucket::SmallBatch || b == dsl::Bucket::Prefill));
                if (b == dsl::Bucket::Decode) expectRoundTrip(space, kernelText);
            }
        }
    }
}

TEST(Space, DefaultSpaceSizes) {
    const dsl::Module int4 = load(kInt4F32), ternary = load(kTernaryInt8), int4q = load(kInt4Int8);
    // interleave {16,32,64} x split n {64..512} x unroll k {1,64,128} x prefetch {0,32,64,128}
    EXPECT_EQ(Space::forTask(taskFor(int4, "x86-avx512")).size(), 144u);
    EXPECT_EQ(Space::forTask(taskFor(int4, "x86-avx2")).size(), 96u);  // interleave {16,32}
    // x86-avx512vnni has two backends (the backend axis), each point in its own backend's space.
    // Halide, per-channel: split k {128,256,512} x unroll k {1,64} x prefetch {0,64,128} (216);
    // MLIR: interleave {32,64} x split n {64..512} x prefetch {0,128,256,512} x hint {nta,t1,t0},
    // a hint only with a distance (80).
    EXPECT_EQ(Space::forTask(taskFor(ternary, "x86-avx512vnni")).size(), 216u + 80u);
    // prefill, int8: split m {1,2,4} x reorder {m k, k m} instead of prefetch
    // (Halide 216; MLIR: interleave x split n x split m {1,2,4,8}, 32);
    // the decode bucket's layout pinned (72 + 16).
    EXPECT_EQ(Space::forTask(taskFor(int4q, "x86-avx512vnni", dsl::Bucket::Prefill)).size(), 216u + 32u);
    EXPECT_EQ(Space::forTask(taskFor(int4q, "x86-avx512vnni", dsl::Bucket::Prefill), {{"pack weight interleave", "64"}})
                  .size(),
              72u + 16u);
}

// Word axes: the packed layout from a tune block (pruned by the lowering:
// nibbles cannot hold 5 bits) and pinned by name; the default prefill
// space's loop order.
TEST(Space, WordAxes) {
    const std::string uint5 = "kernel k : lowbit_linear {\n  weight uint5 shape=[N=4096, K=4096] scale=f16 group=64 "
                              "zero_point\n  input int8\n  output f32\n}\n";
    const dsl::Module m = load(uint5 + "schedule k for x86-avx512vnni {\n  tune {\n"
                                       "    pack weight layout in [planes, nibbles, bytes, bitplanes]\n  }\n}\n");
    const Task task = taskFor(m, "x86-avx512vnni", dsl::Bucket::Any);
    const Space space = Space::forTask(task);
    ASSERT_EQ(space.size(), 3u);  // nibbles pruned
    std::set<std::string> layouts;
    for (std::size_t i = 0; i < space.size(); ++i) layouts.insert(space.valueText(0, i));
    EXPECT_EQ(layouts, (std::set<std::string>{"planes", "bytes", "bitplanes"}));
    EXPECT_NE(space.scheduleText(space.indexOf({2})).find("  pack weight layout=bytes\n"), std::string::npos)
        << space.scheduleText(space.indexOf({2}));
    expectRoundTrip(space, uint5);
    const Space pinned = Space::forTask(task, {{"pack weight layout", "bitplanes"}});
    ASSERT_EQ(pinned.size(), 1u);
    EXPECT_EQ(pinned.valueText(0, 0), "bitplanes");
    EXPECT_THROW(Space::forTask(task, {{"pack weight layout", "nibbles"}}), codegen::CodegenError);  // pruned: empty

    const dsl::Module q = load(kInt4Int8);
    const Space prefill = Space::forTask(taskFor(q, "x86-avx512vnni", dsl::Bucket::Prefill));
    const auto &names = prefill.axisNames();
    const std::size_t order = static_cast<std::size_t>(std::find(names.begin(), names.end(), "reorder") - names.begin());
    ASSERT_LT(order, names.size());
    std::set<std::string> orders;
    for (std::size_t i = 0; i < prefill.size(); ++i) {
        orders.insert(prefill.valueText(order, i));
        const bool chunkOuter = prefill.scheduleText(i).find("  reorder k m\n") != std::string::npos;
        EXPECT_EQ(chunkOuter, prefill.valueText(order, i) == "k m") << prefill.scheduleText(i);
    }
    EXPECT_EQ(orders, (std::set<std::string>{"m k", "k m"}));
    expectRoundTrip(prefill, kInt4Int8);
}

TEST(Space, PruningIsFast) {
    const dsl::Module m = load(kInt4Int8);
    const auto start = std::chrono::steady_clock::now();
    const Space space = Space::forTask(taskFor(m, "x86-avx512vnni", dsl::Bucket::Prefill));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(space.size(), 248u);  // Halide 216 + MLIR 32 (DefaultSpaceSizes)
    EXPECT_LT(ms, 200.0) << "pruning 248 points took " << ms << " ms";  // ~10 ms unloaded; room for a busy machine
}

TEST(Space, Features) {
    const dsl::Module m = load(kInt4F32);
    const Space space = Space::forTask(taskFor(m, "x86-avx512"));
    ASSERT_EQ(space.axisNames(),
              (std::vector<std::string>{"pack weight interleave", "split n", "unroll k", "prefetch weight"}));
    const std::size_t i = space.indexOf({2, 1, 0, 0});  // interleave 64, split n 128, unroll 1, prefetch 0
    ASSERT_LT(i, space.size());
    const std::vector<float> f = space.features(i);
    ASSERT_EQ(f.size(), 4u + 3u);  // the axes, then the task's dimensions M, N, K
    EXPECT_FLOAT_EQ(f[0], 6.0f);
    EXPECT_FLOAT_EQ(f[1], 7.0f);
    EXPECT_FLOAT_EQ(f[2], 0.0f);
    EXPECT_FLOAT_EQ(f[3], -1.0f);  // prefetch off
    EXPECT_FLOAT_EQ(f[4], 0.0f);   // log2 M = 1
    EXPECT_FLOAT_EQ(f[5], 12.0f);  // log2 N = 4096
    EXPECT_FLOAT_EQ(f[6], static_cast<float>(std::log2(11008.0)));
}

TEST(Space, CanonicalTextIgnoresTheFileOrder) {
    const dsl::Module a = load(std::string(kInt4F32) +
                               "schedule k for x86-avx512 {\n parallel n\n split n 128\n pack weight interleave=32\n"
                               " tune { unroll k in [1] }\n}\n");
    const dsl::Module b = load(std::string(kInt4F32) +
                               "schedule k for x86-avx512 {\n pack weight interleave=32 ; split n 128 ; parallel n\n"
                               " tune { unroll k in [1] }\n}\n");
    const Space sa = Space::forTask(taskFor(a, "x86-avx512")), sb = Space::forTask(taskFor(b, "x86-avx512"));
    ASSERT_EQ(sa.size(), 1u);
    ASSERT_EQ(sb.size(), 1u);
    EXPECT_EQ(sa.scheduleText(0), sb.scheduleText(0));
}

TEST(Task, RowsAndDescription) {
    EXPECT_EQ(dsl::bucketDef(dsl::Bucket::Decode).defaultRows, 1);
    EXPECT_EQ(dsl::bucketDef(dsl::Bucket::SmallBatch).defaultRows, 16);
    EXPECT_EQ(dsl::bucketDef(dsl::Bucket::Prefill).defaultRows, 128);
    const dsl::Module m = load(kInt4F32);
    EXPECT_EQ(describe(taskFor(m, "x86-avx512vnni")), "k x86-avx512vnni decode 1x4096x11008");
}

}  // namespace
}  // namespace kf::autotune

// The backend as an axis: the default space of a target with several
// covering backends (arm64-sve: MLIR, then Halide), each point pruned by its
// backend's check; a tune block's `backend` and `prefetch weight hint`.
namespace kf::autotune {
namespace {

std::size_t countWithBackend(const Space &space, const std::string &backend) {
    const auto &names = space.axisNames();
    const std::size_t axis = static_cast<std::size_t>(std::find(names.begin(), names.end(), "backend") - names.begin());
    std::size_t n = 0;
    for (std::size_t i = 0; i < space.size(); ++i) n += space.valueText(axis, i) == backend;
    return n;
}

#if KFORGE_HAVE_MLIR
TEST(SpaceBackend, DefaultSpaceOnSveHasBothBackends) {
    const dsl::Module m = load(kInt4F32);
    const Space space = Space::forTask(taskFor(m, "arm64-sve"));
    ASSERT_FALSE(space.axisNames().empty());
    EXPECT_EQ(space.axisNames()[0], "backend");
    // MLIR: interleave {16,32,64} x split n {64..512}, at its own unroll and prefetch.
    EXPECT_EQ(countWithBackend(space, "mlir"), 12u);
    // Halide: its own interleave {16,32} (128-bit NEON) x split n x unroll k {1,64,128} x prefetch
    // {0,32,64,128}; MLIR's interleave 64 is not Halide's, and MLIR takes Halide's defaults of the rest.
    EXPECT_EQ(countWithBackend(space, "halide"), 96u);
    EXPECT_EQ(space.size(), 108u);
    for (std::size_t i = 0; i < space.size(); ++i) {
        const std::string text = space.scheduleText(i);
        ASSERT_EQ(text.find("  backend "), text.find('\n') + 1) << "the backend comes first:\n" << text;
    }
    expectRoundTrip(space, kInt4F32);

    // A kernel one backend covers: no backend axis (codebooks are Halide's).
    const dsl::Module cb = load("kernel k : lowbit_linear {\n  weight codebook4 shape=[N=4096, K=4096] scale=f16 "
                                "group=128\n  input f32\n  output f32\n}\n");
    const std::vector<std::string> names = Space::forTask(taskFor(cb, "arm64-sve")).axisNames();
    EXPECT_EQ(std::find(names.begin(), names.end(), "backend"), names.end());
    // Targets with one backend are unchanged.
    const std::vector<std::string> x86 = Space::forTask(taskFor(m, "x86-avx512")).axisNames();
    EXPECT_EQ(std::find(x86.begin(), x86.end(), "backend"), x86.end());
}

TEST(SpaceBackend, TuneBlockBackendAndHint) {
    const dsl::Module m = load(std::string(kInt4F32) + "schedule k for x86-avx512vnni {\n  prefetch weight 64\n  tune {\n"
                                                       "    backend in [halide, mlir]\n"
                                                       "    prefetch weight hint in [t0, t1, nta]\n  }\n}\n");
    const Space space = Space::forTask(taskFor(m, "x86-avx512vnni"));
    EXPECT_TRUE(space.fromTuneBlock());
    // Halide takes only nta; the MLIR kernel (AVX-512) takes every hint.
    EXPECT_EQ(countWithBackend(space, "halide"), 1u);
    EXPECT_EQ(countWithBackend(space, "mlir"), 3u);
    bool sawHint = false;
    for (std::size_t i = 0; i < space.size(); ++i)
        sawHint |= space.scheduleText(i).find("  prefetch weight 64 hint=t1\n") != std::string::npos;
    EXPECT_TRUE(sawHint);
    expectRoundTrip(space, kInt4F32);

    // A hint alone tunes nothing: it needs a distance.
    const dsl::Module alone = load(std::string(kInt4F32) + "schedule k for arm64-sve {\n  tune {\n"
                                                           "    prefetch weight hint in [t0, nta]\n  }\n}\n");
    EXPECT_THROW(Space::forTask(taskFor(alone, "arm64-sve")), codegen::CodegenError);
}
#endif

TEST(SpaceBackend, BackendNotOnTheTargetIsPruned) {
    const dsl::Module m = load(std::string(kInt4F32) + "schedule k for x86-avx512 {\n  tune {\n"
                                                       "    backend in [halide, mlir]\n    split n in [64, 128]\n"
                                                       "  }\n}\n");
    const Space space = Space::forTask(taskFor(m, "x86-avx512"));
    EXPECT_EQ(space.size(), 2u);
    EXPECT_EQ(countWithBackend(space, "halide"), 2u);
}

}  // namespace
}  // namespace kf::autotune
