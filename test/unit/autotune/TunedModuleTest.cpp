// How `kforge emit --db` turns records into schedules (TunedModule.h): the
// best decode record also becomes the bucket-any schedule, other buckets take
// their best record with the same packed layout, row tiles included.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "autotune/Database.h"
#include "TestShapes.h"
#include "autotune/TunedModule.h"
#include "codegen/Lowering.h"
#include "dsl/Load.h"

namespace kf::autotune {
namespace {

namespace fs = std::filesystem;

const char *kKernel = "kernel w4 : lowbit_linear {\n  weight int4 shape=[N=256, K=512] scale=f16 group=64\n"
                      "  input int8\n  output f32\n}\n";

Record record(const dsl::KernelSpec &k, const std::string &bucket, const std::string &body, double seconds) {
    Record r;
    r.kernel = k.name;
    r.specHash = specHash(k);
    r.target = "x86-avx512vnni";
    r.bucket = bucket;
    r.family = "lowbit_linear";
    r.shape = testing::mnk(bucket == "decode" ? 1 : 128, 256, 512);
    r.schedule = "schedule w4 for x86-avx512vnni bucket=";
    r.schedule += bucket;
    r.schedule += " {\n";
    r.schedule += body;
    r.schedule += "}\n";
    r.symbol = "sym_";
    r.symbol += bucket;
    r.symbol += std::to_string(seconds);
    r.status = "ok";
    r.samples = {seconds};
    r.seconds = seconds;
    r.rooflineRatio = 0.5;
    r.machine.assign(1, 'm');  // (= "m"; GCC 12 warns falsely on that assignment here)
    r.key = hashHex(r.schedule);  // schedules differ per record
    return r;
}

const dsl::Schedule *find(const dsl::Module &m, dsl::Bucket b) {
    for (const auto &s : m.schedules)
        if (s.bucket == b) return &s;
    return nullptr;
}

TEST(TunedModule, BestRecordsPerBucketWithTheDecodeLayout) {
    const fs::path path = fs::temp_directory_path() / ("kforge-tuned-module-" + std::to_string(::getpid()) + ".db");
    fs::remove(path);
    dsl::LoadResult loaded = dsl::loadString(kKernel, "w4.kf", {});
    ASSERT_TRUE(loaded.ok());
    dsl::Module module = *loaded.module;
    const dsl::KernelSpec &k = module.kernels[0];
    {
        Database db(path.string());
        db.insert(record(k, "decode", "  pack weight interleave=32\n  prefetch weight 64\n", 1e-3));
        db.insert(record(k, "decode", "  pack weight interleave=16\n", 2e-3));
        // Fastest prefill packs differently from the decode choice: not taken.
        db.insert(record(k, "prefill", "  pack weight interleave=64\n  split m 4\n", 1e-3));
        db.insert(record(k, "prefill", "  pack weight interleave=32\n  split m 4\n", 2e-3));
        db.insert(record(k, "prefill", "  pack weight interleave=32\n", 3e-3));
    }
    Database db(path.string());
    const TuningApplied applied = applyTuning(module, {targets::find("x86-avx512vnni")}, db, "m");
    EXPECT_EQ(applied.tuned.size(), 2u);
    EXPECT_TRUE(applied.untuned.empty());

    const dsl::Schedule *any = find(module, dsl::Bucket::Any), *decode = find(module, dsl::Bucket::Decode),
                        *prefill = find(module, dsl::Bucket::Prefill);
    ASSERT_TRUE(any && decode && prefill);
    auto has = [](const dsl::Schedule &s, dsl::Directive::Kind kind, int64_t factor) {
        for (const auto &d : s.directives)
            if (d.kind == kind && d.factor == factor) return true;
        return false;
    };
    EXPECT_TRUE(has(*decode, dsl::Directive::Kind::Prefetch, 64));
    EXPECT_TRUE(has(*any, dsl::Directive::Kind::Prefetch, 64));  // decode's choice serves other M too
    EXPECT_TRUE(has(*prefill, dsl::Directive::Kind::Split, 4)) << "the row tile of the best same-layout record";
    fs::remove(path);
}

}  // namespace
}  // namespace kf::autotune

// A record whose schedule names its backend (the tuner's backend axis)
// comes back through emit --db with the directive: the buckets lower through
// the backends the records chose.
namespace kf::autotune {
namespace {

#if KFORGE_HAVE_MLIR
TEST(TunedModule, RecordsCarryTheBackend) {
    const fs::path path = fs::temp_directory_path() / ("kforge-tuned-backend-" + std::to_string(::getpid()) + ".db");
    fs::remove(path);
    const char *text = "kernel f4 : lowbit_linear {\n  weight int4 shape=[N=256, K=512] scale=f16 group=64\n"
                       "  input f32\n  output f32\n}\n";
    dsl::LoadResult loaded = dsl::loadString(text, "f4.kf", {});
    ASSERT_TRUE(loaded.ok());
    dsl::Module module = *loaded.module;
    const dsl::KernelSpec &k = module.kernels[0];
    auto sveRecord = [&](const std::string &bucket, const std::string &body, double seconds) {
        Record r = record(k, bucket, body, seconds);
        r.target = "arm64-sve";
        r.schedule = "schedule f4 for arm64-sve bucket=" + bucket + " {\n" + body + "}\n";
        r.key = hashHex(r.schedule);
        return r;
    };
    {
        Database db(path.string());
        db.insert(sveRecord("decode", "  backend halide\n  pack weight interleave=32\n  unroll k 64\n", 1e-3));
        db.insert(sveRecord("decode", "  backend mlir\n  pack weight interleave=32\n", 2e-3));
        db.insert(sveRecord("prefill", "  backend mlir\n  pack weight interleave=32\n", 1e-3));
    }
    Database db(path.string());
    const TuningApplied applied = applyTuning(module, {targets::find("arm64-sve")}, db, "m");
    EXPECT_EQ(applied.tuned.size(), 2u);
    const dsl::Schedule *any = find(module, dsl::Bucket::Any), *decode = find(module, dsl::Bucket::Decode),
                        *prefill = find(module, dsl::Bucket::Prefill);
    ASSERT_TRUE(any && decode && prefill);
    auto backendOf = [](const dsl::Schedule &s) {
        for (const auto &d : s.directives)
            if (d.kind == dsl::Directive::Kind::Backend) return d.vars.at(0);
        return std::string();
    };
    EXPECT_EQ(backendOf(*decode), "halide");
    EXPECT_EQ(backendOf(*any), "halide");
    EXPECT_EQ(backendOf(*prefill), "mlir");
    const auto variants = codegen::lowerKernel(module, k, *targets::find("arm64-sve"));
    ASSERT_EQ(variants.size(), 3u);
    EXPECT_STREQ(variants[0].backend->name, "halide");
    EXPECT_STREQ(variants[1].backend->name, "halide");
    EXPECT_STREQ(variants[2].backend->name, "mlir");
    fs::remove(path);
}
#endif

}  // namespace
}  // namespace kf::autotune
