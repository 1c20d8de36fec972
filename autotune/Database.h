// \file
// The tuning database: one row per measured candidate (all samples, status),
// keyed by a hash of kernel spec + schedule + target + shape + compiler
// versions + machine fingerprint. One transaction per row: a kill at any
// moment loses at most the candidate being measured, and a rerun skips every
// key already present.
//
// Where it lives is a location: a file path (SQLite, WAL) or a PostgreSQL URL
// (`postgresql://user@host:port/dbname`, libpq) that tuners on several
// machines share. Both hold the same records (autotune/db/Store.h), and both
// have claims: a tuner claims a key before it measures it, so tuners sharing
// a database never measure one key twice. A PostgreSQL server that goes away
// mid-run costs nothing measured: records wait in a local journal
// (autotune/db/Journal.h) and are pushed when the server is back, or by the
// next run that opens the database.
//
// Schema 2 names a record's dimensions (`shape` "M=1 N=11008 K=4096") so any
// family's shapes fit; schema 3 adds the roofline's inputs (bytes, ops, read
// bandwidth, compute peak; 0 in older records). An older file (schema 1:
// columns m, n, k, lowbit_linear only; schema 2) is migrated in place when
// opened, after a copy of it is written next to it (<path>.v1.bak,
// <path>.v2.bak), keeping every record and its key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsl/Spec.h"

namespace kf::autotune {

namespace db {
class Store;
}

// What claim() found.
enum class ClaimResult {
    Claimed,        // the caller holds the key now: measure it, then insert its record
    Measured,       // a record with the key exists
    HeldElsewhere,  // another owner holds an unexpired claim on it
};

struct Record {
    std::string key;         // recordKey(...) (hex)
    std::string kernel;      // kernel name in the file it was tuned from (informational)
    std::string family;      // "lowbit_linear", "hadamard", ...
    std::string specHash;    // specHash(kernel spec): same computation, same hash, whatever the name
    std::string target;      // target registry name
    std::string bucket;      // "decode", "small", "prefill"
    dsl::Shape shape;        // what it was measured at, rows first
    std::string schedule;    // canonical DSL text of the schedule (Space::scheduleText)
    std::string symbol;      // kernel symbol the schedule compiles to
    std::string status;      // "ok", "build_error", "crash", "timeout", "wrong", "error"
    std::string message;     // why, when not ok
    std::vector<double> samples;  // seconds per call, every timed sample in order
    double seconds = 0;      // best sample (0 when not ok)
    double rooflineRatio = 0;// roofline time / seconds (0 when not ok)
    // The roofline's inputs (schema 3; 0 = unknown: a record of an older
    // kforge, or a family whose roofline has no such term). The roofline time
    // is max(bytes / readBandwidth, ops / computePeak).
    double bytes = 0;          // bytes one call streams (what the roofline divides by the bandwidth)
    double ops = 0;            // operations per call: int8 ops or f32 flops (what it divides by the peak)
    double readBandwidth = 0;  // bytes/s of a plain read measured beside the candidate, same threads
    double computePeak = 0;    // ops/s of the roofline's compute term
    std::string compiler;    // compilerFingerprint()
    std::string machine;     // machineFingerprint()
    int64_t createdUnix = 0; // seconds since 1970; insert() stores the time of the insert when 0

    bool operator==(const Record &) const = default;
};

class Database {
public:
    // ReadWrite: opens (creating when missing) the database at path, WAL
    // mode; an older schema's file is migrated (backed up first). ReadOnly:
    // the file must exist and be a kforge database; nothing is created or
    // written, and a file this process cannot write is read in place
    // (SQLite's immutable mode: no -wal / -shm files; a schema-2 file so read
    // gives records without the roofline's inputs). Either way, an SQLite
    // file of another schema is refused before anything is written to it. Throws
    // std::runtime_error with the path and what is wrong.
    // A location that isPostgresUrl() is a PostgreSQL server: ReadWrite
    // creates the kforge tables when missing and pushes the journal; ReadOnly
    // needs them. Claims: a second connection of a tuner for renewing its
    // claims (ReadWrite that leaves the journal to the tuner's own connection,
    // which reports what it pushed).
    enum class OpenMode { ReadWrite, ReadOnly, Claims };
    explicit Database(const std::string &location, OpenMode mode = OpenMode::ReadWrite);
    ~Database();
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    bool contains(const std::string &key) const;
    std::optional<Record> find(const std::string &key) const;
    // Inserts in its own transaction; a record whose key is present is left
    // as it is (returns false). Ends the key's claim. While a PostgreSQL
    // server is unreachable the record goes to the journal (returns true).
    bool insert(const Record &record);

    // Claims (many tuners on one database). A claim lasts leaseSeconds unless
    // its owner renews it; owners are any string unique per tuner process
    // (claimOwner()). Claiming a key the owner already holds renews it.
    ClaimResult claim(const std::string &key, const std::string &owner, double leaseSeconds);
    // Extends every open claim of the owner; returns how many.
    std::size_t renewClaims(const std::string &owner, double leaseSeconds);
    // Gives back the owner's open claim on `key`, or all of them (key empty),
    // so that another tuner may take them at once.
    std::size_t releaseClaims(const std::string &owner, const std::string &key = "");
    // What happened to a server connection since the last call, in words.
    std::vector<std::string> takeNotes();
    // Records waiting in the local journal for the server.
    std::size_t journaled() const;
    // Asks the server at once (not waiting out the reconnect back-off) and
    // pushes the journal to it; how many records are still waiting.
    std::size_t pushJournalNow();

    // Every record, optionally only those of a spec hash / target / bucket
    // (empty = any), oldest first.
    std::vector<Record> records(const std::string &specHash = "", const std::string &target = "",
                                const std::string &bucket = "") const;
    // The ok records of one (specHash, target, bucket, machine), best first:
    // those at the shape with the most ok records (ties: the shape measured
    // first), by seconds per call (ties: the older record). The one ranking
    // `kforge db best` and `kforge emit --db` both use.
    std::vector<Record> ranked(const std::string &specHash, const std::string &target, const std::string &bucket,
                               const std::string &machine) const;
    // Per (specHash, target, bucket, machine): the first of ranked(). Sorted
    // by that tuple.
    std::vector<Record> best() const;

    // JSON lines, one record per line; import inserts records whose keys are
    // new and returns how many.
    std::string exportJson() const;
    // All lines are checked before anything is written, and the inserts are one
    // transaction: a malformed line (std::runtime_error "line N: ...") imports
    // nothing at all. Blank lines are skipped.
    std::size_t importJson(const std::string &text);

    // The location it was opened with, a URL's password hidden.
    const std::string &path() const { return path_; }
    // Non-empty when opening migrated an older schema: what was done, for the user.
    const std::string &migrationNote() const { return migrationNote_; }

private:
    std::unique_ptr<db::Store> store_;
    std::string path_;
    std::string migrationNote_;
};

// Whether a --db location names a PostgreSQL server (postgresql:// or postgres://).
bool isPostgresUrl(const std::string &location);
// Whether the database at `location` exists: a file, or a server to connect to.
// For messages before opening read-only.
bool databaseExists(const std::string &location);
// "<host>:<pid>:<random>": a claim owner unique to this process.
std::string claimOwner();

// The schema this kforge writes (PRAGMA user_version); opening a database of a
// newer schema throws, of an older one migrates it.
inline constexpr int kDatabaseSchemaVersion = 3;

// $KFORGE_TUNE_DB when set and not empty, else "kforge-tune.db" (current
// directory): the database `kforge tune`, `kforge db` and `kforge emit --db` use.
std::string defaultDatabasePath();

// One record as a single line of JSON (no newline), the format of exportJson().
std::string toJsonLine(const Record &record);
// The record of one such line (or of a schema-1 or -2 line: what they lack is
// 0); std::runtime_error
// saying what is wrong otherwise. toJsonLine(recordFromJsonLine(l)) parses
// back to the same record (test/fuzz/FuzzDbRecord.cpp).
Record recordFromJsonLine(const std::string &line);

// 128-bit hash as 32 hex digits, the same on every run and machine.
std::string hashHex(const std::string &text);
// Hash of what a kernel computes: its spec without name, source location and
// the name of its row dimension (two layers of one shape and format share
// records).
std::string specHash(const dsl::KernelSpec &kernel);
// The record key: hash of all of these (the shape by its sizes in order, so a
// lowbit_linear key is the one schema 1 computed from m, n, k).
std::string recordKey(const std::string &specHash, const std::string &schedule, const std::string &target,
                      const dsl::Shape &shape, const std::string &compiler, const std::string &machine);

}  // namespace kf::autotune
