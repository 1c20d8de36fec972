// \file
// lowbit_linear -> Halide: y[m, n] = sum_k x[m, k] * s[n, g(k)] * (c[n, k] - offset)
// over the packed layout of kforge/detail/Linear.h, with the resolved
// schedule applied. Handles int4 codes, per-group or per-channel f32/f16/bf16
// scales, f32 activations, any M >= 1.
#pragma once

#include <Halide.h>

#include <string>
#include <vector>

#include "codegen/lowbit_linear/LinearSchedule.h"
#include "dsl/Spec.h"
#include "kforge/detail/Linear.h"
#include "targets/Target.h"

namespace kf::codegen::lowbit {

struct LinearPipeline {
    Halide::Pipeline pipeline;
    std::vector<Halide::Argument> args;  // packed, scales, x  (output last)
    rt::LinearLayout layout;
};

// Throws CodegenError for what this lowering does not cover (the message says
// which format / activation / target is missing).
LinearPipeline buildLinearPipeline(const dsl::KernelSpec &kernel, const LinearSchedule &schedule,
                                   const targets::TargetInfo &target);

}  // namespace kf::codegen::lowbit
