// \file
// lowbit_linear -> Halide over the packed layout of kforge/detail/Linear.h,
// with the resolved schedule applied. Every weight format of docs/formats.md
// (binary, ternary in 2-bit or base-3 planes, seq2, intN, uintN with zero
// points, codebooks), per-group or per-channel f32/f16/bf16 scales, optional
// bias, f32 or bf16 activations (f32 FMAs), or dynamic int8 activations
// (integer dot products, exact int32 accumulators before the final scale).
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
    std::vector<Halide::Argument> args;  // in the bridge's canonical order (output implicit, last)
    rt::LinearLayout layout;
};

// Planes a b-bit code is split into (or the base-3 plane), per the layout doc.
rt::LinearLayout layoutFor(const dsl::LowbitLinearParams &params, const LinearSchedule &schedule);
// The runtime's view of a kernel's declared spec (what the glue writes as its
// kf_kernel_def::spec); weightFormat points at `formatName`, which must
// outlive the result (dsl::formatName(params.weight)).
rt::LinearSpec linearSpecFor(const dsl::LowbitLinearParams &params, const std::string &formatName);

// Throws CodegenError for what this lowering does not cover. int8-activation
// kernels take rows already quantized (x: int8 codes (k, m), then x_scales:
// f32 (m), one scale per row): the bridge quantizes f32 rows first
// (LinearHalideBridge.h: runLinearInt8).
LinearPipeline buildLinearPipeline(const dsl::KernelSpec &kernel, const LinearSchedule &schedule,
                                   const targets::TargetInfo &target);

}  // namespace kf::codegen::lowbit
