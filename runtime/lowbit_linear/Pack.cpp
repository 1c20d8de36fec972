#include "runtime/lowbit_linear/Pack.h"

#include "runtime/Error.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

namespace kf::rt {

size_t scaleElemBytes(kf_scale_type t) { return t == KF_SCALE_F32 ? 4 : 2; }

namespace {

int codesPerByte(const PlaneLayout &p) { return p.width == 0 ? 5 : 8 / p.width; }
int chunksPerBlock(const PlaneLayout &p) { return p.width == 0 ? 1 : p.width; }

// ---- Reference path: one code at a time through slotOf (any layout, any byte order).

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

void packCodesBySlot(const LinearLayout &L, const LinearGeometry &g, const uint8_t *codes, uint8_t *const planes[kMaxPlanes]) {
    for (int pi = 0; pi < L.numPlanes; ++pi) std::memset(planes[pi], 0, g.planeBytes(L.planes[pi]));
    for (int64_t row = 0; row < g.n; ++row) {
        const int64_t t = row / g.interleave, i = row % g.interleave;
        for (int64_t k = 0; k < g.k; ++k) {
            const unsigned c = codes[row * g.k + k];
            for (int pi = 0; pi < L.numPlanes; ++pi) {
                const PlaneLayout &p = L.planes[pi];
                const Slot slot = slotOf(L, g, p, t, i, g.paddedK(k));
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

void unpackCodesBySlot(const LinearLayout &L, const LinearGeometry &g, const uint8_t *const planes[kMaxPlanes], uint8_t *codes) {
    for (int64_t row = 0; row < g.n; ++row) {
        const int64_t t = row / g.interleave, i = row % g.interleave;
        for (int64_t k = 0; k < g.k; ++k) {
            unsigned c = 0;
            for (int pi = 0; pi < L.numPlanes; ++pi) {
                const PlaneLayout &p = L.planes[pi];
                const Slot slot = slotOf(L, g, p, t, i, g.paddedK(k));
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

// ---- Fast path: a row at a time, a whole block of a plane per step, four
// codes per 32-bit word (byte j of a word = dword lane byte j, little-endian).
//
// In a block of 32 codes c[0..31], chunk u of a w-bit plane (cpb = 8/w codes
// per byte) is one 32-bit word per row whose byte j holds c[4*(cpb*u + s) + j]
// in bits [w*s, w*s + w): with q(x) = the 4 codes c[x..x+3] as a word,
//   word_u = OR_s ((q(4*(cpb*u + s)) >> shift) & mask_w per byte) << (w*s),
// no bit crossing a byte since shift + w <= 8. Base 3 (20 codes, one chunk):
//   word = q(0) + 3 q(4) + 9 q(8) + 27 q(12) + 81 q(16), each byte <= 242
// for codes <= 2. Rows past n and K past k pack as zero codes.

inline uint32_t load32(const uint8_t *p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline void store32(uint8_t *p, uint32_t v) { std::memcpy(p, &v, 4); }

constexpr uint32_t kEachByte = 0x01010101u;

bool fastPathApplies(const LinearLayout &L) {
    if constexpr (std::endian::native != std::endian::little) return false;
    for (int pi = 0; pi < L.numPlanes; ++pi) {
        const PlaneLayout &p = L.planes[pi];
        if (p.width == 0) {
            if (L.kBlock != 20 || L.numPlanes != 1 || p.shift != 0) return false;
        } else if (L.kBlock != 32 || (p.width != 1 && p.width != 2 && p.width != 4 && p.width != 8) ||
                   p.shift < 0 || p.shift + p.width > 8) {
            return false;
        }
    }
    return L.numPlanes >= 1 && L.numPlanes <= kMaxPlanes;
}

// One row of a W-bit plane: src = the row's kPad codes (blocks of 32), dst =
// the row's lane in its tile's first chunk; chunks follow chunkBytes apart.
template <int W>
void packRowPlane(const uint8_t *src, int64_t blocks, int shift, uint8_t *dst, size_t chunkBytes) {
    constexpr int cpb = 8 / W;
    constexpr uint32_t mask = ((1u << W) - 1) * kEachByte;
    for (int64_t b = 0; b < blocks; ++b, src += 32)
        for (int u = 0; u < W; ++u, dst += chunkBytes) {
            uint32_t word = 0;
            for (int s = 0; s < cpb; ++s) word |= ((load32(src + 4 * (cpb * u + s)) >> shift) & mask) << (W * s);
            store32(dst, word);
        }
}

void packRowBase3(const uint8_t *src, int64_t blocks, uint8_t *dst, size_t chunkBytes) {
    for (int64_t b = 0; b < blocks; ++b, src += 20, dst += chunkBytes)
        store32(dst, load32(src) + 3 * load32(src + 4) + 9 * load32(src + 8) + 27 * load32(src + 12) +
                         81 * load32(src + 16));
}

// Inverse of packRowPlane into dst = the row's kPad codes; the first plane
// stores, later planes OR their bits in.
template <int W, bool First>
void unpackRowPlaneAs(const uint8_t *src, int64_t blocks, int shift, size_t chunkBytes, uint8_t *dst) {
    constexpr int cpb = 8 / W;
    constexpr uint32_t mask = ((1u << W) - 1) * kEachByte;
    for (int64_t b = 0; b < blocks; ++b, dst += 32)
        for (int u = 0; u < W; ++u, src += chunkBytes) {
            const uint32_t word = load32(src);
            for (int s = 0; s < cpb; ++s) {
                uint8_t *out = dst + 4 * (cpb * u + s);
                const uint32_t part = ((word >> (W * s)) & mask) << shift;
                store32(out, First ? part : load32(out) | part);
            }
        }
}

template <int W>
void unpackRowPlane(const uint8_t *src, int64_t blocks, int shift, size_t chunkBytes, bool first, uint8_t *dst) {
    if (first)
        unpackRowPlaneAs<W, true>(src, blocks, shift, chunkBytes, dst);
    else
        unpackRowPlaneAs<W, false>(src, blocks, shift, chunkBytes, dst);
}

// Base-3 digits of every byte: kDigits[b][s] = (b / 3^s) % 3 (as the reference
// path computes them, also for bytes > 242).
struct Base3Digits {
    uint8_t d[256][5];
    constexpr Base3Digits() : d{} {
        for (int b = 0; b < 256; ++b)
            for (int s = 0, q = b; s < 5; ++s, q /= 3) d[b][s] = static_cast<uint8_t>(q % 3);
    }
};
constexpr Base3Digits kDigits;

void unpackRowBase3(const uint8_t *src, int64_t blocks, size_t chunkBytes, uint8_t *dst) {
    for (int64_t b = 0; b < blocks; ++b, src += chunkBytes, dst += 20)
        for (int j = 0; j < 4; ++j) {
            const uint8_t *digits = kDigits.d[src[j]];
            for (int s = 0; s < 5; ++s) dst[4 * s + j] = digits[s];
        }
}

// Where row `row`'s lane of its tile's first chunk lies in a plane.
size_t rowLaneOffset(const LinearGeometry &g, const PlaneLayout &p, int64_t blocks, int64_t row) {
    const int64_t t = row / g.interleave, i = row % g.interleave;
    return static_cast<size_t>((t * blocks * chunksPerBlock(p)) * 4 * g.interleave + 4 * i);
}

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
    g.group = layout.group;
    g.kAlign = layout.kAlign;
    g.nTiles = (n + layout.interleave - 1) / layout.interleave;
    g.numScaleCols = layout.group ? (k + layout.group - 1) / layout.group : 1;
    // Grouped: one chunk of kAlign per group (kAlign >= group).
    g.kPad = layout.group ? g.numScaleCols * layout.kAlign : (k + layout.kAlign - 1) / layout.kAlign * layout.kAlign;
    return g;
}

namespace {
// A row's groups of `group` elements from every srcStride elements to every
// dstStride (the last one short where k is not a multiple of the group).
void copyGroups(const LinearGeometry &g, const void *src, int64_t srcStride, size_t e, void *dst, int64_t dstStride) {
    const auto *s = static_cast<const uint8_t *>(src);
    auto *d = static_cast<uint8_t *>(dst);
    if (!g.groupsPadded()) return void(std::memcpy(d, s, static_cast<size_t>(g.k) * e));
    for (int64_t c = 0; c * g.group < g.k; ++c)
        std::memcpy(d + c * dstStride * e, s + c * srcStride * e, static_cast<size_t>(std::min(g.group, g.k - c * g.group)) * e);
}
}  // namespace

void LinearGeometry::padRow(const void *src, size_t e, void *dst) const { copyGroups(*this, src, group, e, dst, kAlign); }
void LinearGeometry::unpadRow(const void *src, size_t e, void *dst) const { copyGroups(*this, src, kAlign, e, dst, group); }

int64_t firstAbove(const uint8_t *v, int64_t count, unsigned top) {
    constexpr int64_t kChunk = 4096;
    for (int64_t base = 0; base < count; base += kChunk) {
        const uint8_t *p = v + base;
        const int64_t len = std::min(kChunk, count - base);
        uint8_t m = 0;
        for (int64_t i = 0; i < len; ++i) m = std::max(m, p[i]);  // no early exit: vectorizes
        if (m > top)
            for (int64_t i = 0; i < len; ++i)
                if (p[i] > top) return base + i;
    }
    return count;
}

// Every row of every tile (padding rows as zero codes), every block of the
// row (K padding as zero codes): each plane byte is written exactly once.
void packCodes(const LinearLayout &L, const LinearGeometry &g, const uint8_t *codes, uint8_t *const planes[kMaxPlanes]) {
    if (!fastPathApplies(L)) return packCodesBySlot(L, g, codes, planes);
    const int64_t blocks = g.kPad / L.kBlock;
    const size_t chunkBytes = 4 * static_cast<size_t>(g.interleave);
    std::vector<uint8_t> padded(static_cast<size_t>(g.kPad), 0);  // a row with its K padding, or a padding row
    for (int64_t row = 0; row < g.rowsPadded(); ++row) {
        const uint8_t *src = padded.data();
        if (row < g.n && g.k == g.kPad)
            src = codes + row * g.k;
        else if (row < g.n)
            g.padRow(codes + row * g.k, 1, padded.data());  // padding stays zero
        else if (row == g.n && g.k != g.kPad)
            std::fill(padded.begin(), padded.end(), uint8_t{0});
        for (int pi = 0; pi < L.numPlanes; ++pi) {
            const PlaneLayout &p = L.planes[pi];
            uint8_t *dst = planes[pi] + rowLaneOffset(g, p, blocks, row);
            switch (p.width) {
            case 0: packRowBase3(src, blocks, dst, chunkBytes); break;
            case 1: packRowPlane<1>(src, blocks, p.shift, dst, chunkBytes); break;
            case 2: packRowPlane<2>(src, blocks, p.shift, dst, chunkBytes); break;
            case 4: packRowPlane<4>(src, blocks, p.shift, dst, chunkBytes); break;
            default: packRowPlane<8>(src, blocks, p.shift, dst, chunkBytes); break;
            }
        }
    }
}

void unpackCodes(const LinearLayout &L, const LinearGeometry &g, const uint8_t *const planes[kMaxPlanes], uint8_t *codes) {
    if (!fastPathApplies(L)) return unpackCodesBySlot(L, g, planes, codes);
    const int64_t blocks = g.kPad / L.kBlock;
    const size_t chunkBytes = 4 * static_cast<size_t>(g.interleave);
    std::vector<uint8_t> padded(g.k == g.kPad ? 0 : static_cast<size_t>(g.kPad));
    for (int64_t row = 0; row < g.n; ++row) {
        uint8_t *dst = g.k == g.kPad ? codes + row * g.k : padded.data();
        for (int pi = 0; pi < L.numPlanes; ++pi) {
            const PlaneLayout &p = L.planes[pi];
            const uint8_t *src = planes[pi] + rowLaneOffset(g, p, blocks, row);
            switch (p.width) {
            case 0: unpackRowBase3(src, blocks, chunkBytes, dst); break;
            case 1: unpackRowPlane<1>(src, blocks, p.shift, chunkBytes, pi == 0, dst); break;
            case 2: unpackRowPlane<2>(src, blocks, p.shift, chunkBytes, pi == 0, dst); break;
            case 4: unpackRowPlane<4>(src, blocks, p.shift, chunkBytes, pi == 0, dst); break;
            default: unpackRowPlane<8>(src, blocks, p.shift, chunkBytes, pi == 0, dst); break;
            }
        }
        if (g.k != g.kPad) g.unpadRow(padded.data(), 1, codes + row * g.k);
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

namespace {
size_t roundUp64(size_t v) { return (v + 63) / 64 * 64; }
}  // namespace

StoragePlan storagePlan(const LinearSpec &spec, const LinearLayout &L, const LinearGeometry &g) {
    StoragePlan plan;
    auto reserve = [&](size_t &slot, size_t bytes) {
        slot = plan.total;
        plan.total += roundUp64(bytes);
    };
    for (int p = 0; p < kMaxPlanes; ++p) reserve(plan.planes[p], p < L.numPlanes ? g.planeBytes(L.planes[p]) : 0);
    const size_t tableCells = static_cast<size_t>(g.rowsPadded() * g.numScaleCols);
    const bool zeroPoints = spec.weightKind == KF_WEIGHT_UINT, codebook = spec.weightKind == KF_WEIGHT_CODEBOOK;
    reserve(plan.scales, tableCells * scaleElemBytes(L.scaleType));
    reserve(plan.zeroPoints, zeroPoints ? tableCells : 0);
    reserve(plan.codebook, codebook ? sizeof(float) * (size_t{1} << spec.bits) *
                                          (spec.codebookPerChannel ? static_cast<size_t>(g.rowsPadded()) : 1)
                                    : 0);
    reserve(plan.bias, spec.hasBias ? sizeof(float) * g.rowsPadded() : 0);
    if (plan.total == 0) plan.total = 64;
    // The streamed size counts the planes' exact bytes, not the 64-byte rounding.
    plan.streamed = tableCells * scaleElemBytes(L.scaleType) + (zeroPoints ? tableCells : 0);
    for (int p = 0; p < L.numPlanes; ++p) plan.streamed += g.planeBytes(L.planes[p]);
    return plan;
}

unsigned maxCode(const LinearSpec &spec) {
    switch (spec.weightKind) {
    case KF_WEIGHT_BINARY: return 1;
    case KF_WEIGHT_TERNARY: return 2;
    case KF_WEIGHT_SEQ2: return 3;
    default: return (1u << spec.bits) - 1;
    }
}

kf_status checkArrays(const LinearSpec &spec, const kf_linear_weights &w, const char *fn, const std::string &kernel) {
    const std::string f = fn, k = "kernel '" + kernel + "'";
    const bool hasZeroPoints = spec.weightKind == KF_WEIGHT_UINT, hasCodebook = spec.weightKind == KF_WEIGHT_CODEBOOK;
    if (!w.codes || !w.scales) return fail(KF_ERR_NULL_POINTER, f + ": codes and scales must not be NULL");
    if (hasZeroPoints != (w.zero_points != nullptr))
        return fail(hasZeroPoints ? KF_ERR_NULL_POINTER : KF_ERR_INVALID_ARGUMENT,
                    f + ": " + k + (hasZeroPoints ? " (uint) needs zero_points" : " has no zero points; pass NULL"));
    if (hasCodebook != (w.codebook != nullptr))
        return fail(hasCodebook ? KF_ERR_NULL_POINTER : KF_ERR_INVALID_ARGUMENT,
                    f + ": " + k + (hasCodebook ? " needs a codebook" : " has no codebook; pass NULL"));
    if (bool(spec.hasBias) != (w.bias != nullptr))
        return fail(spec.hasBias ? KF_ERR_NULL_POINTER : KF_ERR_INVALID_ARGUMENT,
                    f + ": " + k + (spec.hasBias ? " is declared with a bias; pass it" : " has no bias; pass NULL"));
    return KF_OK;
}

kf_status packInto(const LinearSpec &spec, const LinearLayout &L, const LinearGeometry &g, const StoragePlan &plan,
                   const kf_linear_weights &w, uint8_t *block, const char *fn, const std::string &kernel) {
    if (kf_status s = checkArrays(spec, w, fn, kernel)) return s;
    const std::string f = fn;
    const unsigned top = maxCode(spec);
    if (const int64_t i = firstAbove(w.codes, g.n * g.k, top); i < g.n * g.k)
        return fail(KF_ERR_INVALID_ARGUMENT, f + ": code " + std::to_string(w.codes[i]) + " at row " +
                                                 std::to_string(i / g.k) + ", column " + std::to_string(i % g.k) +
                                                 " is out of range for " + spec.weightFormat + " weights (max " +
                                                 std::to_string(top) + ")");
    if (w.zero_points)
        if (const int64_t i = firstAbove(w.zero_points, g.n * g.numScaleCols, top); i < g.n * g.numScaleCols)
            return fail(KF_ERR_INVALID_ARGUMENT, f + ": zero point " + std::to_string(w.zero_points[i]) + " at row " +
                                                     std::to_string(i / g.numScaleCols) + " is out of range (max " +
                                                     std::to_string(top) + ")");
    uint8_t *planes[kMaxPlanes] = {};
    for (int p = 0; p < L.numPlanes; ++p) planes[p] = block + plan.planes[p];
    packCodes(L, g, w.codes, planes);
    packRowTable(g, g.numScaleCols, scaleElemBytes(L.scaleType), w.scales, block + plan.scales);
    if (w.zero_points) packRowTable(g, g.numScaleCols, 1, w.zero_points, block + plan.zeroPoints);
    if (w.codebook) {
        const int64_t entries = int64_t{1} << spec.bits;
        if (spec.codebookPerChannel)
            packRowTable(g, entries, sizeof(float), w.codebook, block + plan.codebook);
        else
            std::memcpy(block + plan.codebook, w.codebook, sizeof(float) * entries);
    }
    if (w.bias) packRowTable(g, 1, sizeof(float), w.bias, block + plan.bias);
    return KF_OK;
}

}  // namespace kf::rt
