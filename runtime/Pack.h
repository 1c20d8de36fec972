// \file
// Packing between a QAT checkpoint's codes + scales and a variant's layout
// (kforge/detail/Linear.h), and back. Pure data movement: unpack(pack(w)) == w
// bit for bit, which the tests check for every layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kforge/detail/Linear.h"

namespace kf::rt {

// Padded geometry of a layer for a layout.
struct LinearGeometry {
    int64_t n, k;             // true shape
    int64_t nTiles, kPad;     // padded: nTiles * interleave >= n, kPad % kAlign == 0
    int64_t numScaleCols;     // ceil(k / group), or 1 per channel
    size_t codeBytes() const;
    size_t scaleBytes(const LinearLayout &) const;
    int interleave;
    int bits;
};

LinearGeometry geometryFor(const LinearLayout &layout, int64_t n, int64_t k);
size_t scaleElemBytes(kf_scale_type t);

// codes: [n][k] one code per byte; scales: [n][numScaleCols] of layout.scaleType.
// Returns false (with the error set) if a code is out of range for the format.
bool packLinear(const LinearLayout &layout, const LinearGeometry &g, const uint8_t *codes,
                const void *scales, uint8_t *packedCodes, void *packedScales);
void unpackLinear(const LinearLayout &layout, const LinearGeometry &g, const uint8_t *packedCodes,
                  const void *packedScales, uint8_t *codes, void *scales);

}  // namespace kf::rt
