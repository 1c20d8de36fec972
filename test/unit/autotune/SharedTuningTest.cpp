// Tuning beyond one process and one machine. The shared tuning database
// (autotune/Database.h, autotune/db/): the same records and claims on SQLite
// and on a real PostgreSQL server started on loopback by the test
// (TestServers.h); claims that hold across processes; the journal that keeps
// records while the server is away; `kforge tune` processes sharing one
// server: two and four at once, twenty kills, a server stopped mid-run. The
// SSH runner (autotune/SshRunner.h) against a real sshd on loopback: the
// same records as the local runner, host keys checked, a host that drops.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "servers/TestServers.h"
#include "support/Spawn.h"
#include "TestShapes.h"
#include "autotune/Database.h"
#include "autotune/SshRunner.h"
#include "autotune/db/Journal.h"
#include "codegen/emit/Toolchain.h"

namespace kf::autotune {
namespace {

namespace fs = std::filesystem;
using kf::testing::mnk;
using kf::testing::PgServer;
using kf::testing::SshServer;

// One server for the whole process, started by the first test that needs it
// (each test gets a database of its own) and stopped by the environment below.
PgServer *theServer = nullptr;
PgServer &server() {
    if (!theServer) theServer = new PgServer();
    return *theServer;
}

class ServerEnvironment : public ::testing::Environment {
public:
    void TearDown() override {
        delete theServer;
        theServer = nullptr;
    }
};
const auto *const kEnvironment = ::testing::AddGlobalTestEnvironment(new ServerEnvironment);

std::string testName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

// A scratch directory per test, also the journal directory.
struct Scratch {
    fs::path dir;
    Scratch() {
        std::string name = testName();
        std::replace(name.begin(), name.end(), '/', '_');
        dir = fs::temp_directory_path() / ("kforge-shared-" + std::to_string(::getpid()) + "-" + name);
        fs::remove_all(dir);
        fs::create_directories(dir / "journal");
        ::setenv("KFORGE_JOURNAL_DIR", (dir / "journal").c_str(), 1);
    }
    ~Scratch() { fs::remove_all(dir); }
};

// A database name PostgreSQL accepts, from the test's name.
std::string dbName() {
    std::string name = "t_";
    for (char c : testName()) name += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '_';
    return name.substr(0, 60);
}

Record record(const std::string &key, double seconds = 1e-3) {
    Record r;
    r.key = key;
    r.kernel = "w4";
    r.family = "lowbit_linear";
    r.specHash = "spec";
    r.target = "x86-avx2";
    r.bucket = "decode";
    r.shape = mnk(1, 4096, 11008);
    r.schedule = "schedule w4 for x86-avx2 {\n  split n 64\n}\n";
    r.symbol = "kf_w4_" + key;
    r.status = "ok";
    r.samples = {seconds * 1.1, seconds, 1.0 / 3.0};
    r.seconds = seconds;
    r.rooflineRatio = 0.1 + 1.0 / 7.0;
    r.bytes = 22544384;
    r.ops = 2.0 / 3.0 * 1e8;
    r.readBandwidth = 1e11 / 7.0;
    r.computePeak = 4.9406564584124654e-324;  // any double, the smallest denormal too
    r.compiler = "c";
    r.machine = "m";
    r.createdUnix = 1700000000;
    return r;
}

// ---- the same promises on both stores --------------------------------------

class BothStores : public ::testing::TestWithParam<std::string> {
protected:
    std::string location() {
        if (GetParam() == "sqlite") return (scratch_.dir / "tune.db").string();
        return server().freshDatabase(dbName());
    }
    Scratch scratch_;
};

TEST_P(BothStores, RecordsComeBackAsTheyWentIn) {
    Database db(location());
    Record a = record("a", 1.0 / 3.0), b = record("b");
    b.status = "crash";
    b.message = "SIGSEGV in 'x' \"quoted\" \\ ünïcode";
    b.samples.clear();
    b.seconds = b.rooflineRatio = 0;
    EXPECT_TRUE(db.insert(a));
    EXPECT_TRUE(db.insert(b));
    EXPECT_FALSE(db.insert(record("a", 9.0))) << "a key is never overwritten";
    EXPECT_EQ(db.find("a"), a);
    EXPECT_EQ(db.find("b"), b);
    EXPECT_EQ(db.find("zz"), std::nullopt);
    const std::vector<Record> all = db.records();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].key, "a") << "oldest first";
    EXPECT_EQ(db.records("spec", "x86-avx2", "decode").size(), 2u);
    EXPECT_EQ(db.records("other").size(), 0u);
    EXPECT_EQ(db.best().size(), 1u);
}

TEST_P(BothStores, AClaimIsHeldUntilItsRecordIsInOrItsLeaseEnds) {
    Database db(location());
    EXPECT_EQ(db.claim("k", "A", 60), ClaimResult::Claimed);
    EXPECT_EQ(db.claim("k", "B", 60), ClaimResult::HeldElsewhere);
    EXPECT_EQ(db.claim("k", "A", 60), ClaimResult::Claimed) << "claiming again renews";
    EXPECT_TRUE(db.insert(record("k")));
    EXPECT_EQ(db.claim("k", "B", 60), ClaimResult::Measured);
    EXPECT_EQ(db.claim("k", "A", 60), ClaimResult::Measured) << "a done claim never starts again";

    EXPECT_EQ(db.claim("short", "A", 0.3), ClaimResult::Claimed);
    EXPECT_EQ(db.claim("short", "B", 60), ClaimResult::HeldElsewhere);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(db.claim("short", "B", 60), ClaimResult::Claimed) << "a lapsed claim is free";
    EXPECT_EQ(db.claim("short", "A", 60), ClaimResult::HeldElsewhere);

    EXPECT_EQ(db.claim("renewed", "A", 0.4), ClaimResult::Claimed);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    EXPECT_EQ(db.renewClaims("A", 0.4), 1u);  // "short" is B's now, "k" is done
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    EXPECT_EQ(db.claim("renewed", "B", 60), ClaimResult::HeldElsewhere) << "renewed 250 ms ago for 400 ms";

    EXPECT_EQ(db.releaseClaims("B", "short"), 1u);
    EXPECT_EQ(db.claim("short", "C", 60), ClaimResult::Claimed) << "a released claim is free at once";
    EXPECT_EQ(db.releaseClaims("A"), 1u);
    EXPECT_EQ(db.claim("renewed", "C", 60), ClaimResult::Claimed);

}

TEST_P(BothStores, ProcessesRacingForKeysClaimEachOnce) {
    const std::string loc = location();
    { Database create(loc); }
    constexpr int kProcs = 4, kKeys = 120;
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int rc = 0;
            try {
                Database db(loc);
                std::vector<int> order(kKeys);
                for (int i = 0; i < kKeys; ++i) order[i] = i;
                std::shuffle(order.begin(), order.end(), std::mt19937(p + 1));
                std::ofstream log(scratch_.dir / ("claimed-" + std::to_string(p)));
                const std::string owner = "proc" + std::to_string(p);
                for (int i : order) {
                    const std::string key = "key" + std::to_string(i);
                    if (db.claim(key, owner, 60) != ClaimResult::Claimed) continue;
                    log << key << std::endl;
                    db.insert(record(key));
                }
            } catch (const std::exception &e) {
                std::fprintf(stderr, "child %d: %s\n", p, e.what());
                rc = 1;
            }
            ::_exit(rc);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int st = 0;
        ::waitpid(pid, &st, 0);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    std::map<std::string, int> claimed;
    for (int p = 0; p < kProcs; ++p) {
        std::ifstream in(scratch_.dir / ("claimed-" + std::to_string(p)));
        for (std::string k; std::getline(in, k);) ++claimed[k];
    }
    EXPECT_EQ(claimed.size(), std::size_t{kKeys});
    for (const auto &[k, n] : claimed) EXPECT_EQ(n, 1) << k << " claimed " << n << " times";
    EXPECT_EQ(Database(loc).records().size(), std::size_t{kKeys});
}

INSTANTIATE_TEST_SUITE_P(Store, BothStores, ::testing::Values("sqlite", "postgres"),
                         [](const auto &param) { return param.param; });

// ---- PostgreSQL ------------------------------------------------------------

TEST(Postgres, RecordsMoveBetweenSqliteAndPostgresUnchanged) {
    Scratch s;
    const std::string file = (s.dir / "tune.db").string();
    {
        Database lite(file);
        for (int i = 0; i < 5; ++i) lite.insert(record("r" + std::to_string(i), 1e-3 * (i + 1) / 3.0));
    }
    const std::string url = server().freshDatabase(dbName());
    std::string out;
    ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "db", "export", "--db", file, "-o", (s.dir / "x.jsonl").string()}, out),
              0)
        << out;
    ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "db", "import", (s.dir / "x.jsonl").string(), "--db", url}, out), 0)
        << out;
    EXPECT_NE(out.find("imported 5 new records"), std::string::npos) << out;
    EXPECT_EQ(Database(url).exportJson(), Database(file).exportJson());
    // And back into a new file.
    const std::string back = (s.dir / "back.db").string();
    ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "db", "export", "--db", url, "-o", (s.dir / "y.jsonl").string()}, out),
              0)
        << out;
    ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "db", "import", (s.dir / "y.jsonl").string(), "--db", back}, out), 0)
        << out;
    EXPECT_EQ(Database(back).exportJson(), Database(file).exportJson());
    ASSERT_EQ(codegen::runCommand({KFORGE_EXE, "db", "list", "--db", url}, out), 0) << out;
    EXPECT_NE(out.find("r4"), std::string::npos) << out;
}

// A server a kforge of schema 2 created: read as it is by a reader (the
// roofline's inputs 0, nothing altered); a writer adds the schema-3 columns,
// keeping every row and key.
TEST(Postgres, ASchemaTwoServerGetsTheRooflineColumns) {
    Scratch s;
    const std::string url = server().freshDatabase(dbName());
    // The tables as kforge at fc3297f created them, with one record.
    const std::string v2 = R"sql(
CREATE TABLE kforge_schema (version INTEGER NOT NULL);
INSERT INTO kforge_schema (version) VALUES (2);
CREATE TABLE kforge_records (
  id BIGSERIAL UNIQUE, key TEXT PRIMARY KEY, kernel TEXT NOT NULL, family TEXT NOT NULL, spec_hash TEXT NOT NULL,
  target TEXT NOT NULL, bucket TEXT NOT NULL, shape TEXT NOT NULL, schedule TEXT NOT NULL, symbol TEXT NOT NULL,
  status TEXT NOT NULL, message TEXT NOT NULL, samples TEXT NOT NULL, seconds DOUBLE PRECISION NOT NULL,
  roofline_ratio DOUBLE PRECISION NOT NULL, compiler TEXT NOT NULL, machine TEXT NOT NULL, created_unix BIGINT NOT NULL);
CREATE TABLE kforge_claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
  done BOOLEAN NOT NULL DEFAULT false);
INSERT INTO kforge_records (key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, status, message,
  samples, seconds, roofline_ratio, compiler, machine, created_unix)
  VALUES ('old', 'w4', 'lowbit_linear', 'spec', 'x86-avx2', 'decode', 'M=1 N=4096 K=11008', 's', 'kf_w4_old', 'ok',
          '', '[0.001]', 0.001, 0.5, 'c', 'm', 1700000000);
)sql";
    std::string out;
    ASSERT_EQ(codegen::runCommand({"/usr/bin/psql", url, "-qtAc", v2}, out), 0) << out;
    auto version = [&] {
        std::string v;
        codegen::runCommand({"/usr/bin/psql", url, "-qtAc", "SELECT max(version) FROM kforge_schema"}, v);
        return v.substr(0, v.find_first_of("\r\n"));
    };
    Record old = record("old");
    old.schedule = "s";
    old.samples = {0.001};
    old.seconds = 0.001;
    old.rooflineRatio = 0.5;
    old.bytes = old.ops = old.readBandwidth = old.computePeak = 0;
    {
        Database reader(url, Database::OpenMode::ReadOnly);
        EXPECT_EQ(reader.records(), std::vector<Record>{old});
        EXPECT_EQ(reader.find("old"), old);
    }
    EXPECT_EQ(version(), "2") << "a reader changes nothing";
    {
        Database writer(url);
        EXPECT_EQ(version(), "3");
        EXPECT_EQ(writer.find("old"), old);
        EXPECT_TRUE(writer.insert(record("new")));
        EXPECT_EQ(writer.find("new"), record("new"));
    }
    Database again(url, Database::OpenMode::ReadOnly);
    EXPECT_EQ(again.records(), (std::vector<Record>{old, record("new")}));
}

TEST(Postgres, WhatCannotBeOpenedSaysWhereAndWhy) {
    Scratch s;
    try {
        Database db("postgresql://kforge:secret@127.0.0.1:1/kforge");
        ADD_FAILURE() << "opened a server that is not there";
    } catch (const std::runtime_error &e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("cannot connect to tuning database postgresql://kforge:***@127.0.0.1:1/kforge"),
                  std::string::npos)
            << what;
        EXPECT_EQ(what.find("secret"), std::string::npos) << "the password is never printed: " << what;
    }
    const std::string empty = server().freshDatabase(dbName());
    try {
        Database db(empty, Database::OpenMode::ReadOnly);
        ADD_FAILURE() << "read a database that has no kforge tables";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("no kforge tuning database at"), std::string::npos) << e.what();
    }
    std::string out;
    EXPECT_EQ(codegen::runCommand({KFORGE_EXE, "db", "list", "--db", empty}, out), 1);
    EXPECT_NE(out.find("no kforge tuning database"), std::string::npos) << out;
}

TEST(Postgres, RecordsWaitInTheJournalWhileTheServerIsAwayAndArePushedWhenItIsBack) {
    Scratch s;
    const std::string url = server().freshDatabase(dbName());
    Database db(url);
    ASSERT_TRUE(db.insert(record("before")));
    server().stop();
    EXPECT_TRUE(db.insert(record("during1")));
    EXPECT_TRUE(db.insert(record("during2")));
    EXPECT_EQ(db.journaled(), 2u);
    EXPECT_EQ(db.find("during1"), record("during1")) << "what the journal holds is found";
    EXPECT_EQ(db.claim("other", "A", 60), ClaimResult::Claimed) << "no server: measure rather than wait";
    std::string notes;
    for (const std::string &n : db.takeNotes()) notes += n + "\n";
    EXPECT_NE(notes.find("lost the tuning database"), std::string::npos) << notes;
    EXPECT_NE(notes.find("kept in the journal"), std::string::npos) << notes;
    server().start();
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));  // the store retries every 2 s
    ASSERT_TRUE(db.insert(record("after")));
    notes.clear();
    for (const std::string &n : db.takeNotes()) notes += n + "\n";
    EXPECT_NE(notes.find("pushed 2 journaled records"), std::string::npos) << notes;
    EXPECT_EQ(db.journaled(), 0u);
    std::set<std::string> keys;
    for (const Record &r : Database(url).records()) keys.insert(r.key);
    EXPECT_EQ(keys, (std::set<std::string>{"before", "during1", "during2", "after"}));
}

TEST(Postgres, TheNextRunPushesWhatTheLastOneJournaled) {
    Scratch s;
    const std::string url = server().freshDatabase(dbName());
    {
        Database db(url);
        server().stop();
        db.insert(record("j1"));
        db.insert(record("j2"));
    }
    // A torn line (a kill mid-append) is skipped, the whole lines are kept.
    const std::string journal = db::journalPathFor(url);
    std::ofstream(journal, std::ios::app) << R"({"key":"torn","kern)";
    EXPECT_EQ(db::Journal(journal).size(), 2u);
    server().start();
    Database again(url);
    std::string notes;
    for (const std::string &n : again.takeNotes()) notes += n;
    EXPECT_NE(notes.find("pushed 2 journaled records"), std::string::npos) << notes;
    EXPECT_EQ(again.records().size(), 2u);
    EXPECT_EQ(again.journaled(), 0u);
}

// ---- tuners sharing a server -----------------------------------------------

// Six candidates: the prefetch distance of a small int8 decode kernel.
const char *kKernelFile = R"(
kernel w4 : lowbit_linear {
  weight int4 shape=[N, K] scale=f16 group=64
  input  int8
  output f32
}
schedule w4 for HOST {
  tune {
    prefetch weight in [0, 16, 32, 48, 64, 96]
  }
}
)";
constexpr std::size_t kCandidates = 6;

std::string hostTarget() {
    std::string out;
    codegen::runCommand({KFORGE_EXE, "targets"}, out);
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (line.find("[host]") != std::string::npos) return line.substr(0, line.find(' '));
    return "x86-avx2";
}

struct Tuners {
    Scratch scratch;
    std::string url;
    fs::path file;
    int started = 0;
    Tuners() : url(server().freshDatabase(dbName())), file(scratch.dir / "w4.kf") {
        std::string text = kKernelFile;
        text.replace(text.find("HOST"), 4, hostTarget());
        std::ofstream(file) << text;
    }
    // Starts one `kforge tune` on the shared database (or `db`), output to its own log.
    pid_t start(const std::vector<std::string> &extra = {}, const std::string &db = "") {
        const fs::path log = scratch.dir / ("tuner-" + std::to_string(started++) + ".log");
        std::vector<std::string> args{KFORGE_EXE, "tune",      file.string(), "--target", "host",  "--shapes",
                                      "96x320",   "--buckets", "decode",      "--stream-mib", "1", "--timeout",
                                      "20",       "--jobs",    "1",           "--threads", "1",    "--db",
                                      db.empty() ? url : db,   "--json",    "--claim-lease", "2"};
        if (std::find(extra.begin(), extra.end(), "--claim-lease") != extra.end())
            args.erase(args.end() - 2, args.end());  // the caller's lease instead
        args.insert(args.end(), extra.begin(), extra.end());
        return kf::testing::spawnLogged(std::move(args), log.string());
    }
    static int wait(pid_t pid) { return kf::testing::waitExit(pid); }
    // Every log's "candidate" events: record key -> how many tuners measured and recorded it.
    std::map<std::string, int> measured() const {
        std::map<std::string, int> out;
        for (int i = 0; i < started; ++i) {
            std::ifstream in(scratch.dir / ("tuner-" + std::to_string(i) + ".log"));
            for (std::string line; std::getline(in, line);)
                if (line.find("\"event\":\"candidate\"") != std::string::npos) {
                    const auto at = line.find("\"key\":\"") + 7;
                    ++out[line.substr(at, line.find('"', at) - at)];
                }
        }
        return out;
    }
    std::string logs() const {
        std::string all;
        for (int i = 0; i < started; ++i) {
            std::ifstream in(scratch.dir / ("tuner-" + std::to_string(i) + ".log"));
            all += "--- tuner " + std::to_string(i) + "\n" +
                   std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        }
        return all;
    }
    std::set<std::string> keys(const std::string &db = "") const {
        std::set<std::string> out;
        for (const Record &r : Database(db.empty() ? url : db).records()) out.insert(r.key);
        return out;
    }
};

// n tuners at once; every candidate measured by exactly one of them. The keys.
std::set<std::string> tuneTogether(int n) {
    Tuners t;
    std::vector<pid_t> pids;
    for (int i = 0; i < n; ++i) pids.push_back(t.start());
    for (pid_t pid : pids) EXPECT_EQ(Tuners::wait(pid), 0) << t.logs();
    const std::map<std::string, int> measured = t.measured();
    EXPECT_EQ(measured.size(), kCandidates) << t.logs();
    for (const auto &[key, times] : measured) EXPECT_EQ(times, 1) << key << " measured by " << times << " tuners";
    EXPECT_EQ(t.keys().size(), kCandidates);
    std::set<std::string> keys = t.keys();
    for (const Record &r : Database(t.url).records()) EXPECT_EQ(r.status, "ok") << r.message;
    return keys;
}

TEST(SharedTuning, TwoAndFourTunersMeasureEveryCandidateOnceAndAgreeWithOne) {
    const std::set<std::string> one = tuneTogether(1);
    EXPECT_EQ(tuneTogether(2), one);
    EXPECT_EQ(tuneTogether(4), one);
}

TEST(SharedTuning, TwentyKillsLoseNothingAndRepeatNothing) {
    Tuners t;
    std::mt19937 rng(7);
    std::vector<pid_t> running{t.start(), t.start()};
    for (int kill = 0; kill < 20; ++kill) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 1500)(rng)));
        const std::size_t victim = rng() % running.size();
        ::kill(running[victim], SIGKILL);
        Tuners::wait(running[victim]);
        running[victim] = t.start();
    }
    for (pid_t pid : running) EXPECT_EQ(Tuners::wait(pid), 0) << t.logs();
    // A last tuner after all the kills has nothing left to do.
    const pid_t last = t.start();
    EXPECT_EQ(Tuners::wait(last), 0);
    EXPECT_EQ(t.keys().size(), kCandidates) << t.logs();
    for (const auto &[key, times] : t.measured()) EXPECT_EQ(times, 1) << key << " recorded by " << times << " tuners";
}

TEST(SharedTuning, AServerStoppedMidRunGetsWhatWasMeasuredMeanwhile) {
    Tuners t;
    const pid_t pid = t.start();
    // Stop the server once the first record is in, for 4 s.
    bool first = false;
    for (int i = 0; i < 1200 && !first; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        first = !Database(t.url).records().empty();
    }
    ASSERT_TRUE(first) << t.logs();
    server().stop();
    std::this_thread::sleep_for(std::chrono::seconds(4));
    server().start();
    EXPECT_EQ(Tuners::wait(pid), 0) << t.logs();
    // The tuner pushed its journal when the server came back, or, if it ran
    // out of candidates first, tried once more on exit; if even that came too
    // early it said so, and the next run pushes it.
    const db::Journal journal(db::journalPathFor(t.url));
    if (journal.size() > 0) {
        EXPECT_NE(t.logs().find("still wait in the journal"), std::string::npos) << t.logs();
        EXPECT_EQ(Tuners::wait(t.start()), 0) << t.logs();
    }
    EXPECT_EQ(journal.size(), 0u) << t.logs();
    EXPECT_EQ(t.keys().size(), kCandidates) << t.logs();
    const std::string logs = t.logs();
    if (logs.find("kept in the journal") != std::string::npos) {
        EXPECT_NE(logs.find("journaled record"), std::string::npos) << "journaled but never pushed:\n" << logs;
    }
}

// A tuner that runs out of work while the server is away: it tries once more
// on exit, says how many records wait, and the next run pushes them.
TEST(SharedTuning, RecordsLeftInTheJournalAtExitArePushedByTheNextRun) {
    Tuners t;
    const pid_t pid = t.start();
    std::size_t before = 0;
    for (int i = 0; i < 1200 && before == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        before = Database(t.url).records().size();
    }
    ASSERT_GT(before, 0u) << t.logs();
    server().stop();
    const int rc = Tuners::wait(pid);
    server().start();
    EXPECT_EQ(rc, 0) << t.logs();
    const db::Journal journal(db::journalPathFor(t.url));
    if (before < kCandidates) {
        EXPECT_GT(journal.size(), 0u) << t.logs();
        EXPECT_NE(t.logs().find("still wait in the journal"), std::string::npos) << t.logs();
    }
    EXPECT_EQ(Tuners::wait(t.start()), 0) << t.logs();
    EXPECT_EQ(journal.size(), 0u) << t.logs();
    EXPECT_EQ(t.keys().size(), kCandidates) << t.logs();
    for (const auto &[key, times] : t.measured()) EXPECT_EQ(times, 1) << key << " recorded by " << times << " tuners";
}

// ---- the SSH runner --------------------------------------------------------

TEST(SshUrl, NamesAHostAndNothingElse) {
    const SshEndpoint e = parseSshUrl("ssh://kf_user@build-box.lan:2222");
    EXPECT_EQ(e.user, "kf_user");
    EXPECT_EQ(e.host, "build-box.lan");
    EXPECT_EQ(e.port, 2222);
    EXPECT_EQ(parseSshUrl("ssh://10.0.0.7").port, 0);
    EXPECT_EQ(parseSshUrl("ssh://[::1]:22").host, "::1");
    for (const char *bad : {"ssh://-oProxyCommand=touch_x", "ssh://u;rm@h", "ssh://h:99999", "ssh://h:2x",
                            "ssh://h$(id)", "ssh://", "http://h", "ssh://[::1"}) {
        EXPECT_THROW(parseSshUrl(bad), std::invalid_argument) << bad;
    }
    Tuners t;
    std::string out;
    EXPECT_EQ(codegen::runCommand({KFORGE_EXE, "tune", t.file.string(), "--runner", "ssh://-oProxyCommand=x"}, out), 1);
    EXPECT_NE(out.find("--runner: 'ssh://-oProxyCommand=x': the host"), std::string::npos) << out;
}

// The client side of the test's sshd, for the kforge processes started here.
struct SshClientEnv {
    explicit SshClientEnv(const SshServer &s) {
        ::setenv("KFORGE_SSH_IDENTITY", s.identity().c_str(), 1);
        ::setenv("KFORGE_SSH_KNOWN_HOSTS", s.knownHosts().c_str(), 1);
    }
    ~SshClientEnv() {
        ::unsetenv("KFORGE_SSH_IDENTITY");
        ::unsetenv("KFORGE_SSH_KNOWN_HOSTS");
    }
};

TEST(SshRunner, RecordsWhatTheLocalRunnerRecords) {
    Tuners t;
    SshServer sshd(testName());
    SshClientEnv client(sshd);
    const std::string local = (t.scratch.dir / "local.db").string(), remote = (t.scratch.dir / "remote.db").string();
    EXPECT_EQ(Tuners::wait(t.start({}, local)), 0) << t.logs();
    EXPECT_EQ(Tuners::wait(t.start({"--runner", sshd.url()}, remote)), 0) << t.logs();
    // Loopback: the same machine, so the same keys; every candidate ok on both.
    EXPECT_EQ(t.keys(remote), t.keys(local));
    EXPECT_EQ(t.keys(remote).size(), kCandidates);
    for (const Record &r : Database(remote).records()) {
        EXPECT_EQ(r.status, "ok") << r.message;
        EXPECT_GE(r.samples.size(), 3u);
        EXPECT_GT(r.rooflineRatio, 0.0);
    }
}

TEST(SshRunner, AHostWhoseKeyIsNotKnownIsRefused) {
    Tuners t;
    SshServer sshd(testName());
    SshClientEnv client(sshd);
    const fs::path empty = t.scratch.dir / "known_hosts";
    std::ofstream(empty).close();
    ::setenv("KFORGE_SSH_KNOWN_HOSTS", empty.c_str(), 1);
    const std::string db = (t.scratch.dir / "t.db").string();
    EXPECT_EQ(Tuners::wait(t.start({"--runner", sshd.url()}, db)), 1);
    const std::string logs = t.logs();
    EXPECT_NE(logs.find("cannot reach " + sshd.url()), std::string::npos) << logs;
    EXPECT_NE(logs.find("Host key verification failed"), std::string::npos) << logs;
    EXPECT_TRUE(Database(db).records().empty());
}

TEST(SshRunner, AHostThatDropsGivesItsClaimsBackToTheQueue) {
    Tuners t;
    SshServer sshd(testName());
    SshClientEnv client(sshd);
    // A long lease: only a claim given back lets the local tuner below finish soon.
    const pid_t pid = t.start({"--runner", sshd.url(), "--claim-lease", "600"});
    bool first = false;
    for (int i = 0; i < 1200 && !first; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        first = !Database(t.url).records().empty();
    }
    ASSERT_TRUE(first) << t.logs();
    sshd.stop();
    EXPECT_EQ(Tuners::wait(pid), 1) << t.logs();
    EXPECT_NE(t.logs().find("went back to the queue"), std::string::npos) << t.logs();
    const std::size_t measured = t.keys().size();
    EXPECT_LT(measured, kCandidates) << "the host dropped after the run ended";
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(Tuners::wait(t.start({"--claim-lease", "600"})), 0) << t.logs();
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 120);
    EXPECT_EQ(t.keys().size(), kCandidates) << t.logs();
}

}  // namespace
}  // namespace kf::autotune
