// \file
// `kforge tune`: every kernel of a file, for each target and shape bucket,
// searched within a time budget. Per task: the space (Space), a strategy
// (Strategy) that proposes batches, the builder compiling a batch in parallel,
// the runner measuring each candidate in its own process, one database record
// per candidate. Records already in the database are the strategy's first
// observations and are never measured again, so an interrupted run resumes.
//
// Several tuners may share one database (an SQLite file on one machine, a
// PostgreSQL server for many): each candidate is claimed before it is built
// (Database::claim), so none is measured twice; the records the others add
// are observed as they arrive (the cost model learns from them); a tuner
// whose strategy has nothing left waits for the candidates others hold and
// measures those whose claim lapsed (a tuner that died).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "dsl/Spec.h"

namespace kf::autotune {

struct TuneOptions {
    std::string file;                      // kernel file
    std::vector<std::string> targets;      // registry names or "host"
    std::vector<std::string> kernels;      // only these (empty = all)
    std::vector<dsl::Bucket> buckets{dsl::Bucket::Decode, dsl::Bucket::SmallBatch, dsl::Bucket::Prefill};
    // Sizes of the non-row dimensions, in the family's order (N x K for a
    // linear layer), for kernels that leave some dynamic; a declared size wins.
    std::vector<std::vector<int64_t>> shapes;
    std::map<dsl::Bucket, int64_t> rows;   // M per bucket (default: dsl::BucketDef::defaultRows)
    double budgetSeconds = 0;              // whole run; 0 = no limit
    std::string database;                  // SQLite path or postgresql:// URL (Database.h)
    double claimLeaseSeconds = 30;         // a claim of a tuner that stops renewing it lapses after this
    std::string strategy = "auto";         // exhaustive | random | evolutionary | auto
    uint64_t seed = 1;
    double fraction = 0;                   // measure at most this share of each space (0 = all)
    int64_t maxTrials = 0;                 // at most this many per task (0 = no limit)
    int jobs = 0;                          // parallel builds (0 = hardware threads)
    int threads = 0;                       // threads a candidate runs on (0 = hardware threads)
    int64_t streamBytes = -1;              // weights cycled per decode/small measurement (-1 = max(256 MiB, 2 x LLC))
    double timeoutSeconds = 60;            // per candidate process
    bool json = false;                     // JSON lines instead of the human progress
    std::vector<std::string> kforge;       // argv prefix running this kforge
    std::string runner = "local";          // where candidates are measured (Runner.h, makeRunner)
    std::string workDir;                   // candidates' files (default: a temp dir)
};

// Returns the exit code: 0 when every task ran (candidates may fail), 1 on
// errors that stop the run (unreadable file, unknown target, database).
int tune(const TuneOptions &options, std::ostream &out, std::ostream &err);

}  // namespace kf::autotune
