// \file
// Packing between a QAT checkpoint's tensors (codes, scales, zero points,
// codebooks, bias) and a variant's layout (kforge/detail/Linear.h), and back.
// Pure data movement: unpack(pack(w)) == w bit for bit, which the tests check
// for every layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kforge/detail/Linear.h"

namespace kf::rt {

// Padded geometry of a layer for a layout.
struct LinearGeometry {
    int64_t n = 0, k = 0;             // true shape
    int64_t nTiles = 0, kPad = 0;     // padded: nTiles * interleave >= n, kPad % kAlign == 0
    int64_t numScaleCols = 0;         // ceil(k / group), or 1 per channel
    int interleave = 0;

    int64_t rowsPadded() const { return nTiles * interleave; }
    size_t planeBytes(const PlaneLayout &p) const;
};

LinearGeometry geometryFor(const LinearLayout &layout, int64_t n, int64_t k);
size_t scaleElemBytes(kf_scale_type t);

// codes: [n][k] one code per byte, each < 2^bits (base 3: <= 2; checked by
// the caller, e.g. with firstAbove). Works a row and a whole block at a time in
// layout order; layouts it does not know go one code at a time.
void packCodes(const LinearLayout &layout, const LinearGeometry &g, const uint8_t *codes, uint8_t *const planes[kMaxPlanes]);
void unpackCodes(const LinearLayout &layout, const LinearGeometry &g, const uint8_t *const planes[kMaxPlanes], uint8_t *codes);

// Index of the first byte of v[0, count) above `top`, or count if none: a
// vectorizable max per 4 KiB chunk, a scan only of a chunk that fails.
int64_t firstAbove(const uint8_t *v, int64_t count, unsigned top);

// A per-row table [n][cols] of `elemBytes` elements -> [tile][col][row in tile]
// (padding rows zero), and back.
void packRowTable(const LinearGeometry &g, int64_t cols, size_t elemBytes, const void *src, void *dst);
void unpackRowTable(const LinearGeometry &g, int64_t cols, size_t elemBytes, const void *src, void *dst);

}  // namespace kf::rt
