// `kforge tune` end to end, as a user runs it (the kforge executable, a kernel
// file, a database): failing candidates are recorded and the run goes on; a
// run killed midway resumes without losing or repeating a record; `kforge
// emit --db` puts the best record into the library's dispatch table.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "autotune/Database.h"
#include "support/Spawn.h"
#include "autotune/Scratch.h"
#include "codegen/sparse_rank_linear/SparseRankHalide.h"
#include "dsl/Load.h"
#include "targets/Target.h"
#include "codegen/emit/Toolchain.h"
#include "kforge/kforge.h"

namespace kf::autotune {
namespace {

namespace fs = std::filesystem;

// Five candidates: the prefetch distance is tuned (int8 kernel, dynamic shape).
const char *kKernelFile = R"(
kernel w4 : lowbit_linear {
  weight int4 shape=[N, K] scale=f16 group=64
  input  int8
  output f32
}
schedule w4 for host_target {
  tune {
    prefetch weight in [0, 32, 64, 96, 128]
  }
}
)";

struct TuneDir {
    fs::path dir;
    TuneDir() {
        dir = fs::temp_directory_path() / ("kforge-tuner-test-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
        std::string text = kKernelFile;
        text.replace(text.find("host_target"), 11, hostTarget());
        std::ofstream(dir / "w4.kf") << text;
    }
    ~TuneDir() { fs::remove_all(dir); }
    // Emits <name>.kf for the host with tune.db's records and loads the
    // library as a shared object into *handle (left null on a failure);
    // emit's output goes to *emitted.
    void emitAndLoad(const std::string &name, void **handle, std::string *emitted) const {
        *handle = nullptr;
        std::string &out = *emitted;
        const fs::path lib = dir / "lib";
        ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "emit", (dir / (name + ".kf")).string(), "--target", "host", "-o",
                                       lib.string(), "--db", (dir / "tune.db").string()},
                                      out),
                  0)
            << out;
        std::string linked;
        const fs::path so = dir / ("lib" + name + ".so");
        ASSERT_EQ(codegen::runCommand({"c++", "-shared", "-o", so.string(), "-Wl,--whole-archive",
                                       (lib / "lib" / ("libkforge_" + name + ".a")).string(), "-Wl,--no-whole-archive",
                                       "-ltbb"},
                                      linked),
                  0)
            << linked;
        *handle = ::dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
        ASSERT_NE(*handle, nullptr) << ::dlerror();
    }
    static std::string hostTarget() {
        std::string out;
        codegen::runCommand({KFORGE_EXE, "targets"}, out);
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);)
            if (line.find("[host]") != std::string::npos) return line.substr(0, line.find(' '));
        return "x86-avx2";
    }
    std::vector<std::string> tuneArgs() const {
        return {KFORGE_EXE,    "tune",     (dir / "w4.kf").string(), "--target", "host", "--shapes", "96x320",
                "--buckets",   "decode",   "--stream-mib",          "1",        "--timeout", "8",  "--jobs",
                "2",           "--threads", "1",  "--db", (dir / "tune.db").string(), "--json",
                "--work-dir",  (dir / "work").string()};
    }
};

std::map<std::string, std::string> statusBySchedule(const Database &db) {
    std::map<std::string, std::string> out;
    for (const Record &r : db.records()) {
        const auto at = r.schedule.find("prefetch weight ");
        out[at == std::string::npos ? "none" : r.schedule.substr(at + 16, r.schedule.find('\n', at) - at - 16)] =
            r.status;
    }
    return out;
}

TEST(Tune, CrashHangAndWrongCandidatesAreRecordedAsFailedAndTheRunCompletes) {
    TuneDir t;
    ::setenv("KFORGE_TUNE_FAULT", "crash:prefetch weight 32;hang:prefetch weight 64;wrong:prefetch weight 96", 1);
    std::string out;
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = codegen::runCommand(t.tuneArgs(), out);
    ::unsetenv("KFORGE_TUNE_FAULT");
    ASSERT_EQ(rc, 0) << out;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 120);
    Database db((t.dir / "tune.db").string());
    const auto status = statusBySchedule(db);
    ASSERT_EQ(db.records().size(), 5u) << out;
    EXPECT_EQ(status.at("32"), "crash") << out;
    EXPECT_EQ(status.at("64"), "timeout") << out;
    EXPECT_EQ(status.at("96"), "wrong") << out;
    EXPECT_EQ(status.at("0"), "ok") << out;
    EXPECT_EQ(status.at("128"), "ok") << out;
    for (const Record &r : db.records())
        if (r.status == "ok") {
            EXPECT_GE(r.samples.size(), 3u);
            EXPECT_GT(r.rooflineRatio, 0.0);
            // What the roofline was computed from: max(bytes / bandwidth, ops / peak) is its time.
            EXPECT_GT(r.bytes, 0.0);
            EXPECT_EQ(r.ops, 2.0 * double(r.shape["M"]) * double(r.shape["N"]) * double(r.shape["K"]));
            EXPECT_GT(r.readBandwidth, 0.0);
            EXPECT_GT(r.computePeak, 0.0);
            EXPECT_NEAR(r.rooflineRatio * r.seconds,
                        std::max(r.bytes / r.readBandwidth, r.ops / r.computePeak), 1e-9 * r.seconds);
        } else {
            EXPECT_FALSE(r.message.empty()) << r.status;
            EXPECT_EQ(r.bytes + r.ops + r.readBandwidth + r.computePeak, 0.0) << r.status;
        }
    EXPECT_NE(out.find("\"event\":\"done\""), std::string::npos) << out;
}

// How long a test polls (every 50 ms) for a tune run's first records: 180 s.
// On a 2-core machine running the suite two tests at a time the first two
// builds alone took over 60 s (a CI-like fresh-clone run); the bound only
// caps how long a broken tuner keeps a test running.
constexpr int kRecordPolls = 3600;

TEST(Tune, AKilledRunResumesWithoutLosingOrRepeatingRecords) {
    TuneDir t;
    const fs::path db = t.dir / "tune.db";
    // First run: killed (SIGKILL, no chance to clean up) once two records are in.
    const pid_t pid = kf::testing::spawnLogged(t.tuneArgs(), "");
    ASSERT_GE(pid, 0);
    std::set<std::string> before;
    for (int i = 0; i < kRecordPolls && before.size() < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!fs::exists(db)) continue;
        before.clear();
        for (const Record &r : Database(db.string()).records()) before.insert(r.key);
    }
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    ASSERT_GE(before.size(), 2u) << "the first run wrote fewer than 2 records in 180 s";
    std::set<std::string> afterKill;
    for (const Record &r : Database(db.string()).records()) {
        afterKill.insert(r.key);
        EXPECT_FALSE(r.status.empty());
        if (r.status == "ok") {
            EXPECT_FALSE(r.samples.empty());
        }
    }
    ASSERT_LT(afterKill.size(), 5u) << "killed too late to test resuming";

    // Second run: measures exactly the rest.
    std::string out;
    ASSERT_EQ(codegen::runCommand(t.tuneArgs(), out), 0) << out;
    std::set<std::string> measuredNow;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (line.find("\"event\":\"candidate\"") != std::string::npos) {
            const auto at = line.find("\"key\":\"") + 7;
            measuredNow.insert(line.substr(at, line.find('"', at) - at));
        }
    for (const std::string &k : afterKill) EXPECT_EQ(measuredNow.count(k), 0u) << "measured twice: " << k;
    EXPECT_EQ(measuredNow.size(), 5u - afterKill.size()) << out;
    std::set<std::string> all;
    for (const Record &r : Database(db.string()).records()) all.insert(r.key);
    EXPECT_EQ(all.size(), 5u);
    for (const std::string &k : afterKill) EXPECT_EQ(all.count(k), 1u) << "lost: " << k;
}

// Starts `kforge tune` with TMPDIR = `tmp` and output to `log`; returns its pid.
pid_t startTune(std::vector<std::string> args, const fs::path &tmp, const fs::path &log) {
    return kf::testing::spawnLogged(std::move(args), log.string(), {{"TMPDIR", tmp.string()}});
}

// Waits until the database holds `n` records (at most kRecordPolls); how many it holds.
std::size_t waitForRecords(const fs::path &db, std::size_t n) {
    std::size_t have = 0;
    for (int i = 0; i < kRecordPolls && have < n; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!fs::exists(db)) continue;
        // The tuner may be between creating the file and committing its
        // schema (an empty file, or SQLite's header before the tables): not
        // yet a database to read, so look again.
        try {
            have = Database(db.string(), Database::OpenMode::ReadOnly).records().size();
        } catch (const std::runtime_error &) {
        }
    }
    return have;
}

std::vector<std::string> withoutWorkDir(std::vector<std::string> args) {
    const auto at = std::find(args.begin(), args.end(), "--work-dir");
    args.erase(at, at + 2);
    return args;
}

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Starts `kforge tune` (its scratch in `tmp`, output to `log`), sends `sig`
// once the database holds a record and reaps it. Returns the records seen
// before the signal and the wait status.
std::pair<std::size_t, int> signalAfterFirstRecord(const TuneDir &t, int sig, const fs::path &tmp, const fs::path &log) {
    const pid_t pid = startTune(withoutWorkDir(t.tuneArgs()), tmp, log);
    if (pid <= 0) return {0, 0};
    const std::size_t before = waitForRecords(t.dir / "tune.db", 1);
    ::kill(pid, sig);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return {before, st};
}

TEST(Tune, ASignalStopsTheRunKeepsWhatWasMeasuredAndLeavesNoTemporaryFiles) {
    TuneDir t;
    const fs::path tmp = t.dir / "tmp", db = t.dir / "tune.db", log = t.dir / "log";
    fs::create_directories(tmp);
    const auto [before, st] = signalAfterFirstRecord(t, SIGTERM, tmp, log);
    ASSERT_GE(before, 1u) << "no record in 180 s: " << slurp(log);
    ASSERT_TRUE(WIFEXITED(st)) << slurp(log);
    EXPECT_EQ(WEXITSTATUS(st), 128 + SIGTERM) << slurp(log);
    EXPECT_NE(slurp(log).find("stopped by"), std::string::npos) << slurp(log);
    // Every record is a finished measurement: a signal is not a property of a candidate.
    const std::vector<Record> records = Database(db.string()).records();
    ASSERT_LT(records.size(), 5u) << "stopped too late to test";
    for (const Record &r : records) EXPECT_EQ(r.status, "ok") << r.message;
    EXPECT_TRUE(fs::is_empty(tmp)) << fs::directory_iterator(tmp)->path();
}

TEST(Tune, WhatAKilledRunLeftIsRemovedByTheNextAndNothingElse) {
    TuneDir t;
    const fs::path tmp = t.dir / "tmp", log = t.dir / "log";
    fs::create_directories(tmp);
    // Someone else's directory with a name like ours, and a plain file.
    fs::create_directories(tmp / "kforge-tune-notours");
    std::ofstream(tmp / "kforge-tune-notours" / "keep") << "keep";
    std::ofstream(tmp / "kforge-notes.txt") << "keep";
    const std::size_t before = signalAfterFirstRecord(t, SIGKILL, tmp, log).first;
    ASSERT_GE(before, 1u) << "no record in 180 s: " << slurp(log);
    std::size_t left = 0;
    for (const auto &e : fs::directory_iterator(tmp)) left += fs::exists(e.path() / kScratchMarker);
    ASSERT_GE(left, 1u) << "SIGKILL left nothing behind to sweep";

    const pid_t again = startTune(withoutWorkDir(t.tuneArgs()), tmp, log);
    int st = 0;
    ::waitpid(again, &st, 0);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << slurp(log);
    EXPECT_NE(slurp(log).find("removed " + std::to_string(left) + " temporary director"), std::string::npos)
        << slurp(log);
    std::set<std::string> names;
    for (const auto &e : fs::directory_iterator(tmp)) names.insert(e.path().filename().string());
    EXPECT_EQ(names, (std::set<std::string>{"kforge-notes.txt", "kforge-tune-notours"}));
    EXPECT_TRUE(fs::exists(tmp / "kforge-tune-notours" / "keep"));
}

TEST(Tune, LaterTasksStartFromEarlierTasksRecords) {
    // Two shapes, evolutionary search, two candidates each: the second task's
    // cost model starts from the first task's two records.
    TuneDir t;
    std::vector<std::string> args = t.tuneArgs();
    args[std::find(args.begin(), args.end(), "96x320") - args.begin()] = "96x320,64x320";
    for (const char *a : {"--strategy", "evolutionary", "--max-trials", "2"}) args.emplace_back(a);
    std::string out;
    ASSERT_EQ(codegen::runCommand(args, out), 0) << out;
    std::vector<std::string> starts;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (line.find("\"event\":\"task_start\"") != std::string::npos) starts.push_back(line);
    ASSERT_EQ(starts.size(), 2u) << out;
    EXPECT_NE(starts[0].find("\"prior_records\":0"), std::string::npos) << starts[0];
    EXPECT_NE(starts[1].find("\"prior_records\":2"), std::string::npos) << starts[1];
    EXPECT_NE(starts[1].find("\"prior_tasks\":1"), std::string::npos) << starts[1];
    EXPECT_EQ(Database((t.dir / "tune.db").string()).records().size(), 4u);
}

TEST(Tune, EmitWithTheDatabaseDispatchesToTheTunedVariant) {
    TuneDir t;
    std::string out;
    ASSERT_EQ(codegen::runCommand(t.tuneArgs(), out), 0) << out;
    Database db((t.dir / "tune.db").string());
    const std::vector<Record> best = db.best();
    ASSERT_EQ(best.size(), 1u);
    const std::string tuned = best[0].symbol;

    // Emit with the records, as a shared object the test loads.
    void *h = nullptr;
    t.emitAndLoad("w4", &h, &out);
    EXPECT_NE(out.find("tuned: w4"), std::string::npos) << out;
    ASSERT_NE(h, nullptr);
    using Accessor = const kf_kernel_def *(*)();
    using Create = kf_status (*)(const kf_kernel_def *, int64_t, int64_t, const char *, kf_linear **);
    using ForRows = const char *(*)(const kf_linear *, int64_t);
    using Destroy = void (*)(kf_linear *);
    auto accessor = reinterpret_cast<Accessor>(::dlsym(h, "kf_w4_w4"));
    auto create = reinterpret_cast<Create>(::dlsym(h, "kf_linear_create"));
    auto forRows = reinterpret_cast<ForRows>(::dlsym(h, "kf_linear_variant_for_rows"));
    auto destroy = reinterpret_cast<Destroy>(::dlsym(h, "kf_linear_destroy"));
    ASSERT_TRUE(accessor && create && forRows && destroy);
    kf_linear *layer = nullptr;
    ASSERT_EQ(create(accessor(), 96, 320, nullptr, &layer), KF_OK);
    EXPECT_EQ(std::string(forRows(layer, 1)), tuned);  // decode rows run the tuned variant
    destroy(layer);
    ::dlclose(h);

    // Without the records: the default schedule, and emit says so.
    ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "emit", (t.dir / "w4.kf").string(), "--target", "host", "-o",
                                   (t.dir / "lib2").string(), "--db", (t.dir / "empty.db").string()},
                                  out),
              1);
    EXPECT_NE(out.find("no such tuning database"), std::string::npos) << out;
}

// rotation_attention through the same steps: its candidates are checked
// against the family's reference (a wrong one is recorded as such), its
// shape is T x ctx (--shapes gives ctx), and emit --db dispatches decode
// calls to the best record.
TEST(Tune, AttentionCandidatesAreCheckedAndTheBestIsEmitted) {
    TuneDir t;
    std::ofstream(t.dir / "att.kf") << "kernel gqa4 : rotation_attention {\n  heads q=8 kv=2 dim=64\n"
                                       "  kv_cache int4\n  input f32\n}\n"
                                       "schedule gqa4 for " << TuneDir::hostTarget()
                                    << " {\n  tune {\n    split t in [64, 128, 256]\n  }\n}\n";
    ::setenv("KFORGE_TUNE_FAULT", "wrong:split t 128", 1);
    std::string out;
    const int rc = codegen::runCommand({KFORGE_EXE, "tune", (t.dir / "att.kf").string(), "--target", "host",
                                        "--shapes", "300", "--buckets", "decode", "--stream-mib", "1", "--timeout",
                                        "20", "--jobs", "2", "--threads", "1", "--db",
                                        (t.dir / "tune.db").string(), "--json"},
                                       out);
    ::unsetenv("KFORGE_TUNE_FAULT");
    ASSERT_EQ(rc, 0) << out;
    Database db((t.dir / "tune.db").string());
    std::map<std::string, std::string> status;
    for (const Record &r : db.records()) {
        EXPECT_EQ(r.shape.named(), "T=1 ctx=300");
        status[r.schedule.substr(r.schedule.find("split t ") + 8, 3)] = r.status;
        if (r.status == "ok")  // f32 flops at the FMA peak, and the layer's K and V
            EXPECT_TRUE(r.bytes > 0 && r.ops > 0 && r.readBandwidth > 0 && r.computePeak > 0) << r.key;
    }
    ASSERT_EQ(status.size(), 3u) << out;
    EXPECT_EQ(status["64\n"], "ok") << out;
    EXPECT_EQ(status["128"], "wrong") << out;
    EXPECT_EQ(status["256"], "ok") << out;
    const std::vector<Record> best = db.best();
    ASSERT_EQ(best.size(), 1u);

    void *h = nullptr;
    t.emitAndLoad("att", &h, &out);
    ASSERT_NE(h, nullptr);
    using Accessor = const kf_kernel_def *(*)();
    using Create = kf_status (*)(const kf_kernel_def *, const char *, kf_attention **);
    using ForTokens = const char *(*)(const kf_attention *, int64_t);
    using Destroy = void (*)(kf_attention *);
    auto accessor = reinterpret_cast<Accessor>(::dlsym(h, "kf_att_gqa4"));
    auto create = reinterpret_cast<Create>(::dlsym(h, "kf_attention_create"));
    auto forTokens = reinterpret_cast<ForTokens>(::dlsym(h, "kf_attention_variant_for_tokens"));
    auto destroy = reinterpret_cast<Destroy>(::dlsym(h, "kf_attention_destroy"));
    ASSERT_TRUE(accessor && create && forTokens && destroy);
    kf_attention *a = nullptr;
    ASSERT_EQ(create(accessor(), nullptr, &a), KF_OK);
    EXPECT_EQ(std::string(forTokens(a, 1)), best[0].symbol);
    destroy(a);
    ::dlclose(h);
}

#if KFORGE_HAVE_MLIR
// Candidates through the MLIR backend are built, loaded and measured like
// Halide's: a library whose kernels are all MLIR has no Halide runtime, and
// none of the Halide glue either (Backend::bridgeArchive).
TEST(Tune, MlirCandidatesAreMeasured) {
    if (TuneDir::hostTarget() != "x86-avx512vnni") GTEST_SKIP() << "the x86 MLIR kernel needs AVX-512 VNNI";
    TuneDir t;
    std::ofstream(t.dir / "q.kf") << "kernel q4 : lowbit_linear {\n  weight int4 shape=[N, K] scale=f16 group=128\n"
                                     "  input int8 rows=M\n  output f32\n}\n"
                                     "schedule q4 for x86-avx512vnni {\n  backend mlir\n  prefetch weight 128\n"
                                     "  tune {\n    prefetch weight hint in [nta, t1]\n  }\n}\n";
    std::string out;
    const int rc = codegen::runCommand({KFORGE_EXE, "tune", (t.dir / "q.kf").string(), "--target", "host", "--shapes",
                                        "256x512", "--buckets", "decode", "--stream-mib", "1", "--timeout", "20",
                                        "--jobs", "2", "--threads", "1", "--db", (t.dir / "tune.db").string(), "--json"},
                                       out);
    ASSERT_EQ(rc, 0) << out;
    Database db((t.dir / "tune.db").string());
    std::set<std::string> hints;
    for (const Record &r : db.records()) {
        EXPECT_EQ(r.status, "ok") << r.schedule << out;
        EXPECT_NE(r.schedule.find("  backend mlir\n"), std::string::npos) << r.schedule;
        hints.insert(r.schedule.find("hint=t1") != std::string::npos ? "t1" : "nta");
    }
    EXPECT_EQ(hints, (std::set<std::string>{"nta", "t1"})) << out;
}
#endif

// A sparse-rank kernel tunes through its default space (no tune block):
// every candidate checked against the reference, a candidate made wrong is
// recorded so, and the emitted library runs the best one.
TEST(Tune, SparseRankCandidatesAreCheckedAndTheBestIsEmitted) {
    TuneDir t;
    std::ofstream(t.dir / "sr.kf") << "kernel o : sparse_rank_linear {\n  weight int4 shape=[N, K] scale=f16 group=64\n"
                                      "  rank 16 factors=int8\n  sparsity threshold\n  input f32\n  output f32\n}\n";
    // The half register tile (the default space's second `unroll n` value) made wrong.
    const dsl::LoadResult loaded = dsl::loadFile((t.dir / "sr.kf").string(), {});
    ASSERT_TRUE(loaded.ok());
    const auto defaults = codegen::sparse_rank_linear::defaultSchedule(
        std::get<dsl::SparseRankLinearParams>(loaded.module->kernels.at(0).params), *targets::find(TuneDir::hostTarget()));
    const std::string halfTile = "unroll n " + std::to_string(defaults.registerTile / 2) + "\n";
    ::setenv("KFORGE_TUNE_FAULT", ("wrong:" + halfTile).c_str(), 1);
    std::string out;
    const int rc = codegen::runCommand({KFORGE_EXE, "tune", (t.dir / "sr.kf").string(), "--target", "host",
                                        "--shapes", "200x256", "--buckets", "decode", "--stream-mib", "1",
                                        "--timeout", "20", "--jobs", "2", "--threads", "1", "--db",
                                        (t.dir / "tune.db").string(), "--json"},
                                       out);
    ::unsetenv("KFORGE_TUNE_FAULT");
    ASSERT_EQ(rc, 0) << out;
    Database db((t.dir / "tune.db").string());
    int ok = 0, wrong = 0;
    for (const Record &r : db.records()) {
        EXPECT_EQ(r.shape.named(), "M=1 N=200 K=256");
        const bool half = r.schedule.find(halfTile) != std::string::npos;
        EXPECT_EQ(r.status, half ? "wrong" : "ok") << r.schedule;
        (r.status == "ok" ? ok : wrong) += 1;
    }
    EXPECT_GE(ok, 2) << out;
    EXPECT_GE(wrong, 1) << out;
    const std::vector<Record> best = db.best();
    ASSERT_EQ(best.size(), 1u);

    void *h = nullptr;
    t.emitAndLoad("sr", &h, &out);
    ASSERT_NE(h, nullptr);
    using Accessor = const kf_kernel_def *(*)();
    using Create = kf_status (*)(const kf_kernel_def *, int64_t, int64_t, const char *, kf_sparse_rank **);
    using ForRows = const char *(*)(const kf_sparse_rank *, int64_t);
    using Destroy = void (*)(kf_sparse_rank *);
    auto accessor = reinterpret_cast<Accessor>(::dlsym(h, "kf_sr_o"));
    auto create = reinterpret_cast<Create>(::dlsym(h, "kf_sparse_rank_create"));
    auto forRows = reinterpret_cast<ForRows>(::dlsym(h, "kf_sparse_rank_variant_for_rows"));
    auto destroy = reinterpret_cast<Destroy>(::dlsym(h, "kf_sparse_rank_destroy"));
    ASSERT_TRUE(accessor && create && forRows && destroy);
    kf_sparse_rank *L = nullptr;
    ASSERT_EQ(create(accessor(), 200, 256, nullptr, &L), KF_OK);
    EXPECT_EQ(std::string(forRows(L, 1)), best[0].symbol);
    destroy(L);
    ::dlclose(h);
}

}  // namespace
}  // namespace kf::autotune

namespace kf::autotune {
namespace {

// A prefill candidate with a row tile (split m, legal only for M >= 32) builds
// into a library whose prefill variant is the candidate and whose bucket-any
// variant shares its packed layout.
TEST(TuneBuild, PrefillCandidatesKeepTheirRowTile) {
    const fs::path dir = fs::temp_directory_path() / ("kforge-tune-build-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "k.kf") << "kernel w4 : lowbit_linear {\n  weight int4 shape=[N, K] scale=f16 group=64\n"
                                   "  input int8\n  output f32\n}\n";
    std::ofstream(dir / "s.kf") << "schedule w4 for x86-avx2 bucket=prefill {\n  pack weight interleave=32\n"
                                   "  split m 4\n}\n";
    std::string out;
    ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "tune-build", (dir / "k.kf").string(), "w4", (dir / "s.kf").string(),
                                   "x86-avx2", (dir / "out").string(), (dir / "rt.o").string()},
                                  out),
              0)
        << out;
    EXPECT_NE(out.find("symbol kf_linear_f32_qd8_int4g64f16_4x32x64__x86_avx2"), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(dir / "out" / "lib" / "libkforge_cand.so"));
    fs::remove_all(dir);
}

}  // namespace
}  // namespace kf::autotune
