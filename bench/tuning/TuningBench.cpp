// Tuning with a team, measured (docs/tuning.md, "Tuning with a team"):
//
//   bookkeeping/<store>   what the database adds to one candidate: claim its key,
//                         insert its record, read the task's records back (what a
//                         tuner does per candidate), on a task of 500 records.
//                         Counter `vs_sqlite`: the PostgreSQL path's time over
//                         SQLite's, both measured in this run.
//   throughput/<store>/tuners:N
//                         N `kforge tune` processes on one database and a space of
//                         12 candidates (the prefetch distance of a small int8
//                         decode kernel): candidates measured per minute, and
//                         `vs_one_tuner`, the speedup over 1 tuner on the same
//                         store in this run. Measurements are serialised per
//                         machine (MachineLock: one worker times at a time, no
//                         build meanwhile), so more tuners overlap building with
//                         measuring and nothing else.
//
// Starts its own PostgreSQL server on loopback (test/servers/postgres.sh) and
// stops it at the end.
// GCC 12 warns of overlapping copies in std::string assignments it inlines at -O3
// (GCC bug 105329, a false positive).
#pragma GCC diagnostic ignored "-Wrestrict"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "autotune/Database.h"
#include "servers/TestServers.h"
#include "support/Spawn.h"

namespace {

namespace fs = std::filesystem;
using kf::autotune::ClaimResult;
using kf::autotune::Database;
using kf::autotune::Record;

kf::testing::PgServer &server() {
    static auto *s = new kf::testing::PgServer();
    return *s;
}

fs::path scratch() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("kforge-tuning-bench-" + std::to_string(::getpid()));
        fs::remove_all(d);
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

int databases = 0;
// A new, empty database of the store.
std::string freshDatabase(const std::string &store) {
    const std::string name = "bench" + std::to_string(databases++);
    if (store == "sqlite") return (scratch() / (name + ".db")).string();
    return server().freshDatabase(name);
}

Record record(const std::string &key) {
    Record r;
    r.key = key;
    r.kernel = "w4";
    r.family = "lowbit_linear";
    r.specHash = "spec";
    r.target = "x86-avx2";
    r.bucket = "decode";
    r.shape = kf::dsl::Shape{{{"M", 1}, {"N", 4096}, {"K", 11008}}};
    r.schedule = "schedule w4 for x86-avx2 {\n  prefetch weight 64\n}\n";
    r.symbol = "kf_w4";
    r.status = "ok";
    r.samples = {1e-3, 1.1e-3, 1.2e-3};
    r.seconds = 1e-3;
    r.rooflineRatio = 0.5;
    r.compiler = "c";
    r.machine = "m";
    return r;
}

// Seconds per candidate of the bookkeeping on `store` (n candidates after 500 records).
double bookkeeping(const std::string &store, int n) {
    Database db(freshDatabase(store));
    for (int i = 0; i < 500; ++i) db.insert(record("old" + std::to_string(i)));
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        const std::string key = "new" + std::to_string(i);
        if (db.claim(key, "bench", 30) != ClaimResult::Claimed) std::abort();
        db.insert(record(key));
        benchmark::DoNotOptimize(db.records("spec", "x86-avx2", "decode").size());
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / n;
}

void Bookkeeping(benchmark::State &state, const std::string &store) {
    double seconds = 0, sqlite = 0;
    for (auto _ : state) {
        seconds = bookkeeping(store, 200);
        sqlite = store == "sqlite" ? seconds : bookkeeping("sqlite", 200);
        state.SetIterationTime(seconds);
    }
    state.counters["ms_per_candidate"] = seconds * 1e3;
    state.counters["vs_sqlite"] = seconds / sqlite;
}

const char *kKernelFile = R"(
kernel w4 : lowbit_linear {
  weight int4 shape=[N, K] scale=f16 group=64
  input  int8
  output f32
}
schedule w4 for x86-avx2 {
  tune {
    prefetch weight in [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 128]
  }
}
)";
constexpr int kCandidates = 12;

// Wall seconds for n tuners to measure the space on a new database of the store.
double tuneTogether(const std::string &store, int n) {
    const fs::path file = scratch() / "w4.kf";
    std::ofstream(file) << kKernelFile;
    const std::string db = freshDatabase(store);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<pid_t> pids;
    for (int i = 0; i < n; ++i) {
        std::vector<std::string> args{KFORGE_EXE, "tune", file.string(), "--target", "x86-avx2", "--shapes", "96x320",
                                      "--buckets", "decode", "--stream-mib", "1", "--jobs", "1", "--threads", "1",
                                      "--db", db, "--json"};
        pids.push_back(kf::testing::spawnLogged(std::move(args), ""));
    }
    for (pid_t pid : pids) kf::testing::waitExit(pid);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (Database(db).records().size() != std::size_t{kCandidates}) return 0;
    return seconds;
}

std::map<std::string, double> oneTuner;  // store -> seconds of 1 tuner in this run

void Throughput(benchmark::State &state, const std::string &store) {
    const int tuners = static_cast<int>(state.range(0));
    double seconds = 0;
    for (auto _ : state) {
        seconds = tuneTogether(store, tuners);
        if (seconds <= 0) {
            state.SkipWithError("the tuners did not record every candidate");
            return;
        }
        state.SetIterationTime(seconds);
    }
    if (tuners == 1) oneTuner[store] = seconds;
    state.counters["candidates_per_min"] = kCandidates * 60.0 / seconds;
    if (oneTuner.count(store)) state.counters["vs_one_tuner"] = oneTuner[store] / seconds;
}

}  // namespace

BENCHMARK_CAPTURE(Bookkeeping, sqlite, std::string("sqlite"))->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Bookkeeping, postgres, std::string("postgres"))->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Throughput, sqlite, std::string("sqlite"))
    ->ArgName("tuners")->Arg(1)->Arg(2)->Arg(4)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(Throughput, postgres, std::string("postgres"))
    ->ArgName("tuners")->Arg(1)->Arg(2)->Arg(4)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    delete &server();
    fs::remove_all(scratch());
    return 0;
}
