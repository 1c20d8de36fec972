// \file
// The tuning database: SQLite, one row per measured candidate (all samples,
// status), keyed by a hash of kernel spec + schedule + target + shape +
// compiler versions + machine fingerprint. WAL journal, one transaction per
// row: a kill at any moment loses at most the candidate being measured, and
// a rerun skips every key already present.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/Spec.h"

struct sqlite3;

namespace kf::autotune {

struct Record {
    std::string key;         // recordKey(...) (hex)
    std::string kernel;      // kernel name in the file it was tuned from (informational)
    std::string specHash;    // specHash(kernel spec): same computation, same hash, whatever the name
    std::string target;      // target registry name
    std::string bucket;      // "decode", "small", "prefill"
    int64_t m = 0, n = 0, k = 0;
    std::string schedule;    // canonical DSL text of the schedule (Space::scheduleText)
    std::string symbol;      // kernel symbol the schedule compiles to
    std::string status;      // "ok", "build_error", "crash", "timeout", "wrong", "error"
    std::string message;     // why, when not ok
    std::vector<double> samples;  // seconds per call, every timed sample in order
    double seconds = 0;      // best sample (0 when not ok)
    double rooflineRatio = 0;// roofline time / seconds (0 when not ok)
    std::string compiler;    // compilerFingerprint()
    std::string machine;     // machineFingerprint()
    int64_t createdUnix = 0; // seconds since 1970; insert() stores the time of the insert when 0

    bool operator==(const Record &) const = default;
};

class Database {
public:
    // Opens (creating when missing) the database at path, WAL mode. Throws
    // std::runtime_error with SQLite's message on failure.
    explicit Database(const std::string &path);
    ~Database();
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    bool contains(const std::string &key) const;
    std::optional<Record> find(const std::string &key) const;
    // Inserts in its own transaction; a record whose key is present is left
    // as it is (returns false).
    bool insert(const Record &record);

    // Every record, optionally only those of a spec hash / target / bucket
    // (empty = any), oldest first.
    std::vector<Record> records(const std::string &specHash = "", const std::string &target = "",
                                const std::string &bucket = "") const;
    // Per (specHash, target, bucket, machine): the ok record with the fewest
    // seconds per call at the shape with the most ok records (ties: the older
    // shape, the older record). Sorted by that tuple.
    std::vector<Record> best() const;

    // JSON lines, one record per line; import inserts records whose keys are
    // new and returns how many.
    std::string exportJson() const;
    // All lines are checked before anything is written, and the inserts are one
    // transaction: a malformed line (std::runtime_error "line N: ...") imports
    // nothing at all. Blank lines are skipped.
    std::size_t importJson(const std::string &text);

    const std::string &path() const { return path_; }

private:
    sqlite3 *db_ = nullptr;
    std::string path_;
};

// The schema this kforge writes (PRAGMA user_version); opening a database of a
// newer schema throws.
inline constexpr int kDatabaseSchemaVersion = 1;

// $KFORGE_TUNE_DB when set and not empty, else "kforge-tune.db" (current
// directory): the database `kforge tune`, `kforge db` and `kforge emit --db` use.
std::string defaultDatabasePath();

// One record as a single line of JSON (no newline), the format of exportJson().
std::string toJsonLine(const Record &record);

// 128-bit hash as 32 hex digits, the same on every run and machine.
std::string hashHex(const std::string &text);
// Hash of what a kernel computes: its spec without name, source location and
// the name of its row dimension (two layers of one shape and format share
// records).
std::string specHash(const dsl::KernelSpec &kernel);
// The record key: hash of all of these.
std::string recordKey(const std::string &specHash, const std::string &schedule, const std::string &target, int64_t m,
                      int64_t n, int64_t k, const std::string &compiler, const std::string &machine);

}  // namespace kf::autotune
