// \file
// From a checked kernel + its schedules for one target to lowered variants
// ready to compile: finds the family's code generator (Family.h) and the
// backend it lowers through for the target (Backend.h). `kforge lower` prints
// what this produces; `kforge emit` compiles it.
#pragma once

#include <string>
#include <vector>

#include "codegen/Family.h"
#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen {

// The schedule of `kernel` for `target` and `bucket`, or null.
const dsl::Schedule *findSchedule(const dsl::Module &module, const std::string &kernel, const std::string &target,
                                  dsl::Bucket bucket = dsl::Bucket::Any);

// How `kernel` lowers for `target` with `schedule` (null: no schedule): the
// backend the schedule's `backend <name>` directive names, else the first of
// the target's backends whose lowering covers the kernel. Throws CodegenError
// naming the family, the target and the backends when there is none, and at
// the directive when the target does not compile through the named backend
// or its lowering does not cover the kernel.
const BackendLowering &loweringFor(const dsl::KernelSpec &kernel, const targets::TargetInfo &target,
                                   const dsl::Schedule *schedule = nullptr);

// The lowerings of the target's backends (in the target's order) that cover
// `kernel`: the backends a schedule may choose between (the tuner's backend axis).
std::vector<const BackendLowering *> coveringLowerings(const dsl::KernelSpec &kernel, const targets::TargetInfo &target);

// The kernel lowered for `target`: the bucket-any variant first (from the
// schedule without a bucket, or the target's defaults), then one per bucket
// the file schedules, each through its schedule's backend (loweringFor). All
// share one packed layout (a mismatch is an error).
// Throws CodegenError when the family or target has no lowering.
std::vector<LoweredVariant> lowerKernel(const dsl::Module &module, const dsl::KernelSpec &kernel,
                                        const targets::TargetInfo &target);

// Throws CodegenError when the kernel's lowering would reject `schedule` for
// `target` (or the family has no lowering there). Builds nothing: cheap
// enough to call for every point of a tune space.
void checkSchedule(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target);

// Whether two variants of one kernel pack the same weights (always true for
// a family without packed weights).
bool sameLayout(const dsl::KernelSpec &kernel, const LoweredVariant &a, const LoweredVariant &b);

}  // namespace kf::codegen
