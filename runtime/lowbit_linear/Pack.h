// \file
// Packing between a QAT checkpoint's tensors (codes, scales, zero points,
// codebooks, bias) and a variant's layout (kforge/detail/Linear.h), and back.
// Pure data movement: unpack(pack(w)) == w bit for bit, which the tests check
// for every layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kforge/detail/Linear.h"

namespace kf::rt {

// Padded geometry of a layer for a layout.
// K is padded at the end of a row to a multiple of kAlign. A K-group that is
// not a multiple of the k-block (base-3 ternary: 20 k per block) is also
// padded on its own: group c's k = c*group + i sits at c*kAlign + i (kAlign
// = group rounded up to the block), so each group is whole blocks and each
// chunk of kAlign has one scale. The padding holds zero codes and zero
// activations, so it never reaches a result.
struct LinearGeometry {
    int64_t n = 0, k = 0;             // true shape
    int64_t nTiles = 0, kPad = 0;     // padded: nTiles * interleave >= n, kPad % kAlign == 0
    int64_t numScaleCols = 0;         // ceil(k / group), or 1 per channel
    int64_t group = 0, kAlign = 0;    // the layout's K per scale (0 = per channel) and padded chunk
    int interleave = 0;

    int64_t rowsPadded() const { return nTiles * interleave; }
    size_t planeBytes(const PlaneLayout &p) const;
    // Whether groups are padded one by one (group not a multiple of the k-block).
    bool groupsPadded() const { return group != 0 && group != kAlign; }
    // Where k of a row sits in its padded row.
    int64_t paddedK(int64_t kk) const { return groupsPadded() ? kk / group * kAlign + kk % group : kk; }
    // One row of k elements of `elemBytes` -> its kPad positions in dst (which
    // the caller zeroed), and back.
    void padRow(const void *src, size_t elemBytes, void *dst) const;
    void unpadRow(const void *src, size_t elemBytes, void *dst) const;
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

// Where a layer's arrays sit in its one storage block, as byte offsets from
// its start (each 64-byte aligned): the planes, then scales and zero points
// (what a call streams), then codebook and bias. kf_linear_create allocates
// this block; a packed-weights file (WeightsFile.h) stores it as it is.
struct StoragePlan {
    size_t planes[kMaxPlanes] = {};
    size_t scales = 0, zeroPoints = 0, codebook = 0, bias = 0;
    size_t total = 0;      // bytes of the block (>= 64)
    size_t streamed = 0;   // exact bytes a call reads: planes + scales + zero points
};
StoragePlan storagePlan(const LinearSpec &spec, const LinearLayout &layout, const LinearGeometry &g);

// Largest code of the spec's format (ternary 2, int4 15, ...).
unsigned maxCode(const LinearSpec &spec);

// Whether `w` has exactly the arrays the spec needs (codes and scales; zero
// points for UINT, a codebook for CODEBOOK, a bias when declared); sets the
// error otherwise (messages start with `fn` and name `kernel`).
kf_status checkArrays(const LinearSpec &spec, const kf_linear_weights &w, const char *fn, const std::string &kernel);

// Checks the weights (presence of each array as the spec needs it, codes and
// zero points in range) and packs them into `block` laid out by `plan`
// (the arrays' padding is written as zeros; the gaps between arrays are not
// touched). On failure sets the error (messages start with `fn` and name
// `kernel`) and writes nothing.
kf_status packInto(const LinearSpec &spec, const LinearLayout &layout, const LinearGeometry &g, const StoragePlan &plan,
                   const kf_linear_weights &w, uint8_t *block, const char *fn, const std::string &kernel);

}  // namespace kf::rt
