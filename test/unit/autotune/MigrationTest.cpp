// A tuning database written by kforge before named shapes (schema 1, columns
// m, n, k; Inputs/v1.db: Inputs/v1_kernels.kf tuned by kforge at 590d686)
// opens under schema 3: backed up first, migrated in place, every record and
// key kept, `db best` choosing what the old kforge chose, and `emit --db`
// putting the same schedules into the library. Schema-1 export lines
// (Inputs/v1.jsonl) import. Likewise a database of schema 2, before records
// kept the roofline's inputs (Inputs/v2.db: test/unit/tools/Inputs/
// tune-records.jsonl imported by kforge at fc3297f; Inputs/v2.jsonl its
// export): migrated with every record and key, those inputs 0; read in place
// when it cannot be written; its export lines import.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autotune/Database.h"
#include "autotune/TunedModule.h"
#include "dsl/Load.h"
#include "targets/Target.h"

namespace kf::autotune {
namespace {

namespace fs = std::filesystem;

const fs::path kInputs = fs::path(KFORGE_SOURCE_DIR) / "test/unit/autotune/Inputs";

// What kforge at 590d686 said of Inputs/v1.db: `kforge db best` and the
// `tuned:` lines of `kforge emit v1_kernels.kf --target x86-avx512 --db v1.db`.
const std::set<std::string> kOldBest = {"62610b25d8019051ab2e007658a108e4", "e66188c7ec744b159afd2de4ea39baca"};
const std::vector<std::string> kOldTuned = {
    "w4 x86-avx512 decode <- kf_linear_f32_qd8_int4g64f16_1x64x64__x86_avx512__s2b3ac804 (0.64 of roofline)",
    "w4 x86-avx512 prefill <- kf_linear_f32_qd8_int4g64f16_4x64x64__x86_avx512__sd900ae0e (0.44 of roofline)",
};

struct Sqlite {
    sqlite3 *db = nullptr;
    explicit Sqlite(const fs::path &p) { sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READONLY, nullptr); }
    ~Sqlite() { sqlite3_close(db); }
    std::vector<std::string> column(const char *sql) {
        std::vector<std::string> out;
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) return out;
        while (sqlite3_step(s) == SQLITE_ROW) out.emplace_back(reinterpret_cast<const char *>(sqlite3_column_text(s, 0)));
        sqlite3_finalize(s);
        return out;
    }
};

std::string fileText(const fs::path &p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class Migration : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("kforge-migration-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        fs::copy_file(kInputs / "v1.db", db());
        fs::copy_file(kInputs / "v2.db", db2());
    }
    void TearDown() override {
        fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
        fs::remove_all(dir_);
    }
    fs::path db2() const { return dir_ / "tune2.db"; }
    fs::path db() const { return dir_ / "tune.db"; }
    fs::path dir_;
};

TEST_F(Migration, V1DatabaseOpensWithEveryRecord) {
    const std::vector<std::string> keys = Sqlite(db()).column("SELECT key FROM records ORDER BY rowid");
    ASSERT_EQ(keys.size(), 6u);
    ASSERT_EQ(Sqlite(db()).column("PRAGMA user_version"), std::vector<std::string>{"1"});

    Database migrated(db().string());
    EXPECT_NE(migrated.migrationNote().find("from schema 1 to 3 (6 records kept)"), std::string::npos)
        << migrated.migrationNote();
    EXPECT_NE(migrated.migrationNote().find("tune.db.v1.bak"), std::string::npos);
    // The backup is the schema-1 file, whole.
    const fs::path backup = dir_ / "tune.db.v1.bak";
    ASSERT_TRUE(fs::exists(backup));
    EXPECT_EQ(Sqlite(backup).column("PRAGMA user_version"), std::vector<std::string>{"1"});
    EXPECT_EQ(Sqlite(backup).column("SELECT key FROM records ORDER BY rowid"), keys);

    std::vector<std::string> after;
    for (const Record &r : migrated.records()) {
        after.push_back(r.key);
        EXPECT_EQ(r.family, "lowbit_linear");
        EXPECT_EQ(r.shape.named(), (r.bucket == "decode" ? "M=1" : "M=128") + std::string(" N=256 K=512"));
        // The key is what schema 3 computes for the record: `kforge tune` resumes from it.
        EXPECT_EQ(recordKey(r.specHash, r.schedule, r.target, r.shape, r.compiler, r.machine), r.key);
    }
    EXPECT_EQ(after, keys);

    std::set<std::string> best;
    for (const Record &r : migrated.best()) best.insert(r.key);
    EXPECT_EQ(best, kOldBest);
}

TEST_F(Migration, EmitTakesTheSameRecords) {
    Database migrated(db().string());
    dsl::LoadResult file = dsl::loadFile((kInputs / "v1_kernels.kf").string(), {});
    ASSERT_TRUE(file.ok());
    dsl::Module module = *file.module;
    const TuningApplied applied = applyTuning(module, {targets::find("x86-avx512")}, migrated, "this machine");
    EXPECT_EQ(applied.tuned, kOldTuned);
    EXPECT_TRUE(applied.untuned.empty());
}

TEST_F(Migration, OpeningAgainChangesNothing) {
    { Database once(db().string()); }
    Database twice(db().string());
    EXPECT_EQ(twice.migrationNote(), "");
    EXPECT_EQ(twice.records().size(), 6u);
    EXPECT_EQ(Sqlite(db()).column("PRAGMA user_version"), std::vector<std::string>{"3"});
    EXPECT_FALSE(fs::exists(dir_ / "tune.db.v1.bak.1"));
}

TEST_F(Migration, SchemaOneExportLinesImport) {
    std::ifstream in(kInputs / "v1.jsonl");
    std::stringstream text;
    text << in.rdbuf();
    Database fresh((dir_ / "fresh.db").string());
    EXPECT_EQ(fresh.importJson(text.str()), 6u);
    Database migrated(db().string());
    EXPECT_EQ(fresh.records(), migrated.records());
}

// ---------------------------------------------------------------------------
// Schema 2 -> 3.

TEST_F(Migration, V2DatabaseOpensWithEveryRecordAndKey) {
    const std::vector<std::string> keys = Sqlite(db2()).column("SELECT key FROM records ORDER BY rowid");
    ASSERT_EQ(keys.size(), 36u);
    ASSERT_EQ(Sqlite(db2()).column("PRAGMA user_version"), std::vector<std::string>{"2"});
    // What the schema-2 kforge read from it, as JSON lines.
    const std::string before = fileText(kInputs / "v2.jsonl");

    Database migrated(db2().string());
    EXPECT_NE(migrated.migrationNote().find("from schema 2 to 3 (36 records kept)"), std::string::npos)
        << migrated.migrationNote();
    EXPECT_NE(migrated.migrationNote().find("the schema-2 file is saved as " + (dir_ / "tune2.db.v2.bak").string()),
              std::string::npos)
        << migrated.migrationNote();
    const fs::path backup = dir_ / "tune2.db.v2.bak";
    ASSERT_TRUE(fs::exists(backup));
    EXPECT_EQ(Sqlite(backup).column("PRAGMA user_version"), std::vector<std::string>{"2"});
    EXPECT_EQ(Sqlite(backup).column("SELECT key FROM records ORDER BY rowid"), keys);
    EXPECT_EQ(Sqlite(db2()).column("PRAGMA user_version"), std::vector<std::string>{"3"});

    std::vector<std::string> after;
    std::vector<Record> records = migrated.records();
    for (const Record &r : records) {
        after.push_back(r.key);
        EXPECT_EQ(r.bytes, 0);
        EXPECT_EQ(r.ops, 0);
        EXPECT_EQ(r.readBandwidth, 0);
        EXPECT_EQ(r.computePeak, 0);
    }
    EXPECT_EQ(after, keys);
    // Every other field as schema 2 had it.
    Database fromLines((dir_ / "lines.db").string());
    EXPECT_EQ(fromLines.importJson(before), 36u);
    EXPECT_EQ(fromLines.records(), records);

    // A record with the roofline's inputs goes in beside them.
    Record fresh = records.front();
    fresh.schedule += " # again";
    fresh.key = recordKey(fresh.specHash, fresh.schedule, fresh.target, fresh.shape, fresh.compiler, fresh.machine);
    fresh.bytes = 22544384;
    fresh.ops = 90177536;
    fresh.readBandwidth = 2.5e10;
    fresh.computePeak = 1.5e12;
    EXPECT_TRUE(migrated.insert(fresh));
    EXPECT_EQ(migrated.find(fresh.key), fresh);
}

TEST_F(Migration, V2OpeningAgainChangesNothing) {
    { Database once(db2().string()); }
    Database twice(db2().string());
    EXPECT_EQ(twice.migrationNote(), "");
    EXPECT_EQ(twice.records().size(), 36u);
    EXPECT_FALSE(fs::exists(dir_ / "tune2.db.v2.bak.1"));
}

// A schema-2 file that cannot be written (marked read-only, in a read-only
// directory) is read as it is: no migration, no backup, the file unchanged.
TEST_F(Migration, V2ReadOnlyIsReadInPlace) {
    const std::string bytes = fileText(db2());
    fs::permissions(db2(), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
    std::vector<Record> records;
    {
        Database reader(db2().string(), Database::OpenMode::ReadOnly);
        EXPECT_EQ(reader.migrationNote(), "");
        records = reader.records();
        ASSERT_EQ(records.size(), 36u);
        EXPECT_TRUE(reader.find(records.back().key).has_value());
    }
    fs::permissions(dir_, fs::perms::owner_all);
    EXPECT_EQ(fileText(db2()), bytes);
    EXPECT_FALSE(fs::exists(dir_ / "tune2.db.v2.bak"));
    Database fromLines((dir_ / "lines.db").string());
    EXPECT_EQ(fromLines.importJson(fileText(kInputs / "v2.jsonl")), 36u);
    EXPECT_EQ(fromLines.records(), records);
}

}  // namespace
}  // namespace kf::autotune
