// \file
// How `kforge emit` uses the tuning database: for every kernel and target of
// the library, the best record per shape bucket replaces the file's schedule
// for that bucket, so the emitted dispatch table runs what the tuner found.
// The buckets of one target share one packed layout (Lowering.h): the decode
// record's schedule also becomes the bucket-any one, and the other buckets
// take their best record with that layout.
#pragma once

#include <string>
#include <vector>

#include "autotune/Database.h"
#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::autotune {

// `schedule` as the bucket-any variant of its target can take it: the same,
// without what needs the bucket's rows (split m), so it keeps the packed
// layout. The candidate libraries and emit's layout check both use it.
dsl::Schedule asBucketAny(dsl::Schedule schedule);

// A record's schedule text, checked against `module`'s kernels. Throws
// std::runtime_error with the diagnostics when it does not check.
dsl::Schedule parseSchedule(const dsl::Module &module, const std::string &text, const std::string &name);

// A record's schedule for `kernel` (a kernel of `module` with the record's
// spec hash; the record may have been tuned under another layer's name).
// Throws std::runtime_error as parseSchedule does.
dsl::Schedule recordSchedule(const dsl::Module &module, const dsl::KernelSpec &kernel, const Record &record);

struct TuningApplied {
    std::vector<std::string> tuned;    // "kernel target bucket <- symbol (ratio)" per bucket taken from records
    std::vector<std::string> untuned;  // "kernel target" pairs with no usable record
    std::vector<std::string> notes;    // records skipped, and why
};

// Rewrites module.schedules. Records of `machine` are preferred; a pair with
// none takes records of other machines (noted).
TuningApplied applyTuning(dsl::Module &module, const std::vector<const targets::TargetInfo *> &targets,
                          const Database &db, const std::string &machine);

}  // namespace kf::autotune
