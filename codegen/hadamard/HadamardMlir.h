// \file
// hadamard -> MLIR: the rotation y = (H_m ⊗ H_2^k) x / sqrt(n) of
// docs/formats.md ("Rotations (Hadamard)") on scalable ARM SVE, vector-length
// agnostic, so one object is correct at every SVE vector length.
//
// Per row (rows [r0, r1) of a call; the bridge, bridge/HadamardMlirBridge.h,
// runs row ranges in parallel and quantizes int8 output):
//  - m > 1: one pass over the row multiplies by H_m across its m blocks of
//    2^k: out block a = sum over b of H_m[a][b] * block b, in chunks of one
//    vector, the signs read from a table (an FMA by +-1 is the exact add or
//    subtract);
//  - the butterflies of bits 2..k-1 of the 2^k index, `radix` at a time: a
//    pass loads `radix` vectors h apart, runs log2(radix) stages on them in
//    registers and stores them (predicated, so h need not be a multiple of
//    the vector);
//  - one last pass does bits 0 and 1 inside each vector (every SVE vector
//    holds whole groups of 4 f32 lanes: the partner of lane i is lane i ^ h,
//    fetched by `tbl`) and multiplies by 1/sqrt(n).
// The first pass reads x, the others y in place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kf::codegen::hadamard {

struct MlirHadamardKernel {
    int64_t n = 0;           // row length, m * 2^k
    int m = 1;               // order of H_m
    std::vector<int8_t> hm;  // H_m row-major (+-1), empty when m = 1
    int radix = 8;           // vectors per butterfly pass (a power of two >= 2)
};

// The module: func @kf_kernel(x, y: !llvm.ptr, xStride, yStride, r0, r1: i64),
// strides in floats. Its C ABI is bridge::HadamardMlirFn.
std::string hadamardModule(const MlirHadamardKernel &kernel);

}  // namespace kf::codegen::hadamard
