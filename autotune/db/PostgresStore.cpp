// \file
// The tuning database on a PostgreSQL server (Store.h), through libpq. Tables
// kforge_records (the v3 record schema, an id for insertion order),
// kforge_claims and kforge_schema, created on first use under an advisory
// lock so that tuners starting together agree. Every write is one statement
// (autocommit) or one transaction, so a tuner killed at any point leaves no
// half record. Claims use the server's clock, not the tuners'.
//
// A lost connection is not an error for a tuner: records it inserts go to the
// local journal (Journal.h), claims are granted locally (a key may then be
// measured twice, never recorded twice), and the connection is retried at
// most every few seconds (backing off to 30 s); once it is back the journal
// is pushed.
#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "autotune/db/Journal.h"
#include "autotune/db/Store.h"

namespace kf::autotune::db {

namespace {

using Clock = std::chrono::steady_clock;
// Reconnection attempts after a loss: 2 s apart at first, twice as far after
// each one that fails, at most 30 s (an attempt to a host that does not
// answer blocks for connect_timeout).
constexpr double kFirstRetrySeconds = 2.0, kMaxRetrySeconds = 30.0;

constexpr const char *kSchema = R"sql(
SELECT pg_advisory_xact_lock(7236354812961771520);
CREATE TABLE IF NOT EXISTS kforge_schema (version INTEGER NOT NULL);
INSERT INTO kforge_schema (version) SELECT 3 WHERE NOT EXISTS (SELECT 1 FROM kforge_schema);
CREATE TABLE IF NOT EXISTS kforge_records (
  id BIGSERIAL UNIQUE,
  key TEXT PRIMARY KEY,
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
  seconds DOUBLE PRECISION NOT NULL,
  roofline_ratio DOUBLE PRECISION NOT NULL,
  compiler TEXT NOT NULL,
  machine TEXT NOT NULL,
  created_unix BIGINT NOT NULL,
  bytes DOUBLE PRECISION NOT NULL DEFAULT 0,
  ops DOUBLE PRECISION NOT NULL DEFAULT 0,
  read_bandwidth DOUBLE PRECISION NOT NULL DEFAULT 0,
  compute_peak DOUBLE PRECISION NOT NULL DEFAULT 0
);
-- Schema 2 -> 3: the roofline's inputs, 0 in the rows already there (their
-- keys unchanged). Only while the schema is older, so that opening a current
-- database takes no table lock.
DO $$ BEGIN
  IF (SELECT max(version) FROM kforge_schema) < 3 THEN
    ALTER TABLE kforge_records ADD COLUMN IF NOT EXISTS bytes DOUBLE PRECISION NOT NULL DEFAULT 0;
    ALTER TABLE kforge_records ADD COLUMN IF NOT EXISTS ops DOUBLE PRECISION NOT NULL DEFAULT 0;
    ALTER TABLE kforge_records ADD COLUMN IF NOT EXISTS read_bandwidth DOUBLE PRECISION NOT NULL DEFAULT 0;
    ALTER TABLE kforge_records ADD COLUMN IF NOT EXISTS compute_peak DOUBLE PRECISION NOT NULL DEFAULT 0;
    UPDATE kforge_schema SET version = 3 WHERE version < 3;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS kforge_records_task ON kforge_records (spec_hash, target, bucket);
CREATE TABLE IF NOT EXISTS kforge_claims (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at DOUBLE PRECISION NOT NULL,
  done BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS kforge_claims_owner ON kforge_claims (owner);
)sql";

constexpr const char *kColumns =
    "key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, status, message, samples, seconds, "
    "roofline_ratio, compiler, machine, created_unix, bytes, ops, read_bandwidth, compute_peak";
// What a reader selects from a schema-2 server that no kforge of schema 3
// has written to yet (read-only: nothing migrated): the roofline's inputs unknown.
constexpr const char *kColumnsV2 =
    "key, kernel, family, spec_hash, target, bucket, shape, schedule, symbol, status, message, samples, seconds, "
    "roofline_ratio, compiler, machine, created_unix, 0, 0, 0, 0";

constexpr const char *kNow = "extract(epoch FROM clock_timestamp())";

// The connection went away (as opposed to a query the server refused).
struct ConnectionLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ResultDeleter {
    void operator()(PGresult *r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string number(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// libpq's messages go on with tab-indented hints on further lines.
std::string firstLine(const char *text) {
    std::string s = text ? text : "";
    s = s.substr(0, s.find('\n'));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

class PostgresStore final : public Store {
public:
    PostgresStore(const std::string &url, bool readOnly, bool pushesJournal)
        : url_(url), shown_(redactUrl(url)), journal_(journalPathFor(url)), pushes_(pushesJournal) {
        connect();
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string why = firstLine(PQerrorMessage(conn_));
            PQfinish(conn_);
            conn_ = nullptr;
            throw std::runtime_error("cannot connect to tuning database " + shown_ + ": " + why);
        }
        try {
            if (readOnly) {
                Result r = query("SELECT to_regclass('kforge_schema') IS NOT NULL", {});
                if (std::string(PQgetvalue(r.get(), 0, 0)) != "t")
                    throw std::runtime_error("no kforge tuning database at " + shown_ +
                                             " (run `kforge tune --db " + shown_ + "` first)");
            } else {
                Result r = query("BEGIN", {});
                try {
                    exec(kSchema);
                    query("COMMIT", {});
                } catch (...) {
                    PQclear(PQexec(conn_, "ROLLBACK"));
                    throw;
                }
            }
            Result v = query("SELECT max(version) FROM kforge_schema", {});
            const int version = std::atoi(PQgetvalue(v.get(), 0, 0));
            if (version > kDatabaseSchemaVersion)
                throw std::runtime_error("tuning database " + shown_ + " has schema version " + std::to_string(version) +
                                         ", newer than this kforge reads (" + std::to_string(kDatabaseSchemaVersion) +
                                         "): use the kforge that wrote it, or another --db");
            if (version < 3) columns_ = kColumnsV2;
            if (!readOnly && pushes_) pushJournal();
        } catch (const ConnectionLost &e) {
            throw std::runtime_error(e.what());
        }
    }
    ~PostgresStore() override { PQfinish(conn_); }

    std::optional<Record> find(const std::string &key) override {
        if (online()) {
            try {
                Result r = query(std::string("SELECT ") + columns_ + " FROM kforge_records WHERE key = $1", {key});
                if (PQntuples(r.get()) > 0) return readRow(r.get(), 0);
            } catch (const ConnectionLost &e) {
                lost(e);
            }
        }
        for (Record &r : journal_.read())
            if (r.key == key) return std::move(r);
        return std::nullopt;
    }

    bool insert(const Record &r) override {
        checkRecord(r, shown_);
        if (online()) {
            try {
                Result res = query(std::string("WITH ins AS (") + insertSql() +
                                       "), fin AS (UPDATE kforge_claims SET done = true WHERE key = $1 RETURNING 1) "
                                       "SELECT count(*) FROM ins",
                                   params(r));
                return std::string(PQgetvalue(res.get(), 0, 0)) != "0";
            } catch (const ConnectionLost &e) {
                lost(e);
            }
        }
        journal_.append(r);
        ++journaledNow_;
        return true;
    }

    std::size_t insertAll(const std::vector<Record> &records) override {
        if (!online()) throw std::runtime_error("tuning database " + shown_ + " cannot be reached");
        try {
            return insertTransaction(records);
        } catch (const ConnectionLost &e) {
            lost(e);
            throw std::runtime_error(std::string(e.what()) + " (nothing written)");
        }
    }

    std::vector<Record> records(const std::string &specHash, const std::string &target,
                                const std::string &bucket) override {
        std::vector<Record> out;
        if (online()) {
            try {
                Result r = query(std::string("SELECT ") + columns_ +
                                     " FROM kforge_records WHERE ($1 = '' OR spec_hash = $1) AND"
                                     " ($2 = '' OR target = $2) AND ($3 = '' OR bucket = $3) ORDER BY id",
                                 {specHash, target, bucket});
                for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(readRow(r.get(), i));
                return out;
            } catch (const ConnectionLost &e) {
                lost(e);
            }
        }
        for (Record &r : journal_.read())
            if ((specHash.empty() || r.specHash == specHash) && (target.empty() || r.target == target) &&
                (bucket.empty() || r.bucket == bucket))
                out.push_back(std::move(r));
        return out;
    }

    ClaimResult claim(const std::string &key, const std::string &owner, double lease) override {
        if (online()) {
            try {
                Result r = query(std::string("INSERT INTO kforge_claims (key, owner, expires_at, done) "
                                             "SELECT $1, $2, ") +
                                     kNow + " + $3::float8, false "
                                     "WHERE NOT EXISTS (SELECT 1 FROM kforge_records WHERE key = $1) "
                                     "ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, "
                                     "expires_at = EXCLUDED.expires_at WHERE NOT kforge_claims.done AND "
                                     "(kforge_claims.expires_at < " +
                                     kNow + " OR kforge_claims.owner = EXCLUDED.owner) RETURNING 1",
                                 {key, owner, number(lease)});
                if (PQntuples(r.get()) > 0) return ClaimResult::Claimed;
                Result m = query("SELECT 1 FROM kforge_records WHERE key = $1", {key});
                return PQntuples(m.get()) > 0 ? ClaimResult::Measured : ClaimResult::HeldElsewhere;
            } catch (const ConnectionLost &e) {
                lost(e);
            }
        }
        // No server to ask: measure it (the record, when it reaches the
        // server, is kept only if no other tuner's got there first).
        for (const Record &r : journal_.read())
            if (r.key == key) return ClaimResult::Measured;
        return ClaimResult::Claimed;
    }

    std::size_t renewClaims(const std::string &owner, double lease) override {
        return count(std::string("UPDATE kforge_claims SET expires_at = ") + kNow +
                         " + $2::float8 WHERE owner = $1 AND NOT done RETURNING 1",
                     {owner, number(lease)});
    }

    std::size_t releaseClaims(const std::string &owner, const std::string &key) override {
        return count("DELETE FROM kforge_claims WHERE owner = $1 AND NOT done AND ($2 = '' OR key = $2) RETURNING 1",
                     {owner, key});
    }

    std::vector<std::string> takeNotes() override {
        if (journaledNow_ > 0 && !journalNoted_) {  // once per outage; the tuner sums up on exit
            journalNoted_ = true;
            notes_.push_back(std::to_string(journaledNow_) + " record" + (journaledNow_ == 1 ? "" : "s") +
                             " kept in the journal " + journal_.path() + " until the server is back");
        }
        journaledNow_ = 0;
        return std::exchange(notes_, {});
    }
    std::size_t journaled() const override { return journal_.size(); }
    std::size_t pushJournalNow() override {
        if (journal_.size() == 0 || !pushes_) return journal_.size();
        if (offline_) {
            lastTry_ = Clock::time_point{};  // not waiting out the back-off
            online();
        } else {
            try {
                pushJournal();
            } catch (const ConnectionLost &e) {
                lost(e);
            }
        }
        return journal_.size();
    }

private:
    void connect() {
        const char *keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
        const char *values[] = {url_.c_str(), "5", "kforge", nullptr};
        conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
        if (!conn_) throw std::runtime_error("cannot connect to tuning database " + shown_ + ": out of memory");
        if (PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "SET client_min_messages = warning"));
    }

    // Whether the server can be asked now: reconnects (at most every
    // retrySeconds_, backing off) after a loss, and pushes the journal when it is back.
    bool online() {
        if (PQstatus(conn_) == CONNECTION_OK && !offline_) return true;
        if (offline_ && std::chrono::duration<double>(Clock::now() - lastTry_).count() < retrySeconds_) return false;
        lastTry_ = Clock::now();
        PQreset(conn_);
        if (PQstatus(conn_) != CONNECTION_OK) {
            if (offline_) retrySeconds_ = std::min(kMaxRetrySeconds, 2 * retrySeconds_);
            offline_ = true;
            lastTry_ = Clock::now();
            return false;
        }
        retrySeconds_ = kFirstRetrySeconds;
        PQclear(PQexec(conn_, "SET client_min_messages = warning"));
        offline_ = false;
        journalNoted_ = false;
        notes_.push_back("tuning database " + shown_ + " is back");
        try {
            if (pushes_) pushJournal();
        } catch (const ConnectionLost &e) {
            lost(e);
            return false;
        }
        return true;
    }

    void lost(const ConnectionLost &e) {
        if (!offline_) notes_.push_back(std::string(e.what()) + "; measuring goes on, records are kept in " + journal_.path());
        offline_ = true;
        lastTry_ = Clock::now();
    }

    void pushJournal() {
        const std::size_t pushed = journal_.drain([&](const std::vector<Record> &records) { insertTransaction(records); });
        if (pushed > 0)
            notes_.push_back("pushed " + std::to_string(pushed) + " journaled record" + (pushed == 1 ? "" : "s") +
                             " from " + journal_.path() + " to " + shown_);
    }

    std::size_t insertTransaction(const std::vector<Record> &records) {
        for (const Record &r : records) checkRecord(r, shown_);
        query("BEGIN", {});
        std::size_t inserted = 0;
        try {
            for (const Record &r : records) {
                Result res = query(std::string("WITH ins AS (") + insertSql() +
                                       "), fin AS (UPDATE kforge_claims SET done = true WHERE key = $1 RETURNING 1) "
                                       "SELECT count(*) FROM ins",
                                   params(r));
                inserted += std::string(PQgetvalue(res.get(), 0, 0)) != "0" ? 1 : 0;
            }
            query("COMMIT", {});
        } catch (...) {
            if (PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
            throw;
        }
        return inserted;
    }

    static std::string insertSql() {
        return std::string("INSERT INTO kforge_records (") + kColumns +
               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::float8, $14::float8, $15, $16, "
               "$17::bigint, $18::float8, $19::float8, $20::float8, $21::float8) ON CONFLICT (key) DO NOTHING "
               "RETURNING 1";
    }

    static std::vector<std::string> params(const Record &r) {
        return {r.key,      r.kernel,  r.family,
                r.specHash, r.target,  r.bucket,
                r.shape.named(), r.schedule, r.symbol,
                r.status,   r.message, nlohmann::json(r.samples).dump(),
                number(r.seconds), number(r.rooflineRatio), r.compiler,
                r.machine,  std::to_string(createdOrNow(r)),
                number(r.bytes), number(r.ops), number(r.readBandwidth), number(r.computePeak)};
    }

    std::size_t count(const std::string &sql, const std::vector<std::string> &values) {
        if (!online()) return 0;
        try {
            Result r = query(sql, values);
            return static_cast<std::size_t>(PQntuples(r.get()));
        } catch (const ConnectionLost &e) {
            lost(e);
            return 0;
        }
    }

    // One statement with text parameters. ConnectionLost when the connection
    // broke, std::runtime_error for anything else the server says.
    Result query(const std::string &sql, const std::vector<std::string> &values) {
        std::vector<const char *> ptrs;
        for (const std::string &v : values) ptrs.push_back(v.c_str());
        Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(ptrs.size()), nullptr,
                              ptrs.empty() ? nullptr : ptrs.data(), nullptr, nullptr, 0));
        check(r.get());
        return r;
    }
    void exec(const char *sql) {  // several statements, no parameters
        Result r(PQexec(conn_, sql));
        check(r.get());
    }
    void check(PGresult *r) {
        const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return;
        const std::string msg = firstLine(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
        if (PQstatus(conn_) != CONNECTION_OK)
            throw ConnectionLost("lost the tuning database " + shown_ + ": " + msg);
        throw std::runtime_error("tuning database " + shown_ + ": " + msg);
    }

    Record readRow(const PGresult *res, int row) const {
        auto text = [&](int col) { return std::string(PQgetvalue(res, row, col), PQgetlength(res, row, col)); };
        Record r;
        r.key = text(0);
        r.kernel = text(1);
        r.family = text(2);
        r.specHash = text(3);
        r.target = text(4);
        r.bucket = text(5);
        std::optional<dsl::Shape> shape = dsl::Shape::parseNamed(text(6));
        if (!shape)
            throw std::runtime_error("tuning database " + shown_ + ": record " + r.key + " has a malformed shape '" +
                                     text(6) + "'");
        r.shape = *shape;
        r.schedule = text(7);
        r.symbol = text(8);
        r.status = text(9);
        r.message = text(10);
        r.samples = nlohmann::json::parse(text(11)).get<std::vector<double>>();
        r.seconds = std::strtod(text(12).c_str(), nullptr);
        r.rooflineRatio = std::strtod(text(13).c_str(), nullptr);
        r.compiler = text(14);
        r.machine = text(15);
        r.createdUnix = std::strtoll(text(16).c_str(), nullptr, 10);
        r.bytes = std::strtod(text(17).c_str(), nullptr);
        r.ops = std::strtod(text(18).c_str(), nullptr);
        r.readBandwidth = std::strtod(text(19).c_str(), nullptr);
        r.computePeak = std::strtod(text(20).c_str(), nullptr);
        return r;
    }

    std::string url_, shown_;
    const char *columns_ = kColumns;  // kColumnsV2 while the server's schema is 2 (read-only)
    PGconn *conn_ = nullptr;
    Journal journal_;
    std::vector<std::string> notes_;
    std::size_t journaledNow_ = 0;
    bool pushes_ = true;  // pushes the journal when it (re)connects
    bool offline_ = false;
    bool journalNoted_ = false;  // said in this outage that records go to the journal
    double retrySeconds_ = kFirstRetrySeconds;
    Clock::time_point lastTry_{};
};

}  // namespace

std::unique_ptr<Store> openPostgres(const std::string &url, bool readOnly, bool pushJournal) {
    return std::make_unique<PostgresStore>(url, readOnly, pushJournal);
}

std::string redactUrl(const std::string &url) {
    std::string out = url;
    // postgresql://user:password@host -> postgresql://user:***@host
    const std::size_t scheme = out.find("://");
    if (scheme != std::string::npos) {
        const std::size_t at = out.find('@', scheme + 3);
        const std::size_t colon = out.find(':', scheme + 3);
        const std::size_t slash = out.find('/', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at && (slash == std::string::npos || at < slash))
            out = out.substr(0, colon + 1) + "***" + out.substr(at);
    }
    // ...?password=secret&... -> password=***
    for (std::size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 12)) {
        const std::size_t end = out.find('&', p);
        out = out.substr(0, p + 9) + "***" + (end == std::string::npos ? "" : out.substr(end));
    }
    return out;
}

}  // namespace kf::autotune::db
