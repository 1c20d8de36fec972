// \file
// Transfer learning between tuning tasks: the records other tasks left in the
// database, as priors for the search of a new one (Strategy::learnFrom). A
// Llama-style file has a dozen tasks of one family; once the first few are
// tuned, the cost model starts the next one knowing which schedules run well
// on this machine, instead of from a random warm-up.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "autotune/Database.h"
#include "autotune/Strategy.h"
#include "autotune/Task.h"

namespace kf::autotune {

struct PriorSet {
    std::vector<Prior> priors;
    std::size_t tasks = 0;    // other tasks they come from
    std::size_t skipped = 0;  // records whose schedule no longer parses or resolves (older kforge)
};

// The ok records of `db` for task.target, `compiler` and `machine` whose spec
// is one of task.module's kernels of task.kernel's family, except the task's
// own (spec `specHash`, its bucket and shape); each scored against the best
// record of its own task (Prior) and featurized with transferFeatures. At
// most `limit` records, the newest. Empty when the family has no transfer
// features.
PriorSet priorsFor(const Database &db, const Task &task, const std::string &specHash, const std::string &compiler,
                   const std::string &machine, std::size_t limit = 5000);

}  // namespace kf::autotune
