// \file
// Where the tuning database keeps its records: the interface Database
// (autotune/Database.h) forwards to, and its two implementations.
//
//   Database ("kforge-tune.db" or "postgresql://user@host:port/db")
//      │
//      ├── SqliteStore    one file, WAL; several tuners on one machine
//      └── PostgresStore  libpq; tuners on many machines; a local Journal
//                         keeps records while the server is away
//
// Both keep the same v2 record schema and a `claims` table: a tuner claims a
// record key before it measures the candidate, so no key is measured twice by
// tuners sharing the database; a claim not renewed within its lease is free
// again (its tuner died), and inserting the record ends it for good.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autotune/Database.h"

namespace kf::autotune::db {

class Store {
public:
    virtual ~Store() = default;
    virtual std::optional<Record> find(const std::string &key) = 0;
    // Inserts unless the key is present (true when written, or journaled);
    // the key's claim, if any, is marked done in the same transaction.
    virtual bool insert(const Record &record) = 0;
    // All of them in one transaction; how many were new.
    virtual std::size_t insertAll(const std::vector<Record> &records) = 0;
    // Oldest first; empty filters match anything.
    virtual std::vector<Record> records(const std::string &specHash, const std::string &target,
                                        const std::string &bucket) = 0;
    virtual ClaimResult claim(const std::string &key, const std::string &owner, double leaseSeconds) = 0;
    virtual std::size_t renewClaims(const std::string &owner, double leaseSeconds) = 0;
    // Ends the owner's claims that are not done: one key, or all of them (key empty).
    virtual std::size_t releaseClaims(const std::string &owner, const std::string &key) = 0;
    virtual std::string migrationNote() const { return ""; }
    // What happened to the connection since the last call (server gone,
    // records journaled, journal pushed), for the user.
    virtual std::vector<std::string> takeNotes() { return {}; }
    virtual std::size_t journaled() const { return 0; }
    // Tries the server now (whatever the back-off says) and pushes the
    // journal; how many records are still in it.
    virtual std::size_t pushJournalNow() { return journaled(); }
};

// Throw std::runtime_error naming the location and what is wrong.
std::unique_ptr<Store> openSqlite(const std::string &path, bool readOnly);
std::unique_ptr<Store> openPostgres(const std::string &url, bool readOnly, bool pushJournal);

// std::invalid_argument naming `where` unless the record can be stored: a
// key, a shape, finite samples.
void checkRecord(const Record &record, const std::string &where);
// record.createdUnix, or now when it is 0.
int64_t createdOrNow(const Record &record);

// The URL with any password replaced by "***" (for messages and journal names).
std::string redactUrl(const std::string &url);

}  // namespace kf::autotune::db
