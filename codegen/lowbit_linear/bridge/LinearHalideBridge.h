// \file
// Adapts Halide AOT pipelines to the runtime's plain-pointer kernel entry
// points, and routes Halide's parallel loops to TBB. Compiled into every
// emitted library (the runtime itself stays free of Halide).
#pragma once

#include "kforge/detail/Linear.h"

namespace kf::bridge {

// Halide's `<name>_argv(void **args)` entry point of a lowbit_linear pipeline.
// Its buffers, in order: each code plane, scales, [zero points], [codebook],
// [bias], x, out — the bracketed ones only when the kernel has them.
using HalideArgvFn = int (*)(void **);

struct LinearInputs {
    bool zeroPoints, codebook, codebookPerChannel, bias, bf16Input;
};

// Calls fn on args; returns 0 or sets the error.
int runLinear(HalideArgvFn fn, const rt::LinearLayout &layout, const LinearInputs &inputs, const rt::LinearArgs &args);

}  // namespace kf::bridge
