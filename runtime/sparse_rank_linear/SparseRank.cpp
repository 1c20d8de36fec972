// The sparse_rank_linear C ABI (kforge/sparse_rank.h): create, pack into the
// column-blocked layout (kforge/detail/SparseRank.h), the per-row masks, and
// run as up to three column gathers: W over the active columns, V over the
// inactive ones, U over all r. For M > 1 the gathers take the union of the
// rows' masks, or (a `reorder m k` variant) run once per row on its own.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "kforge/detail/SparseRank.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/StreamMemory.h"
#include "runtime/Threads.h"
#include "runtime/lowbit_linear/Quantize.h"
#include "runtime/sparse_rank_linear/LowRank.h"

using kf::rt::fail;

namespace {

// A packed tensor on the pages streamed data gets (runtime/StreamMemory.h).
template <class T>
struct Packed {
    kf::rt::StreamedArray<T> data;
    size_t size = 0;
    // count zeroed elements; false when out of memory.
    bool allocate(size_t count) {
        data = kf::rt::allocateStreamedArray<T>(count);
        if (!data) return false;
        size = count;
        std::fill_n(data.get(), std::max<size_t>(count, 1), T{});
        return true;
    }
    const T *get() const { return data.get(); }
    T &operator[](size_t i) { return data[i]; }
};

}  // namespace

struct kf_sparse_rank {
    const kf_kernel_def *def = nullptr;
    const kf::rt::SparseRankSpec *spec = nullptr;
    const kf::rt::Variant *variant = nullptr;  // the target's bucket-any variant
    kf::rt::SparseRankLayout layout{};
    int64_t n = 0, k = 0, r = 0, groups = 1;
    int64_t wTiles = 0, vTiles = 0, uTiles = 0;
    float tau = 0.0f;
    bool packed = false;
    // Packed tensors (kforge/detail/SparseRank.h).
    Packed<uint8_t> wCodes, uCodes, vCodes;  // vCodes / uCodes: `factors=int8`
    Packed<float> wValues, wScales, v, u;      // v / u: f32 values, or the int8 factors' row scales
    Packed<uint16_t> wHalf, uHalf, vHalf;      // bf16 W (`weight bf16`), U and V (`factors=bf16`)
    // Per-call scratch.
    std::vector<uint8_t> rowActive;
    std::vector<int32_t> activeIdx, inactiveIdx, rankIdx;
    std::vector<float> aActive, aInactive, t, yPad, uOut, segSums;
    std::vector<int32_t> segments;  // [S][3]: W's active list cut at scale groups
    std::vector<float> lowRankSums;   // int8 factors: [m] sums of the V and U gathers' activations
    std::vector<int32_t> order;
    kf_sparse_rank_stats stats{};
    kf::rt::ArenaCache arenas;

    bool hasWeight() const { return spec->bits > 0; }  // not `weight none`
    bool quantized() const { return spec->bits > 0 && spec->bits < 16; }
    int64_t wColBytes() const { return int64_t(layout.tile) * layout.storedBits / 8; }  // one column of one tile of W
};

namespace {

constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxRows = int64_t(1) << 31;

const kf::rt::SparseRankSpec *specOf(const kf_kernel_def *def, const char *fn) {
    return kf::rt::familySpecOf<kf::rt::SparseRankSpec>(def, "sparse_rank_linear", fn);
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

float halfToFloat(uint16_t h) {
    const uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
    else if (exp == 31) v = mant ? std::nanf("") : INFINITY;
    else v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
    return sign ? -v : v;
}

float bf16ToFloat(uint16_t b) {
    const uint32_t bits = uint32_t(b) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
}

float scaleAt(const void *scales, kf_scale_type type, int64_t i) {
    switch (type) {
    case KF_SCALE_F16: return halfToFloat(static_cast<const uint16_t *>(scales)[i]);
    case KF_SCALE_BF16: return bf16ToFloat(static_cast<const uint16_t *>(scales)[i]);
    default: return static_cast<const float *>(scales)[i];
    }
}

// First non-finite value of an [rows][cols] f32 matrix as "name[r][c]", or "".
std::string firstNonFinite(const char *name, const float *m, int64_t rows, int64_t cols) {
    for (int64_t i = 0; i < rows * cols; ++i)
        if (!std::isfinite(m[i]))
            return std::string(name) + "[" + std::to_string(i / cols) + "][" + std::to_string(i % cols) + "] is " +
                   (std::isnan(m[i]) ? "NaN" : "infinite");
    return "";
}

// src [rows][cols] row-major -> [ceil(rows/tile)][cols][tile], rows past the
// end zero. False when out of memory.
bool packColumns(const float *src, int64_t rows, int64_t cols, int tile, Packed<float> &out) {
    const int64_t tiles = ceilDiv(rows, tile);
    if (!out.allocate(static_cast<size_t>(tiles * cols * tile))) return false;
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t t = row / tile, e = row % tile;
        for (int64_t c = 0; c < cols; ++c) out[static_cast<size_t>((t * cols + c) * tile + e)] = src[row * cols + c];
    }
    return true;
}

// src [rows][cols] f32 -> bf16 bit patterns (round to nearest, ties to
// even) in packColumns' layout. "" or what is wrong: a value whose rounding
// overflows bf16 ("name[r][c] ... overflows bf16"; the inputs are finite).
std::string packHalfColumns(const char *name, const float *src, int64_t rows, int64_t cols, int tile,
                            Packed<uint16_t> &out) {
    const int64_t tiles = ceilDiv(rows, tile);
    if (!out.allocate(static_cast<size_t>(tiles * cols * tile))) return "out of memory packing " + std::string(name);
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t t = row / tile, e = row % tile;
        for (int64_t c = 0; c < cols; ++c) {
            uint32_t bits;
            std::memcpy(&bits, &src[row * cols + c], 4);
            const uint16_t h = static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
            if ((h & 0x7f80u) == 0x7f80u)
                return std::string(name) + "[" + std::to_string(row) + "][" + std::to_string(c) + "] = " +
                       std::to_string(src[row * cols + c]) + " overflows bf16";
            out[static_cast<size_t>((t * cols + c) * tile + e)] = h;
        }
    }
    return "";
}

// codes [rows][cols] (one per byte, < 2^bits) -> [ceil(rows/tile)][cols][tile
// * bits / 8]: byte q*V + i of a tile's column holds rows q*P*V + h*V + i,
// h = 0..P-1 (P = 8 / bits), at bits [h*bits, (h+1)*bits). False when out of memory.
bool packCodeColumns(const uint8_t *src, int64_t rows, int64_t cols, int tile, int vector, int bits,
                     Packed<uint8_t> &out) {
    const int P = 8 / bits;
    const int64_t tiles = ceilDiv(rows, tile), colBytes = int64_t(tile) * bits / 8;
    if (!out.allocate(static_cast<size_t>(tiles * cols * colBytes))) return false;
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t t = row / tile, e = row % tile;
        const int64_t q = e / (P * vector), h = (e / vector) % P, i = e % vector;
        for (int64_t c = 0; c < cols; ++c)
            out[static_cast<size_t>((t * cols + c) * colBytes + q * vector + i)] |=
                static_cast<uint8_t>(src[row * cols + c] << (h * bits));
    }
    return true;
}

// U or V with `factors=int8`: each row quantized to int8 with its own f32
// scale by the low-bit family's quantizer (abs-max / 127, docs/formats.md),
// codes packed like W's, scales [tiles][1][tile].
kf_status packInt8Factor(const std::string &fn, const char *name, const float *src, int64_t rows, int64_t cols,
                         const kf::rt::SparseRankLayout &layout, Packed<uint8_t> &codes, Packed<float> &scales) {
    const kf::rt::LinearSpec spec{"int8", 8, rows, cols, 0, KF_SCALE_F32, KF_WEIGHT_INT, KF_ACT_F32, 0, 0, 0};
    std::vector<uint8_t> c(static_cast<size_t>(rows * cols));
    std::vector<float> s(static_cast<size_t>(rows));
    if (kf_status st = kf::rt::quantizeLinearWeights(fn.c_str(), &spec, std::string("factor ") + name, rows, cols, src,
                                                     c.data(), s.data(), nullptr))
        return st;
    const int tile = layout.lowRankTile;
    if (!packCodeColumns(c.data(), rows, cols, tile, layout.vector, 8, codes) ||
        !scales.allocate(static_cast<size_t>(ceilDiv(rows, tile) * tile)))
        return fail(KF_ERR_OUT_OF_MEMORY, fn + ": out of memory packing " + name);
    std::copy(s.begin(), s.end(), scales.data.get());
    return KF_OK;
}

// Marks row x's active channels (kforge/sparse_rank.h): |x_k| > tau, or the
// topK largest |x_k|, the lower index first among equal magnitudes.
void maskRow(const kf_sparse_rank &L, const float *x, std::vector<int32_t> &order, uint8_t *active) {
    const int64_t K = L.k;
    if (L.spec->topK == 0) {
        for (int64_t c = 0; c < K; ++c) active[c] = std::fabs(x[c]) > L.tau;
        return;
    }
    const int64_t keep = std::min<int64_t>(L.spec->topK, K);
    order.resize(static_cast<size_t>(K));
    std::iota(order.begin(), order.end(), 0);
    const auto before = [x](int32_t a, int32_t b) {
        const float fa = std::fabs(x[a]), fb = std::fabs(x[b]);
        return fa > fb || (fa == fb && a < b);
    };
    std::nth_element(order.begin(), order.begin() + (keep - 1), order.end(), before);
    std::memset(active, 0, static_cast<size_t>(K));
    for (int64_t i = 0; i < keep; ++i) active[order[static_cast<size_t>(i)]] = 1;
}

// A matrix's packed columns by its element bits (kforge/detail/SparseRank.h):
// codes (8 bits or fewer), bf16 bit patterns (16) or f32 (32).
const void *packedColumns(int bits, const Packed<uint8_t> &codes, const Packed<uint16_t> &bf16,
                          const Packed<float> &f32) {
    if (bits <= 8) return codes.get();
    return bits == 16 ? static_cast<const void *>(bf16.get()) : f32.get();
}

// Appends kSparseRankListPadding copies of the last listed column: a
// gather prefetches columns ahead in its list (kforge/detail/SparseRank.h).
void padList(std::vector<int32_t> &idx) {
    if (!idx.empty()) idx.insert(idx.end(), kf::rt::kSparseRankListPadding, idx.back());
}

// A gather over the first J entries of idx (padded by padList).
kf::rt::SparseRankArgs gatherArgs(const void *cols, const float *scales, const std::vector<int32_t> &idx, int64_t J,
                                 const float *a, int64_t aStride, float *out, int64_t outStride, int64_t m,
                                 int64_t numCols, int64_t numGroups, int64_t nTiles) {
    return {cols,    scales, idx.data(), a,         out,       J,       m,       numCols,
            numGroups, nTiles, aStride,  outStride, nullptr, nullptr, 0};
}

}  // namespace

extern "C" {

kf_status kf_sparse_rank_query(const kf_kernel_def *def, kf_sparse_rank_info *info) {
    kf::rt::clearError();
    if (!def || !info) return fail(KF_ERR_NULL_POINTER, "kf_sparse_rank_query: def and info must not be NULL");
    const kf::rt::SparseRankSpec *spec = specOf(def, "kf_sparse_rank_query");
    if (!spec) return KF_ERR_INVALID_ARGUMENT;
    info->kernel_name = def->name;
    info->weight_format = spec->weightFormat;
    info->bits = spec->bits;
    info->n = spec->n;
    info->k = spec->k;
    info->rank = spec->rank;
    info->group = spec->group;
    info->scale_type = spec->scaleType;
    info->topk = spec->topK;
    info->factor_bits = spec->factorBits;
    info->tau = spec->tau;
    info->num_variants = def->numVariants;
    return KF_OK;
}

kf_status kf_sparse_rank_create(const kf_kernel_def *def, int64_t n, int64_t k, const char *variant,
                                kf_sparse_rank **out) {
    kf::rt::clearError();
    if (!def || !out) return fail(KF_ERR_NULL_POINTER, "kf_sparse_rank_create: def and out must not be NULL");
    *out = nullptr;
    const kf::rt::SparseRankSpec *spec = specOf(def, "kf_sparse_rank_create");
    if (!spec) return KF_ERR_INVALID_ARGUMENT;
    const auto dim = [](const char *name, int64_t given, int64_t declared, int64_t *v) -> kf_status {
        if (given < 0 || given > kMaxDim)
            return fail(KF_ERR_SHAPE, std::string("kf_sparse_rank_create: ") + name + " must be 0 (declared) or 1.." +
                                          std::to_string(kMaxDim) + ", got " + std::to_string(given));
        if (declared && given && given != declared)
            return fail(KF_ERR_SHAPE, std::string("kf_sparse_rank_create: ") + name + "=" + std::to_string(given) +
                                          " but the kernel declares " + name + "=" + std::to_string(declared));
        *v = given ? given : declared;
        if (!*v)
            return fail(KF_ERR_SHAPE, std::string("kf_sparse_rank_create: the kernel's ") + name +
                                          " is dynamic: give its size");
        return KF_OK;
    };
    int64_t N = 0, K = 0;
    if (kf_status s = dim("N", n, spec->n, &N)) return s;
    if (kf_status s = dim("K", k, spec->k, &K)) return s;
    if (spec->rank > std::min(N, K))
        return fail(KF_ERR_SHAPE, "kf_sparse_rank_create: rank " + std::to_string(spec->rank) +
                                      " exceeds min(N, K) = " + std::to_string(std::min(N, K)));
    if (spec->topK > K)
        return fail(KF_ERR_SHAPE, "kf_sparse_rank_create: topk=" + std::to_string(spec->topK) + " exceeds K=" +
                                      std::to_string(K));
    kf_status status = KF_OK;
    const kf::rt::Variant *v = kf::rt::selectVariant(*def, variant, &status);
    if (!v) return status;
    auto L = std::unique_ptr<kf_sparse_rank>(new (std::nothrow) kf_sparse_rank);
    if (!L) return fail(KF_ERR_OUT_OF_MEMORY, "kf_sparse_rank_create: out of memory");
    L->def = def;
    L->spec = spec;
    L->variant = v;
    L->layout = kf::rt::sparseRankData(*v).layout;
    L->n = N;
    L->k = K;
    L->r = spec->rank;
    L->tau = spec->topK ? 0.0f : spec->tau;
    L->groups = spec->group ? ceilDiv(K, spec->group) : 1;
    L->wTiles = ceilDiv(N, L->layout.tile);
    L->vTiles = ceilDiv(L->r, L->layout.lowRankTile);
    L->uTiles = ceilDiv(N, L->layout.lowRankTile);
    *out = L.release();
    return KF_OK;
}

void kf_sparse_rank_destroy(kf_sparse_rank *layer) { delete layer; }

const char *kf_sparse_rank_variant(const kf_sparse_rank *layer) { return layer ? layer->variant->symbol : nullptr; }

const char *kf_sparse_rank_variant_for_rows(const kf_sparse_rank *layer, int64_t m) {
    if (!layer || m <= 0) return nullptr;
    return kf::rt::variantForRows(*layer->def, *layer->variant, m)->symbol;
}

kf_status kf_sparse_rank_pack(kf_sparse_rank *L, const kf_sparse_rank_weights *w) {
    kf::rt::clearError();
    const std::string fn = "kf_sparse_rank_pack";
    if (!L || !w) return fail(KF_ERR_NULL_POINTER, fn + ": layer and weights must not be NULL");
    const bool q = L->quantized(), dense = L->hasWeight() && !q;
    const auto need = [&](const void *p, bool used, const char *name) -> kf_status {
        if (used && !p) return fail(KF_ERR_NULL_POINTER, fn + ": weights->" + name + " must not be NULL for kernel '" + L->def->name + "'");
        if (!used && p)
            return fail(KF_ERR_INVALID_ARGUMENT, fn + ": weights->" + name + " must be NULL: kernel '" + L->def->name +
                                                     "' does not use it");
        return KF_OK;
    };
    if (kf_status s = need(w->codes, q, "codes")) return s;
    if (kf_status s = need(w->scales, q, "scales")) return s;
    if (kf_status s = need(w->w, dense, "w")) return s;
    if (kf_status s = need(w->u, L->r > 0, "u")) return s;
    if (kf_status s = need(w->v, L->r > 0, "v")) return s;
    const int64_t N = L->n, K = L->k, R = L->r;
    const int tile = L->layout.tile;
    Packed<uint8_t> codes;
    Packed<float> values, scales;
    Packed<uint16_t> half, uHalf, vHalf;
    const auto outOfMemory = [&] { return fail(KF_ERR_OUT_OF_MEMORY, fn + ": out of memory packing the layer"); };
    if (q) {
        const unsigned top = (1u << L->spec->bits) - 1;
        for (int64_t i = 0; i < N * K; ++i)
            if (w->codes[i] > top)
                return fail(KF_ERR_INVALID_ARGUMENT, fn + ": code " + std::to_string(w->codes[i]) + " at row " +
                                                         std::to_string(i / K) + ", column " + std::to_string(i % K) +
                                                         " is above int" + std::to_string(L->spec->bits) +
                                                         "'s largest code " + std::to_string(top));
        if (!scales.allocate(static_cast<size_t>(L->wTiles * L->groups * tile))) return outOfMemory();
        for (int64_t row = 0; row < N; ++row)
            for (int64_t g = 0; g < L->groups; ++g) {
                const float s = scaleAt(w->scales, L->spec->scaleType, row * L->groups + g);
                if (!std::isfinite(s))
                    return fail(KF_ERR_INVALID_ARGUMENT, fn + ": scale [" + std::to_string(row) + "][" +
                                                             std::to_string(g) + "] is not finite");
                scales[static_cast<size_t>(((row / tile) * L->groups + g) * tile + row % tile)] = s;
            }
        if (!packCodeColumns(w->codes, N, K, tile, L->layout.vector, L->layout.storedBits, codes)) return outOfMemory();
    } else if (dense) {
        if (std::string e = firstNonFinite("w", w->w, N, K); !e.empty()) return fail(KF_ERR_INVALID_ARGUMENT, fn + ": " + e);
        if (L->layout.storedBits == 16) {
            if (std::string e = packHalfColumns("w", w->w, N, K, tile, half); !e.empty())
                return fail(half.get() ? KF_ERR_INVALID_ARGUMENT : KF_ERR_OUT_OF_MEMORY, fn + ": " + e);
        } else if (!packColumns(w->w, N, K, tile, values)) {
            return outOfMemory();
        }
    }
    Packed<float> u, v;
    Packed<uint8_t> uCodes, vCodes;
    if (R > 0) {
        if (std::string e = firstNonFinite("u", w->u, N, R); !e.empty()) return fail(KF_ERR_INVALID_ARGUMENT, fn + ": " + e);
        if (std::string e = firstNonFinite("v", w->v, R, K); !e.empty()) return fail(KF_ERR_INVALID_ARGUMENT, fn + ": " + e);
        if (L->layout.factorBits == 8) {
            if (kf_status st = packInt8Factor(fn, "v", w->v, R, K, L->layout, vCodes, v)) return st;
            if (kf_status st = packInt8Factor(fn, "u", w->u, N, R, L->layout, uCodes, u)) return st;
        } else if (L->layout.factorBits == 16) {
            for (auto [name, src, rows, cols, out] : {std::tuple{"v", w->v, R, K, &vHalf}, std::tuple{"u", w->u, N, R, &uHalf}})
                if (std::string e = packHalfColumns(name, src, rows, cols, L->layout.lowRankTile, *out); !e.empty())
                    return fail(out->get() ? KF_ERR_INVALID_ARGUMENT : KF_ERR_OUT_OF_MEMORY, fn + ": " + e);
        } else if (!packColumns(w->v, R, K, L->layout.lowRankTile, v) ||
                   !packColumns(w->u, N, R, L->layout.lowRankTile, u)) {
            return outOfMemory();
        }
    }
    L->wCodes = std::move(codes);
    L->wValues = std::move(values);
    L->wScales = std::move(scales);
    L->u = std::move(u);
    L->v = std::move(v);
    L->uCodes = std::move(uCodes);
    L->vCodes = std::move(vCodes);
    L->wHalf = std::move(half);
    L->uHalf = std::move(uHalf);
    L->vHalf = std::move(vHalf);
    L->packed = true;
    return KF_OK;
}

kf_status kf_sparse_rank_pack_float(kf_sparse_rank *L, const float *w, double *sigma) {
    kf::rt::clearError();
    const std::string fn = "kf_sparse_rank_pack_float";
    if (!L || !w) return fail(KF_ERR_NULL_POINTER, fn + ": layer and w must not be NULL");
    const int64_t N = L->n, K = L->k, R = L->r;
    if (std::string e = firstNonFinite("w", w, N, K); !e.empty()) return fail(KF_ERR_INVALID_ARGUMENT, fn + ": " + e);
    try {
        std::vector<uint8_t> codes;
        std::vector<uint8_t> scales;
        kf_sparse_rank_weights weights{};
        if (L->quantized()) {
            const std::string format = "int" + std::to_string(L->spec->bits);
            const kf::rt::LinearSpec spec{format.c_str(), L->spec->bits, N, K, L->spec->group, L->spec->scaleType,
                                          KF_WEIGHT_INT, KF_ACT_F32, 0, 0, 0};
            codes.resize(static_cast<size_t>(N * K));
            scales.resize(static_cast<size_t>(N * L->groups) * (L->spec->scaleType == KF_SCALE_F32 ? 4 : 2));
            if (kf_status st = kf::rt::quantizeLinearWeights(fn.c_str(), &spec,
                                                             std::string("kernel '") + L->def->name + "' (" + format + ")",
                                                             N, K, w, codes.data(), scales.data(), nullptr))
                return st;
            weights.codes = codes.data();
            weights.scales = scales.data();
        } else if (L->hasWeight()) {
            weights.w = w;  // f32, or rounded to bf16 by the pack
        }
        const kf::rt::LowRankFactors f = kf::rt::truncatedSvd(w, N, K, R);
        if (R > 0) {
            weights.u = f.u.data();
            weights.v = f.v.data();
        }
        if (kf_status st = kf_sparse_rank_pack(L, &weights)) return st;
        if (sigma) std::copy(f.sigma.begin(), f.sigma.end(), sigma);
        return KF_OK;
    } catch (const std::bad_alloc &) {
        return fail(KF_ERR_OUT_OF_MEMORY, fn + ": out of memory (quantizing or factorizing a " + std::to_string(N) +
                                              " x " + std::to_string(K) + " layer)");
    }
}

kf_status kf_sparse_rank_set_threshold(kf_sparse_rank *L, float tau) {
    kf::rt::clearError();
    if (!L) return fail(KF_ERR_NULL_POINTER, "kf_sparse_rank_set_threshold: layer must not be NULL");
    if (!L->hasWeight())
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_sparse_rank_set_threshold: kernel '") + L->def->name +
                                                 "' has no W ('weight none'): every channel goes through U (V x), "
                                                 "there is no threshold");
    if (L->spec->topK)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_sparse_rank_set_threshold: kernel '") + L->def->name +
                                                 "' keeps the top " + std::to_string(L->spec->topK) +
                                                 " channels of each row; it has no threshold");
    if (!std::isfinite(tau) || tau < 0)
        return fail(KF_ERR_INVALID_ARGUMENT,
                    "kf_sparse_rank_set_threshold: tau must be finite and >= 0, got " + std::to_string(tau));
    L->tau = tau;
    return KF_OK;
}

float kf_sparse_rank_threshold(const kf_sparse_rank *L) { return L ? L->tau : 0.0f; }

}  // extern "C"

namespace {

// y[m][N] for rows x[m][K] through `variant`'s gathers over the union of the
// rows' masks (one row: its own); sets L->stats. Returns KF_OK or a status
// with the error set.
kf_status runRows(kf_sparse_rank *L, const kf::rt::Variant &variant, const float *x, int64_t m, float *y,
                  int num_threads) {
    const std::string fn = "kf_sparse_rank_run";
    const int64_t N = L->n, K = L->k, R = L->r;
    // Masks (`weight none`: every channel inactive), then the columns each
    // product reads and their activations (zero where a row does not take
    // the column).
    L->rowActive.resize(static_cast<size_t>(m * K));
    if (L->hasWeight())
        for (int64_t row = 0; row < m; ++row) maskRow(*L, x + row * K, L->order, L->rowActive.data() + row * K);
    else
        std::fill(L->rowActive.begin(), L->rowActive.end(), uint8_t{0});
    L->activeIdx.clear();
    L->inactiveIdx.clear();
    for (int64_t c = 0; c < K; ++c) {
        bool any = false, anyOff = false;
        for (int64_t row = 0; row < m; ++row) (L->rowActive[static_cast<size_t>(row * K + c)] ? any : anyOff) = true;
        if (any) L->activeIdx.push_back(static_cast<int32_t>(c));
        if (anyOff && R > 0) L->inactiveIdx.push_back(static_cast<int32_t>(c));
    }
    const auto gatherActs = [&](const std::vector<int32_t> &idx, bool active, std::vector<float> &a) {
        const int64_t J = static_cast<int64_t>(idx.size());
        a.resize(static_cast<size_t>(m * J));
        for (int64_t row = 0; row < m; ++row)
            for (int64_t j = 0; j < J; ++j) {
                const int64_t c = idx[static_cast<size_t>(j)];
                const bool on = L->rowActive[static_cast<size_t>(row * K + c)] != 0;
                a[static_cast<size_t>(row * J + j)] = on == active ? x[row * K + c] : 0.0f;
            }
    };
    gatherActs(L->activeIdx, true, L->aActive);
    gatherActs(L->inactiveIdx, false, L->aInactive);
    // W's active list in runs of one scale group (one run for per-channel
    // scales) and each run's sum of activations per row.
    L->segments.clear();
    const int64_t Ja = static_cast<int64_t>(L->activeIdx.size());
    for (int64_t j = 0; j < Ja;) {
        const int64_t g = L->spec->group ? L->activeIdx[static_cast<size_t>(j)] / L->spec->group : 0;
        int64_t e = j + 1;
        while (e < Ja && (L->spec->group ? L->activeIdx[static_cast<size_t>(e)] / L->spec->group : 0) == g) ++e;
        L->segments.insert(L->segments.end(), {static_cast<int32_t>(j), static_cast<int32_t>(e - j), static_cast<int32_t>(g)});
        j = e;
    }
    const int64_t S = static_cast<int64_t>(L->segments.size() / 3);
    L->segSums.assign(static_cast<size_t>(m * S), 0.0f);
    for (int64_t row = 0; row < m; ++row)
        for (int64_t sg = 0; sg < S; ++sg) {
            const int64_t first = L->segments[static_cast<size_t>(3 * sg)], count = L->segments[static_cast<size_t>(3 * sg + 1)];
            float sum = 0.0f;
            for (int64_t j = first; j < first + count; ++j) sum += L->aActive[static_cast<size_t>(row * Ja + j)];
            L->segSums[static_cast<size_t>(row * S + sg)] = sum;
        }

    const kf::rt::SparseRankVariantData &data = kf::rt::sparseRankData(variant);
    const int tile = L->layout.tile, lrTile = L->layout.lowRankTile;
    const int64_t wRows = L->wTiles * tile, uRows = L->uTiles * lrTile, vRows = L->vTiles * lrTile;
    const bool direct = wRows == N;
    if (!direct) L->yPad.resize(static_cast<size_t>(m * wRows));
    const int64_t Ji = static_cast<int64_t>(L->inactiveIdx.size());
    const bool lowRank = R > 0 && Ji > 0;
    padList(L->activeIdx);
    padList(L->inactiveIdx);
    if (lowRank) {
        L->t.resize(static_cast<size_t>(m * vRows));
        L->uOut.resize(static_cast<size_t>(m * uRows));
        if (L->rankIdx.size() != static_cast<size_t>(R + kf::rt::kSparseRankListPadding)) {
            L->rankIdx.resize(static_cast<size_t>(R));
            std::iota(L->rankIdx.begin(), L->rankIdx.end(), 0);
            padList(L->rankIdx);
        }
    }
    const int rc = L->arenas.run(num_threads, [&]() -> int {
        if (Ja > 0) {
            const void *cols = packedColumns(L->layout.storedBits, L->wCodes, L->wHalf, L->wValues);
            auto args = gatherArgs(cols, L->quantized() ? L->wScales.get() : nullptr, L->activeIdx, Ja, L->aActive.data(), Ja,
                                   direct ? y : L->yPad.data(), direct ? N : wRows, m, K, L->groups, L->wTiles);
            args.segments = L->segments.data();
            args.segSums = L->segSums.data();
            args.numSegments = S;
            if (int e = variant.run(&args)) return e;
        }
        if (lowRank) {
            const int fb = L->layout.factorBits;
            const bool q8 = fb == 8;
            // int8 factors: one run of all columns (per-row scales), its sums per row.
            const auto runSums = [&](const float *a, int64_t J, int64_t stride) {
                L->lowRankSums.assign(static_cast<size_t>(m), 0.0f);
                for (int64_t row = 0; row < m; ++row)
                    for (int64_t j = 0; j < J; ++j) L->lowRankSums[static_cast<size_t>(row)] += a[row * stride + j];
            };
            auto vArgs = gatherArgs(packedColumns(fb, L->vCodes, L->vHalf, L->v), q8 ? L->v.get() : nullptr,
                                    L->inactiveIdx, Ji, L->aInactive.data(), Ji, L->t.data(), vRows, m, K, 1, L->vTiles);
            int32_t vRun[3] = {0, static_cast<int32_t>(Ji), 0}, uRun[3] = {0, static_cast<int32_t>(R), 0};
            if (q8) {
                runSums(L->aInactive.data(), Ji, Ji);
                vArgs.segments = vRun;
                vArgs.segSums = L->lowRankSums.data();
                vArgs.numSegments = 1;
            }
            if (int e = data.runLowRank(&vArgs)) return e;
            auto uArgs = gatherArgs(packedColumns(fb, L->uCodes, L->uHalf, L->u), q8 ? L->u.get() : nullptr,
                                    L->rankIdx, R, L->t.data(), vRows, L->uOut.data(), uRows, m, R, 1, L->uTiles);
            if (q8) {
                runSums(L->t.data(), R, vRows);
                uArgs.segments = uRun;
                uArgs.segSums = L->lowRankSums.data();
                uArgs.numSegments = 1;
            }
            if (int e = data.runLowRank(&uArgs)) return e;
        }
        return 0;
    });
    if (rc != 0) return fail(KF_ERR_KERNEL_FAILED, fn + ": kernel " + variant.symbol + " failed: " + kf_last_error());
    for (int64_t row = 0; row < m; ++row) {
        float *yr = y + row * N;
        if (Ja == 0) std::fill(yr, yr + N, 0.0f);
        else if (!direct) std::copy_n(L->yPad.data() + row * wRows, N, yr);
        if (lowRank)
            for (int64_t c = 0; c < N; ++c) yr[c] += L->uOut[static_cast<size_t>(row * uRows + c)];
    }
    L->stats.active_columns = Ja;
    L->stats.inactive_columns = lowRank ? Ji : 0;
    L->stats.bytes_read = static_cast<size_t>(Ja * L->wTiles * L->wColBytes() +
                                              (Ja && L->quantized() ? L->wTiles * L->groups * tile * 4 : 0) +
                                              (lowRank ? (Ji * vRows + R * uRows) * (L->layout.factorBits / 8) +
                                                             (L->layout.factorBits == 8 ? (vRows + uRows) * 4 : 0)
                                                       : 0));
    return KF_OK;
}

}  // namespace

extern "C" {

kf_status kf_sparse_rank_run(kf_sparse_rank *L, const float *x, int64_t m, float *y, int num_threads) {
    kf::rt::clearError();
    const std::string fn = "kf_sparse_rank_run";
    if (!L || !x || !y) return fail(KF_ERR_NULL_POINTER, fn + ": layer, x and y must not be NULL");
    if (!L->packed) return fail(KF_ERR_NOT_PACKED, fn + ": layer '" + std::string(L->def->name) + "' is not packed (kf_sparse_rank_pack)");
    if (m <= 0 || m >= kMaxRows)
        return fail(KF_ERR_SHAPE, fn + ": M must be between 1 and 2^31 - 1, got " + std::to_string(m));
    if (num_threads < 0)
        return fail(KF_ERR_INVALID_ARGUMENT, fn + ": num_threads must be >= 0, got " + std::to_string(num_threads));
    const int64_t N = L->n, K = L->k;
    for (int64_t i = 0; i < m * K; ++i)
        if (std::isnan(x[i]))
            return fail(KF_ERR_INVALID_ARGUMENT, fn + ": x[" + std::to_string(i / K) + "][" + std::to_string(i % K) +
                                                     "] is NaN");
    const kf::rt::Variant &variant = *kf::rt::variantForRows(*L->def, *L->variant, m);
    if (m == 1 || !kf::rt::sparseRankData(variant).perToken) return runRows(L, variant, x, m, y, num_threads);
    // Per-token masks: each row on its own columns; the stats add up what
    // every row read.
    kf_sparse_rank_stats total{};
    for (int64_t row = 0; row < m; ++row) {
        if (kf_status st = runRows(L, variant, x + row * K, 1, y + row * N, num_threads)) return st;
        total.active_columns += L->stats.active_columns;
        total.inactive_columns += L->stats.inactive_columns;
        total.bytes_read += L->stats.bytes_read;
    }
    L->stats = total;
    return KF_OK;
}

kf_status kf_sparse_rank_last_stats(const kf_sparse_rank *L, kf_sparse_rank_stats *stats) {
    kf::rt::clearError();
    if (!L || !stats) return fail(KF_ERR_NULL_POINTER, "kf_sparse_rank_last_stats: layer and stats must not be NULL");
    *stats = L->stats;
    return KF_OK;
}

size_t kf_sparse_rank_packed_bytes(const kf_sparse_rank *L) {
    if (!L) return 0;
    return L->wCodes.size + L->uCodes.size + L->vCodes.size +
           (L->wHalf.size + L->uHalf.size + L->vHalf.size) * sizeof(uint16_t) +
           (L->wValues.size + L->wScales.size + L->u.size + L->v.size) * sizeof(float);
}

}  // extern "C"
