// \file
// What `kforge tune` shows while it runs. On a terminal: one live line per
// task (done / total, failures, best so far and its ratio to the roofline,
// ETA), then a summary line when the task ends. Otherwise plain lines per task
// and per failure; with --json, one JSON object per line per candidate, per
// task and at the end.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "autotune/Database.h"

namespace kf::autotune {

struct TaskProgress {
    std::string task;        // describe(task)
    std::size_t index = 0, tasks = 0;
    std::size_t space = 0;   // legal points
    std::size_t planned = 0; // points this run may measure (cap, budget aside)
    std::size_t done = 0;    // records for this task (resumed + measured now)
    std::size_t resumed = 0; // records found in the database
    std::size_t failed = 0;
    std::size_t priors = 0, priorTasks = 0;  // other tasks' records the cost model starts from
    std::string strategy;
    double bestSeconds = 0, bestRatio = 0;
    std::string bestSymbol;
    double elapsed = 0;      // seconds spent on this task in this run
    double eta = 0;          // seconds left, estimated
};

class Progress {
public:
    Progress(std::ostream &out, bool json, bool live);
    void taskStart(const TaskProgress &p);
    void candidate(const TaskProgress &p, const Record &record);
    void taskEnd(const TaskProgress &p, const std::string &stopReason);
    void done(std::size_t tasks, std::size_t measured, std::size_t failed, double seconds);

private:
    void liveLine(const TaskProgress &p);
    std::ostream &out_;
    bool json_, live_;
};

}  // namespace kf::autotune
