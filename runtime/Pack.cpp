#include "runtime/Pack.h"

#include <cstring>

namespace kf::rt {

size_t scaleElemBytes(kf_scale_type t) { return t == KF_SCALE_F32 ? 4 : 2; }

namespace {

int codesPerByte(const PlaneLayout &p) { return p.width == 0 ? 5 : 8 / p.width; }
int chunksPerBlock(const PlaneLayout &p) { return p.width == 0 ? 1 : p.width; }

// Byte offset of (row i of tile t, k) in a plane, and the code's slot s in that byte.
struct Slot {
    size_t byte;
    int s;
};

Slot slotOf(const LinearLayout &L, const LinearGeometry &g, const PlaneLayout &p, int64_t t, int64_t i, int64_t k) {
    const int cpb = codesPerByte(p), chunks = chunksPerBlock(p);
    const int64_t blocks = g.kPad / L.kBlock;
    const int64_t blk = k / L.kBlock, inBlock = k % L.kBlock;
    const int64_t u = inBlock / (4 * cpb), rem = inBlock % (4 * cpb);
    const int64_t s = rem / 4, j = rem % 4;
    const int64_t chunkBytes = 4 * static_cast<int64_t>(g.interleave);
    const int64_t offset = ((t * blocks + blk) * chunks + u) * chunkBytes + i * 4 + j;
    return {static_cast<size_t>(offset), static_cast<int>(s)};
}

int pow3(int s) { return s == 0 ? 1 : 3 * pow3(s - 1); }

}  // namespace

size_t LinearGeometry::planeBytes(const PlaneLayout &p) const {
    // kPad k per row at width bits (base 3: 4 bytes per 20 k).
    const int64_t bytesPerRow = p.width == 0 ? kPad / 5 : kPad * p.width / 8;
    return static_cast<size_t>(rowsPadded() * bytesPerRow);
}

LinearGeometry geometryFor(const LinearLayout &layout, int64_t n, int64_t k) {
    LinearGeometry g;
    g.n = n;
    g.k = k;
    g.interleave = layout.interleave;
    g.nTiles = (n + layout.interleave - 1) / layout.interleave;
    g.kPad = (k + layout.kAlign - 1) / layout.kAlign * layout.kAlign;
    g.numScaleCols = layout.group ? (k + layout.group - 1) / layout.group : 1;
    return g;
}

void packCodes(const LinearLayout &L, const LinearGeometry &g, const uint8_t *codes, uint8_t *const planes[3]) {
    for (int pi = 0; pi < L.numPlanes; ++pi) std::memset(planes[pi], 0, g.planeBytes(L.planes[pi]));
    for (int64_t row = 0; row < g.n; ++row) {
        const int64_t t = row / g.interleave, i = row % g.interleave;
        for (int64_t k = 0; k < g.k; ++k) {
            const unsigned c = codes[row * g.k + k];
            for (int pi = 0; pi < L.numPlanes; ++pi) {
                const PlaneLayout &p = L.planes[pi];
                const Slot slot = slotOf(L, g, p, t, i, k);
                if (p.width == 0) {
                    planes[pi][slot.byte] = static_cast<uint8_t>(planes[pi][slot.byte] + c * pow3(slot.s));
                } else {
                    const unsigned bits = (c >> p.shift) & ((1u << p.width) - 1);
                    planes[pi][slot.byte] |= static_cast<uint8_t>(bits << (p.width * slot.s));
                }
            }
        }
    }
}

void unpackCodes(const LinearLayout &L, const LinearGeometry &g, const uint8_t *const planes[3], uint8_t *codes) {
    for (int64_t row = 0; row < g.n; ++row) {
        const int64_t t = row / g.interleave, i = row % g.interleave;
        for (int64_t k = 0; k < g.k; ++k) {
            unsigned c = 0;
            for (int pi = 0; pi < L.numPlanes; ++pi) {
                const PlaneLayout &p = L.planes[pi];
                const Slot slot = slotOf(L, g, p, t, i, k);
                const unsigned byte = planes[pi][slot.byte];
                if (p.width == 0)
                    c |= (byte / pow3(slot.s)) % 3;
                else
                    c |= ((byte >> (p.width * slot.s)) & ((1u << p.width) - 1)) << p.shift;
            }
            codes[row * g.k + k] = static_cast<uint8_t>(c);
        }
    }
}

void packRowTable(const LinearGeometry &g, int64_t cols, size_t e, const void *src, void *dst) {
    const auto *s = static_cast<const uint8_t *>(src);
    auto *d = static_cast<uint8_t *>(dst);
    const int I = g.interleave;
    for (int64_t t = 0; t < g.nTiles; ++t)
        for (int64_t c = 0; c < cols; ++c)
            for (int i = 0; i < I; ++i) {
                const int64_t row = t * I + i;
                uint8_t *out = d + ((t * cols + c) * I + i) * e;
                if (row < g.n)
                    std::memcpy(out, s + (row * cols + c) * e, e);
                else
                    std::memset(out, 0, e);  // +0.0 in f32, f16 and bf16; zero point 0
            }
}

void unpackRowTable(const LinearGeometry &g, int64_t cols, size_t e, const void *src, void *dst) {
    const auto *s = static_cast<const uint8_t *>(src);
    auto *d = static_cast<uint8_t *>(dst);
    const int I = g.interleave;
    for (int64_t row = 0; row < g.n; ++row) {
        const int64_t t = row / I, i = row % I;
        for (int64_t c = 0; c < cols; ++c)
            std::memcpy(d + (row * cols + c) * e, s + ((t * cols + c) * I + i) * e, e);
    }
}

}  // namespace kf::rt
