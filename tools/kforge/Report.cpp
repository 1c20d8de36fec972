#include "tools/kforge/Report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "autotune/Fingerprint.h"
#include "checkpoint/Write.h"

namespace kf::tools {

namespace fs = std::filesystem;
using autotune::Record;
using Json = nlohmann::json;

std::string htmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------
// The quantize report's JSON.

namespace {

[[noreturn]] void bad(const std::string &path, const std::string &what) {
    throw std::runtime_error(path + ": " + what);
}

const Json &member(const Json &j, const char *name, const std::string &where, const std::string &path) {
    auto it = j.find(name);
    if (it == j.end()) bad(path, where + "has no \"" + name + "\"");
    return *it;
}

std::string textMember(const Json &j, const char *name, const std::string &where, const std::string &path) {
    const Json &v = member(j, name, where, path);
    if (!v.is_string()) bad(path, where + "\"" + name + "\" is not a string");
    return v.get<std::string>();
}

// Optional text: absent or null is empty.
std::string optionalText(const Json &j, const char *name, const std::string &where, const std::string &path) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return "";
    if (!it->is_string()) bad(path, where + "\"" + name + "\" is not a string");
    return it->get<std::string>();
}

double numberMember(const Json &j, const char *name, const std::string &where, const std::string &path) {
    const Json &v = member(j, name, where, path);
    if (!v.is_number()) bad(path, where + "\"" + name + "\" is not a number");
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < 0) bad(path, where + "\"" + name + "\" is not a finite number >= 0");
    return d;
}

int64_t sizeMember(const Json &j, const char *name, const std::string &where, const std::string &path) {
    const Json &v = member(j, name, where, path);
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
        bad(path, where + "\"" + name + "\" is not an integer >= 0");
    return v.get<int64_t>();
}

}  // namespace

QuantizeReport parseQuantizeReport(const std::string &text, const std::string &path) {
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::exception &e) {
        bad(path, std::string("not JSON: ") + e.what());
    }
    if (!j.is_object()) bad(path, "not a JSON object (a kforge quantize --report-json file is one)");
    auto version = j.find("kforge_quantize_report");
    if (version == j.end())
        bad(path, "not a kforge quantize report (no \"kforge_quantize_report\" field; "
                  "kforge quantize --report-json writes one)");
    if (!version->is_number_integer() || version->get<int64_t>() != 1)
        bad(path, "\"kforge_quantize_report\" is " + version->dump() + "; this kforge reads version 1");

    QuantizeReport r;
    r.path = path;
    const std::string top;
    r.checkpoint = textMember(j, "checkpoint", top, path);
    r.kernels = optionalText(j, "kernels", top, path);
    r.output = optionalText(j, "output", top, path);
    if (auto s = j.find("samples"); s != j.end() && !s->is_null()) {
        if (!s->is_string()) bad(path, "\"samples\" is neither a string nor null");
        r.samples = s->get<std::string>();
    }
    if (auto t = j.find("targets"); t != j.end()) {
        if (!t->is_array()) bad(path, "\"targets\" is not an array");
        for (const Json &v : *t) {
            if (!v.is_string()) bad(path, "\"targets\" holds something other than a string");
            r.targets.push_back(v.get<std::string>());
        }
    }
    if (j.contains("seconds") && !j["seconds"].is_null()) r.seconds = numberMember(j, "seconds", top, path);

    const Json &layers = member(j, "layers", top, path);
    if (!layers.is_array()) bad(path, "\"layers\" is not an array");
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Json &l = layers[i];
        const std::string where = "layers[" + std::to_string(i) + "]: ";
        if (!l.is_object()) bad(path, where + "not an object");
        QuantizeLayer layer;
        layer.name = textMember(l, "name", where, path);
        layer.n = sizeMember(l, "n", where, path);
        layer.k = sizeMember(l, "k", where, path);
        layer.kernel = textMember(l, "kernel", where, path);
        layer.source = optionalText(l, "source", where, path);
        const Json &results = member(l, "results", where, path);
        if (!results.is_array()) bad(path, where + "\"results\" is not an array");
        for (std::size_t k = 0; k < results.size(); ++k) {
            const Json &res = results[k];
            const std::string rw = "layers[" + std::to_string(i) + "].results[" + std::to_string(k) + "]: ";
            if (!res.is_object()) bad(path, rw + "not an object");
            QuantizeResult q;
            q.kernel = textMember(res, "kernel", rw, path);
            q.format = optionalText(res, "format", rw, path);
            if (!member(res, "weight_rel_err", rw, path).is_null())
                q.weightRelErr = numberMember(res, "weight_rel_err", rw, path);
            if (auto o = res.find("output_rel_err"); o != res.end() && !o->is_null())
                q.outputRelErr = numberMember(res, "output_rel_err", rw, path);
            if (res.contains("bytes")) q.bytes = sizeMember(res, "bytes", rw, path);
            layer.results.push_back(std::move(q));
        }
        r.layers.push_back(std::move(layer));
    }
    return r;
}

QuantizeReport readQuantizeReport(const std::string &path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) bad(path, "no such file");
    if (fs::is_directory(path, ec)) bad(path, "is a directory, not a quantize report");
    std::ifstream in(path, std::ios::binary);
    if (!in) bad(path, std::string("cannot read: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return parseQuantizeReport(text.str(), path);
}

// ---------------------------------------------------------------------------
// Numbers and SVG.

namespace {

std::string num(double v, int precision = 3) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    return buf;
}

std::string coord(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

// A tick label: plain between 0.01 and 10^4, else m×10ⁿ.
std::string tickText(double v) {
    if (v == 0) return "0";
    const int e = static_cast<int>(std::floor(std::log10(std::fabs(v)) + 1e-9));
    if (e >= -2 && e <= 4) return num(v, 6);
    static const char *const digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
    std::string exponent = e < 0 ? "⁻" : "";
    for (char c : std::to_string(std::abs(e))) exponent += digits[c - '0'];
    const double m = v / std::pow(10.0, e);
    return (std::fabs(m - 1) < 1e-6 ? std::string() : num(m) + "×") + "10" + exponent;
}

std::string timeText(double seconds) {
    char buf[64];
    if (seconds < 1e-6) std::snprintf(buf, sizeof buf, "%.3g ns", seconds * 1e9);
    else if (seconds < 1e-3) std::snprintf(buf, sizeof buf, "%.3g µs", seconds * 1e6);
    else if (seconds < 1) std::snprintf(buf, sizeof buf, "%.3g ms", seconds * 1e3);
    else std::snprintf(buf, sizeof buf, "%.3g s", seconds);
    return buf;
}

std::string utcText(int64_t unix) {
    const std::time_t t = static_cast<std::time_t>(unix);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

// Distinguishable on white, and in grey print by their order.
const char *const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                               "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};
const char *color(std::size_t i) { return kColors[i % (sizeof kColors / sizeof *kColors)]; }

// The mark of the i-th series: ten colours, then the next shape (circle,
// square, triangle, diamond). `title` is HTML already.
std::string marker(std::size_t i, double cx, double cy, double r, const char *cls, const std::string &title) {
    std::string out;
    const std::string attrs =
        (*cls ? std::string(" class=\"").append(cls).append("\"") : std::string()) + " fill=\"" + color(i) + "\"";
    const std::string body = title.empty() ? "/>" : "><title>" + title + "</title>";
    switch (i / 10 % 4) {
    case 0:
        out = "<circle" + attrs + " cx=\"" + coord(cx) + "\" cy=\"" + coord(cy) + "\" r=\"" + coord(r) + "\"" + body;
        return title.empty() ? out : out + "</circle>";
    case 1:
        out = "<path" + attrs + " d=\"M" + coord(cx - r) + " " + coord(cy - r) + " h" + coord(2 * r) + " v" +
              coord(2 * r) + " h" + coord(-2 * r) + " z\"" + body;
        break;
    case 2:
        out = "<path" + attrs + " d=\"M" + coord(cx) + " " + coord(cy - 1.2 * r) + " L" + coord(cx + 1.1 * r) + " " +
              coord(cy + 0.8 * r) + " L" + coord(cx - 1.1 * r) + " " + coord(cy + 0.8 * r) + " z\"" + body;
        break;
    default:
        out = "<path" + attrs + " d=\"M" + coord(cx) + " " + coord(cy - 1.3 * r) + " L" + coord(cx + 1.3 * r) + " " +
              coord(cy) + " L" + coord(cx) + " " + coord(cy + 1.3 * r) + " L" + coord(cx - 1.3 * r) + " " +
              coord(cy) + " z\"" + body;
    }
    return title.empty() ? out : out + "</path>";
}

// An axis: value -> pixel, linear or log10, with its ticks.
struct Axis {
    double lo = 0, hi = 1;       // values at the ends
    double from = 0, to = 1;     // pixels at the ends
    bool log = false;

    double at(double v) const {
        const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
        const double x = log ? std::log10(v) : v;
        return from + (x - a) / (b - a) * (to - from);
    }
    std::vector<double> ticks() const {
        std::vector<double> t;
        if (log) {
            const int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
            const int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
            const bool fine = e1 - e0 <= 2;
            for (int e = e0; e <= e1; ++e)
                for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
                    const double v = m * std::pow(10.0, e);
                    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t.push_back(v);
                }
        } else {
            const double span = hi - lo;
            double step = std::pow(10.0, std::floor(std::log10(span / 6)));
            for (double m : {1.0, 2.0, 5.0, 10.0})
                if (span / (step * m) <= 7) {
                    step *= m;
                    break;
                }
            step = std::max(step, 1.0);  // the linear axes count candidates
            for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9; v += step) t.push_back(v);
        }
        return t;
    }
};

// A log axis' ends: whole decades around [lo, hi].
std::pair<double, double> decades(double lo, double hi) {
    double a = std::pow(10.0, std::floor(std::log10(lo)));
    double b = std::pow(10.0, std::ceil(std::log10(hi)));
    if (b <= a) b = a * 10;
    return {a, b};
}

// The frame, grid, ticks and axis titles of one plot.
void drawAxes(std::ostream &s, const Axis &x, const Axis &y, const std::string &xTitle, const std::string &yTitle) {
    s << "<g class=\"axes\">";
    for (double t : x.ticks()) {
        const std::string px = coord(x.at(t));
        s << "<line class=\"grid\" x1=\"" << px << "\" x2=\"" << px << "\" y1=\"" << coord(y.from) << "\" y2=\""
          << coord(y.to) << "\"/>";
        s << "<text class=\"tick\" x=\"" << px << "\" y=\"" << coord(y.from + 16) << "\" text-anchor=\"middle\">"
          << tickText(t) << "</text>";
    }
    for (double t : y.ticks()) {
        const std::string py = coord(y.at(t));
        s << "<line class=\"grid\" x1=\"" << coord(x.from) << "\" x2=\"" << coord(x.to) << "\" y1=\"" << py
          << "\" y2=\"" << py << "\"/>";
        s << "<text class=\"tick\" x=\"" << coord(x.from - 6) << "\" y=\"" << coord(y.at(t) + 4)
          << "\" text-anchor=\"end\">" << tickText(t) << "</text>";
    }
    s << "<rect class=\"frame\" x=\"" << coord(x.from) << "\" y=\"" << coord(y.to) << "\" width=\""
      << coord(x.to - x.from) << "\" height=\"" << coord(y.from - y.to) << "\"/>";
    s << "<text class=\"axis-title\" x=\"" << coord((x.from + x.to) / 2) << "\" y=\"" << coord(y.from + 38)
      << "\" text-anchor=\"middle\">" << htmlEscape(xTitle) << "</text>";
    const double cy = (y.from + y.to) / 2, cx = x.from - 52;
    s << "<text class=\"axis-title\" x=\"" << coord(cx) << "\" y=\"" << coord(cy) << "\" text-anchor=\"middle\" "
      << "transform=\"rotate(-90 " << coord(cx) << " " << coord(cy) << ")\">" << htmlEscape(yTitle) << "</text>";
    s << "</g>";
}

// ---------------------------------------------------------------------------
// Tasks: the records of one (spec, target, bucket, machine, shape), oldest first.

struct Task {
    std::string kernel, family, specHash, target, bucket, machine;
    dsl::Shape shape;
    std::vector<const Record *> records;  // measured order
    const Record *best = nullptr;         // fastest ok record
    std::size_t ok = 0, failed = 0;
    std::size_t machineIndex = 0;

    std::string label() const { return kernel + " · " + target + " · " + bucket + " · " + shape.text(); }
    // The roofline time of the best record: seconds × (roofline time / seconds).
    double rooflineSeconds() const {
        return best && best->rooflineRatio > 0 ? best->seconds * best->rooflineRatio : 0.0;
    }
    // Whether the best record keeps the roofline's inputs (schema 3) with a
    // compute term: a point of the roofline plot.
    bool hasInputs() const {
        return best && best->bytes > 0 && best->ops > 0 && best->readBandwidth > 0 && best->computePeak > 0;
    }
    // Operations per call: the record's (schema 3), else where the family's
    // roofline counts them from the shape alone: lowbit_linear's 2·M·N·K (its
    // compute term).
    std::optional<double> ops() const {
        if (best && best->ops > 0) return best->ops;
        if (family != "lowbit_linear") return std::nullopt;
        const double m = double(shape["M"]), n = double(shape["N"]), k = double(shape["K"]);
        if (m <= 0 || n <= 0 || k <= 0) return std::nullopt;
        return 2.0 * m * n * k;
    }
};

std::vector<Task> groupTasks(const std::vector<Record> &records, std::vector<std::string> &machines) {
    std::vector<Task> tasks;
    std::map<std::string, std::size_t> index;
    for (const Record &r : records) {
        const std::string key =
            r.specHash + '\n' + r.target + '\n' + r.bucket + '\n' + r.machine + '\n' + r.shape.named();
        auto [it, fresh] = index.emplace(key, tasks.size());
        if (fresh) {
            Task t;
            t.kernel = r.kernel;
            t.family = r.family;
            t.specHash = r.specHash;
            t.target = r.target;
            t.bucket = r.bucket;
            t.machine = r.machine;
            t.shape = r.shape;
            auto m = std::find(machines.begin(), machines.end(), r.machine);
            t.machineIndex = static_cast<std::size_t>(m - machines.begin());
            if (m == machines.end()) machines.push_back(r.machine);
            tasks.push_back(std::move(t));
        }
        Task &t = tasks[it->second];
        t.records.push_back(&r);
        if (r.status == "ok" && r.seconds > 0) {
            ++t.ok;
            if (!t.best || r.seconds < t.best->seconds) t.best = &r;
        } else {
            ++t.failed;
        }
    }
    return tasks;
}

// The roofline plot of tasks without the roofline's inputs (records of
// schema 2, or a roofline without a compute term): each task's best record,
// measured time per call against its roofline time, with the lines of 100%,
// 50% and 25% of the roofline.
// A plot's legend: one line per ceiling (dash pattern, text class, escaped
// text), then each shown task's marker and label; closes the plot's <svg>.
struct LegendLine {
    const char *dash;
    const char *textClass;
    std::string html;
};
void legend(std::ostream &s, double legendX, double ly, const std::vector<LegendLine> &lines,
            const std::vector<const Task *> &shown) {
    s << "<g class=\"legend\">";
    for (const LegendLine &l : lines) {
        s << "<line class=\"ceiling\" x1=\"" << coord(legendX) << "\" x2=\"" << coord(legendX + 28) << "\" y1=\""
          << coord(ly) << "\" y2=\"" << coord(ly) << "\""
          << (*l.dash ? std::string(" stroke-dasharray=\"") + l.dash + "\"" : std::string()) << "/>";
        s << "<text" << (*l.textClass ? std::string(" class=\"") + l.textClass + "\"" : std::string()) << " x=\""
          << coord(legendX + 36) << "\" y=\"" << coord(ly + 4) << "\">" << l.html << "</text>";
        ly += 26;
    }
    for (std::size_t i = 0; i < shown.size(); ++i) {
        s << marker(i, legendX + 14, ly, 5, "", "");
        s << "<text x=\"" << coord(legendX + 36) << "\" y=\"" << coord(ly + 4) << "\">"
          << htmlEscape(shown[i]->label()) << "</text>";
        ly += 20;
    }
    s << "</g></svg>";
}

void rooflineTimePlot(std::ostream &s, const std::vector<const Task *> &tasks) {
    std::vector<const Task *> shown;
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const Task *tp : tasks) {
        const Task &t = *tp;
        const double roof = t.rooflineSeconds();
        if (roof <= 0) continue;
        shown.push_back(&t);
        lo = std::min({lo, roof, t.best->seconds});
        hi = std::max({hi, roof, t.best->seconds});
    }
    if (shown.empty()) {
        s << "<p class=\"empty\">None of them has an ok record with a roofline time: nothing to plot.</p>";
        return;
    }
    const double scale = 1e6;  // µs
    auto [a, b] = decades(lo * scale / 1.2, hi * scale * 1.2);
    const double plotW = 560, plotH = 420, left = 90, top = 40;
    const double legendX = left + plotW + 30;
    std::size_t longest = 16;
    for (const Task *t : shown) longest = std::max(longest, t->label().size());
    const double width = legendX + 40 + 6.6 * double(longest);
    const double height = std::max(top + plotH + 70, top + 26.0 * 3 + 20.0 * double(shown.size()) + 60);
    Axis x{a, b, left, left + plotW, true}, y{a, b, top + plotH, top, true};

    s << "<svg class=\"plot roof\" id=\"roofline-time\" data-points=\"" << shown.size() << "\" width=\"" << coord(width)
      << "\" height=\""
      << coord(height) << "\" viewBox=\"0 0 " << coord(width) << " " << coord(height) << "\" role=\"img\">";
    s << "<title>Roofline: best measured time per call against the roofline time</title>";
    s << "<text class=\"plot-title\" x=\"" << coord(left) << "\" y=\"22\">Without the roofline's inputs: best time "
         "per call against the roofline time</text>";
    drawAxes(s, x, y, "roofline time per call (µs, log scale) = max(bytes / read bandwidth, ops / compute peak)",
             "measured time per call (µs, log scale)");
    // y = x / fraction: the time at that fraction of the roofline.
    struct Line {
        double fraction;
        const char *dash, *name;
    };
    const Line lines[] = {
        {1.0, "", "roofline (100%)"}, {0.5, "6 4", "50% of roofline"}, {0.25, "2 4", "25% of roofline"}};
    s << "<defs><clipPath id=\"roof-time-clip\"><rect x=\"" << coord(left) << "\" y=\"" << coord(top) << "\" width=\""
      << coord(plotW) << "\" height=\"" << coord(plotH) << "\"/></clipPath></defs>";
    s << "<g clip-path=\"url(#roof-time-clip)\">";
    for (const Line &l : lines)
        s << "<line class=\"ceiling\" x1=\"" << coord(x.at(a)) << "\" y1=\"" << coord(y.at(a / l.fraction))
          << "\" x2=\"" << coord(x.at(b)) << "\" y2=\"" << coord(y.at(b / l.fraction)) << "\""
          << (*l.dash ? std::string(" stroke-dasharray=\"") + l.dash + "\"" : std::string()) << "/>";
    s << "</g>";
    for (std::size_t i = 0; i < shown.size(); ++i) {
        const Task &t = *shown[i];
        const double roof = t.rooflineSeconds();
        s << marker(i, x.at(roof * scale), y.at(t.best->seconds * scale), 6, "pt",
                    htmlEscape(t.label()) + ": " + timeText(t.best->seconds) + " per call, roofline " +
                        timeText(roof) + " (" + num(100 * t.best->rooflineRatio) + "% of roofline)");
    }
    // The legend: the lines, then one entry per kernel.
    double ly = top + 6;
    std::vector<LegendLine> entries;
    for (const Line &l : lines) entries.push_back({l.dash, "", l.name});
    legend(s, legendX, ly, entries, shown);
}

// ---------------------------------------------------------------------------
// The classic roofline: achieved GOP/s against arithmetic intensity, under
// min(bandwidth · intensity, peak) of the machine.

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One machine's roofline: the medians of the read bandwidth and the compute
// peak over the records measured under it.
struct Ceiling {
    std::size_t machineIndex = 0;
    double bandwidth = 0, peak = 0;  // bytes/s, ops/s
    std::vector<double> peaks, bandwidths;

    double at(double intensity) const { return std::min(bandwidth * intensity, peak); }  // ops/s
    std::string label() const {
        return "machine " + std::to_string(machineIndex + 1) + ": " + num(bandwidth / 1e9) + " GB/s, " +
               num(peak / 1e9) + " GOP/s";
    }
};

// Peaks of one machine further apart than this are of different kinds
// (int8 dot products against f32 FMAs: 2-4× on the CPUs kforge targets);
// closer ones are the same peak measured by different runs.
constexpr double kSamePeak = 1.5;

// The ceilings of the ok records that keep the roofline's inputs, per
// machine (its fingerprint names the thread count) and kind of peak; and for
// each task of `shown`, the index of its ceiling.
std::vector<Ceiling> ceilings(const std::vector<Task> &tasks, const std::vector<const Task *> &shown,
                              std::vector<std::size_t> &ceilingOf) {
    // Per machine, every record's (peak, bandwidth), peaks ascending.
    std::map<std::size_t, std::vector<std::pair<double, double>>> byMachine;
    for (const Task &t : tasks)
        for (const Record *r : t.records)
            if (r->status == "ok" && r->bytes > 0 && r->ops > 0 && r->readBandwidth > 0 && r->computePeak > 0)
                byMachine[t.machineIndex].emplace_back(r->computePeak, r->readBandwidth);
    std::vector<Ceiling> out;
    for (auto &[machine, values] : byMachine) {
        std::sort(values.begin(), values.end());
        for (const auto &[peak, bandwidth] : values) {
            // A new kind of peak where it jumps from the lowest of the current one.
            if (out.empty() || out.back().machineIndex != machine || peak > kSamePeak * out.back().peaks.front()) {
                out.emplace_back();
                out.back().machineIndex = machine;
            }
            out.back().peaks.push_back(peak);
            out.back().bandwidths.push_back(bandwidth);
        }
    }
    for (Ceiling &c : out) {
        c.peak = median(c.peaks);
        c.bandwidth = median(c.bandwidths);
    }
    ceilingOf.clear();
    for (const Task *t : shown) {
        std::size_t best = 0;
        double distance = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (out[i].machineIndex != t->machineIndex) continue;
            const double d = std::fabs(std::log(t->best->computePeak / out[i].peak));
            if (d < distance) distance = d, best = i;
        }
        ceilingOf.push_back(best);
    }
    return out;
}

// Dash patterns of the ceilings, in order.
const char *const kCeilingDash[] = {"", "7 4", "2 3", "9 3 2 3"};
const char *ceilingDash(std::size_t i) { return kCeilingDash[i % (sizeof kCeilingDash / sizeof *kCeilingDash)]; }

void rooflinePlot(std::ostream &s, const std::vector<Task> &tasks, const std::vector<const Task *> &shown) {
    std::vector<std::size_t> ceilingOf;
    const std::vector<Ceiling> roofs = ceilings(tasks, shown, ceilingOf);
    // The axes: every point and every ridge (bandwidth · x = peak) inside.
    double xlo = std::numeric_limits<double>::infinity(), xhi = 0;
    double ylo = std::numeric_limits<double>::infinity(), yhi = 0;
    for (const Task *t : shown) {
        const double intensity = t->best->ops / t->best->bytes, achieved = t->best->ops / t->best->seconds / 1e9;
        xlo = std::min(xlo, intensity), xhi = std::max(xhi, intensity);
        ylo = std::min(ylo, achieved), yhi = std::max(yhi, achieved);
    }
    for (const Ceiling &c : roofs) {
        const double ridge = c.peak / c.bandwidth;
        xlo = std::min(xlo, ridge), xhi = std::max(xhi, ridge);
        yhi = std::max(yhi, c.peak / 1e9);
    }
    auto [xa, xb] = decades(xlo / 2, xhi * 2);
    auto [ya, yb] = decades(ylo / 2, yhi * 1.5);
    const double plotW = 560, plotH = 420, left = 90, top = 40;
    const double legendX = left + plotW + 30;
    std::size_t longest = 16;
    for (const Task *t : shown) longest = std::max(longest, t->label().size());
    for (const Ceiling &c : roofs) longest = std::max(longest, c.label().size() + 9);
    const double width = legendX + 40 + 6.6 * double(longest);
    const double height =
        std::max(top + plotH + 70, top + 26.0 * double(roofs.size()) + 20.0 * double(shown.size()) + 60);
    Axis x{xa, xb, left, left + plotW, true}, y{ya, yb, top + plotH, top, true};

    s << "<svg class=\"plot roof\" id=\"roofline\" data-points=\"" << shown.size() << "\" width=\"" << coord(width)
      << "\" height=\"" << coord(height) << "\" viewBox=\"0 0 " << coord(width) << " " << coord(height)
      << "\" role=\"img\">";
    s << "<title>Roofline: achieved GOP/s against arithmetic intensity, under the measured bandwidth and peak"
         "</title>";
    s << "<text class=\"plot-title\" x=\"" << coord(left) << "\" y=\"22\">Roofline: each tuned kernel's achieved "
         "GOP/s against its arithmetic intensity</text>";
    drawAxes(s, x, y, "arithmetic intensity (ops per byte streamed, log scale)",
             "achieved GOP/s (log scale)");
    s << "<defs><clipPath id=\"roof-clip\"><rect x=\"" << coord(left) << "\" y=\"" << coord(top) << "\" width=\""
      << coord(plotW) << "\" height=\"" << coord(plotH) << "\"/></clipPath></defs>";
    s << "<g clip-path=\"url(#roof-clip)\">";
    for (std::size_t i = 0; i < roofs.size(); ++i) {
        const Ceiling &c = roofs[i];
        // The slope up to the ridge, then the flat peak; each end on the axis' range.
        const double ridge = c.peak / c.bandwidth;
        std::string d = "M";  // (not "M" + a string: GCC 12's -Wrestrict misfires on it)
        d += coord(x.at(xa)) + " " + coord(y.at(c.at(xa) / 1e9));
        if (ridge > xa && ridge < xb) d += " L" + coord(x.at(ridge)) + " " + coord(y.at(c.peak / 1e9));
        d += " L" + coord(x.at(xb)) + " " + coord(y.at(c.at(xb) / 1e9));
        s << "<path class=\"ceiling\" data-bandwidth=\"" << num(c.bandwidth, 6) << "\" data-peak=\""
          << num(c.peak, 6) << "\" d=\"" << d << "\""
          << (*ceilingDash(i) ? std::string(" stroke-dasharray=\"") + ceilingDash(i) + "\"" : std::string())
          << "><title>" << htmlEscape("roofline of " + c.label() + " (ridge at " + num(ridge) + " ops/byte)")
          << "</title></path>";
    }
    s << "</g>";
    for (std::size_t i = 0; i < shown.size(); ++i) {
        const Task &t = *shown[i];
        const Record &b = *t.best;
        const double intensity = b.ops / b.bytes, achieved = b.ops / b.seconds;
        const Ceiling &c = roofs[ceilingOf[i]];
        s << marker(i, x.at(intensity), y.at(achieved / 1e9), 6, "pt",
                    htmlEscape(t.label()) + ": " + num(achieved / 1e9) + " GOP/s at " + num(intensity) +
                        " ops/byte (" + num(b.bytes / b.seconds / 1e9) + " GB/s), " +
                        num(100 * achieved / c.at(intensity)) + "% of the ceiling's " + num(c.at(intensity) / 1e9) +
                        " GOP/s there");
    }
    // The legend: the ceilings, then one entry per kernel.
    double ly = top + 6;
    std::vector<LegendLine> entries;
    for (std::size_t i = 0; i < roofs.size(); ++i)
        entries.push_back({ceilingDash(i), "ceiling-label", "roofline, " + htmlEscape(roofs[i].label())});
    legend(s, legendX, ly, entries, shown);
}

// One task's convergence: every candidate's time in the order measured,
// failed ones marked on the floor, and the best so far.
void convergencePlot(std::ostream &s, const Task &t, std::size_t index) {
    const double scale = 1e6;
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const Record *r : t.records)
        if (r->status == "ok" && r->seconds > 0) {
            lo = std::min(lo, r->seconds * scale);
            hi = std::max(hi, r->seconds * scale);
        }
    if (hi == 0) lo = 1, hi = 10;  // no ok record: the axis only carries the failures
    auto [a, b] = decades(lo / 1.05, hi * 1.05);
    const double n = double(t.records.size());
    const double left = 76, top = 34, plotW = 340, plotH = 190;
    Axis x{0, std::max(1.0, n), left, left + plotW, false}, y{a, b, top + plotH, top, true};
    const std::string id = "conv-" + std::to_string(index);
    s << "<svg class=\"plot conv\" id=\"" << id << "\" data-points=\"" << t.records.size()
      << "\" width=\"560\" height=\"280\" viewBox=\"0 0 560 280\" role=\"img\">";
    s << "<title>" << htmlEscape("Convergence of " + t.label()) << "</title>";
    s << "<text class=\"plot-title\" x=\"" << coord(left) << "\" y=\"20\">" << htmlEscape(t.label()) << "</text>";
    drawAxes(s, x, y, "candidates measured", "best time per call (µs, log)");
    std::string step;  // the best-so-far staircase
    double best = 0;
    std::ostringstream marks;
    for (std::size_t i = 0; i < t.records.size(); ++i) {
        const Record &r = *t.records[i];
        const double px = x.at(double(i + 1));
        if (r.status == "ok" && r.seconds > 0) {
            const double v = r.seconds * scale;
            marks << "<circle class=\"pt cand\" cx=\"" << coord(px) << "\" cy=\"" << coord(y.at(v))
                  << "\" r=\"3\"><title>candidate " << i + 1 << ": " << timeText(r.seconds) << "</title></circle>";
            if (best == 0 || v < best) {
                const bool first = step.empty();  // "M x y", then " H x V y" per improvement
                step += first ? "M" : " H";
                step += coord(px);
                step += first ? " " : " V";
                step += coord(y.at(v));
                best = v;
                marks << "<circle class=\"pt best\" cx=\"" << coord(px) << "\" cy=\"" << coord(y.at(v))
                      << "\" r=\"3.5\"><title>new best at candidate " << i + 1 << ": " << timeText(r.seconds)
                      << "</title></circle>";
            }
        } else {
            const double py = y.from - 6;
            marks << "<path class=\"pt fail\" d=\"M" << coord(px - 3) << " " << coord(py - 3) << " l6 6 m0 -6 l-6 6\">"
                  << "<title>candidate " << i + 1 << ": " << htmlEscape(r.status) << "</title></path>";
        }
    }
    if (step.empty())
        s << "<text class=\"empty\" x=\"" << coord(left + plotW / 2) << "\" y=\"" << coord(top + plotH / 2)
          << "\" text-anchor=\"middle\">no candidate ran ok</text>";
    if (!step.empty()) s << "<path class=\"best-line\" d=\"" << step << " H" << coord(x.at(n)) << "\"/>";
    s << marks.str();
    const double lx = left + plotW + 16;
    s << "<g class=\"legend\">"
      << "<circle class=\"cand\" cx=\"" << coord(lx + 6) << "\" cy=\"" << coord(top + 6) << "\" r=\"2.5\"/>"
      << "<text x=\"" << coord(lx + 16) << "\" y=\"" << coord(top + 10) << "\">candidate (ok)</text>"
      << "<path class=\"fail\" d=\"M" << coord(lx + 3) << " " << coord(top + 23) << " l6 6 m0 -6 l-6 6\"/>"
      << "<text x=\"" << coord(lx + 16) << "\" y=\"" << coord(top + 30) << "\">failed (no time)</text>"
      << "<line class=\"best-line\" x1=\"" << coord(lx) << "\" x2=\"" << coord(lx + 12) << "\" y1=\""
      << coord(top + 46) << "\" y2=\"" << coord(top + 46) << "\"/>"
      << "<text x=\"" << coord(lx + 16) << "\" y=\"" << coord(top + 50) << "\">best so far</text>"
      << "<text x=\"" << coord(lx) << "\" y=\"" << coord(top + 76) << "\">" << t.ok << " ok, " << t.failed
      << " failed</text>";
    if (t.best)
        s << "<text x=\"" << coord(lx) << "\" y=\"" << coord(top + 94) << "\">best " << timeText(t.best->seconds)
          << "</text>";
    s << "</g></svg>";
}

void taskTable(std::ostream &s, const std::vector<Task> &tasks) {
    s << "<div class=\"scroll\"><table class=\"tasks\"><thead><tr><th>kernel</th><th>family</th><th>target</th><th>bucket</th>"
         "<th>shape</th><th>machine</th><th>candidates<br>ok / failed</th><th>best time<br>per call</th>"
         "<th>roofline<br>time</th><th>share of<br>roofline</th><th>ops<br>per byte</th><th>achieved<br>GOP/s</th>"
         "<th>roofline<br>GOP/s</th><th>achieved<br>GB/s</th><th>measured<br>GB/s</th>"
         "<th>best schedule</th></tr></thead><tbody>";
    for (const Task &t : tasks) {
        const double roof = t.rooflineSeconds();
        s << "<tr><td>" << htmlEscape(t.kernel) << "</td><td>" << htmlEscape(t.family) << "</td><td>"
          << htmlEscape(t.target) << "</td><td>" << htmlEscape(t.bucket) << "</td><td class=\"shape\">"
          << htmlEscape(t.shape.named())
          << "</td><td>" << t.machineIndex + 1 << "</td><td class=\"n\">" << t.ok << " / " << t.failed << "</td>";
        if (!t.best) {
            s << "<td colspan=\"9\" class=\"none\">no candidate ran ok</td></tr>";
            continue;
        }
        s << "<td class=\"n\">" << timeText(t.best->seconds) << "</td><td class=\"n\">"
          << (roof > 0 ? timeText(roof) : "–") << "</td><td class=\"n\">"
          << (roof > 0 ? num(100 * t.best->rooflineRatio) + "%" : "–") << "</td>";
        const Record &b = *t.best;
        s << "<td class=\"n\">" << (b.ops > 0 && b.bytes > 0 ? num(b.ops / b.bytes) : "–") << "</td>";
        if (auto ops = t.ops()) {
            s << "<td class=\"n\">" << num(*ops / b.seconds / 1e9) << "</td><td class=\"n\">"
              << (roof > 0 ? num(*ops / roof / 1e9) : "–") << "</td>";
        } else {
            s << "<td class=\"n\">–</td><td class=\"n\">–</td>";
        }
        // Bytes streamed per second against the read bandwidth measured beside it.
        s << "<td class=\"n\">" << (b.bytes > 0 ? num(b.bytes / b.seconds / 1e9) : "–") << "</td><td class=\"n\">"
          << (b.readBandwidth > 0 ? num(b.readBandwidth / 1e9) : "–") << "</td>";
        // Folded: a schedule is as long as the rest of the row, and the table should fit a window.
        s << "<td class=\"schedule\"><details><summary>show</summary><code>" << htmlEscape(t.best->schedule)
          << "</code></details></td></tr>";
    }
    s << "</tbody></table></div>";
}

// A tensor name (HTML already) that wraps after its dots, not anywhere:
// "encoder.layer.0.attention" stays readable in a narrow column.
std::string breakAtDots(const std::string &html) {
    std::string out;
    for (char c : html) {
        out += c;
        if (c == '.') out += "<wbr>";
    }
    return out;
}

void quantizeSection(std::ostream &s, const QuantizeReport &q, std::size_t index) {
    s << "<section class=\"quantize\" id=\"quantize-" << index << "\"><h3>" << htmlEscape(q.checkpoint) << "</h3>";
    s << "<dl class=\"meta\"><dt>report</dt><dd>" << htmlEscape(q.path) << "</dd>";
    if (!q.kernels.empty()) s << "<dt>kernel file</dt><dd>" << htmlEscape(q.kernels) << "</dd>";
    if (!q.output.empty()) s << "<dt>output</dt><dd>" << htmlEscape(q.output) << "</dd>";
    s << "<dt>sample activations</dt><dd>" << (q.samples ? htmlEscape(*q.samples) : "none (no output error)")
      << "</dd>";
    if (!q.targets.empty()) {
        std::string targets;
        for (const auto &t : q.targets) targets += (targets.empty() ? "" : ", ") + t;
        s << "<dt>targets</dt><dd>" << htmlEscape(targets) << "</dd>";
    }
    if (q.seconds) s << "<dt>run time</dt><dd>" << num(*q.seconds) << " s</dd>";
    s << "</dl>";
    // Columns: every kernel any layer was tried with, in order of first appearance.
    std::vector<std::string> kernels;
    for (const auto &l : q.layers)
        for (const auto &r : l.results)
            if (std::find(kernels.begin(), kernels.end(), r.kernel) == kernels.end()) kernels.push_back(r.kernel);
    if (q.layers.empty()) {
        s << "<p class=\"empty\">The report has no layers.</p></section>";
        return;
    }
    s << "<div class=\"scroll\"><table class=\"accuracy\"><thead><tr><th rowspan=\"2\">layer</th><th rowspan=\"2\">N × K</th>"
         "<th rowspan=\"2\">chosen</th>";
    for (const auto &k : kernels) s << "<th colspan=\"2\">" << htmlEscape(k) << "</th>";
    s << "</tr><tr>";
    for (std::size_t i = 0; i < kernels.size(); ++i) s << "<th>weight<br>rel. err</th><th>output<br>rel. err</th>";
    s << "</tr></thead><tbody>";
    for (const auto &l : q.layers) {
        s << "<tr><td class=\"layer\">" << breakAtDots(htmlEscape(l.name)) << "</td><td class=\"n\">" << l.n << " × " << l.k
          << "</td><td>" << htmlEscape(l.kernel)
          << (l.source.empty() ? "" : "<br><small>" + htmlEscape(l.source) + "</small>")
          << "</td>";
        for (const auto &k : kernels) {
            auto r = std::find_if(l.results.begin(), l.results.end(),
                                  [&](const QuantizeResult &x) { return x.kernel == k; });
            if (r == l.results.end()) {
                s << "<td class=\"n none\">–</td><td class=\"n none\">–</td>";
                continue;
            }
            const bool chosen = k == l.kernel;
            std::string title = r->format;
            if (r->bytes > 0) title += (title.empty() ? "" : ", ") + std::to_string(r->bytes) + " bytes";
            const std::string cls = chosen ? "n chosen" : "n";
            s << "<td class=\"" << cls << "\" title=\"" << htmlEscape(title) << "\">" << (chosen ? "★ " : "")
              << (r->weightRelErr ? num(*r->weightRelErr) : "not finite") << "</td><td class=\"" << cls
              << "\" title=\"" << htmlEscape(title) << "\">"
              << (r->outputRelErr ? num(*r->outputRelErr) : "–") << "</td>";
        }
        s << "</tr>";
    }
    s << "</tbody></table></div><p class=\"note\">★ marks the kernel each layer got. Relative errors are "
         "‖ŷ − y‖ / ‖y‖ of the dequantized weights (weight) and of the layer's output on the sample activations "
         "(output).</p></section>";
}

const char *const kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;margin:24px 32px;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #ccc;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:6px 0 12px}dl.meta dt{color:#666}dl.meta dd{margin:0;word-break:break-all}
svg.plot{display:block;margin:8px 0;font-size:11px;background:#fff}
.plot-title{font-size:14px;font-weight:600}.axis-title{font-size:12px}.tick{fill:#444}
.grid{stroke:#e4e4e4;stroke-width:1}.frame{fill:none;stroke:#888}
.ceiling{stroke:#222;stroke-width:1.5;fill:none}
.roof .pt{stroke:#fff;stroke-width:1}.cand{fill:#6b7785}.best{fill:#d62728}
.fail{stroke:#d62728;stroke-width:1.5;fill:none}.best-line{stroke:#d62728;stroke-width:1.5;fill:none}
.legend text{font-size:11px}
.convergence{display:flex;flex-wrap:wrap;gap:0 12px}
table{border-collapse:collapse;margin:8px 0;font-size:12px}th,td{border:1px solid #ddd;padding:3px 6px;vertical-align:top}
th{background:#f3f3f3;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.chosen{background:#e6f4e6;font-weight:600}td.none{color:#999}td.layer{font-family:monospace;min-width:22ch;overflow-wrap:break-word}
.scroll{overflow-x:auto}
code{font-size:11px;white-space:pre-wrap}.note,.empty{color:#555}.empty{font-style:italic}
td.schedule summary{cursor:pointer;color:#555}td.schedule details[open] code{display:block;white-space:pre}
)";

// Counts each plot's drawn data marks after load; a plot that should have
// some and has none is a console error (what the headless test looks for).
const char *const kScript = R"(
(function () {
  var drawn = 0;
  document.querySelectorAll('svg.plot').forEach(function (svg) {
    var n = svg.querySelectorAll('.pt').length;
    drawn += n;
    if (Number(svg.getAttribute('data-points')) > 0 && n === 0)
      console.error('kforge report: plot ' + svg.id + ' drew no data points');
  });
  document.body.setAttribute('data-points-drawn', String(drawn));
})();
)";

}  // namespace

std::string renderReport(const std::vector<Record> &records, const std::vector<QuantizeReport> &quantize,
                         const ReportContext &context) {
    std::vector<std::string> machines;
    const std::vector<Task> tasks = groupTasks(records, machines);
    std::ostringstream s;
    s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>kforge report</title><style>"
      << kStyle << "</style></head>\n<body>\n<h1>kforge report</h1>\n<dl class=\"meta\">"
      << "<dt>generated</dt><dd>" << utcText(context.generatedUnix) << " on " << htmlEscape(context.host) << "</dd>"
      << "<dt>tuning database</dt><dd>" << htmlEscape(context.database) << " (" << records.size()
      << (records.size() == 1 ? " record, " : " records, ") << tasks.size()
      << (tasks.size() == 1 ? " task)</dd>" : " tasks)</dd>");
    for (std::size_t i = 0; i < machines.size(); ++i)
        s << "<dt>machine " << i + 1 << "</dt><dd>" << htmlEscape(machines[i]) << "</dd>";
    s << "</dl>\n";

    s << "<h2 id=\"roofline-section\">Tuned kernels against the roofline</h2>\n";
    if (tasks.empty()) {
        s << "<p class=\"empty\" id=\"no-tuned\">No tuned kernels: the database has no records "
             "(kforge tune fills it).</p>\n";
    } else {
        std::vector<const Task *> classic, older;
        std::size_t before3 = 0, noCompute = 0;
        for (const Task &t : tasks) {
            if (!t.best) continue;
            if (t.hasInputs()) {
                classic.push_back(&t);
            } else {
                older.push_back(&t);
                ++(t.best->bytes > 0 ? noCompute : before3);
            }
        }
        s << "<p class=\"note\">One point per tuned task (kernel, target, bucket, shape, machine): its fastest ok "
             "candidate. The tuner's worker measured, beside each candidate, the read bandwidth of a buffer as large "
             "as what the kernel streams and the compute peak (int8 dot products or f32 FMAs, perf/Ceilings.h); the "
             "roofline time is max(bytes / bandwidth, ops / peak). A point sits at its arithmetic intensity (ops per "
             "byte streamed) and the GOP/s it achieved (ops / best time); the line above it is its machine's "
             "roofline, min(bandwidth × intensity, peak), with the median bandwidth and peak of the records "
             "measured on that machine (its fingerprint names the thread count) with that kind of peak. A point on "
             "its line runs at the roofline; below it, slower.</p>\n";
        if (!classic.empty()) rooflinePlot(s, tasks, classic);
        if (!older.empty()) {
            s << "<p class=\"note\" id=\"roofline-fallback\">" << older.size()
              << (older.size() == 1 ? " task is" : " tasks are")
              << " plotted as measured time per call against the roofline time instead: ";
            if (before3 > 0)
                s << before3 << (before3 == 1 ? " has records" : " have records")
                  << " of a kforge before schema 3, which kept only the ratio roofline time / measured time, not "
                     "the bytes, ops, bandwidth and peak an intensity and GOP/s need (tune it again to place it on "
                     "the roofline)"
                  << (noCompute > 0 ? "; " : ".");
            if (noCompute > 0)
                s << noCompute << (noCompute == 1 ? " has" : " have")
                  << " a roofline without a compute term (bytes / bandwidth only, as hadamard's), so no intensity.";
            s << " A point on the solid line runs at the roofline; above it, slower.</p>\n";
            rooflineTimePlot(s, older);
        }
        taskTable(s, tasks);
        s << "<h2 id=\"convergence-section\">Tuning convergence</h2>\n<p class=\"note\">Per task, every candidate "
             "in the order it was measured (failed builds, crashes, timeouts and wrong results count as measured, "
             "marked × on the floor) and the best time so far.</p>\n<div class=\"convergence\">";
        for (std::size_t i = 0; i < tasks.size(); ++i) convergencePlot(s, tasks[i], i);
        s << "</div>\n";
    }

    s << "<h2 id=\"quantize-section\">Quantization accuracy</h2>\n";
    if (quantize.empty())
        s << "<p class=\"empty\">No quantize reports given (kforge quantize --report-json FILE, then kforge report "
             "--quantize FILE).</p>\n";
    for (std::size_t i = 0; i < quantize.size(); ++i) quantizeSection(s, quantize[i], i);
    s << "\n<script>" << kScript << "</script>\n</body></html>\n";
    return s.str();
}

// ---------------------------------------------------------------------------

int report(const ReportOptions &o, std::ostream &out, std::ostream &err) {
    const std::string location = o.db.empty() ? autotune::defaultDatabasePath() : o.db;
    try {
        if (o.out.empty()) throw std::runtime_error("no output file (-o report.html)");
        if (fs::is_directory(o.out)) throw std::runtime_error(o.out + ": is a directory (-o names the HTML file)");
        if (!autotune::databaseExists(location)) throw std::runtime_error(location + ": no such database");
        // Everything is read and checked before the page is written.
        std::vector<QuantizeReport> quantize;
        for (const std::string &path : o.quantize) quantize.push_back(readQuantizeReport(path));
        std::vector<Record> records;
        std::string shown;
        {
            autotune::Database db(location, autotune::Database::OpenMode::ReadOnly);
            records = db.records();
            shown = db.path();
            // A writable file of an older schema was migrated (and backed up) on opening.
            if (!db.migrationNote().empty()) err << "note: " << db.migrationNote() << "\n";
        }
        ReportContext context;
        context.database = shown;
        context.host = autotune::machineFingerprint();
        context.generatedUnix = static_cast<int64_t>(std::time(nullptr));
        // Written beside and renamed into place: a failed run leaves an existing report as it was.
        checkpoint::AtomicFile page(o.out);
        const std::string html = renderReport(records, quantize, context);
        page.write(html.data(), html.size());
        page.commit();
        std::vector<std::string> machines;
        const std::size_t tasks = groupTasks(records, machines).size();
        out << "wrote " << o.out << ": " << tasks << (tasks == 1 ? " tuned task" : " tuned tasks") << " ("
            << records.size() << " records), " << quantize.size()
            << (quantize.size() == 1 ? " quantize report\n" : " quantize reports\n");
        return 0;
    } catch (const std::exception &e) {
        err << "kforge report: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace kf::tools
