// \file
// The tuning database on SQLite (Store.h): one table `records`, one row per
// measured candidate, samples as a JSON array of doubles, and the `claims`
// table. WAL journal with synchronous=FULL and single-statement transactions
// (a record and the end of its claim are one transaction), so a process killed
// at any point leaves every committed row whole; a busy timeout lets several
// `kforge tune` processes share one file.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "autotune/db/Store.h"

namespace kf::autotune::db {

namespace {

double nowUnix() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr int kBusyTimeoutMs = 30000;

// Schema 3. Schema 2 had no bytes, ops, read_bandwidth, compute_peak (the
// roofline's inputs): kMigrateFromV2 adds them, 0 in every older row. Schema 1
// had `m, n, k INTEGER NOT NULL` where `shape` is and no `family` (every
// record was lowbit_linear): kMigrateFromV1 / kCopyFromV1 convert it.
constexpr const char *kSchema = R"sql(
CREATE TABLE records (
  key TEXT PRIMARY KEY NOT NULL,
  kernel TEXT NOT NULL,
  family TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  target TEXT NOT NULL,
  bucket TEXT NOT NULL,
  shape TEXT NOT NULL,
  schedule TEXT NOT NULL,
  symbol TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL,
  samples TEXT NOT NULL,
  seconds REAL NOT NULL,
  roofline_ratio REAL NOT NULL,
  compiler TEXT NOT NULL,
  machine TEXT NOT NULL,
  created_unix INTEGER NOT NULL,
  bytes REAL NOT NULL DEFAULT 0,
  ops REAL NOT NULL DEFAULT 0,
  read_bandwidth REAL NOT NULL DEFAULT 0,
  compute_peak REAL NOT NULL DEFAULT 0
);
CREATE INDEX records_task ON records (spec_hash, target, bucket);
)sql";

// Claims (Store.h): not part of the record schema, so added to a v2 file of
// an older kforge as it is opened; a kforge that does not know them ignores them.
constexpr const char *kClaims = R"sql(
CREATE TABLE IF NOT EXISTS claims (
  key TEXT PRIMARY KEY NOT NULL,
  owner TEXT NOT NULL,
  expires_at REAL NOT NULL,
  done INTEGER NOT NULL DEFAULT 0
);
)sql";

constexpr const char *kColumns =
    "key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, status, message, samples, seconds, "
    "roofline_ratio, compiler, machine, created_unix, bytes, ops, read_bandwidth, compute_peak";
// The same from a schema-2 table (a file read in place, not migrated): the
// roofline's inputs unknown.
constexpr const char *kColumnsV2 =
    "key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, status, message, samples, seconds, "
    "roofline_ratio, compiler, machine, created_unix, 0.0, 0.0, 0.0, 0.0";

// Schema 2 -> 3, inside the caller's write transaction: the same rows and
// keys (recordKey does not hash the roofline's inputs), those unknown (0).
constexpr const char *kMigrateFromV2 = R"sql(
ALTER TABLE records ADD COLUMN bytes REAL NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN ops REAL NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN read_bandwidth REAL NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN compute_peak REAL NOT NULL DEFAULT 0;
)sql";

// Schema 1 -> 2, inside the caller's write transaction: the same rows, m, n, k
// as the named shape of a lowbit_linear kernel (its dimensions M, N, K), keys
// unchanged (recordKey gives a lowbit_linear shape the key schema 1 did).
constexpr const char *kMigrateFromV1 = R"sql(
ALTER TABLE records RENAME TO records_v1;
DROP INDEX IF EXISTS records_task;
)sql";
constexpr const char *kCopyFromV1 = R"sql(
INSERT INTO records (key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, status, message,
                     samples, seconds, roofline_ratio, compiler, machine, created_unix)
  SELECT key, kernel, 'lowbit_linear', spec_hash, target, bucket, 'M=' || m || ' N=' || n || ' K=' || k, schedule,
         symbol, status, message, samples, seconds, roofline_ratio, compiler, machine, created_unix
  FROM records_v1 ORDER BY rowid;
DROP TABLE records_v1;
)sql";

[[noreturn]] void fail(sqlite3 *db, const std::string &path, const std::string &what) {
    throw std::runtime_error("tuning database " + path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// A prepared statement; throws on any SQLite error.
class Stmt {
public:
    Stmt(sqlite3 *db, const std::string &path, const char *sql) : db_(db), path_(path) {
        if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail(db_, path_, "cannot prepare a query");
    }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt &) = delete;
    Stmt &operator=(const Stmt &) = delete;

    Stmt &bind(int i, const std::string &v) {
        check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    Stmt &bind(int i, int64_t v) {
        check(sqlite3_bind_int64(s_, i, v));
        return *this;
    }
    Stmt &bind(int i, double v) {
        check(sqlite3_bind_double(s_, i, v));
        return *this;
    }
    // True while there is a row to read.
    bool step() {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(db_, path_, "query failed");
    }
    std::string text(int col) const {
        const auto *p = reinterpret_cast<const char *>(sqlite3_column_text(s_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
    }
    int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
    double real(int col) const { return sqlite3_column_double(s_, col); }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) fail(db_, path_, "cannot bind a value");
    }
    sqlite3 *db_;
    const std::string &path_;
    sqlite3_stmt *s_ = nullptr;
};

void exec(sqlite3 *db, const std::string &path, const char *sql) {
    char *err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        throw std::runtime_error("tuning database " + path + ": " + msg);
    }
}

// Puts the file in WAL mode (which the file keeps). Switching a new file
// needs it to itself, and SQLite answers BUSY at once, without the busy
// handler, while another connection has it open in a transaction: two tuners
// creating one database at the same moment. So the switch is retried until
// the busy timeout.
void useWal(sqlite3 *db, const std::string &path) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (int attempt = 0;; ++attempt) {
        char *err = nullptr;
        const int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, &err);
        const std::string msg = rc == SQLITE_OK ? "" : err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        if (rc == SQLITE_OK) return;
        if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
            throw std::runtime_error("tuning database " + path + ": " + msg);
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 << std::min(attempt, 6), 50)));
    }
}

int userVersion(sqlite3 *db, const std::string &path) {
    Stmt s(db, path, "PRAGMA user_version");
    return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

int64_t countRows(sqlite3 *db, const std::string &path, const char *table) {
    Stmt s(db, path, (std::string("SELECT count(*) FROM ") + table).c_str());
    return s.step() ? s.integer(0) : 0;
}

// A consistent copy of the open database (WAL content included) at `to`,
// which must not exist (VACUUM INTO; outside a transaction).
void backupTo(sqlite3 *db, const std::string &path, const std::string &to) {
    Stmt s(db, path, "VACUUM INTO ?1");
    s.bind(1, to);
    try {
        s.step();
    } catch (const std::runtime_error &e) {
        std::remove(to.c_str());
        throw std::runtime_error("tuning database " + path + ": cannot write the backup " + to + ": " + e.what());
    }
}

// The first of <path>.v<version>.bak, <path>.v<version>.bak.1, ... that does not exist.
std::string freeBackupPath(const std::string &path, int version) {
    const std::string base = path + ".v" + std::to_string(version) + ".bak";
    std::string p = base;
    for (int i = 1; std::FILE *f = std::fopen(p.c_str(), "rb"); ++i) {
        std::fclose(f);
        p = base + "." + std::to_string(i);
    }
    return p;
}

// Creates the schema on a new file, migrates an older one (after a backup);
// refuses a newer schema or a foreign database. Returns what it migrated, in
// words ("" when nothing).
std::string ensureSchema(sqlite3 *db, const std::string &path) {
    auto checkNotNewer = [&](int v) {
        if (v > kDatabaseSchemaVersion)
            throw std::runtime_error("tuning database " + path + " has schema version " + std::to_string(v) +
                                     ", newer than this kforge reads (" + std::to_string(kDatabaseSchemaVersion) +
                                     "): use the kforge that wrote it, or another --db");
    };
    const int seen = userVersion(db, path);
    checkNotNewer(seen);
    if (seen == kDatabaseSchemaVersion) return "";
    // The backup first (a copy cannot be made inside the write transaction);
    // removed again if another process migrates the file meanwhile.
    std::string backup;
    if (seen >= 1) {
        backup = freeBackupPath(path, seen);
        backupTo(db, path, backup);
    }
    // Another process may create or migrate the schema at the same time: decide under the write lock.
    exec(db, path, "BEGIN IMMEDIATE");
    std::string note;
    try {
        const int v = userVersion(db, path);
        checkNotNewer(v);
        if (v == 0) {
            Stmt tables(db, path, "SELECT count(*) FROM sqlite_master");
            if (tables.step() && tables.integer(0) != 0)
                throw std::runtime_error(path + " is an SQLite database but not a kforge tuning database");
            exec(db, path, kSchema);
        } else if (v < kDatabaseSchemaVersion) {
            const int64_t before = countRows(db, path, "records");
            if (v == 1) {  // straight to the current schema: its new columns take their defaults
                exec(db, path, kMigrateFromV1);
                exec(db, path, kSchema);
                exec(db, path, kCopyFromV1);
            } else {
                exec(db, path, kMigrateFromV2);
            }
            const int64_t after = countRows(db, path, "records");
            const std::string steps = "schema " + std::to_string(v) + " to " + std::to_string(kDatabaseSchemaVersion);
            if (after != before)
                throw std::runtime_error("tuning database " + path + ": migrating " + steps + " kept " +
                                         std::to_string(after) + " of " + std::to_string(before) +
                                         " records; nothing changed (the file is as it was)");
            note = "migrated tuning database " + path + " from " + steps + " (" + std::to_string(after) +
                   " records kept); the schema-" + std::to_string(v) + " file is saved as " + backup;
        }
        if (v != kDatabaseSchemaVersion)
            exec(db, path, ("PRAGMA user_version = " + std::to_string(kDatabaseSchemaVersion)).c_str());
        exec(db, path, "COMMIT");
        // Nothing migrated here (created, or another process migrated it meanwhile): no backup to keep.
        if (note.empty() && !backup.empty()) std::remove(backup.c_str());
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return note;
}

dsl::Shape shapeFrom(const std::string &text, const std::string &path, const std::string &key) {
    std::optional<dsl::Shape> shape = dsl::Shape::parseNamed(text);
    if (!shape)
        throw std::runtime_error("tuning database " + path + ": record " + key + " has a malformed shape '" + text + "'");
    return *shape;
}

Record readRow(const Stmt &s, const std::string &path) {
    Record r;
    r.key = s.text(0);
    r.kernel = s.text(1);
    r.family = s.text(2);
    r.specHash = s.text(3);
    r.target = s.text(4);
    r.bucket = s.text(5);
    r.shape = shapeFrom(s.text(6), path, r.key);
    r.schedule = s.text(7);
    r.symbol = s.text(8);
    r.status = s.text(9);
    r.message = s.text(10);
    r.samples = nlohmann::json::parse(s.text(11)).get<std::vector<double>>();
    r.seconds = s.real(12);
    r.rooflineRatio = s.real(13);
    r.compiler = s.text(14);
    r.machine = s.text(15);
    r.createdUnix = s.integer(16);
    r.bytes = s.real(17);
    r.ops = s.real(18);
    r.readBandwidth = s.real(19);
    r.computePeak = s.real(20);
    return r;
}

// Inserts unless the key is present; true when a row was written.
bool insertRow(sqlite3 *db, const std::string &path, const Record &r) {
    checkRecord(r, path);
    const int64_t created = createdOrNow(r);
    Stmt s(db, path,
           "INSERT OR IGNORE INTO records (key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, "
           "status, message, samples, seconds, roofline_ratio, compiler, machine, created_unix, bytes, ops, "
           "read_bandwidth, compute_peak) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) "
           "RETURNING 1");
    s.bind(1, r.key).bind(2, r.kernel).bind(3, r.family).bind(4, r.specHash).bind(5, r.target).bind(6, r.bucket);
    s.bind(7, r.shape.named()).bind(8, r.schedule).bind(9, r.symbol).bind(10, r.status);
    s.bind(11, r.message).bind(12, nlohmann::json(r.samples).dump()).bind(13, r.seconds).bind(14, r.rooflineRatio);
    s.bind(15, r.compiler).bind(16, r.machine).bind(17, created);
    s.bind(18, r.bytes).bind(19, r.ops).bind(20, r.readBandwidth).bind(21, r.computePeak);
    // A row comes back only when one was written (unlike sqlite3_changes(),
    // right when other threads share the connection).
    const bool added = s.step();
    while (s.step()) {
    }
    // The claim it ends stays, marked done, so that no claim on the key can
    // start again (records that were never claimed have no row).
    Stmt done(db, path, "UPDATE claims SET done = 1 WHERE key = ?1");
    done.bind(1, r.key);
    done.step();
    return added;
}

// A file that is nothing yet: missing, or empty (what `touch` or a failed
// earlier create leaves).
bool isBlank(const std::string &path) {
    std::error_code ec;
    return !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
}

// Refuses, before anything is written, a file that is an SQLite database of
// something else (schema 0 with tables of its own). The version and the
// tables are read in one statement, so from one snapshot: read apart, a
// kforge process creating the schema between the two reads made a new
// tuning database look foreign.
void checkIsOurs(sqlite3 *db, const std::string &path) {
    Stmt s(db, path,
           "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)");
    if (s.step() && s.integer(0) == 0 && s.integer(1) != 0)
        throw std::runtime_error(path + " is an SQLite database but not a kforge tuning database (left unchanged)");
}



class SqliteStore final : public Store {
public:
    SqliteStore(const std::string &path, bool reading);
    ~SqliteStore() override { sqlite3_close(db_); }

    std::optional<Record> find(const std::string &key) override {
        Stmt s(db_, path_, (std::string("SELECT ") + columns_ + " FROM records WHERE key = ?1").c_str());
        s.bind(1, key);
        if (!s.step()) return std::nullopt;
        return readRow(s, path_);
    }

    bool insert(const Record &record) override {
        exec(db_, path_, "BEGIN IMMEDIATE");
        try {
            const bool added = insertRow(db_, path_, record);
            exec(db_, path_, "COMMIT");
            return added;
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    std::size_t insertAll(const std::vector<Record> &records) override {
        exec(db_, path_, "BEGIN IMMEDIATE");
        std::size_t inserted = 0;
        try {
            for (const Record &r : records) inserted += insertRow(db_, path_, r) ? 1 : 0;
            exec(db_, path_, "COMMIT");
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
        return inserted;
    }

    std::vector<Record> records(const std::string &specHash, const std::string &target,
                                const std::string &bucket) override {
        Stmt s(db_, path_,
               (std::string("SELECT ") + columns_ +
                " FROM records WHERE (?1 = '' OR spec_hash = ?1) AND (?2 = '' OR target = ?2) AND"
                " (?3 = '' OR bucket = ?3) ORDER BY rowid")
                   .c_str());
        s.bind(1, specHash).bind(2, target).bind(3, bucket);
        std::vector<Record> out;
        while (s.step()) out.push_back(readRow(s, path_));
        return out;
    }

    ClaimResult claim(const std::string &key, const std::string &owner, double lease) override {
        const double now = nowUnix();
        // One statement, so one write under SQLite's lock: a new claim unless
        // the record exists; an existing one taken over only when it is not
        // done and expired (or already the caller's).
        Stmt s(db_, path_,
               "INSERT INTO claims (key, owner, expires_at, done) "
               "SELECT ?1, ?2, ?3, 0 WHERE NOT EXISTS (SELECT 1 FROM records WHERE key = ?1) "
               "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
               "WHERE NOT claims.done AND (claims.expires_at < ?4 OR claims.owner = excluded.owner) RETURNING 1");
        s.bind(1, key).bind(2, owner).bind(3, now + lease).bind(4, now);
        const bool claimed = s.step();
        while (s.step()) {
        }
        if (claimed) return ClaimResult::Claimed;
        Stmt r(db_, path_, "SELECT 1 FROM records WHERE key = ?1");
        r.bind(1, key);
        return r.step() ? ClaimResult::Measured : ClaimResult::HeldElsewhere;
    }

    std::size_t renewClaims(const std::string &owner, double lease) override {
        Stmt s(db_, path_, "UPDATE claims SET expires_at = ?2 WHERE owner = ?1 AND NOT done RETURNING 1");
        s.bind(1, owner).bind(2, nowUnix() + lease);
        std::size_t n = 0;
        while (s.step()) ++n;
        return n;
    }

    std::size_t releaseClaims(const std::string &owner, const std::string &key) override {
        Stmt s(db_, path_, "DELETE FROM claims WHERE owner = ?1 AND NOT done AND (?2 = '' OR key = ?2) RETURNING 1");
        s.bind(1, owner).bind(2, key);
        std::size_t n = 0;
        while (s.step()) ++n;
        return n;
    }

    std::string migrationNote() const override { return migrationNote_; }

private:
    sqlite3 *db_ = nullptr;
    std::string path_;
    std::string migrationNote_;
    const char *columns_ = kColumns;  // kColumnsV2 for a schema-2 file read in place
};

SqliteStore::SqliteStore(const std::string &path, bool reading) : path_(path) {
    // Reading: nothing is created, nothing written. A file marked read-only
    // (0444) or one this process may not write (or in a read-only directory)
    // is opened immutable: SQLite then needs no -wal / -shm files beside it,
    // and leaves none (a -wal left by a killed writer is not read then).
    if (reading && isBlank(path))
        throw std::runtime_error(std::filesystem::exists(path) ? path + " is empty, not a kforge tuning database"
                                                               : "no tuning database at " + path);
    // Not writable: marked read-only (no write bit, which counts even for
    // root), or this process may not write it or its directory.
    const std::filesystem::path absolute = std::filesystem::absolute(path);
    struct stat st {};
    const bool writable = stat(path.c_str(), &st) == 0 && (st.st_mode & 0222) != 0 &&
                          access(path.c_str(), W_OK) == 0 && access(absolute.parent_path().c_str(), W_OK) == 0;
    std::string uri = "file:";
    for (char c : absolute.string()) {
        // Percent-encode what a URI path cannot hold as is.
        if (c == '%' || c == '?' || c == '#' || static_cast<unsigned char>(c) < 0x21) {
            char esc[4];
            std::snprintf(esc, sizeof esc, "%%%02X", static_cast<unsigned char>(c));
            uri += esc;
        } else {
            uri += c;
        }
    }
    int flags = SQLITE_OPEN_URI;
    if (reading && !writable) {
        uri += "?mode=ro&immutable=1";
        flags |= SQLITE_OPEN_READONLY;
    } else {
        flags |= SQLITE_OPEN_READWRITE | (reading ? 0 : SQLITE_OPEN_CREATE);
    }
    const int rc = sqlite3_open_v2(uri.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error("cannot open tuning database " + path + ": " + msg);
    }
    try {
        sqlite3_busy_timeout(db_, kBusyTimeoutMs);
        checkIsOurs(db_, path_);
        if (reading && !writable) {
            const int v = userVersion(db_, path_);
            // Schema 2 reads as it is: its records lack only the roofline's inputs.
            if (v == 2) {
                columns_ = kColumnsV2;
                return;
            }
            if (v != kDatabaseSchemaVersion)
                throw std::runtime_error(
                    "tuning database " + path + " has schema version " + std::to_string(v) + " and cannot be " +
                    (v < kDatabaseSchemaVersion ? "migrated: it is read-only here (copy it somewhere writable)"
                                                : "read by this kforge (schema " +
                                                      std::to_string(kDatabaseSchemaVersion) + ")"));
            return;
        }
        useWal(db_, path_);
        exec(db_, path_, "PRAGMA synchronous=FULL");
        migrationNote_ = ensureSchema(db_, path_);
        exec(db_, path_, kClaims);
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

}  // namespace

std::unique_ptr<Store> openSqlite(const std::string &path, bool readOnly) {
    return std::make_unique<SqliteStore>(path, readOnly);
}

}  // namespace kf::autotune::db
