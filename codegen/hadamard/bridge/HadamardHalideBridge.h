// \file
// Adapts a hadamard Halide AOT pipeline (HadamardHalide.h: x, then y or
// codes and scales) to the runtime's entry point (kforge/detail/Hadamard.h:
// HadamardArgs). Compiled into every emitted library.
#pragma once

#include "codegen/backends/halide/bridge/HalideBridge.h"
#include "kforge/detail/Hadamard.h"

namespace kf::bridge {

// Calls fn on args (int8 output when args.codes is set); returns 0 or sets the error.
int runHadamard(halide::ArgvFn fn, const rt::HadamardArgs &args);

}  // namespace kf::bridge
