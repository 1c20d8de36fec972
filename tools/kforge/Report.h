// `kforge report`: one self-contained HTML page (inline CSS and SVG, a few
// lines of script, no external URL) of what the tuner and the quantizer
// found: each tuned kernel against its roofline, each task's tuning
// convergence, and the accuracy tables that `kforge quantize --report-json`
// writes. docs/report.md says what each plot shows and where its numbers
// come from.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autotune/Database.h"

namespace kf::tools {

struct ReportOptions {
    std::string db;                     // a tuning database location; empty = defaultDatabasePath()
    std::vector<std::string> quantize;  // `kforge quantize --report-json` files, one table each
    std::string out;                    // the HTML file, replaced atomically
};
int report(const ReportOptions &o, std::ostream &out, std::ostream &err);

// One `kforge quantize --report-json` file (schema "kforge_quantize_report": 1).
struct QuantizeResult {
    std::string kernel, format;
    // null in the file: not finite (JSON has no inf; kforge quantize's error of
    // an all-zero tensor quantized to nonzero codes is one).
    std::optional<double> weightRelErr;
    std::optional<double> outputRelErr;  // null when the run had no sample activations
    int64_t bytes = 0;
};
struct QuantizeLayer {
    std::string name;
    int64_t n = 0, k = 0;
    std::string kernel;  // the one chosen
    std::string source;  // "quantized", "exact Q8_0", ...
    std::vector<QuantizeResult> results;
};
struct QuantizeReport {
    std::string path;  // where it was read from
    std::string checkpoint, kernels, output;
    std::optional<std::string> samples;
    std::vector<std::string> targets;
    std::optional<double> seconds;
    std::vector<QuantizeLayer> layers;
};
// Reads and checks one; std::runtime_error "PATH: what is wrong" otherwise.
QuantizeReport readQuantizeReport(const std::string &path);
QuantizeReport parseQuantizeReport(const std::string &text, const std::string &path);

// What the page says about where its data came from.
struct ReportContext {
    std::string database;   // the location, as shown
    std::string host;       // the machine that wrote the page (machineFingerprint())
    int64_t generatedUnix = 0;
};
// The page, from the database's records (oldest first) and the quantize reports.
std::string renderReport(const std::vector<autotune::Record> &records, const std::vector<QuantizeReport> &quantize,
                         const ReportContext &context);

// Text for HTML element content and attribute values: & < > " ' escaped.
std::string htmlEscape(std::string_view text);

}  // namespace kf::tools
