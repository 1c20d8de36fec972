// The tuning database against what it promises (autotune/Database.h): every
// field back as it went in, keys never overwritten, best() per spec / target /
// bucket / machine, records that survive a reopen and a SIGKILL mid-insert,
// export/import; the hashes; the fingerprints; `kforge db`.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "autotune/Database.h"
#include "autotune/DbCommand.h"
#include "autotune/Fingerprint.h"
#include "TestShapes.h"

namespace fs = std::filesystem;
using namespace kf;
using autotune::Database;
using kf::testing::mnk;
using autotune::Record;

namespace {

class DatabaseTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("kforge-dbtest-" + std::to_string(getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        fs::remove_all(dir_);
        if (!shmDir_.empty()) fs::remove_all(shmDir_);
    }
    std::string path(const std::string &name = "tune.db") const { return (dir_ / name).string(); }
    // A directory on tmpfs when there is one: no fsync cost, so a writer's time
    // goes to SQLite's own code and a kill lands anywhere in it.
    fs::path memoryDir() {
        std::error_code ec;
        if (shmDir_.empty() && fs::is_directory("/dev/shm") && fs::create_directories("/dev/shm" / dir_.filename(), ec))
            shmDir_ = "/dev/shm" / dir_.filename();
        return shmDir_.empty() ? dir_ : shmDir_;
    }

    fs::path dir_, shmDir_;
};

// A record whose every field depends on i (and the key on all of them).
Record makeRecord(int i, const std::string &machine = "machine A") {
    Record r;
    r.kernel = "down_proj";
    r.specHash = autotune::hashHex("spec");
    r.target = "x86-avx512";
    r.family = "lowbit_linear";
    r.bucket = "decode";
    r.shape = mnk(1, 4096, 11008);
    r.schedule = "schedule down_proj for x86-avx512 bucket=decode {\n  split n " + std::to_string(64 * (i + 1)) +
                 "\n  vectorize n 16\n}\n";
    r.symbol = "kf_linear_f32_f32_int4g128_1x" + std::to_string(64 * (i + 1)) + "x256__x86_avx512";
    r.status = "ok";
    // Doubles that a decimal round trip with too few digits would change.
    for (int s = 0; s <= i % 7; ++s) r.samples.push_back((1.0 + s) / 3.0 * 1e-5 + i * 1e-9);
    r.samples.push_back(4.9406564584124654e-324);  // the smallest denormal
    r.seconds = r.samples.front();
    r.rooflineRatio = 2.0 / 3.0;
    // The roofline's inputs (schema 3), doubles that need every digit too.
    r.bytes = 4096.0 * 11008 / 2 + i;
    r.ops = 2.0 * 4096 * 11008;
    r.readBandwidth = 1e11 / 3.0 + i;
    r.computePeak = 2e12 / 7.0;
    r.compiler = "kforge 0.1.0 | Halide 14.0.0 | g++ 12.2.0";
    r.machine = machine;
    r.createdUnix = 1700000000 + i;
    r.key = autotune::recordKey(r.specHash, r.schedule, r.target, r.shape, r.compiler, r.machine);
    return r;
}

dsl::KernelSpec int4Kernel(const std::string &name = "down_proj") {
    dsl::KernelSpec k;
    k.name = name;
    k.family = dsl::Family::LowbitLinear;
    dsl::LowbitLinearParams p;
    p.weight = {dsl::WeightKind::Int, 4};
    p.n.size = 4096;
    p.k.size = 11008;
    p.scaleType = dsl::ScalarType::F16;
    p.group = 128;
    k.params = p;
    k.loc = {"a.kf", 3, 1};
    return k;
}

int execSql(const std::string &path, const std::string &sql) {
    sqlite3 *db = nullptr;
    int rc = sqlite3_open(path.c_str(), &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return rc;
}

std::string integrityCheck(const std::string &path) {
    sqlite3 *db = nullptr;
    sqlite3_stmt *s = nullptr;
    std::string result = "cannot run";
    if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        result = reinterpret_cast<const char *>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return result;
}

}  // namespace

// ---------------------------------------------------------------------------
// Hashes.

TEST(HashHex, StableValueAndShape) {
    // Pinned: a change here silently invalidates every database in the field
    // (the value was checked against an independent Python implementation).
    EXPECT_EQ(autotune::hashHex("kforge"), "06419967984c88da422bccb3f7728080");
    EXPECT_EQ(autotune::hashHex(""), autotune::hashHex(""));
    const std::string h = autotune::hashHex("int4 g128");
    EXPECT_EQ(h.size(), 32u);
    EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_NE(autotune::hashHex("int4 g128"), autotune::hashHex("int4 g129"));
    EXPECT_NE(autotune::hashHex("ab"), autotune::hashHex("ba"));
    // Both 64-bit halves move when one byte does.
    const std::string a = autotune::hashHex("x"), b = autotune::hashHex("y");
    EXPECT_NE(a.substr(0, 16), b.substr(0, 16));
    EXPECT_NE(a.substr(16), b.substr(16));
}

TEST(SpecHash, SameComputationSameHashWhateverTheName) {
    dsl::KernelSpec a = int4Kernel("down_proj"), b = int4Kernel("layer7_down");
    b.loc = {"other.kf", 40, 5};
    std::get<dsl::LowbitLinearParams>(b.params).rows = "T";
    EXPECT_EQ(autotune::specHash(a), autotune::specHash(b));
    EXPECT_EQ(autotune::specHash(a).size(), 32u);
}

TEST(SpecHash, EveryParameterChangesIt) {
    const std::string base = autotune::specHash(int4Kernel());
    using P = dsl::LowbitLinearParams;
    const std::vector<std::pair<const char *, void (*)(P &)>> changes = {
        {"kind", [](P &p) { p.weight.kind = dsl::WeightKind::Uint; }},
        {"bits", [](P &p) { p.weight.bits = 3; }},
        {"base3", [](P &p) { p.weight.ternaryBase3 = true; }},
        {"codebook per channel", [](P &p) { p.weight.perChannelCodebook = true; }},
        {"group", [](P &p) { p.group = 64; }},
        {"per channel", [](P &p) { p.group = 0; }},
        {"scale type", [](P &p) { p.scaleType = dsl::ScalarType::BF16; }},
        {"zero point", [](P &p) { p.zeroPoint = true; }},
        {"bias", [](P &p) { p.bias = true; }},
        {"act kind", [](P &p) { p.input = dsl::ActKind::QInt8PerToken; }},
        {"output", [](P &p) { p.output = dsl::ScalarType::BF16; }},
        {"N", [](P &p) { p.n.size = 4097; }},
        {"K", [](P &p) { p.k.size = 4096; }},
        {"dynamic K", [](P &p) { p.k.size.reset(); }},
    };
    std::vector<std::string> seen{base};
    for (const auto &[what, change] : changes) {
        dsl::KernelSpec k = int4Kernel();
        change(std::get<P>(k.params));
        const std::string h = autotune::specHash(k);
        for (const auto &s : seen) EXPECT_NE(h, s) << what;
        seen.push_back(h);
    }
    dsl::KernelSpec other = int4Kernel();
    other.family = dsl::Family::Hadamard;
    other.params.emplace<dsl::HadamardParams>();
    EXPECT_NE(autotune::specHash(other), base);
}

TEST(RecordKey, EveryComponentChangesIt) {
    const auto key = [](const std::string &spec, const std::string &sched, const std::string &target, int64_t m,
                        int64_t n, int64_t k, const std::string &comp, const std::string &mach) {
        return autotune::recordKey(spec, sched, target, mnk(m, n, k), comp, mach);
    };
    const std::string base = key("s", "split n 64", "x86-avx2", 1, 4096, 4096, "c", "m");
    EXPECT_EQ(base, key("s", "split n 64", "x86-avx2", 1, 4096, 4096, "c", "m"));
    const std::vector<std::string> changed = {
        key("t", "split n 64", "x86-avx2", 1, 4096, 4096, "c", "m"),
        key("s", "split n 128", "x86-avx2", 1, 4096, 4096, "c", "m"),
        key("s", "split n 64", "x86-avx512", 1, 4096, 4096, "c", "m"),
        key("s", "split n 64", "x86-avx2", 2, 4096, 4096, "c", "m"),
        key("s", "split n 64", "x86-avx2", 1, 4097, 4096, "c", "m"),
        key("s", "split n 64", "x86-avx2", 1, 4096, 4095, "c", "m"),
        key("s", "split n 64", "x86-avx2", 1, 4096, 4096, "c2", "m"),
        key("s", "split n 64", "x86-avx2", 1, 4096, 4096, "c", "m2"),
        // Text moved from one part to the next is a different key.
        key("s", "split n 64", "x86-avx2", 1, 4096, 4096, "cm", ""),
        key("s", "split n 64", "x86-avx2", 14, 96, 4096, "c", "m"),
    };
    for (std::size_t i = 0; i < changed.size(); ++i) {
        EXPECT_NE(changed[i], base) << i;
        for (std::size_t j = 0; j < i; ++j) EXPECT_NE(changed[i], changed[j]) << i << " " << j;
    }
}

// ---------------------------------------------------------------------------
// The database.

TEST_F(DatabaseTest, InsertFindRoundTripsEveryField) {
    Database db(path());
    Record r = makeRecord(5);
    r.status = "wrong";
    r.message = "max |err| 0.5 at (0, 17)\nsecond line, 'quoted' \"too\"";
    EXPECT_FALSE(db.contains(r.key));
    EXPECT_FALSE(db.find(r.key).has_value());
    EXPECT_TRUE(db.insert(r));
    EXPECT_TRUE(db.contains(r.key));
    const auto back = db.find(r.key);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, r);  // every field, samples compared exactly
    ASSERT_EQ(back->samples.size(), r.samples.size());
    for (std::size_t i = 0; i < r.samples.size(); ++i) EXPECT_EQ(back->samples[i], r.samples[i]);
    EXPECT_EQ(db.records().size(), 1u);
}

// Schema 3's fields: a line without them (kforge before schema 3) reads as
// 0, and a record whose roofline inputs are not finite numbers >= 0 is refused.
TEST_F(DatabaseTest, RooflineInputsAbsentAreZeroAndMustBeFinite) {
    Record r = makeRecord(3);
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(autotune::toJsonLine(r));
    for (const char *f : {"bytes", "ops", "readBandwidth", "computePeak"}) j.erase(f);
    const Record old = autotune::recordFromJsonLine(j.dump());
    EXPECT_EQ(old.bytes, 0);
    EXPECT_EQ(old.ops, 0);
    EXPECT_EQ(old.readBandwidth, 0);
    EXPECT_EQ(old.computePeak, 0);
    r.bytes = r.ops = r.readBandwidth = r.computePeak = 0;
    EXPECT_EQ(old, r);

    Database db(path());
    for (double bad : {-1.0, std::numeric_limits<double>::infinity(), std::nan("")}) {
        Record b = makeRecord(4);
        b.computePeak = bad;
        EXPECT_THROW(db.insert(b), std::invalid_argument) << bad;
    }
    EXPECT_TRUE(db.records().empty());
}

TEST_F(DatabaseTest, CreatedTimeIsFilledInWhenZero) {
    Database db(path());
    Record r = makeRecord(0);
    r.createdUnix = 0;
    const int64_t before = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    ASSERT_TRUE(db.insert(r));
    EXPECT_GE(db.find(r.key)->createdUnix, before);
}

TEST_F(DatabaseTest, DuplicateKeyIsNotOverwritten) {
    Database db(path());
    const Record first = makeRecord(1);
    Record second = first;
    second.seconds = 1.0;
    second.samples = {1.0};
    second.status = "timeout";
    EXPECT_TRUE(db.insert(first));
    EXPECT_FALSE(db.insert(second));
    EXPECT_EQ(*db.find(first.key), first);
    EXPECT_EQ(db.records().size(), 1u);
}

TEST_F(DatabaseTest, RecordsFilterAndKeepInsertionOrder) {
    Database db(path());
    std::vector<Record> all;
    for (int i = 0; i < 6; ++i) {
        Record r = makeRecord(i);
        r.target = i % 2 ? "x86-avx2" : "x86-avx512";
        r.bucket = i % 3 ? "decode" : "prefill";
        r.specHash = i < 4 ? "spec-a" : "spec-b";
        r.key = "key" + std::to_string(5 - i);  // key order opposite to insertion order
        ASSERT_TRUE(db.insert(r));
        all.push_back(r);
    }
    EXPECT_EQ(db.records(), all);
    std::vector<std::string> keys;
    for (const auto &r : db.records("spec-a", "x86-avx2")) keys.push_back(r.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"key4", "key2"}));
    ASSERT_EQ(db.records("spec-a", "x86-avx2", "decode").size(), 1u);
    EXPECT_EQ(db.records("spec-a", "x86-avx2", "decode")[0].key, "key4");
    EXPECT_EQ(db.records("", "", "prefill").size(), 2u);
    EXPECT_EQ(db.records("spec-b").size(), 2u);
}

TEST_F(DatabaseTest, BestPicksFastestOkAtMostMeasuredShapePerMachine) {
    Database db(path());
    int serial = 0;
    auto add = [&](const std::string &machine, const std::string &status, int64_t m, double seconds,
                   const std::string &bucket = "decode") {
        Record r = makeRecord(serial++, machine);
        r.status = status;
        r.shape = mnk(m, 4096, 11008);
        r.bucket = bucket;
        r.seconds = seconds;
        r.key = "k" + std::to_string(serial);
        EXPECT_TRUE(db.insert(r));
        return r.key;
    };
    // Machine A, decode: M=1 has three ok records, M=4 two (one faster than all).
    add("A", "ok", 1, 3e-5);
    const std::string bestA = add("A", "ok", 1, 2e-5);
    add("A", "crash", 1, 0);          // not ok: never best
    add("A", "wrong", 1, 1e-9);       // not ok even though "faster"
    add("A", "ok", 1, 2.5e-5);
    add("A", "ok", 4, 1e-6);
    add("A", "ok", 4, 1e-6);
    add("A", "timeout", 4, 0);
    // Machine B, same spec/target/bucket: its own best.
    const std::string bestB = add("B", "ok", 1, 9e-5);
    add("B", "ok", 1, 9.5e-5);
    // Machine A, prefill: only failures -> no entry.
    add("A", "build_error", 128, 0, "prefill");

    const std::vector<Record> best = db.best();
    ASSERT_EQ(best.size(), 2u);
    std::map<std::string, std::string> byMachine;
    for (const auto &r : best) byMachine[r.machine + "/" + r.bucket] = r.key;
    EXPECT_EQ(byMachine["A/decode"], bestA);
    EXPECT_EQ(byMachine["B/decode"], bestB);

    // A different target of the same spec is a group of its own.
    Record r = makeRecord(99, "A");
    r.target = "x86-avx2";
    r.key = "avx2";
    ASSERT_TRUE(db.insert(r));
    EXPECT_EQ(db.best().size(), 3u);
}

TEST_F(DatabaseTest, RecordsPersistAcrossReopen) {
    std::vector<Record> written;
    {
        Database db(path());
        for (int i = 0; i < 5; ++i) {
            written.push_back(makeRecord(i));
            ASSERT_TRUE(db.insert(written.back()));
        }
    }
    Database db(path());
    EXPECT_EQ(db.records(), written);
    EXPECT_FALSE(db.insert(written[2]));
    EXPECT_EQ(db.path(), path());
}

TEST_F(DatabaseTest, TwoConnectionsShareOneFile) {
    Database a(path()), b(path());
    ASSERT_TRUE(a.insert(makeRecord(0)));
    EXPECT_TRUE(b.contains(makeRecord(0).key));
    EXPECT_FALSE(b.insert(makeRecord(0)));
    ASSERT_TRUE(b.insert(makeRecord(1)));
    EXPECT_EQ(a.records().size(), 2u);
}

// A writer killed with SIGKILL at a random point of an insert loop leaves a
// database that opens, passes SQLite's integrity check and holds only whole
// records; a rerun skips every key already there.
TEST_F(DatabaseTest, SigkillMidInsertLosesAtMostTheInFlightRecord) {
    const std::string file = (memoryDir() / "killed.db").string();
    // Rows of a few pages each, so that a kill can land inside one.
    auto bigRecord = [](int i) {
        Record r = makeRecord(i);
        r.schedule += std::string(6000 + i, static_cast<char>('a' + i % 26));
        r.samples.assign(200 + i % 50, 1e-5 + i * 1e-9);
        r.key = autotune::recordKey(r.specHash, r.schedule, r.target, r.shape, r.compiler, r.machine);
        return r;
    };
    std::size_t before = 0;
    for (int round = 0; round < 8; ++round) {
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            try {
                Database db(file);
                for (int i = 0;; ++i) db.insert(bigRecord(i));  // resumes: present keys are skipped
            } catch (...) {
            }
            _exit(3);  // only reached on an error
        }
        // A failed assertion or an exception below still stops the writer
        // (left alone, it would fill the disk).
        struct Reaper {
            pid_t pid;
            ~Reaper() {
                if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
            }
        } reaper{child};
        // Let it write a few records past the ones of the previous round, then kill it mid-loop.
        const std::string fifthNewKey = bigRecord(static_cast<int>(before) + 4).key;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1 + 3 * round));
            if (fs::exists(file) && Database(file).contains(fifthNewKey)) break;
        }
        ASSERT_EQ(kill(child, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        reaper.pid = 0;
        ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself, status " << status;

        ASSERT_EQ(integrityCheck(file), "ok");
        Database db(file);
        const std::vector<Record> records = db.records();
        ASSERT_GE(records.size(), before + 5) << "round " << round;
        // Whole records only, in the writer's order: record i is bigRecord(i), every field.
        for (std::size_t i = 0; i < records.size(); ++i) ASSERT_EQ(records[i], bigRecord(static_cast<int>(i))) << i;
        before = records.size();
    }
}

// Two processes opening a new tuning database at once (two tuners started
// together) both get it. Each read of one file below starts while the other
// process may be creating its schema; two bugs failed it: the schema and its
// version read apart made a half-created database look foreign, and the
// switch to WAL answered "database is locked" without waiting.
TEST_F(DatabaseTest, TwoProcessesOpeningANewDatabaseBothGetIt) {
    const fs::path dir = memoryDir();
    constexpr int kFiles = 150;
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        try {
            for (int i = 0; i < kFiles; ++i) Database db((dir / ("new" + std::to_string(i) + ".db")).string());
        } catch (const std::exception &e) {
            std::fprintf(stderr, "creator: %s\n", e.what());
            _exit(3);
        }
        _exit(0);
    }
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
        }
    } reaper{child};
    for (int i = 0; i < kFiles; ++i) {
        const std::string file = (dir / ("new" + std::to_string(i) + ".db")).string();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!fs::exists(file)) {
            int status = 0;
            ASSERT_EQ(waitpid(child, &status, WNOHANG), 0) << "the creator stopped before file " << i;
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "file " << i << " did not appear";
            std::this_thread::yield();
        }
        // Open as soon as the file appears, many times over the creator's transaction.
        for (int k = 0; k < 20; ++k) {
            try {
                Database db(file);
            } catch (const std::exception &e) {
                FAIL() << "file " << i << ", open " << k << ": " << e.what();
            }
        }
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    reaper.pid = 0;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the creator failed, status " << status;
}

TEST_F(DatabaseTest, ExportImportRoundTrip) {
    std::vector<Record> written;
    {
        Database a(path("a.db"));
        for (int i = 0; i < 4; ++i) {
            written.push_back(makeRecord(i, i < 2 ? "A" : "B"));
            written.back().message = i == 3 ? "tab\there, newline\nand unicode \xc3\xa9" : "";
            ASSERT_TRUE(a.insert(written.back()));
        }
    }
    const std::string text = Database(path("a.db")).exportJson();
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);

    Database b(path("b.db"));
    ASSERT_TRUE(b.insert(written[1]));  // already there: not counted
    EXPECT_EQ(b.importJson(text), 3u);
    EXPECT_EQ(b.importJson(text), 0u);
    std::vector<Record> got = b.records();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], written[1]);
    EXPECT_EQ((std::vector<Record>{got[1], got[2], got[3]}), (std::vector<Record>{written[0], written[2], written[3]}));
    EXPECT_EQ(b.importJson("\n  \n"), 0u);
}

TEST_F(DatabaseTest, MalformedImportLineImportsNothing) {
    const std::string good = autotune::toJsonLine(makeRecord(0)) + "\n";
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"{\"key\": \"x\"", "line 2: not JSON"},
        {"[1, 2]", "line 2: not a JSON object"},
        {autotune::toJsonLine(makeRecord(1)).replace(1, 5, "\"kex\""), "line 2: missing field 'key'"},
        {"{\"key\":\"k\",\"kernel\":1}", "line 2: field 'kernel' is not a string"},
        // Found by test/fuzz/FuzzDbRecord.cpp: a number beyond double escaped as nlohmann's out_of_range.
        {"{\"key\":\"k\",\"seconds\":1e999}", "line 2: not JSON"},
        // A roofline input may be absent (an older export), not of another type.
        {[] {
             auto j = nlohmann::ordered_json::parse(autotune::toJsonLine(makeRecord(1)));
             j["ops"] = "x";
             return j.dump();
         }(),
         "line 2: field 'ops' is not a number"},
    };
    for (const auto &[line, message] : bad) {
        Database db(path());
        try {
            db.importJson(good + line + "\n" + autotune::toJsonLine(makeRecord(2)) + "\n");
            ADD_FAILURE() << "accepted: " << line;
        } catch (const std::runtime_error &e) {
            EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
        }
        EXPECT_TRUE(db.records().empty()) << "the good line 1 was imported before the bad line 2";
        try {
            autotune::recordFromJsonLine(line);
            ADD_FAILURE() << "recordFromJsonLine accepted: " << line;
        } catch (const std::runtime_error &) {
        }
    }
}

TEST_F(DatabaseTest, RefusesNewerSchemaAndForeignDatabases) {
    { Database db(path()); }
    ASSERT_EQ(execSql(path(), "PRAGMA user_version = 99"), SQLITE_OK);
    try {
        Database db(path());
        ADD_FAILURE() << "opened a schema-99 database";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
    }
    ASSERT_EQ(execSql(path("other.db"), "CREATE TABLE t (x)"), SQLITE_OK);
    EXPECT_THROW(Database(path("other.db")), std::runtime_error);
    {
        std::ofstream junk(path("junk.db"));
        junk << std::string(4096, 'x');
    }
    EXPECT_THROW(Database(path("junk.db")), std::runtime_error);
    EXPECT_THROW(Database((dir_ / "no-such-dir" / "x.db").string()), std::runtime_error);
}

std::string fileBytes(const std::string &p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Looking at a file never changes it: a foreign SQLite file is refused before
// anything is written (no switch to WAL), an empty file is not turned into a
// database, and a read-only database is read in place, leaving no -wal/-shm.
TEST_F(DatabaseTest, ReadingLeavesForeignEmptyAndReadOnlyFilesAlone) {
    ASSERT_EQ(execSql(path("other.db"), "CREATE TABLE t (x)"), SQLITE_OK);
    const std::string foreign = fileBytes(path("other.db"));
    for (auto mode : {Database::OpenMode::ReadWrite, Database::OpenMode::ReadOnly}) {
        try {
            Database db(path("other.db"), mode);
            ADD_FAILURE() << "opened a foreign database";
        } catch (const std::runtime_error &e) {
            EXPECT_NE(std::string(e.what()).find("not a kforge tuning database (left unchanged)"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(fileBytes(path("other.db")), foreign);
    EXPECT_FALSE(fs::exists(path("other.db") + "-wal"));

    { std::ofstream empty(path("empty.db")); }
    try {
        Database db(path("empty.db"), Database::OpenMode::ReadOnly);
        ADD_FAILURE() << "read an empty file as a database";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("is empty, not a kforge tuning database"), std::string::npos) << e.what();
    }
    EXPECT_EQ(fs::file_size(path("empty.db")), 0u);

    // A database marked read-only in a read-only directory.
    const fs::path roDir = dir_ / "ro";
    fs::create_directories(roDir);
    const std::string ro = (roDir / "tune.db").string();
    {
        Database db(ro);
        ASSERT_TRUE(db.insert(makeRecord(0)));
        ASSERT_TRUE(db.insert(makeRecord(1)));
    }
    fs::permissions(ro, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    fs::permissions(roDir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                               fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
    const std::string before = fileBytes(ro);
    {
        Database db(ro, Database::OpenMode::ReadOnly);
        EXPECT_EQ(db.records().size(), 2u);
        EXPECT_EQ(db.best().size(), 1u);
    }
    EXPECT_EQ(fileBytes(ro), before);
    EXPECT_FALSE(fs::exists(ro + "-wal"));
    EXPECT_FALSE(fs::exists(ro + "-shm"));
    fs::permissions(roDir, fs::perms::owner_all);
}

TEST(DefaultDatabasePath, EnvironmentOverrides) {
    const char *saved = std::getenv("KFORGE_TUNE_DB");
    const std::string keep = saved ? saved : "";
    unsetenv("KFORGE_TUNE_DB");
    EXPECT_EQ(autotune::defaultDatabasePath(), "kforge-tune.db");
    setenv("KFORGE_TUNE_DB", "/tmp/elsewhere.db", 1);
    EXPECT_EQ(autotune::defaultDatabasePath(), "/tmp/elsewhere.db");
    setenv("KFORGE_TUNE_DB", "", 1);
    EXPECT_EQ(autotune::defaultDatabasePath(), "kforge-tune.db");
    if (saved)
        setenv("KFORGE_TUNE_DB", keep.c_str(), 1);
    else
        unsetenv("KFORGE_TUNE_DB");
}

// ---------------------------------------------------------------------------
// Fingerprints.

TEST(Fingerprint, DescribesThisMachineAndCompilers) {
    const std::string machine = autotune::machineFingerprint();
    EXPECT_NE(machine.find(" cpus"), std::string::npos) << machine;
    EXPECT_EQ(machine, autotune::machineFingerprint());
    // A measurement on fewer threads than CPUs is another machine; all of them is this one.
    EXPECT_EQ(autotune::machineFingerprint(0), machine);
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    EXPECT_EQ(autotune::machineFingerprint(static_cast<int>(cpus)), machine);
    if (cpus > 1) {
        const std::string one = autotune::machineFingerprint(1);
        EXPECT_EQ(one, machine + " | 1 thread");
    }
    const std::string compiler = autotune::compilerFingerprint();
    EXPECT_EQ(compiler.rfind("kforge 0.1.0 | Halide 14.", 0), 0u) << compiler;
    EXPECT_EQ(compiler, autotune::compilerFingerprint());
    EXPECT_EQ(std::count(compiler.begin(), compiler.end(), '\n'), 0) << compiler;
    EXPECT_GT(autotune::lastLevelCacheBytes(), int64_t(64) << 10);
}

// ---------------------------------------------------------------------------
// `kforge db`, driven in process.

namespace {

struct CliResult {
    int status = -1;
    std::string out, err;
};

CliResult runDb(std::vector<std::string> args) {
    CLI::App app{"kforge"};
    autotune::addDbCommand(app);
    args.insert(args.begin(), {"kforge", "db"});
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    CliResult r;
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError &e) {
        r.status = app.exit(e);
    }
    r.out = ::testing::internal::GetCapturedStdout();
    r.err = ::testing::internal::GetCapturedStderr();
    return r;
}

}  // namespace

TEST_F(DatabaseTest, DbCommandListBestShowExportImport) {
    // A missing database is an error, and looking does not create one.
    for (const char *sub : {"list", "best", "export"}) {
        const CliResult r = runDb({sub, "--db", path()});
        EXPECT_EQ(r.status, 1) << sub;
        EXPECT_NE(r.err.find("no tuning database at " + path()), std::string::npos) << r.err;
    }
    EXPECT_EQ(runDb({"show", "abc", "--db", path()}).status, 1);
    EXPECT_FALSE(fs::exists(path()));

    std::vector<Record> written;
    {
        Database db(path());
        for (int i = 0; i < 3; ++i) {
            written.push_back(makeRecord(i));
            if (i == 2) written.back().target = "x86-avx2";
            written.back().key = "ab" + std::to_string(i) + written.back().key.substr(3);
            ASSERT_TRUE(db.insert(written.back()));
        }
    }
    CliResult r = runDb({"list", "--db", path()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
    EXPECT_NE(r.out.find("down_proj"), std::string::npos);
    EXPECT_NE(r.out.find("1x4096x11008"), std::string::npos);
    EXPECT_NE(r.out.find("split n 64; vectorize n 16"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("0.67 roofline"), std::string::npos) << r.out;

    r = runDb({"list", "--db", path(), "--target", "x86-avx2", "--json"});
    EXPECT_EQ(r.out, autotune::toJsonLine(written[2]) + "\n");

    r = runDb({"best", "--db", path(), "--json"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;  // two targets

    r = runDb({"show", "ab1", "--db", path()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("key        " + written[1].key), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("inputs     2.25444e+07 bytes / 33.33 GB/s, 9.01775e+07 ops / 285.7 GOP/s"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("  split n 128"), std::string::npos) << r.out;
    r = runDb({"show", "ab", "--db", path()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("matches 3 records"), std::string::npos) << r.err;

    const std::string exported = path("export.jsonl");
    r = runDb({"export", "--db", path(), "-o", exported});
    EXPECT_EQ(r.status, 0) << r.err;
    r = runDb({"import", exported, "--db", path("copy.db")});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("imported 3 new records"), std::string::npos) << r.out;
    EXPECT_EQ(Database(path("copy.db")).records(), written);
    r = runDb({"import", exported, "--db", path("copy.db")});
    EXPECT_NE(r.out.find("imported 0 new records"), std::string::npos) << r.out;

    {
        std::ofstream bad(path("bad.jsonl"));
        bad << autotune::toJsonLine(makeRecord(7)) << "\n{oops\n";
    }
    r = runDb({"import", path("bad.jsonl"), "--db", path("copy.db")});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
    EXPECT_EQ(Database(path("copy.db")).records().size(), 3u);
    r = runDb({"import", path("bad.jsonl"), "--db", path("new.db")});
    EXPECT_EQ(r.status, 1);
    EXPECT_FALSE(fs::exists(path("new.db"))) << "a failed import left an empty database";
}
