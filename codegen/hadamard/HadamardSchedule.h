// \file
// A hadamard schedule resolved to the numbers the Halide lowering
// (HadamardHalide.h) uses: the defaults for the target and kernel, overridden
// by the DSL schedule's directives. Every directive either sets one of these
// fields or is rejected with its file:line:col, so nothing in a schedule is
// silently ignored.
//
// How a row (n = m * 2^k, docs/formats.md "Rotations") is transformed, and
// what each knob changes:
//   - lanes: the low log2(vector) bits of the 2^k index sit in one SIMD
//     register; their butterfly stages are a lane shuffle + FMA each;
//   - digits: the other bits of the 2^k index are cut into digits of at most
//     log2(radix) bits; one pass per digit loads `radix` vectors into
//     registers, runs all of the digit's stages on them and stores them;
//   - H_m (m > 1): one pass applies the dense +-1 matrix across the m blocks,
//     through tables of signed partial sums over groups of `hmGroup` inputs;
//   - rows: tasks of `rowsPerTask` rows, run in parallel when `parallel`.
//
// DSL directives (vars "m" = rows, "n" = the transform dimension):
//   vectorize n <V>   lanes, a power of two <= 64 and <= 2^k
//   split n <R>       radix of a pass, a power of two in 2..64
//   split m <T>       rows per parallel task
//   parallel m        rows in parallel (the default)
//   unroll n <g>      H_m inputs per partial-sum table, 1..8 (m > 1 only)
// Rejected: threads (a run-time choice), reorder (one loop order), anything
// on other variables; pack / prefetch are rejected by the DSL checker already.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen::hadamard {

struct HadamardSchedule {
    int vector = 16;       // vectorize n: f32 lanes per vector
    int radix = 16;        // split n: vectors in registers per butterfly pass (log2(radix) stages)
    int rowsPerTask = 1;   // split m: rows per parallel task
    bool parallel = true;  // parallel m: tasks spread over the caller's threads
    int hmGroup = 4;       // unroll n: H_m inputs per partial-sum table (1 = plain signed sums)
};

// Defaults for `target` and the kernel's sizes (measured; see the .cpp).
// Throws CodegenError when n is not known at compile time.
HadamardSchedule defaultSchedule(const targets::TargetInfo &target, const dsl::HadamardParams &params);

// `schedule` may be null (defaults). Throws CodegenError on a directive the
// lowering cannot honour, with the directive's location.
HadamardSchedule resolveSchedule(const dsl::HadamardParams &params, const dsl::Schedule *schedule,
                                 const targets::TargetInfo &target);

// One axis of the family's default tune space: the directive as written in a
// tune block ("split n") and its candidate values, the default first. Every
// value is legal for the kernel and target (resolveSchedule accepts it).
struct TuneAxisSpec {
    std::string axis;             // "split n", "split m", "unroll n", "vectorize n"
    std::vector<int64_t> values;
};

// The axes worth searching for this kernel on this target; axes with a
// single legal value are left out.
std::vector<TuneAxisSpec> tuneAxes(const dsl::HadamardParams &params, const targets::TargetInfo &target);

}  // namespace kf::codegen::hadamard
