// \file
// What every family's Halide bridge shares (compiled into every emitted
// library; the runtime itself stays free of Halide): Halide's parallel loops
// run on TBB, in whatever arena the caller is in (the runtime picks one per
// thread count), and Halide's error messages become the runtime's
// (kf_last_error) instead of going to stderr. The generated glue includes
// this (and each family's bridge header), so it needs no Halide header;
// HalideBuffers.h is for the bridges' sources.
#pragma once

namespace kf::bridge::halide {

// Halide's `<name>_argv(void **args)` entry point of an AOT pipeline.
using ArgvFn = int (*)(void **);

// fn(argv) with the hooks installed; on failure sets the runtime's error
// ("Halide error <rc>: <Halide's message>") and returns the non-zero code.
int call(ArgvFn fn, void **argv);

}  // namespace kf::bridge::halide
