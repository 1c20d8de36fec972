#include "runtime/Pack.h"

#include <cstring>
#include <string>

#include "runtime/Error.h"

namespace kf::rt {

size_t scaleElemBytes(kf_scale_type t) { return t == KF_SCALE_F32 ? 4 : 2; }

size_t LinearGeometry::codeBytes() const {
    return static_cast<size_t>(nTiles) * interleave * static_cast<size_t>(kPad) * bits / 8;
}

size_t LinearGeometry::scaleBytes(const LinearLayout &layout) const {
    return static_cast<size_t>(nTiles) * interleave * numScaleCols * scaleElemBytes(layout.scaleType);
}

LinearGeometry geometryFor(const LinearLayout &layout, int64_t n, int64_t k) {
    LinearGeometry g{};
    g.n = n;
    g.k = k;
    g.interleave = layout.interleave;
    g.bits = layout.bits;
    g.nTiles = (n + layout.interleave - 1) / layout.interleave;
    g.kPad = (k + layout.kAlign - 1) / layout.kAlign * layout.kAlign;
    g.numScaleCols = layout.group ? (k + layout.group - 1) / layout.group : 1;
    return g;
}

namespace {

// Padding rows and columns get the code of level 0 where the format has one;
// their activations (columns) are zero and their outputs (rows) are dropped,
// so the value never matters for the result, only for determinism.
uint8_t padCode(const LinearLayout &layout) { return static_cast<uint8_t>(layout.levelOffset); }

}  // namespace

bool packLinear(const LinearLayout &layout, const LinearGeometry &g, const uint8_t *codes,
                const void *scales, uint8_t *packedCodes, void *packedScales) {
    if (layout.bits != 4) {
        setError("packing of " + std::to_string(layout.bits) + "-bit codes is not supported by this runtime");
        return false;
    }
    const int I = layout.interleave;
    const uint8_t maxCode = static_cast<uint8_t>((1 << layout.bits) - 1);
    for (int64_t i = 0; i < g.n * g.k; ++i) {
        if (codes[i] > maxCode) {
            setError("code " + std::to_string(codes[i]) + " at row " + std::to_string(i / g.k) + ", column " +
                     std::to_string(i % g.k) + " is out of range for " + std::to_string(layout.bits) +
                     "-bit weights (max " + std::to_string(maxCode) + ")");
            return false;
        }
    }
    const uint8_t pad = padCode(layout);
    const int64_t pairs = g.kPad / 2;
    for (int64_t t = 0; t < g.nTiles; ++t) {
        for (int64_t p = 0; p < pairs; ++p) {
            uint8_t *dst = packedCodes + (t * pairs + p) * I;
            for (int i = 0; i < I; ++i) {
                const int64_t row = t * I + i;
                const int64_t k0 = 2 * p, k1 = 2 * p + 1;
                const uint8_t lo = (row < g.n && k0 < g.k) ? codes[row * g.k + k0] : pad;
                const uint8_t hi = (row < g.n && k1 < g.k) ? codes[row * g.k + k1] : pad;
                dst[i] = static_cast<uint8_t>(lo | (hi << 4));
            }
        }
    }
    const size_t es = scaleElemBytes(layout.scaleType);
    const auto *src = static_cast<const uint8_t *>(scales);
    auto *dstScales = static_cast<uint8_t *>(packedScales);
    for (int64_t t = 0; t < g.nTiles; ++t)
        for (int64_t c = 0; c < g.numScaleCols; ++c)
            for (int i = 0; i < I; ++i) {
                const int64_t row = t * I + i;
                uint8_t *d = dstScales + ((t * g.numScaleCols + c) * I + i) * es;
                if (row < g.n)
                    std::memcpy(d, src + (row * g.numScaleCols + c) * es, es);
                else
                    std::memset(d, 0, es);  // +0.0 in f32, f16 and bf16
            }
    return true;
}

void unpackLinear(const LinearLayout &layout, const LinearGeometry &g, const uint8_t *packedCodes,
                  const void *packedScales, uint8_t *codes, void *scales) {
    const int I = layout.interleave;
    const int64_t pairs = g.kPad / 2;
    for (int64_t row = 0; row < g.n; ++row) {
        const int64_t t = row / I, i = row % I;
        for (int64_t k = 0; k < g.k; ++k) {
            const uint8_t b = packedCodes[(t * pairs + k / 2) * I + i];
            codes[row * g.k + k] = (k % 2 == 0) ? (b & 0x0F) : (b >> 4);
        }
    }
    const size_t es = scaleElemBytes(layout.scaleType);
    const auto *src = static_cast<const uint8_t *>(packedScales);
    auto *dst = static_cast<uint8_t *>(scales);
    for (int64_t row = 0; row < g.n; ++row) {
        const int64_t t = row / I, i = row % I;
        for (int64_t c = 0; c < g.numScaleCols; ++c)
            std::memcpy(dst + (row * g.numScaleCols + c) * es, src + ((t * g.numScaleCols + c) * I + i) * es, es);
    }
}

}  // namespace kf::rt
