// \file
// The tuning database (Database.h) on SQLite: one table `records`, one row per
// measured candidate, samples as a JSON array of doubles. WAL journal with
// synchronous=FULL and single-statement transactions, so a process killed at
// any point leaves every committed row whole; a busy timeout lets several
// `kforge tune` processes share one file.
#include "autotune/Database.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "dsl/SpecJson.h"

namespace kf::autotune {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kBusyTimeoutMs = 30000;

// Schema 2. Schema 1 had `m, n, k INTEGER NOT NULL` where `shape` is and no
// `family` (every record was lowbit_linear): migrateFromV1 converts it.
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
  created_unix INTEGER NOT NULL
);
CREATE INDEX records_task ON records (spec_hash, target, bucket);
)sql";

constexpr const char *kColumns =
    "key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, status, message, samples, seconds, "
    "roofline_ratio, compiler, machine, created_unix";

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

// The first of <path>.v1.bak, <path>.v1.bak.1, ... that does not exist.
std::string freeBackupPath(const std::string &path) {
    const std::string base = path + ".v1.bak";
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
    if (seen == 1) {
        backup = freeBackupPath(path);
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
        } else if (v == 1) {
            const int64_t before = countRows(db, path, "records");
            exec(db, path, kMigrateFromV1);
            exec(db, path, kSchema);
            exec(db, path, kCopyFromV1);
            const int64_t after = countRows(db, path, "records");
            if (after != before)
                throw std::runtime_error("tuning database " + path + ": migrating schema 1 to 2 kept " +
                                         std::to_string(after) + " of " + std::to_string(before) +
                                         " records; nothing changed (the file is as it was)");
            note = "migrated tuning database " + path + " from schema 1 to 2 (" + std::to_string(after) +
                   " records kept); the schema-1 file is saved as " + backup;
        }
        if (v != kDatabaseSchemaVersion)
            exec(db, path, ("PRAGMA user_version = " + std::to_string(kDatabaseSchemaVersion)).c_str());
        exec(db, path, "COMMIT");
        if (v != 1 && !backup.empty()) std::remove(backup.c_str());
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
    return r;
}

// Inserts unless the key is present; true when a row was written.
bool insertRow(sqlite3 *db, const std::string &path, const Record &r) {
    if (r.key.empty()) throw std::invalid_argument("tuning database " + path + ": a record needs a key");
    for (double v : r.samples)
        if (!std::isfinite(v))
            throw std::invalid_argument("tuning database " + path + ": record " + r.key + " has a non-finite sample");
    const int64_t created = r.createdUnix != 0 ? r.createdUnix
                                               : std::chrono::duration_cast<std::chrono::seconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count();
    if (r.shape.dims.empty()) throw std::invalid_argument("tuning database " + path + ": record " + r.key + " has no shape");
    Stmt s(db, path,
           "INSERT OR IGNORE INTO records (key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, "
           "status, message, samples, seconds, roofline_ratio, compiler, machine, created_unix) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) RETURNING 1");
    s.bind(1, r.key).bind(2, r.kernel).bind(3, r.family).bind(4, r.specHash).bind(5, r.target).bind(6, r.bucket);
    s.bind(7, r.shape.named()).bind(8, r.schedule).bind(9, r.symbol).bind(10, r.status);
    s.bind(11, r.message).bind(12, nlohmann::json(r.samples).dump()).bind(13, r.seconds).bind(14, r.rooflineRatio);
    s.bind(15, r.compiler).bind(16, r.machine).bind(17, created);
    // A row comes back only when one was written (unlike sqlite3_changes(),
    // right when other threads share the connection).
    const bool added = s.step();
    while (s.step()) {
    }
    return added;
}

// ---------------------------------------------------------------------------
// JSON lines.

const Json &field(const Json &j, const char *name) {
    const auto it = j.find(name);
    if (it == j.end()) throw std::runtime_error(std::string("missing field '") + name + "'");
    return *it;
}

std::string textField(const Json &j, const char *name) {
    const Json &f = field(j, name);
    if (!f.is_string()) throw std::runtime_error(std::string("field '") + name + "' is not a string");
    return f.get<std::string>();
}

int64_t intField(const Json &j, const char *name) {
    const Json &f = field(j, name);
    if (!f.is_number_integer()) throw std::runtime_error(std::string("field '") + name + "' is not an integer");
    return f.get<int64_t>();
}

double numberField(const Json &j, const char *name) {
    const Json &f = field(j, name);
    if (!f.is_number()) throw std::runtime_error(std::string("field '") + name + "' is not a number");
    return f.get<double>();
}

}  // namespace

Record recordFromJsonLine(const std::string &line) {
    Json j;
    try {
        j = Json::parse(line);
    } catch (const Json::exception &e) {  // parse_error, and out_of_range for a number like 1e999
        throw std::runtime_error(std::string("not JSON: ") + e.what());
    }
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    Record r;
    r.key = textField(j, "key");
    if (r.key.empty()) throw std::runtime_error("field 'key' is empty");
    r.kernel = textField(j, "kernel");
    r.specHash = textField(j, "specHash");
    r.target = textField(j, "target");
    r.bucket = textField(j, "bucket");
    if (j.contains("shape")) {
        r.family = textField(j, "family");
        const std::string shape = textField(j, "shape");
        std::optional<dsl::Shape> parsed = dsl::Shape::parseNamed(shape);
        if (!parsed) throw std::runtime_error("field 'shape' is not NAME=<size> ...: '" + shape + "'");
        r.shape = *parsed;
    } else {
        // A line of schema 1 (kforge db export before named shapes): lowbit_linear, m n k.
        r.family = "lowbit_linear";
        for (const auto &[field, dim] : {std::pair{"m", "M"}, std::pair{"n", "N"}, std::pair{"k", "K"}}) {
            const int64_t size = intField(j, field);
            if (size < 1) throw std::runtime_error(std::string("field '") + field + "' is not positive");
            r.shape.dims.emplace_back(dim, size);
        }
    }
    r.schedule = textField(j, "schedule");
    r.symbol = textField(j, "symbol");
    r.status = textField(j, "status");
    r.message = textField(j, "message");
    const Json &samples = field(j, "samples");
    if (!samples.is_array()) throw std::runtime_error("field 'samples' is not an array");
    for (const Json &v : samples) {
        if (!v.is_number()) throw std::runtime_error("field 'samples' holds something other than a number");
        r.samples.push_back(v.get<double>());
    }
    r.seconds = numberField(j, "seconds");
    r.rooflineRatio = numberField(j, "rooflineRatio");
    r.compiler = textField(j, "compiler");
    r.machine = textField(j, "machine");
    r.createdUnix = intField(j, "createdUnix");
    return r;
}

namespace {

uint64_t fmix64(uint64_t h) {  // MurmurHash3's finaliser: every input bit reaches every output bit
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

}  // namespace

// ---------------------------------------------------------------------------

namespace {

// A file that is nothing yet: missing, or empty (what `touch` or a failed
// earlier create leaves).
bool isBlank(const std::string &path) {
    std::error_code ec;
    return !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
}

// Refuses, before anything is written, a file that is an SQLite database of
// something else (schema 0 with tables of its own).
void checkIsOurs(sqlite3 *db, const std::string &path) {
    if (userVersion(db, path) != 0) return;
    Stmt tables(db, path, "SELECT count(*) FROM sqlite_master");
    if (tables.step() && tables.integer(0) != 0)
        throw std::runtime_error(path + " is an SQLite database but not a kforge tuning database (left unchanged)");
}

}  // namespace

Database::Database(const std::string &path, OpenMode mode) : path_(path) {
    // Reading: nothing is created, nothing written. A file marked read-only
    // (0444) or one this process may not write (or in a read-only directory)
    // is opened immutable: SQLite then needs no -wal / -shm files beside it,
    // and leaves none (a -wal left by a killed writer is not read then).
    const bool reading = mode == OpenMode::ReadOnly;
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
            if (v != kDatabaseSchemaVersion)
                throw std::runtime_error(
                    "tuning database " + path + " has schema version " + std::to_string(v) + " and cannot be " +
                    (v < kDatabaseSchemaVersion ? "migrated: it is read-only here (copy it somewhere writable)"
                                                : "read by this kforge (schema " +
                                                      std::to_string(kDatabaseSchemaVersion) + ")"));
            return;
        }
        exec(db_, path_, "PRAGMA journal_mode=WAL");
        exec(db_, path_, "PRAGMA synchronous=FULL");
        migrationNote_ = ensureSchema(db_, path_);
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

Database::~Database() { sqlite3_close(db_); }

bool Database::contains(const std::string &key) const {
    Stmt s(db_, path_, "SELECT 1 FROM records WHERE key = ?1");
    s.bind(1, key);
    return s.step();
}

std::optional<Record> Database::find(const std::string &key) const {
    Stmt s(db_, path_, (std::string("SELECT ") + kColumns + " FROM records WHERE key = ?1").c_str());
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    return readRow(s, path_);
}

bool Database::insert(const Record &record) { return insertRow(db_, path_, record); }

std::vector<Record> Database::records(const std::string &specHash, const std::string &target,
                                      const std::string &bucket) const {
    Stmt s(db_, path_,
           (std::string("SELECT ") + kColumns +
            " FROM records WHERE (?1 = '' OR spec_hash = ?1) AND (?2 = '' OR target = ?2) AND"
            " (?3 = '' OR bucket = ?3) ORDER BY rowid")
               .c_str());
    s.bind(1, specHash).bind(2, target).bind(3, bucket);
    std::vector<Record> out;
    while (s.step()) out.push_back(readRow(s, path_));
    return out;
}

namespace {

// ranked() over the ok records of one group, oldest first.
std::vector<Record> rankGroup(std::vector<Record> recs) {
    if (recs.empty()) return recs;
    // The shape measured most often (the first such, oldest first, on a tie) ...
    std::vector<std::pair<dsl::Shape, int>> counts;
    for (const Record &r : recs) {
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto &c) { return c.first == r.shape; });
        if (it == counts.end())
            counts.emplace_back(r.shape, 1);
        else
            ++it->second;
    }
    const dsl::Shape shape =
        std::max_element(counts.begin(), counts.end(), [](const auto &a, const auto &b) { return a.second < b.second; })
            ->first;
    // ... and at it, the fastest first (the oldest on a tie: a stable sort of oldest-first records).
    std::erase_if(recs, [&](const Record &r) { return r.shape != shape; });
    std::stable_sort(recs.begin(), recs.end(), [](const Record &a, const Record &b) { return a.seconds < b.seconds; });
    return recs;
}

}  // namespace

std::vector<Record> Database::ranked(const std::string &specHash, const std::string &target,
                                     const std::string &bucket, const std::string &machine) const {
    std::vector<Record> recs;
    for (Record &r : records(specHash, target, bucket))
        if (r.status == "ok" && r.machine == machine) recs.push_back(std::move(r));
    return rankGroup(std::move(recs));
}

std::vector<Record> Database::best() const {
    using Group = std::tuple<std::string, std::string, std::string, std::string>;
    std::map<Group, std::vector<Record>> groups;
    for (Record &r : records())
        if (r.status == "ok") groups[{r.specHash, r.target, r.bucket, r.machine}].push_back(std::move(r));
    std::vector<Record> out;
    for (auto &[group, recs] : groups) out.push_back(rankGroup(std::move(recs)).front());
    return out;
}

std::string Database::exportJson() const {
    std::string out;
    for (const Record &r : records()) out += toJsonLine(r) + "\n";
    return out;
}

std::size_t Database::importJson(const std::string &text) {
    std::vector<Record> parsed;
    std::istringstream in(text);
    int lineNo = 0;
    for (std::string line; std::getline(in, line);) {
        ++lineNo;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            parsed.push_back(recordFromJsonLine(line));
        } catch (const std::exception &e) {
            throw std::runtime_error("line " + std::to_string(lineNo) + ": " + e.what() + " (nothing imported)");
        }
    }
    exec(db_, path_, "BEGIN IMMEDIATE");
    std::size_t inserted = 0;
    try {
        for (const Record &r : parsed) inserted += insertRow(db_, path_, r) ? 1 : 0;
        exec(db_, path_, "COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return inserted;
}

// ---------------------------------------------------------------------------

std::string defaultDatabasePath() {
    const char *env = std::getenv("KFORGE_TUNE_DB");
    return env && *env ? env : "kforge-tune.db";
}

std::string toJsonLine(const Record &r) {
    Json j;
    j["key"] = r.key;
    j["kernel"] = r.kernel;
    j["specHash"] = r.specHash;
    j["target"] = r.target;
    j["bucket"] = r.bucket;
    j["family"] = r.family;
    j["shape"] = r.shape.named();
    j["schedule"] = r.schedule;
    j["symbol"] = r.symbol;
    j["status"] = r.status;
    j["message"] = r.message;
    j["samples"] = r.samples;
    j["seconds"] = r.seconds;
    j["rooflineRatio"] = r.rooflineRatio;
    j["compiler"] = r.compiler;
    j["machine"] = r.machine;
    j["createdUnix"] = r.createdUnix;
    return j.dump();
}

std::string hashHex(const std::string &text) {
    // Two unrelated 64-bit hashes: FNV-1a, and a multiply-rotate over the same
    // bytes; each finished with fmix64 so that short inputs spread too.
    uint64_t a = 0xcbf29ce484222325ULL;
    uint64_t b = 0x9e3779b97f4a7c15ULL;
    for (unsigned char c : text) {
        a = (a ^ c) * 0x100000001b3ULL;
        b = std::rotl((b ^ c) * 0xbf58476d1ce4e5b9ULL, 29);
    }
    a = fmix64(a ^ text.size());
    b = fmix64(b + text.size());
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b));
    return hex;
}

std::string specHash(const dsl::KernelSpec &kernel) {
    // What is computed, nothing else: no name, no source location, and the row
    // dimension's name (`rows=M` vs `rows=T`) made the same.
    dsl::Module m;
    dsl::KernelSpec k = kernel;
    k.name.clear();
    k.loc = {};
    std::visit(
        [](auto &p) {
            if constexpr (requires { p.rows; }) p.rows = "M";
        },
        k.params);
    m.kernels.push_back(std::move(k));
    return hashHex(dsl::toJson(m));
}

std::string recordKey(const std::string &specHash, const std::string &schedule, const std::string &target,
                      const dsl::Shape &shape, const std::string &compiler, const std::string &machine) {
    // Each part with its length in front, so that no two different lists of
    // parts give the same text.
    std::vector<std::string> parts{specHash, schedule, target};
    for (const auto &d : shape.dims) parts.push_back(std::to_string(d.second));
    parts.push_back(compiler);
    parts.push_back(machine);
    std::string text;
    for (const std::string &part : parts) text += std::to_string(part.size()) + ":" + part + "\n";
    return hashHex(text);
}

}  // namespace kf::autotune
