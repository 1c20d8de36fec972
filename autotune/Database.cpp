// \file
// The tuning database (Database.h): the store it forwards to (SQLite or
// PostgreSQL, autotune/db/), and what is the same for both: ranking, JSON
// lines, keys and hashes.
#include "autotune/Database.h"

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
#include <random>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "autotune/db/Store.h"
#include "dsl/SpecJson.h"

namespace kf::autotune {

namespace {

using Json = nlohmann::ordered_json;

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

// A field of schema 3: absent (a line of an older kforge) is 0.
double optionalNumber(const Json &j, const char *name) { return j.contains(name) ? numberField(j, name) : 0.0; }

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
    r.bytes = optionalNumber(j, "bytes");
    r.ops = optionalNumber(j, "ops");
    r.readBandwidth = optionalNumber(j, "readBandwidth");
    r.computePeak = optionalNumber(j, "computePeak");
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

Database::Database(const std::string &location, OpenMode mode) : path_(location) {
    const bool readOnly = mode == OpenMode::ReadOnly;
    if (isPostgresUrl(location)) {
        path_ = db::redactUrl(location);
        store_ = db::openPostgres(location, readOnly, /*pushJournal=*/mode == OpenMode::ReadWrite);
    } else {
        store_ = db::openSqlite(location, readOnly);
    }
    migrationNote_ = store_->migrationNote();
}

Database::~Database() = default;

bool Database::contains(const std::string &key) const { return store_->find(key).has_value(); }

std::optional<Record> Database::find(const std::string &key) const { return store_->find(key); }

bool Database::insert(const Record &record) { return store_->insert(record); }

ClaimResult Database::claim(const std::string &key, const std::string &owner, double leaseSeconds) {
    return store_->claim(key, owner, leaseSeconds);
}

std::size_t Database::renewClaims(const std::string &owner, double leaseSeconds) {
    return store_->renewClaims(owner, leaseSeconds);
}

std::size_t Database::releaseClaims(const std::string &owner, const std::string &key) {
    return store_->releaseClaims(owner, key);
}

std::vector<std::string> Database::takeNotes() { return store_->takeNotes(); }

std::size_t Database::journaled() const { return store_->journaled(); }

std::size_t Database::pushJournalNow() { return store_->pushJournalNow(); }

std::vector<Record> Database::records(const std::string &specHash, const std::string &target,
                                      const std::string &bucket) const {
    return store_->records(specHash, target, bucket);
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
    for (const Record &r : parsed) db::checkRecord(r, path_);
    return store_->insertAll(parsed);
}

// ---------------------------------------------------------------------------

bool isPostgresUrl(const std::string &location) {
    return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

bool databaseExists(const std::string &location) {
    return isPostgresUrl(location) || std::filesystem::exists(location);
}

std::string claimOwner() {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    std::random_device rd;
    char tail[32];
    std::snprintf(tail, sizeof tail, "%08x", rd());
    return std::string(host) + ":" + std::to_string(getpid()) + ":" + tail;
}

namespace db {

void checkRecord(const Record &r, const std::string &where) {
    if (r.key.empty()) throw std::invalid_argument("tuning database " + where + ": a record needs a key");
    for (double v : r.samples)
        if (!std::isfinite(v))
            throw std::invalid_argument("tuning database " + where + ": record " + r.key + " has a non-finite sample");
    if (r.shape.dims.empty())
        throw std::invalid_argument("tuning database " + where + ": record " + r.key + " has no shape");
    for (double v : {r.bytes, r.ops, r.readBandwidth, r.computePeak})
        if (!std::isfinite(v) || v < 0)
            throw std::invalid_argument("tuning database " + where + ": record " + r.key +
                                        " has a roofline input (bytes, ops, bandwidth, peak) that is not a finite "
                                        "number >= 0");
}

int64_t createdOrNow(const Record &r) {
    return r.createdUnix != 0
               ? r.createdUnix
               : std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                     .count();
}

}  // namespace db

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
    j["bytes"] = r.bytes;
    j["ops"] = r.ops;
    j["readBandwidth"] = r.readBandwidth;
    j["computePeak"] = r.computePeak;
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
