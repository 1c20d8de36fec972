// \file
// What an emitted library's generated glue fills in for each lowbit_linear
// kernel: the kernel's declared spec and its compiled variants (one per
// target), each with its packed-weight layout and an entry point that takes
// plain pointers. The runtime (create / pack / run / dispatch) reads only this,
// so it knows nothing of Halide: codegen's bridge adapts a Halide pipeline to
// LinearKernelFn.
#pragma once

#include <cstdint>

#include "kforge/kforge.h"

namespace kf::rt {

// Packed layout of a lowbit_linear variant: tiles of `interleave` output rows.
// For 4-bit codes, byte (i, p, t) at offset (t * kPad/2 + p) * interleave + i
// holds row t*interleave+i's codes for k = 2p (low nibble) and 2p+1 (high nibble).
// Scales are laid out (i, g, t) the same way: scale of row t*interleave+i, group g.
// K is padded to a multiple of kAlign (the group, or the k-chunk for
// per-channel scales); the padding's activations are zero, so its codes never
// contribute.
struct LinearLayout {
    int bits;           // bits per code (4)
    int interleave;     // output rows per tile
    int kAlign;         // K padded to a multiple of this
    int group;          // K per scale; 0 = per output channel
    int levelOffset;    // level = code - levelOffset (int4: 8)
    kf_scale_type scaleType;
};

// Arguments of one call, in the padded shapes the kernel sees.
struct LinearArgs {
    const uint8_t *packed;  // [nTiles][kPad/2][interleave]
    const void *scales;     // [nTiles][numScaleCols][interleave]
    const float *x;         // [m][xStride], kPad valid columns
    float *y;               // [m][yStride], nTiles*interleave valid columns
    int64_t m;
    int64_t kPad;
    int64_t nTiles;
    int64_t numScaleCols;   // ceil(K / group) (1 for per-channel)
    int64_t xStride;
    int64_t yStride;
};

// Returns 0 on success; on failure sets the error message (kf::rt::setError).
using LinearKernelFn = int (*)(const LinearArgs &);

struct LinearVariant {
    const char *symbol;     // kf_linear_..._<tile>__<target>
    const char *target;     // target registry name
    LinearLayout layout;
    LinearKernelFn run;
};

}  // namespace kf::rt

// A kernel as compiled into an emitted library (opaque in the C ABI).
struct kf_kernel_def {
    const char *name;           // kernel name in the kernel file
    const char *family;         // "lowbit_linear"
    const char *weightFormat;   // "int4"
    int bits;
    int64_t n, k;               // declared; 0 = dynamic
    int group;                  // 0 = per channel
    kf_scale_type scaleType;
    const kf::rt::LinearVariant *variants;
    int numVariants;
};
