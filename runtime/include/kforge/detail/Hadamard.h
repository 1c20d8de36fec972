// \file
// The hadamard family's part of a kernel def (kforge/detail/Kernel.h): its
// declared spec (HadamardSpec) and the argument struct its entry points take
// (HadamardArgs). The runtime (runtime/hadamard/) reads only this; the glue
// adapts a compiled pipeline to KernelEntry. Variants have no per-variant
// data (Variant::data is null): a rotation has no packed weights.
#pragma once

#include <cstdint>

#include "kforge/detail/Kernel.h"
#include "kforge/hadamard.h"

namespace kf::rt {

struct HadamardSpec {
    int64_t n;           // transform size, m * 2^k
    int m;               // order of H_m
    kf_act_type output;  // KF_ACT_F32 or KF_ACT_QINT8
};

// One call over `m` rows; the output of the kernel's kind is set, the other null.
struct HadamardArgs {
    const float *x;    // [m][xStride], n valid columns
    float *y;          // f32 output: [m][yStride]
    int8_t *codes;     // int8 output: [m][yStride]
    float *scales;     // int8 output: [m]
    int64_t m;
    int64_t n;
    int64_t xStride;
    int64_t yStride;
};

}  // namespace kf::rt
