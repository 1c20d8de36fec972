// \file
// A local journal of tuning records (JSON lines, Database.h's toJsonLine) for
// a database server that cannot be reached: the PostgreSQL store appends each
// record it could not insert, fsynced, and pushes the whole journal in one
// transaction when the server answers again, or when the next run opens the
// same database. Appends and the push hold an exclusive flock, so tuners on
// one machine may share a journal. A line torn by a kill mid-append is
// skipped (its candidate is measured again).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "autotune/Database.h"

namespace kf::autotune::db {

class Journal {
public:
    explicit Journal(std::string path) : path_(std::move(path)) {}
    const std::string &path() const { return path_; }

    // Appends one record; throws std::runtime_error naming the file when it
    // cannot be written.
    void append(const Record &record);
    // Every whole record in the journal, in the order appended.
    std::vector<Record> read() const;
    // Hands every record to `push` under the lock; when push returns (it
    // inserted them all), the journal is emptied. Returns how many were
    // pushed. A push that throws leaves the journal as it was.
    std::size_t drain(const std::function<void(const std::vector<Record> &)> &push);
    std::size_t size() const { return read().size(); }

private:
    std::string path_;
};

// The journal file of a database location: $KFORGE_JOURNAL_DIR, else
// $XDG_STATE_HOME/kforge, else ~/.local/state/kforge, named after a hash of
// the location without its password.
std::string journalPathFor(const std::string &location);

}  // namespace kf::autotune::db
