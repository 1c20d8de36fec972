// The lowbit_linear C ABI: create, pack, unpack, copy, run, queries.
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "kforge/kforge.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/LayerAccess.h"
#include "runtime/Pack.h"
#include "runtime/StreamMemory.h"

using kf::rt::fail;

namespace {
// Where a layer's storage starts within its first 4 KiB page (kf_linear_create).
constexpr size_t kStoragePageOffset = 64;
}  // namespace

struct kf_linear {
    const kf_kernel_def *def = nullptr;
    const kf::rt::LinearVariant *variant = nullptr;
    kf::rt::LinearGeometry geom{};
    uint8_t *storage = nullptr;  // page-aligned + kStoragePageOffset; the pointers below point into it
    size_t storageBytes = 0;     // all of it: what kf_linear_copy_weights copies
    uint8_t *planes[kf::rt::kMaxPlanes] = {};
    void *scales = nullptr;
    uint8_t *zeroPoints = nullptr;
    float *codebook = nullptr;
    float *bias = nullptr;
    size_t streamedBytes = 0;  // planes + scales + zero points: what a call reads
    bool isPacked = false;
    std::mutex arenaMutex;
    std::map<int, std::unique_ptr<tbb::task_arena>> arenas;

    ~kf_linear() {
        if (storage) std::free(storage - kStoragePageOffset);
    }

    const kf::rt::LinearLayout &layout() const { return variant->layout; }
    bool hasZeroPoints() const { return def->weightKind == KF_WEIGHT_UINT; }
    bool hasCodebook() const { return def->weightKind == KF_WEIGHT_CODEBOOK; }
    int64_t codebookEntries() const { return int64_t(1) << def->bits; }

    tbb::task_arena &arena(int threads) {
        std::lock_guard<std::mutex> lock(arenaMutex);
        auto &a = arenas[threads];
        if (!a) a = std::make_unique<tbb::task_arena>(threads);
        return *a;
    }
};

namespace kf::rt {
const kf_kernel_def *layerDef(const kf_linear *layer) { return layer ? layer->def : nullptr; }
void layerShape(const kf_linear *layer, int64_t *n, int64_t *k) {
    *n = layer ? layer->geom.n : 0;
    *k = layer ? layer->geom.k : 0;
}
}  // namespace kf::rt

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;

size_t roundUp64(size_t v) { return (v + 63) / 64 * 64; }

unsigned maxCode(const kf_kernel_def &def) {
    switch (def.weightKind) {
    case KF_WEIGHT_BINARY: return 1;
    case KF_WEIGHT_TERNARY: return 2;
    case KF_WEIGHT_SEQ2: return 3;
    default: return (1u << def.bits) - 1;
    }
}

size_t actElemBytes(const kf_kernel_def &def) { return def.actType == KF_ACT_BF16 ? 2 : 4; }

// Zero-padded copies of x / y when the true shape is not the padded one.
thread_local std::vector<uint8_t> tlsX;
thread_local std::vector<float> tlsY;

kf_status checkPresence(const kf_linear &L, const char *fn, const kf_linear_weights &w) {
    const std::string k = std::string("kernel '") + L.def->name + "'";
    if (!w.codes || !w.scales) return fail(KF_ERR_NULL_POINTER, std::string(fn) + ": codes and scales must not be NULL");
    if (L.hasZeroPoints() != (w.zero_points != nullptr))
        return fail(L.hasZeroPoints() ? KF_ERR_NULL_POINTER : KF_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": " + k + (L.hasZeroPoints() ? " (uint) needs zero_points" : " has no zero points; pass NULL"));
    if (L.hasCodebook() != (w.codebook != nullptr))
        return fail(L.hasCodebook() ? KF_ERR_NULL_POINTER : KF_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": " + k + (L.hasCodebook() ? " needs a codebook" : " has no codebook; pass NULL"));
    if (bool(L.def->hasBias) != (w.bias != nullptr))
        return fail(L.def->hasBias ? KF_ERR_NULL_POINTER : KF_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": " + k + (L.def->hasBias ? " is declared with a bias; pass it" : " has no bias; pass NULL"));
    return KF_OK;
}

// Shared by kf_linear_pack and kf_linear_pack_weights; `fn` names the caller in messages.
kf_status packWeights(kf_linear *layer, const kf_linear_weights *w, const char *fn) {
    if (kf_status s = checkPresence(*layer, fn, *w)) return s;
    const auto &g = layer->geom;
    const auto &L = layer->layout();
    const unsigned top = maxCode(*layer->def);
    if (const int64_t i = kf::rt::firstAbove(w->codes, g.n * g.k, top); i < g.n * g.k)
        return fail(KF_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": code " + std::to_string(w->codes[i]) + " at row " + std::to_string(i / g.k) +
                        ", column " + std::to_string(i % g.k) + " is out of range for " + layer->def->weightFormat +
                        " weights (max " + std::to_string(top) + ")");
    if (w->zero_points)
        if (const int64_t i = kf::rt::firstAbove(w->zero_points, g.n * g.numScaleCols, top); i < g.n * g.numScaleCols)
            return fail(KF_ERR_INVALID_ARGUMENT, std::string(fn) + ": zero point " + std::to_string(w->zero_points[i]) +
                                                     " at row " + std::to_string(i / g.numScaleCols) +
                                                     " is out of range (max " + std::to_string(top) + ")");
    kf::rt::packCodes(L, g, w->codes, layer->planes);
    kf::rt::packRowTable(g, g.numScaleCols, kf::rt::scaleElemBytes(L.scaleType), w->scales, layer->scales);
    if (w->zero_points) kf::rt::packRowTable(g, g.numScaleCols, 1, w->zero_points, layer->zeroPoints);
    if (w->codebook) {
        if (layer->def->codebookPerChannel)
            kf::rt::packRowTable(g, layer->codebookEntries(), sizeof(float), w->codebook, layer->codebook);
        else
            std::memcpy(layer->codebook, w->codebook, sizeof(float) * layer->codebookEntries());
    }
    if (w->bias) kf::rt::packRowTable(g, 1, sizeof(float), w->bias, layer->bias);
    layer->isPacked = true;
    return KF_OK;
}

// Layouts that pack the same codes into the same bytes.
bool sameLayout(const kf::rt::LinearLayout &a, const kf::rt::LinearLayout &b) {
    return a.bits == b.bits && a.interleave == b.interleave && a.kBlock == b.kBlock && a.kAlign == b.kAlign &&
           a.group == b.group && a.scaleType == b.scaleType && a.codeView == b.codeView && kf::rt::samePlanes(a, b);
}

}  // namespace

extern "C" {

kf_status kf_linear_query(const kf_kernel_def *def, kf_linear_info *info) {
    kf::rt::clearError();
    if (!def || !info) return fail(KF_ERR_NULL_POINTER, "kf_linear_query: def and info must not be NULL");
    info->kernel_name = def->name;
    info->weight_format = def->weightFormat;
    info->bits = def->bits;
    info->n = def->n;
    info->k = def->k;
    info->group = def->group;
    info->scale_type = def->scaleType;
    info->num_variants = def->numVariants;
    info->weight_kind = def->weightKind;
    info->act_type = def->actType;
    info->has_bias = def->hasBias;
    info->codebook_per_channel = def->codebookPerChannel;
    return KF_OK;
}

const char *kf_variant_name(const kf_kernel_def *def, int i) {
    if (!def || i < 0 || i >= def->numVariants) return nullptr;
    return def->variants[i].symbol;
}

int kf_variant_supported(const kf_kernel_def *def, int i) {
    if (!def || i < 0 || i >= def->numVariants) return 0;
    return kf::rt::variantSupported(def->variants[i]) ? 1 : 0;
}

int kf_variant_bucket(const kf_kernel_def *def, int i) {
    if (!def || i < 0 || i >= def->numVariants) return -1;
    return def->variants[i].bucket;
}

kf_status kf_linear_create(const kf_kernel_def *def, int64_t n, int64_t k, const char *variant, kf_linear **out) {
    kf::rt::clearError();
    if (!def || !out) return fail(KF_ERR_NULL_POINTER, "kf_linear_create: def and out must not be NULL");
    *out = nullptr;
    if (n == 0) n = def->n;
    if (k == 0) k = def->k;
    if (n <= 0 || k <= 0 || n >= kMaxDim || k >= kMaxDim)
        return fail(KF_ERR_SHAPE, "kf_linear_create: kernel '" + std::string(def->name) + "' needs 1 <= N, K < 2^31 (" +
                                      (def->n && def->k ? "" : "its shape is dynamic: pass N and K; ") + "got N=" +
                                      std::to_string(n) + ", K=" + std::to_string(k) + ")");
    if ((def->n && n != def->n) || (def->k && k != def->k))
        return fail(KF_ERR_SHAPE, "kf_linear_create: kernel '" + std::string(def->name) + "' is declared " +
                                      std::to_string(def->n) + "x" + std::to_string(def->k) + ", got " +
                                      std::to_string(n) + "x" + std::to_string(k));
    kf_status status = KF_OK;
    const kf::rt::LinearVariant *v = kf::rt::selectVariant(*def, variant, &status);
    if (!v) return status;

    auto layer = std::unique_ptr<kf_linear>(new (std::nothrow) kf_linear);
    if (!layer) return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_create: out of memory");
    layer->def = def;
    layer->variant = v;
    layer->geom = kf::rt::geometryFor(v->layout, n, k);
    const auto &g = layer->geom;
    const auto &L = v->layout;

    // One allocation: planes, scales, zero points (what a call streams), then
    // codebook and bias.
    // Slots: the planes, then scales, zero points, codebook, bias.
    constexpr int kScales = kf::rt::kMaxPlanes, kZeroPoints = kScales + 1, kCodebook = kScales + 2,
                  kBias = kScales + 3;
    size_t offsets[kBias + 1], total = 0;
    auto reserve = [&](int slot, size_t bytes) {
        offsets[slot] = total;
        total += roundUp64(bytes);
    };
    for (int p = 0; p < kf::rt::kMaxPlanes; ++p) reserve(p, p < L.numPlanes ? g.planeBytes(L.planes[p]) : 0);
    const size_t tableCells = static_cast<size_t>(g.rowsPadded() * g.numScaleCols);
    reserve(kScales, tableCells * kf::rt::scaleElemBytes(L.scaleType));
    reserve(kZeroPoints, layer->hasZeroPoints() ? tableCells : 0);
    layer->streamedBytes = total;
    reserve(kCodebook, layer->hasCodebook() ? sizeof(float) * layer->codebookEntries() *
                                                  (def->codebookPerChannel ? g.rowsPadded() : 1)
                                            : 0);
    reserve(kBias, def->hasBias ? sizeof(float) * g.rowsPadded() : 0);
    layer->storageBytes = total ? total : 64;
    // Page-aligned plus a fixed offset, whatever the allocator's history: the
    // offset of the streamed weights within a 4 KiB page moves the decode
    // kernels' speed by up to ~17% on this project's machine (int4 int8,
    // 4096x11008, 1 thread: 1.75 ms at offset 64, 2.03 ms at 0, 1.99 at 1024;
    // ternary 0.96 vs 1.10 ms; int2 the other way, 1.02 vs 0.96), and with
    // plain aligned_alloc the offset depended on whether glibc served the block
    // by mmap or from the heap, i.e. on what the process had freed before.
    // Fixed, the tuner's measurements hold for the user's process.
    // Large layers also go on transparent huge pages (runtime/StreamMemory.h
    // has the measurements); the offset stays 64 in the first 4 KiB page of
    // the 2 MiB one.
    if (auto *block = static_cast<uint8_t *>(kf::rt::allocateStreamed(layer->storageBytes + kStoragePageOffset)))
        layer->storage = block + kStoragePageOffset;
    if (!layer->storage)
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_create: cannot allocate " + std::to_string(total) + " bytes");
    for (int p = 0; p < L.numPlanes; ++p) layer->planes[p] = layer->storage + offsets[p];
    layer->scales = layer->storage + offsets[kScales];
    if (layer->hasZeroPoints()) layer->zeroPoints = layer->storage + offsets[kZeroPoints];
    if (layer->hasCodebook()) layer->codebook = reinterpret_cast<float *>(layer->storage + offsets[kCodebook]);
    if (def->hasBias) layer->bias = reinterpret_cast<float *>(layer->storage + offsets[kBias]);
    // The streamed size counts the planes' exact bytes, not the 64-byte rounding.
    layer->streamedBytes = tableCells * kf::rt::scaleElemBytes(L.scaleType) + (layer->hasZeroPoints() ? tableCells : 0);
    for (int p = 0; p < L.numPlanes; ++p) layer->streamedBytes += g.planeBytes(L.planes[p]);
    *out = layer.release();
    return KF_OK;
}

void kf_linear_destroy(kf_linear *layer) { delete layer; }

const char *kf_linear_variant(const kf_linear *layer) { return layer ? layer->variant->symbol : nullptr; }

const char *kf_linear_variant_for_rows(const kf_linear *layer, int64_t m) {
    if (!layer || m <= 0) return nullptr;
    return kf::rt::variantForRows(*layer->def, *layer->variant, m)->symbol;
}

size_t kf_linear_packed_bytes(const kf_linear *layer) { return layer ? layer->streamedBytes : 0; }

kf_status kf_linear_pack_weights(kf_linear *layer, const kf_linear_weights *w) {
    kf::rt::clearError();
    if (!layer || !w) return fail(KF_ERR_NULL_POINTER, "kf_linear_pack_weights: layer and weights must not be NULL");
    return packWeights(layer, w, "kf_linear_pack_weights");
}

kf_status kf_linear_pack(kf_linear *layer, const uint8_t *codes, const void *scales) {
    kf::rt::clearError();
    if (!layer || !codes || !scales)
        return fail(KF_ERR_NULL_POINTER, "kf_linear_pack: layer, codes and scales must not be NULL");
    kf_linear_weights w{codes, scales, nullptr, nullptr, nullptr};
    if (layer->hasZeroPoints() || layer->hasCodebook() || layer->def->hasBias)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_pack: kernel '") + layer->def->name +
                                                 "' has zero points, a codebook or a bias: use kf_linear_pack_weights");
    return packWeights(layer, &w, "kf_linear_pack");
}

kf_status kf_linear_copy_weights(kf_linear *dst, const kf_linear *src) {
    kf::rt::clearError();
    if (!dst || !src) return fail(KF_ERR_NULL_POINTER, "kf_linear_copy_weights: dst and src must not be NULL");
    if (dst->def != src->def)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_copy_weights: dst is a layer of kernel '") +
                                                 dst->def->name + "', src of kernel '" + src->def->name +
                                                 "' (both must come from the same kernel def)");
    if (dst->geom.n != src->geom.n || dst->geom.k != src->geom.k)
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_linear_copy_weights: dst is " + std::to_string(dst->geom.n) + "x" +
                                                 std::to_string(dst->geom.k) + ", src " + std::to_string(src->geom.n) +
                                                 "x" + std::to_string(src->geom.k) + " (shapes must match)");
    if (!sameLayout(dst->layout(), src->layout()) || dst->storageBytes != src->storageBytes)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_copy_weights: variants ") + dst->variant->symbol +
                                                 " and " + src->variant->symbol + " pack weights differently");
    if (!src->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_copy_weights: src has not been packed");
    if (dst != src) std::memcpy(dst->storage, src->storage, src->storageBytes);
    dst->isPacked = true;
    return KF_OK;
}

kf_status kf_linear_unpack_weights(const kf_linear *layer, uint8_t *codes, void *scales, uint8_t *zero_points,
                                   float *codebook, float *bias) {
    kf::rt::clearError();
    if (!layer) return fail(KF_ERR_NULL_POINTER, "kf_linear_unpack_weights: layer must not be NULL");
    kf_linear_weights w{codes, scales, zero_points, codebook, bias};
    if (kf_status s = checkPresence(*layer, "kf_linear_unpack_weights", w)) return s;
    if (!layer->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_unpack_weights: the layer has not been packed");
    const auto &g = layer->geom;
    const auto &L = layer->layout();
    kf::rt::unpackCodes(L, g, layer->planes, codes);
    kf::rt::unpackRowTable(g, g.numScaleCols, kf::rt::scaleElemBytes(L.scaleType), layer->scales, scales);
    if (zero_points) kf::rt::unpackRowTable(g, g.numScaleCols, 1, layer->zeroPoints, zero_points);
    if (codebook) {
        if (layer->def->codebookPerChannel)
            kf::rt::unpackRowTable(g, layer->codebookEntries(), sizeof(float), layer->codebook, codebook);
        else
            std::memcpy(codebook, layer->codebook, sizeof(float) * layer->codebookEntries());
    }
    if (bias) kf::rt::unpackRowTable(g, 1, sizeof(float), layer->bias, bias);
    return KF_OK;
}

kf_status kf_linear_unpack(const kf_linear *layer, uint8_t *codes, void *scales) {
    if (!layer || !codes || !scales)
        return fail(KF_ERR_NULL_POINTER, "kf_linear_unpack: layer, codes and scales must not be NULL");
    if (!layer->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_unpack: the layer has not been packed");
    if (layer->hasZeroPoints() || layer->hasCodebook() || layer->def->hasBias)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_unpack: kernel '") + layer->def->name +
                                                 "' has zero points, a codebook or a bias: use kf_linear_unpack_weights");
    return kf_linear_unpack_weights(layer, codes, scales, nullptr, nullptr, nullptr);
}

kf_status kf_linear_run(kf_linear *layer, const void *x, int64_t m, float *y, int num_threads) {
    kf::rt::clearError();
    if (!layer || !x || !y) return fail(KF_ERR_NULL_POINTER, "kf_linear_run: layer, x and y must not be NULL");
    if (m <= 0 || m >= kMaxDim) return fail(KF_ERR_SHAPE, "kf_linear_run: M must be >= 1, got " + std::to_string(m));
    if (num_threads < 0)
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_linear_run: num_threads must be >= 0, got " + std::to_string(num_threads));
    if (!layer->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_run: call kf_linear_pack first");

    const kf::rt::LinearGeometry &g = layer->geom;
    const int64_t nPad = g.rowsPadded();
    const size_t xe = actElemBytes(*layer->def);
    kf::rt::LinearArgs args{{},
                            layer->scales, layer->zeroPoints, layer->codebook, layer->bias,
                            x, y, m, g.kPad, g.nTiles, g.numScaleCols, g.k, g.n};
    std::copy(std::begin(layer->planes), std::end(layer->planes), std::begin(args.planes));
    try {
        if (g.kPad != g.k) {
            tlsX.assign(static_cast<size_t>(m * g.kPad) * xe, 0);
            for (int64_t r = 0; r < m; ++r)
                std::memcpy(&tlsX[r * g.kPad * xe], static_cast<const uint8_t *>(x) + r * g.k * xe, g.k * xe);
            args.x = tlsX.data();
            args.xStride = g.kPad;
        }
        if (nPad != g.n) {
            tlsY.resize(static_cast<size_t>(m * nPad));
            args.y = tlsY.data();
            args.yStride = nPad;
        }
    } catch (const std::bad_alloc &) {
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_run: cannot allocate padded activations");
    }
    const kf::rt::LinearVariant *v = kf::rt::variantForRows(*layer->def, *layer->variant, m);
    int rc;
    if (num_threads == 0)
        rc = v->run(args);
    else
        rc = layer->arena(num_threads).execute([&] { return v->run(args); });
    if (rc != 0)
        return fail(KF_ERR_KERNEL_FAILED, std::string("kf_linear_run: kernel ") + v->symbol + " failed: " + kf_last_error());
    if (args.y != y)
        for (int64_t r = 0; r < m; ++r) std::memcpy(y + r * g.n, &tlsY[r * nPad], g.n * sizeof(float));
    return KF_OK;
}

}  // extern "C"
