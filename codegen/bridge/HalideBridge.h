// \file
// Adapts Halide AOT pipelines to the runtime's plain-pointer kernel entry
// points, and routes Halide's parallel loops to TBB. Compiled into every
// emitted library (the runtime itself stays free of Halide).
#pragma once

#include "kforge/detail/Linear.h"

struct halide_buffer_t;

namespace kf::bridge {

// Signature of a lowbit_linear pipeline: (packed, scales, x, out).
using HalideLinearFn = int (*)(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *, halide_buffer_t *);

// Calls fn on args with the layout's interleave; returns 0 or sets the error.
int runLinear(HalideLinearFn fn, const rt::LinearLayout &layout, const rt::LinearArgs &args);

}  // namespace kf::bridge
