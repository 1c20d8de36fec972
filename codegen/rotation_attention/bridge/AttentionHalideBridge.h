// \file
// Adapts rotation_attention's Halide AOT pipelines (AttentionHalide.h) to
// the runtime's entry points (kforge/detail/Attention.h). Compiled into every
// emitted library.
#pragma once

#include "codegen/backends/halide/bridge/HalideBridge.h"
#include "kforge/detail/Attention.h"

namespace kf::bridge {

// Return 0 or set the error.
int runAppend(halide::ArgvFn fn, const rt::AppendArgs &args);
int runAttend(halide::ArgvFn fn, const rt::AttendArgs &args);

}  // namespace kf::bridge
