// \file
// Adapts a lowbit_linear Halide AOT pipeline to the runtime's entry point
// (kforge/detail/Linear.h: LinearArgs over the packed layout). Compiled into
// every emitted library.
#pragma once

#include "codegen/backends/halide/bridge/HalideBridge.h"
#include "kforge/detail/Linear.h"

namespace kf::bridge {

// The optional inputs of the kernel, in the order of the pipeline's
// buffers: each code plane, scales, [zero points], [codebook], [bias], x
// ([x scales] for the pre-quantized entry), out.
struct LinearInputs {
    bool zeroPoints, codebook, codebookPerChannel, bias, bf16Input;
};

// Calls fn on args; returns 0 or sets the error.
int runLinear(halide::ArgvFn fn, const rt::LinearLayout &layout, const LinearInputs &inputs,
              const rt::LinearArgs &args);

// An int8-activation variant, whose one pipeline takes rows already
// quantized: f32 rows are quantized here first (kforge/detail/QuantizeRow.h,
// rows in parallel on the caller's TBB arena), rows that are already int8
// (args.xScales, kf_linear_run_q8) go straight in.
int runLinearInt8(halide::ArgvFn fn, const rt::LinearLayout &layout, const LinearInputs &inputs,
                  const rt::LinearArgs &args);

}  // namespace kf::bridge
