// \file
// hadamard -> Halide: y = (H_m (x) H_2^k) x / sqrt(n) per row of x, n = m * 2^k
// (docs/formats.md, "Rotations"), f32 out, or fused with the per-token int8
// quantization of y (docs/formats.md, "Activations"; SpinQuant / QuaRot R4).
//
// Buffers, in the order the runtime passes them (all dense in dim 0; the row
// stride, dim 1, is free):
//   args[0]  x       Float(32), 2-D (n, rows)   input, name "x"
//   f32 mode, pipeline outputs:
//            y       Float(32), 2-D (n, rows)
//   int8 mode, pipeline outputs in this order:
//            codes   Int(8),    2-D (n, rows)   q = clamp(round_half_away(fl32(y / s)), -127, 127)
//            scales  Float(32), 1-D (rows)      s = max|y| / 127 (s = 0: all codes 0)
// For an AOT object the argv / typed entry point takes x, then the outputs in
// that order (x, y) or (x, codes, scales). rows may be any count >= 1.
//
// The y of the int8 mode is the f32 mode's y bit for bit (same Funcs, same
// schedule), so its codes can be checked exactly against a quantizer run on
// the f32 variant's output.
#pragma once

#include <Halide.h>

#include <cstdint>
#include <vector>

#include "codegen/hadamard/HadamardSchedule.h"
#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen::hadamard {

struct HadamardPipeline {
    Halide::Pipeline pipeline;           // outputs: y, or codes then scales (see above)
    std::vector<Halide::Argument> args;  // inputs: x (outputs implicit, after it)
};

// hm: H_m, m * m entries +-1, row-major (H_m[a][a'] at hm[a * m + a']);
// empty when m == 1. Throws CodegenError for what this lowering does not
// cover (n not known at compile time, a matrix of the wrong size or with
// entries other than +-1, a non-CPU target).
HadamardPipeline buildHadamardPipeline(const dsl::HadamardParams &p, const std::vector<int8_t> &hm,
                                       const HadamardSchedule &s, const targets::TargetInfo &target);

}  // namespace kf::codegen::hadamard
