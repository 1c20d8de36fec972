// \file
// A lowbit_linear schedule resolved to the numbers the Halide lowering uses:
// the target's defaults, overridden by the DSL schedule's directives. Every
// directive either changes one of these fields or is rejected with its
// file:line:col, so nothing in a schedule is silently ignored.
#pragma once

#include <string>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen::lowbit {

struct LinearSchedule {
    int interleave = 16;   // pack weight interleave=: output rows per packed tile
    int vector = 16;       // vectorize n: f32 lanes per vector
    int nBlock = 256;      // split n: output rows per parallel task
    int kChunk = 256;      // split k: k per f32 partial sum (per-channel scales); = group otherwise
    int unrollK = 1;       // unroll k: k-pairs unrolled in the inner loop
    bool parallel = true;  // parallel n
    int prefetch = 32;     // prefetch weight <k>: k-pairs (k / 2) ahead the weights are prefetched; 0 = off
};

LinearSchedule defaultSchedule(const targets::TargetInfo &target);

// `schedule` may be null (defaults). Throws CodegenError on a directive the
// lowering cannot honour.
LinearSchedule resolveSchedule(const dsl::LowbitLinearParams &params, const dsl::Schedule *schedule,
                               const targets::TargetInfo &target);

// Multiple K is padded to (the group, or kChunk per channel).
int kAlign(const dsl::LowbitLinearParams &params, const LinearSchedule &s);

}  // namespace kf::codegen::lowbit
