// \file
// The lowbit_linear family's part of a kernel def (kforge/detail/Kernel.h):
// its declared spec (LinearSpec), each variant's packed-weight layout
// (LinearVariantData) and the argument struct its entry points take
// (LinearArgs). The runtime (runtime/lowbit_linear/: create / pack / run)
// reads only this, so it knows nothing of a code generator: the glue adapts a
// compiled pipeline to KernelEntry.
#pragma once

#include <cstdint>

#include "kforge/detail/Kernel.h"
#include "kforge/linear.h"

namespace kf::rt {

// One plane of the codes: `width` bits of each code, from bit `shift` up.
// Which planes a variant has is its schedule's `pack weight layout=`
// (codegen/lowbit_linear/LowbitLinearHalide.cpp, layoutFor):
//   planes    (default) widest first holding the low bits, 8, 4, 2 or 1 bits
//             (3 = 2+1, 5 = 4+1, 6 = 4+2, 7 = 4+2+1): every code streams at
//             exactly b bits;
//   bitplanes b planes of 1 bit (bit-serial / lookup-table kernels);
//   nibbles   one 4-bit plane (b <= 4): codes padded to 4 bits;
//   bytes     one 8-bit plane: codes padded to 8 bits, no unpacking.
// A plane may be wider than the bits it holds (shift + width > bits): its top
// bits are zero. Ternary codes may instead use one base-3 plane: five codes
// per byte, c_s = (byte / 3^s) % 3.
constexpr int kMaxPlanes = 8;

struct PlaneLayout {
    int width;  // bits per code in this plane: 8, 4, 2, 1; 0 = base 3
    int shift;  // position of the plane's bits in the code
};

// Packed layout of a lowbit_linear variant (both f32 and int8 kernels):
//   - rows in tiles of `interleave` (a multiple of 16) rows;
//   - K in blocks of kBlock k (32; 20 for base 3); one block of one plane of
//     width w is w chunks (base 3: 1) of interleave rows x 4 bytes: the 4
//     bytes of a row are contiguous (one dword lane = one row), rows next;
//   - byte j of a row in chunk u holds the codes of k = kBlock*p + 4*cpb*u +
//     4*s + j for s = 0..cpb-1 (cpb = 8/w codes per byte, 5 for base 3), code
//     s in bits [w*s, w*s + w) (base 3: digit s);
//   - per tile: blocks in k order; planes are separate arrays.
// Scales, zero points (uint8) and per-channel codebooks are laid out
// [tile][column][row in tile]; a per-tensor codebook is [2^bits]; bias is
// [tile][row in tile] f32. K is padded to a multiple of kAlign (the group, or
// the k-chunk of per-channel scales) with zero activations, rows to whole
// tiles, so padding never reaches a result.
struct LinearLayout {
    int bits;           // bits per code
    int interleave;     // rows per tile, multiple of 16
    int kBlock;         // k per block: 32, or 20 for base 3
    int kAlign;         // K padded to a multiple of this (multiple of kBlock)
    int group;          // K per scale; 0 = per output channel
    kf_scale_type scaleType;
    int numPlanes;
    PlaneLayout planes[kMaxPlanes];
    int codeView;       // how the kernel reads planes: 0 = uint32 per row (f32), 1 = bytes (int8 dot)
};

// Whether two layouts split the codes into the same planes.
inline bool samePlanes(const LinearLayout &a, const LinearLayout &b) {
    if (a.numPlanes != b.numPlanes) return false;
    for (int p = 0; p < a.numPlanes; ++p)
        if (a.planes[p].width != b.planes[p].width || a.planes[p].shift != b.planes[p].shift) return false;
    return true;
}

// Whether two layouts pack the same codes and tables into the same bytes: the
// one definition of "same packed layout" (the runtime's weight copy, emit's
// check that a target's buckets share their weights, and emit --db's choice of
// tuning records all ask this).
inline bool samePackedLayout(const LinearLayout &a, const LinearLayout &b) {
    return a.bits == b.bits && a.interleave == b.interleave && a.kBlock == b.kBlock && a.kAlign == b.kAlign &&
           a.group == b.group && a.scaleType == b.scaleType && a.codeView == b.codeView && samePlanes(a, b);
}

// Arguments of one call, in the padded shapes the kernel sees. Absent inputs
// are null.
struct LinearArgs {
    const uint8_t *planes[kMaxPlanes];
    const void *scales;           // [nTiles][numScaleCols][interleave]
    const uint8_t *zeroPoints;    // same shape, uint8
    const float *codebook;        // [2^bits] or [nTiles][2^bits][interleave]
    const float *bias;            // [nTiles][interleave]
    const void *x;                // [m][xStride], kPad valid columns (f32 or bf16)
    float *y;                     // [m][yStride], nTiles*interleave valid columns
    int64_t m;
    int64_t kPad;
    int64_t nTiles;
    int64_t numScaleCols;         // ceil(K / group) (1 for per-channel)
    int64_t xStride;
    int64_t yStride;
    const float *xScales;         // [m]: x holds int8 codes already quantized per row (runQuantized); else null
};

// The spec of a lowbit_linear kernel as declared in its kernel file
// (kf_kernel_def::spec).
struct LinearSpec {
    const char *weightFormat;   // "int4", "ternary", "uint3", "codebook4", ...
    int bits;
    int64_t n, k;               // declared; 0 = dynamic
    int group;                  // 0 = per channel
    kf_scale_type scaleType;
    kf_weight_kind weightKind;
    kf_act_type actType;
    int hasBias;
    int codebookPerChannel;
    int ternaryBase3;
};

// Per variant (Variant::data): the packed layout, the same for every bucket of
// a target, and for int8-activation kernels the entry that takes rows already
// quantized to int8 (LinearArgs::x holds the codes, LinearArgs::xScales one
// f32 scale per row); null otherwise.
struct LinearVariantData {
    LinearLayout layout;
    KernelEntry runQuantized;
};

inline const LinearSpec *linearSpec(const kf_kernel_def *def) { return specOf<LinearSpec>(def, "lowbit_linear"); }
inline const LinearVariantData &linearData(const Variant &v) { return *static_cast<const LinearVariantData *>(v.data); }

}  // namespace kf::rt
