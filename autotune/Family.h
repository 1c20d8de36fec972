// \file
// What the tuner knows of a kernel family: its default search space, the
// features that let one task's records inform another's search, which axes
// fix its packed layout, how a candidate is measured (the worker's side: make
// inputs, run, check against the family's reference, time), and what its
// roofline is. A family is one folder autotune/families/<family>/ whose
// CMakeLists.txt adds its sources, defining `kf::autotune::<family>::family()`;
// the registry (Families.cpp) lists the families of KFORGE_FAMILIES that have
// such a folder (docs/adding-a-family.md). Space, Tuner and Worker never name
// a family.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "autotune/Runner.h"
#include "autotune/Task.h"
#include "autotune/WorkerSupport.h"
#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::autotune {

struct FamilyTuning {
    dsl::Family family;
    // The axes searched when a schedule has no tune block, for a target and
    // bucket; pruning then drops what the lowering rejects.
    std::vector<dsl::TuneAxis> (*axes)(const dsl::KernelSpec &, const targets::TargetInfo &, dsl::Bucket);
    // A default space that joins several backends' axes (a `backend` word
    // axis and the union of the backends' own axes): whether the point with
    // these values (values[a] of axes[a]; a word axis's index) is in its
    // backend's own space, so that one backend's values do not multiply the
    // other's points. Null, or a tune block: every point (then the
    // lowering's check prunes).
    bool (*inDefaultSpace)(const dsl::KernelSpec &, const targets::TargetInfo &, dsl::Bucket,
                           const std::vector<dsl::TuneAxis> &axes, const std::vector<int64_t> &values) = nullptr;
    // Features of a schedule that mean the same in every task of the family
    // (Space.h, transferFeatures); null when the family has none.
    std::vector<float> (*features)(const Task &, const dsl::Schedule &) = nullptr;
    // Axes (as a tune block names them, "pack weight interleave") that decide
    // the packed layout: the buckets of a target share one (codegen/Family.h),
    // so the tuner pins them, for the later buckets, to the decode bucket's choice.
    std::vector<std::string> layoutAxes;
    // Whether a task is memory bound (its data should stream from DRAM while
    // timed, cycling through RunRequest::streamBytes) rather than cache resident.
    bool (*streams)(const Task &) = nullptr;
    // Whether the roofline's compute term is int8 dot products (else f32 FMAs).
    bool (*int8Roofline)(const dsl::KernelSpec &) = nullptr;
    // The worker's side: one built candidate measured in the worker process
    // (WorkerSupport.h). Throws worker::Stop to end with a status.
    Measurement (*measure)(worker::Call &);
};

// One axis of a family's default space: the directive `kind vars` (with its
// option, e.g. "interleave" of `pack weight interleave`) over `values`.
inline dsl::TuneAxis makeAxis(dsl::Directive::Kind kind, std::vector<std::string> vars, std::vector<int64_t> values,
                              std::string option = "") {
    dsl::TuneAxis a;
    a.directive.kind = kind;
    a.directive.vars = std::move(vars);
    a.option = std::move(option);
    a.values = std::move(values);
    return a;
}

// A word axis (`reorder in [m k, k m]`, `prefetch weight hint in [...]`): the
// values index `words`.
inline dsl::TuneAxis makeWordAxis(dsl::Directive::Kind kind, std::vector<std::string> vars,
                                  std::vector<std::string> words) {
    std::vector<int64_t> indices;
    for (std::size_t i = 0; i < words.size(); ++i) indices.push_back(static_cast<int64_t>(i));
    dsl::TuneAxis a = makeAxis(kind, std::move(vars), std::move(indices));
    a.words = std::move(words);
    return a;
}

// All registered families with tuner support, in KFORGE_FAMILIES order.
const std::vector<FamilyTuning> &tunedFamilies();
// nullptr when the family has no tuner support.
const FamilyTuning *familyTuning(dsl::Family family);

}  // namespace kf::autotune
