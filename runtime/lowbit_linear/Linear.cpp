// The lowbit_linear C ABI (kforge/linear.h): create, pack, unpack, copy, run,
// queries.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "kforge/detail/Linear.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/StreamMemory.h"
#include "runtime/Threads.h"
#include "runtime/lowbit_linear/LayerAccess.h"
#include "runtime/lowbit_linear/Pack.h"

using kf::rt::fail;

namespace {
// Where a layer's storage starts within its first 4 KiB page (kf_linear_create).
constexpr size_t kStoragePageOffset = 64;
}  // namespace

struct kf_linear {
    const kf_kernel_def *def = nullptr;
    const kf::rt::LinearSpec *spec = nullptr;  // def's
    const kf::rt::Variant *variant = nullptr;  // the target's bucket-any variant
    kf::rt::LinearGeometry geom{};
    kf::rt::StoragePlan plan{};
    // The one block holding the arrays below (plan's offsets): allocated by
    // the layer (page-aligned + kStoragePageOffset), or inside a packed-weights
    // file's mapping that `mapping` keeps alive (kf_linear_load).
    uint8_t *storage = nullptr;
    std::shared_ptr<const void> mapping;
    uint8_t *planes[kf::rt::kMaxPlanes] = {};
    void *scales = nullptr;
    uint8_t *zeroPoints = nullptr;
    float *codebook = nullptr;
    float *bias = nullptr;
    bool isPacked = false;
    kf::rt::ArenaCache arenas;

    ~kf_linear() { releaseStorage(); }

    const kf::rt::LinearLayout &layout() const { return kf::rt::linearData(*variant).layout; }
    bool hasZeroPoints() const { return spec->weightKind == KF_WEIGHT_UINT; }
    bool hasCodebook() const { return spec->weightKind == KF_WEIGHT_CODEBOOK; }
    int64_t codebookEntries() const { return int64_t(1) << spec->bits; }

    void releaseStorage() {
        if (storage && !mapping) std::free(storage - kStoragePageOffset);
        storage = nullptr;
        mapping.reset();
    }
    // Points the arrays into `block` (plan's offsets).
    void attach(uint8_t *block) {
        storage = block;
        for (int p = 0; p < kf::rt::kMaxPlanes; ++p) planes[p] = p < layout().numPlanes ? block + plan.planes[p] : nullptr;
        scales = block + plan.scales;
        zeroPoints = hasZeroPoints() ? block + plan.zeroPoints : nullptr;
        codebook = hasCodebook() ? reinterpret_cast<float *>(block + plan.codebook) : nullptr;
        bias = spec->hasBias ? reinterpret_cast<float *>(block + plan.bias) : nullptr;
    }
    // Storage of the layer's own, replacing a mapping (whose bytes are
    // read-only) or nothing; false when out of memory (the layer unchanged).
    bool allocateOwn() {
        if (storage && !mapping) return true;
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
        // the 2 MiB one. Packed-weights files put each layer at the same offset.
        auto *block = static_cast<uint8_t *>(kf::rt::allocateStreamed(plan.total + kStoragePageOffset));
        if (!block) return false;
        releaseStorage();
        attach(block + kStoragePageOffset);
        return true;
    }
};

namespace kf::rt {
const kf_kernel_def *layerDef(const kf_linear *layer) { return layer ? layer->def : nullptr; }
void layerShape(const kf_linear *layer, int64_t *n, int64_t *k) {
    *n = layer ? layer->geom.n : 0;
    *k = layer ? layer->geom.k : 0;
}
const Variant *layerVariant(const kf_linear *layer) { return layer->variant; }
const StoragePlan &layerStoragePlan(const kf_linear *layer) { return layer->plan; }
kf_status adoptStorage(kf_linear *layer, std::shared_ptr<const void> mapping, const uint8_t *block, bool copy) {
    if (copy) {
        if (!layer->allocateOwn()) return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_load: cannot allocate " +
                                                                         std::to_string(layer->plan.total) + " bytes");
        std::memcpy(layer->storage, block, layer->plan.total);
    } else {
        layer->releaseStorage();
        // Kernels only read weights; a later pack gives the layer storage of its own first.
        layer->attach(const_cast<uint8_t *>(block));
        layer->mapping = std::move(mapping);
    }
    layer->isPacked = true;
    return KF_OK;
}
}  // namespace kf::rt

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;

size_t actElemBytes(const kf::rt::LinearSpec &def) { return def.actType == KF_ACT_BF16 ? 2 : 4; }

const kf::rt::LinearSpec *linearSpecOf(const kf_kernel_def *def, const char *fn) {
    return kf::rt::familySpecOf<kf::rt::LinearSpec>(def, "lowbit_linear", fn);
}

// Zero-padded copies of x / y when the true shape is not the padded one.
thread_local std::vector<uint8_t> tlsX;
thread_local std::vector<float> tlsY;

// Shared by kf_linear_pack and kf_linear_pack_weights; `fn` names the caller in messages.
kf_status packWeights(kf_linear *layer, const kf_linear_weights *w, const char *fn) {
    if (!layer->allocateOwn()) return fail(KF_ERR_OUT_OF_MEMORY, std::string(fn) + ": cannot allocate storage");
    if (kf_status s = kf::rt::packInto(*layer->spec, layer->layout(), layer->geom, layer->plan, *w, layer->storage, fn,
                                       layer->def->name))
        return s;
    layer->isPacked = true;
    return KF_OK;
}

// kf_linear_run and kf_linear_run_q8: x is [m][K] of xe-byte elements (f32,
// bf16, or int8 codes with one scale per row in xScales); pads K and N to the
// layout's as the kernel needs and runs the variant scheduled for m rows.
kf_status runRows(kf_linear *layer, const void *x, size_t xe, const float *xScales, int64_t m, float *y,
                  int num_threads, const char *fn) {
    const std::string f = fn;
    if (m <= 0 || m >= kMaxDim) return fail(KF_ERR_SHAPE, f + ": M must be >= 1, got " + std::to_string(m));
    if (num_threads < 0)
        return fail(KF_ERR_INVALID_ARGUMENT, f + ": num_threads must be >= 0, got " + std::to_string(num_threads));
    if (!layer->isPacked) return fail(KF_ERR_NOT_PACKED, f + ": call kf_linear_pack first");

    const kf::rt::LinearGeometry &g = layer->geom;
    const int64_t nPad = g.rowsPadded();
    kf::rt::LinearArgs args{{},
                            layer->scales, layer->zeroPoints, layer->codebook, layer->bias,
                            x, y, m, g.kPad, g.nTiles, g.numScaleCols, g.k, g.n, xScales};
    std::copy(std::begin(layer->planes), std::end(layer->planes), std::begin(args.planes));
    try {
        if (g.kPad != g.k) {
            tlsX.assign(static_cast<size_t>(m * g.kPad) * xe, 0);
            for (int64_t r = 0; r < m; ++r)
                g.padRow(static_cast<const uint8_t *>(x) + r * g.k * xe, xe, &tlsX[r * g.kPad * xe]);
            args.x = tlsX.data();
            args.xStride = g.kPad;
        }
        if (nPad != g.n) {
            tlsY.resize(static_cast<size_t>(m * nPad));
            args.y = tlsY.data();
            args.yStride = nPad;
        }
    } catch (const std::bad_alloc &) {
        return fail(KF_ERR_OUT_OF_MEMORY, f + ": cannot allocate padded activations");
    }
    const kf::rt::Variant *v = kf::rt::variantForRows(*layer->def, *layer->variant, m);
    const kf::rt::KernelEntry entry = xScales ? kf::rt::linearData(*v).runQuantized : v->run;
    const int rc = layer->arenas.run(num_threads, [&] { return entry(&args); });
    if (rc != 0) return fail(KF_ERR_KERNEL_FAILED, f + ": kernel " + v->symbol + " failed: " + kf_last_error());
    if (args.y != y)
        for (int64_t r = 0; r < m; ++r) std::memcpy(y + r * g.n, &tlsY[r * nPad], g.n * sizeof(float));
    return KF_OK;
}

}  // namespace

extern "C" {

kf_status kf_linear_query(const kf_kernel_def *def, kf_linear_info *info) {
    kf::rt::clearError();
    if (!def || !info) return fail(KF_ERR_NULL_POINTER, "kf_linear_query: def and info must not be NULL");
    const kf::rt::LinearSpec *spec = linearSpecOf(def, "kf_linear_query");
    if (!spec) return KF_ERR_INVALID_ARGUMENT;
    info->kernel_name = def->name;
    info->weight_format = spec->weightFormat;
    info->bits = spec->bits;
    info->n = spec->n;
    info->k = spec->k;
    info->group = spec->group;
    info->scale_type = spec->scaleType;
    info->num_variants = def->numVariants;
    info->weight_kind = spec->weightKind;
    info->act_type = spec->actType;
    info->has_bias = spec->hasBias;
    info->codebook_per_channel = spec->codebookPerChannel;
    return KF_OK;
}

kf_status kf_linear_create(const kf_kernel_def *def, int64_t n, int64_t k, const char *variant, kf_linear **out) {
    kf::rt::clearError();
    if (!def || !out) return fail(KF_ERR_NULL_POINTER, "kf_linear_create: def and out must not be NULL");
    *out = nullptr;
    const kf::rt::LinearSpec *spec = linearSpecOf(def, "kf_linear_create");
    if (!spec) return KF_ERR_INVALID_ARGUMENT;
    if (n == 0) n = spec->n;
    if (k == 0) k = spec->k;
    if (n <= 0 || k <= 0 || n >= kMaxDim || k >= kMaxDim)
        return fail(KF_ERR_SHAPE, "kf_linear_create: kernel '" + std::string(def->name) + "' needs 1 <= N, K < 2^31 (" +
                                      (spec->n && spec->k ? "" : "its shape is dynamic: pass N and K; ") + "got N=" +
                                      std::to_string(n) + ", K=" + std::to_string(k) + ")");
    if ((spec->n && n != spec->n) || (spec->k && k != spec->k))
        return fail(KF_ERR_SHAPE, "kf_linear_create: kernel '" + std::string(def->name) + "' is declared " +
                                      std::to_string(spec->n) + "x" + std::to_string(spec->k) + ", got " +
                                      std::to_string(n) + "x" + std::to_string(k));
    kf_status status = KF_OK;
    const kf::rt::Variant *v = kf::rt::selectVariant(*def, variant, &status);
    if (!v) return status;

    auto layer = std::unique_ptr<kf_linear>(new (std::nothrow) kf_linear);
    if (!layer) return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_create: out of memory");
    layer->def = def;
    layer->spec = spec;
    layer->variant = v;
    layer->geom = kf::rt::geometryFor(kf::rt::linearData(*v).layout, n, k);
    layer->plan = kf::rt::storagePlan(*spec, kf::rt::linearData(*v).layout, layer->geom);
    if (!layer->allocateOwn())
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_create: cannot allocate " + std::to_string(layer->plan.total) +
                                              " bytes");
    *out = layer.release();
    return KF_OK;
}

void kf_linear_destroy(kf_linear *layer) { delete layer; }

const char *kf_linear_variant(const kf_linear *layer) { return layer ? layer->variant->symbol : nullptr; }

const char *kf_linear_variant_for_rows(const kf_linear *layer, int64_t m) {
    if (!layer || m <= 0) return nullptr;
    return kf::rt::variantForRows(*layer->def, *layer->variant, m)->symbol;
}

size_t kf_linear_packed_bytes(const kf_linear *layer) { return layer ? layer->plan.streamed : 0; }

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
    if (layer->hasZeroPoints() || layer->hasCodebook() || layer->spec->hasBias)
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
    if (!kf::rt::samePackedLayout(dst->layout(), src->layout()) || dst->plan.total != src->plan.total)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_copy_weights: variants ") + dst->variant->symbol +
                                                 " and " + src->variant->symbol + " pack weights differently");
    if (!src->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_copy_weights: src has not been packed");
    if (dst != src) {
        if (!dst->allocateOwn()) return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_copy_weights: cannot allocate storage");
        std::memcpy(dst->storage, src->storage, src->plan.total);
    }
    dst->isPacked = true;
    return KF_OK;
}

kf_status kf_linear_unpack_weights(const kf_linear *layer, uint8_t *codes, void *scales, uint8_t *zero_points,
                                   float *codebook, float *bias) {
    kf::rt::clearError();
    if (!layer) return fail(KF_ERR_NULL_POINTER, "kf_linear_unpack_weights: layer must not be NULL");
    kf_linear_weights w{codes, scales, zero_points, codebook, bias};
    if (kf_status s = kf::rt::checkArrays(*layer->spec, w, "kf_linear_unpack_weights", layer->def->name)) return s;
    if (!layer->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_unpack_weights: the layer has not been packed");
    const auto &g = layer->geom;
    const auto &L = layer->layout();
    kf::rt::unpackCodes(L, g, layer->planes, codes);
    kf::rt::unpackRowTable(g, g.numScaleCols, kf::rt::scaleElemBytes(L.scaleType), layer->scales, scales);
    if (zero_points) kf::rt::unpackRowTable(g, g.numScaleCols, 1, layer->zeroPoints, zero_points);
    if (codebook) {
        if (layer->spec->codebookPerChannel)
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
    if (layer->hasZeroPoints() || layer->hasCodebook() || layer->spec->hasBias)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_unpack: kernel '") + layer->def->name +
                                                 "' has zero points, a codebook or a bias: use kf_linear_unpack_weights");
    return kf_linear_unpack_weights(layer, codes, scales, nullptr, nullptr, nullptr);
}

kf_status kf_linear_run(kf_linear *layer, const void *x, int64_t m, float *y, int num_threads) {
    kf::rt::clearError();
    if (!layer || !x || !y) return fail(KF_ERR_NULL_POINTER, "kf_linear_run: layer, x and y must not be NULL");
    return runRows(layer, x, actElemBytes(*layer->spec), nullptr, m, y, num_threads, "kf_linear_run");
}

kf_status kf_linear_run_q8(kf_linear *layer, const int8_t *codes, const float *scales, int64_t m, float *y,
                           int num_threads) {
    kf::rt::clearError();
    if (!layer || !codes || !scales || !y)
        return fail(KF_ERR_NULL_POINTER, "kf_linear_run_q8: layer, codes, scales and y must not be NULL");
    if (!kf::rt::linearData(*layer->variant).runQuantized)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_run_q8: kernel '") + layer->def->name +
                                                 "' takes " + (layer->spec->actType == KF_ACT_BF16 ? "bf16" : "f32") +
                                                 " activations; rows quantized to int8 need a kernel declared with "
                                                 "'input int8'");
    return runRows(layer, codes, 1, scales, m, y, num_threads, "kf_linear_run_q8");
}

}  // extern "C"
