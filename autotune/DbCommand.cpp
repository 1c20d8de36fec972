// \file
// `kforge db` (DbCommand.h): list, best, show, export and import on the tuning
// database, as plain text aligned in columns or as JSON lines.
#include "autotune/DbCommand.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "autotune/Database.h"
#include "autotune/db/Store.h"

namespace kf::autotune {

namespace {

struct DbOptions {
    std::string db;  // empty = defaultDatabasePath()
    std::string kernel, target, bucket;
    std::string key, file, output;
    bool json = false;

    std::string path() const { return db.empty() ? defaultDatabasePath() : db; }
};

// Opens an existing database; a missing file is an error rather than an
// empty database created by looking at it.
std::unique_ptr<Database> openExisting(const std::string &path) {
    if (!databaseExists(path))
        throw std::runtime_error("no tuning database at " + path +
                                 " (run `kforge tune` first, or pass --db PATH or set KFORGE_TUNE_DB)");
    auto db = std::make_unique<Database>(path, Database::OpenMode::ReadOnly);
    if (!db->migrationNote().empty()) std::cerr << "note: " << db->migrationNote() << "\n";
    return db;
}

std::string timeText(double seconds) {
    if (seconds <= 0) return "-";
    char buf[32];
    if (seconds < 1e-6)
        std::snprintf(buf, sizeof buf, "%.0f ns", seconds * 1e9);
    else if (seconds < 1e-3)
        std::snprintf(buf, sizeof buf, "%.2f us", seconds * 1e6);
    else if (seconds < 1)
        std::snprintf(buf, sizeof buf, "%.3f ms", seconds * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.3f s", seconds);
    return buf;
}

std::string shapeText(const Record &r) { return r.shape.text(); }

// The schedule's directives on one line ("split n 256; vectorize n 16"): its
// `schedule ... {` and `}` lines only repeat the other columns. The symbol
// when there is no schedule text.
std::string scheduleLine(const Record &r) {
    std::string out;
    std::istringstream in(r.schedule);
    for (std::string line; std::getline(in, line);) {
        const auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
        if (line == "}" || line.rfind("schedule ", 0) == 0) continue;
        out += (out.empty() ? "" : "; ") + line;
    }
    return out.empty() ? r.symbol : out;
}

// One line per record, columns aligned; or JSON lines.
void printRecords(const std::vector<Record> &records, bool json) {
    if (json) {
        for (const Record &r : records) std::cout << toJsonLine(r) << "\n";
        return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const Record &r : records) {
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%.2f", r.rooflineRatio);
        rows.push_back({r.key.substr(0, 12), r.kernel, r.target, r.bucket, shapeText(r), r.status, timeText(r.seconds),
                        r.status == "ok" ? std::string(ratio) + " roofline" : "-",
                        std::to_string(r.samples.size()) + " samples", scheduleLine(r)});
    }
    std::vector<std::size_t> width;
    for (const auto &row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) {
            if (width.size() <= c) width.push_back(0);
            width[c] = std::max(width[c], row[c].size());
        }
    for (const auto &row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c)
            line += c + 1 == row.size() ? row[c] : row[c] + std::string(width[c] - row[c].size() + 2, ' ');
        std::cout << line << "\n";
    }
}

int runList(const DbOptions &o) {
    auto db = openExisting(o.path());
    std::vector<Record> out;
    for (Record &r : db->records("", o.target, o.bucket))
        if (o.kernel.empty() || r.kernel == o.kernel) out.push_back(std::move(r));
    printRecords(out, o.json);
    return 0;
}

int runBest(const DbOptions &o) {
    printRecords(openExisting(o.path())->best(), o.json);
    return 0;
}

int runShow(const DbOptions &o) {
    auto db = openExisting(o.path());
    std::vector<Record> matches;
    if (auto exact = db->find(o.key))
        matches.push_back(*exact);
    else
        for (Record &r : db->records())
            if (r.key.rfind(o.key, 0) == 0) matches.push_back(std::move(r));
    if (matches.empty()) throw std::runtime_error("no record with key " + o.key + " in " + o.path());
    if (matches.size() > 1) {
        std::string keys;
        for (std::size_t i = 0; i < matches.size() && i < 5; ++i) keys += " " + matches[i].key;
        throw std::runtime_error("key prefix '" + o.key + "' matches " + std::to_string(matches.size()) +
                                 " records (" + keys.substr(1) + (matches.size() > 5 ? " ..." : "") +
                                 "); give more digits");
    }
    const Record &r = matches.front();
    if (o.json) {
        std::cout << toJsonLine(r) << "\n";
        return 0;
    }
    char created[32] = "-";
    const std::time_t t = static_cast<std::time_t>(r.createdUnix);
    std::tm tm{};
    if (gmtime_r(&t, &tm)) std::strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S UTC", &tm);
    char seconds[64], ratio[32];
    std::snprintf(seconds, sizeof seconds, "%.9g (%s)", r.seconds, timeText(r.seconds).c_str());
    std::snprintf(ratio, sizeof ratio, "%.4f", r.rooflineRatio);
    std::cout << "key        " << r.key << "\n"
              << "kernel     " << r.kernel << "\n"
              << "spec hash  " << r.specHash << "\n"
              << "target     " << r.target << "\n"
              << "bucket     " << r.bucket << "\n"
              << "shape      " << shapeText(r) << " (MxNxK)\n"
              << "status     " << r.status << "\n";
    if (!r.message.empty()) std::cout << "message    " << r.message << "\n";
    std::cout << "symbol     " << r.symbol << "\n"
              << "seconds    " << seconds << "\n"
              << "roofline   " << ratio << " (roofline time / seconds)\n";
    if (r.bytes > 0 || r.ops > 0) {
        // Schema 3: what the roofline time was computed from.
        char inputs[160];
        std::snprintf(inputs, sizeof inputs, "%.6g bytes / %.4g GB/s, %.6g ops / %.4g GOP/s", r.bytes,
                      r.readBandwidth / 1e9, r.ops, r.computePeak / 1e9);
        std::cout << "inputs     " << inputs << "\n";
    }
    std::cout << "compiler   " << r.compiler << "\n"
              << "machine    " << r.machine << "\n"
              << "created    " << created << "\n"
              << "samples    " << r.samples.size() << ":";
    for (double s : r.samples) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " %.6g", s);
        std::cout << buf;
    }
    std::cout << "\nschedule\n";
    std::istringstream in(r.schedule);
    for (std::string line; std::getline(in, line);) std::cout << "  " << line << "\n";
    return 0;
}

int runExport(const DbOptions &o) {
    const std::string text = openExisting(o.path())->exportJson();
    if (o.output.empty()) {
        std::cout << text;
        return 0;
    }
    std::ofstream out(o.output, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + o.output);
    return 0;
}

int runImport(const DbOptions &o) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + o.file);
    std::stringstream text;
    text << in.rdbuf();
    const bool existed = databaseExists(o.path());
    std::size_t inserted = 0;
    try {
        inserted = Database(o.path()).importJson(text.str());
    } catch (const std::runtime_error &e) {
        if (!existed)  // a failed import into a new file leaves no empty database behind
            for (const char *suffix : {"", "-wal", "-shm"}) std::filesystem::remove(o.path() + suffix);
        throw std::runtime_error(o.file + ": " + e.what());
    }
    std::cout << "imported " << inserted << " new record" << (inserted == 1 ? "" : "s") << " into "
              << (isPostgresUrl(o.path()) ? db::redactUrl(o.path()) : o.path()) << "\n";
    return 0;
}

// Runs one subcommand and ends the parse with its exit status (DbCommand.h).
[[noreturn]] void finish(int (*run)(const DbOptions &), const DbOptions &o) {
    int status = 1;
    try {
        status = run(o);
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
    }
    std::cout.flush();
    throw CLI::RuntimeError(status);
}

}  // namespace

void addDbCommand(CLI::App &app) {
    auto o = std::make_shared<DbOptions>();
    CLI::App *db = app.add_subcommand("db", "Look into the tuning database; export and import its records");
    db->require_subcommand(1);
    auto add = [&](const char *name, const char *help, int (*run)(const DbOptions &)) {
        CLI::App *sub = db->add_subcommand(name, help);
        sub->add_option("--db", o->db,
                        "tuning database: a file, or postgresql://user@host:port/dbname "
                        "(default: $KFORGE_TUNE_DB, else kforge-tune.db)");
        sub->callback([o, run] { finish(run, *o); });
        return sub;
    };

    CLI::App *list = add("list", "One line per record (key prefix, kernel, target, bucket, shape, status, time, "
                                 "roofline ratio, samples, schedule)",
                         runList);
    list->add_option("--kernel,-k", o->kernel, "only records of this kernel name");
    list->add_option("--target,-t", o->target, "only records of this target");
    list->add_option("--bucket,-b", o->bucket, "only records of this bucket (decode, small, prefill)");
    list->add_flag("--json", o->json, "JSON lines, as `db export` writes them");

    CLI::App *best = add("best", "The fastest ok record per kernel spec, target, bucket and machine", runBest);
    best->add_flag("--json", o->json, "JSON lines, as `db export` writes them");

    CLI::App *show = add("show", "One record in full: schedule text and every sample", runShow);
    show->add_option("key", o->key, "record key, or a prefix of it that only one record has")->required();
    show->add_flag("--json", o->json, "the record as one JSON line");

    CLI::App *exp = add("export", "Every record as JSON lines", runExport);
    exp->add_option("-o,--output", o->output, "write to this file instead of stdout");

    CLI::App *imp = add("import", "Add the records of a JSON-lines file whose keys are new (all or nothing)", runImport);
    imp->add_option("file", o->file, "JSON lines from `kforge db export`")->required();
}

}  // namespace kf::autotune
