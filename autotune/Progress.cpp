#include "autotune/Progress.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace kf::autotune {

namespace {

std::string duration(double s) {
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, int(s) / 60 % 60);
    return buf;
}

std::string best(const TaskProgress &p) {
    if (p.bestSeconds <= 0) return "best -";
    char buf[96];
    std::snprintf(buf, sizeof buf, "best %.3f ms (%.2f of roofline)", p.bestSeconds * 1e3, p.bestRatio);
    return buf;
}

nlohmann::json taskJson(const TaskProgress &p) {
    return {{"task", p.task},       {"index", p.index},     {"tasks", p.tasks},
            {"space", p.space},     {"planned", p.planned}, {"done", p.done},
            {"resumed", p.resumed}, {"failed", p.failed},   {"strategy", p.strategy},
            {"prior_records", p.priors}, {"prior_tasks", p.priorTasks},
            {"best_seconds", p.bestSeconds}, {"best_roofline_ratio", p.bestRatio},
            {"best_symbol", p.bestSymbol},   {"elapsed_seconds", p.elapsed}};
}

}  // namespace

Progress::Progress(std::ostream &out, bool json, bool live) : out_(out), json_(json), live_(live && !json) {}

void Progress::taskStart(const TaskProgress &p) {
    if (json_) {
        nlohmann::json j = taskJson(p);
        j["event"] = "task_start";
        out_ << j.dump() << std::endl;
    } else if (live_) {
        liveLine(p);
    } else {
        out_ << "[" << p.index << "/" << p.tasks << "] " << p.task << ": " << p.space << " points, " << p.strategy
             << ", " << p.resumed << " already in the database";
        if (p.priors > 0)
            out_ << ", model starts from " << p.priors << " records of " << p.priorTasks << " other task"
                 << (p.priorTasks == 1 ? "" : "s");
        out_ << std::endl;
    }
}

void Progress::liveLine(const TaskProgress &p) {
    out_ << "\r\033[K[" << p.index << "/" << p.tasks << "] " << p.task << ": " << p.done << "/" << p.planned
         << " done, " << p.failed << " failed, " << best(p) << ", ETA " << duration(p.eta) << std::flush;
}

void Progress::candidate(const TaskProgress &p, const Record &r) {
    if (json_) {
        out_ << nlohmann::json{{"event", "candidate"}, {"task", p.task}, {"key", r.key}, {"status", r.status},
                               {"symbol", r.symbol}, {"seconds", r.seconds}, {"roofline_ratio", r.rooflineRatio},
                               {"samples", r.samples.size()}, {"message", r.message}, {"done", p.done},
                               {"planned", p.planned}}
                    .dump()
             << std::endl;
        return;
    }
    if (r.status != "ok") {
        const std::string first = r.message.substr(0, r.message.find('\n'));
        if (live_) out_ << "\r\033[K";
        out_ << "  " << r.status << ": " << r.symbol << (first.empty() ? "" : ": " + first) << std::endl;
    }
    if (live_) liveLine(p);
}

void Progress::taskEnd(const TaskProgress &p, const std::string &stopReason) {
    if (json_) {
        nlohmann::json j = taskJson(p);
        j["event"] = "task_end";
        j["stop"] = stopReason;
        out_ << j.dump() << std::endl;
        return;
    }
    if (live_) out_ << "\r\033[K";
    out_ << "[" << p.index << "/" << p.tasks << "] " << p.task << ": " << p.done << "/" << p.space << " measured ("
         << p.resumed << " resumed, " << p.failed << " failed, " << stopReason << "), " << best(p)
         << (p.bestSymbol.empty() ? "" : " " + p.bestSymbol) << ", " << duration(p.elapsed) << std::endl;
}

void Progress::done(std::size_t tasks, std::size_t measured, std::size_t failed, double seconds) {
    if (json_) {
        out_ << nlohmann::json{{"event", "done"}, {"tasks", tasks}, {"measured", measured}, {"failed", failed},
                               {"seconds", seconds}}
                    .dump()
             << std::endl;
        return;
    }
    out_ << "tuned " << tasks << " tasks: " << measured << " candidates measured in this run, " << failed
         << " failed, " << duration(seconds) << std::endl;
}

}  // namespace kf::autotune
