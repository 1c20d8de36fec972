// \file
// From a checked kernel + its schedule for one target to a Halide pipeline
// ready to compile: the family registry of lowerings and the target mapping.
// `kforge lower` prints what this produces; `kforge emit` compiles it.
#pragma once

#include <Halide.h>

#include <string>
#include <vector>

#include "dsl/Spec.h"
#include "kforge/detail/Linear.h"
#include "targets/Target.h"

namespace kf::codegen {

struct LoweredVariant {
    std::string symbol;                  // kernelSymbol(...)
    const targets::TargetInfo *target = nullptr;
    Halide::Pipeline pipeline;
    std::vector<Halide::Argument> args;  // inputs; the output is implicit
    rt::LinearLayout layout{};           // packed layout the runtime packs into
    dsl::Bucket bucket = dsl::Bucket::Any;
};

// One line per family in Lowering.cpp's registry. A family without an entry
// gets "no lowering of <family> for <target>".
struct FamilyLowering {
    dsl::Family family;
    LoweredVariant (*lower)(const dsl::KernelSpec &, const dsl::Schedule *, const targets::TargetInfo &);
    // Throws CodegenError where `lower` would reject the schedule, without
    // building anything in Halide (the tuner prunes its space with it).
    void (*check)(const dsl::KernelSpec &, const dsl::Schedule &, const targets::TargetInfo &);
};

// The schedule of `kernel` for `target` and `bucket`, or null.
const dsl::Schedule *findSchedule(const dsl::Module &module, const std::string &kernel, const std::string &target,
                                  dsl::Bucket bucket = dsl::Bucket::Any);

// The kernel lowered for `target`: the bucket-any variant first (from the
// schedule without a bucket, or the target's defaults), then one per bucket
// the file schedules. All share one packed layout (a mismatch is an error).
// Throws CodegenError when the family or target has no lowering.
std::vector<LoweredVariant> lowerKernel(const dsl::Module &module, const dsl::KernelSpec &kernel,
                                        const targets::TargetInfo &target);

// Throws CodegenError when the kernel's family lowering would reject
// `schedule` for `target` (or the family has no lowering there). Builds no
// Halide pipeline: cheap enough to call for every point of a tune space.
void checkSchedule(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target);

// The Halide target for compiling a kernel object: the registry's chain, with
// the Halide runtime left out (emit adds one shared runtime object).
Halide::Target halideTarget(const targets::TargetInfo &target, bool withRuntime = false);

}  // namespace kf::codegen
