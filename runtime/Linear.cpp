// The lowbit_linear C ABI: create, pack, unpack, run, queries.
#include <tbb/task_arena.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "kforge/kforge.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/Pack.h"

using kf::rt::fail;

struct kf_linear {
    const kf_kernel_def *def = nullptr;
    const kf::rt::LinearVariant *variant = nullptr;
    kf::rt::LinearGeometry geom{};
    uint8_t *packedCodes = nullptr;  // 64-byte aligned, codes then scales
    void *packedScales = nullptr;
    bool isPacked = false;
    std::mutex arenaMutex;
    std::map<int, std::unique_ptr<tbb::task_arena>> arenas;

    ~kf_linear() { std::free(packedCodes); }

    tbb::task_arena &arena(int threads) {
        std::lock_guard<std::mutex> lock(arenaMutex);
        auto &a = arenas[threads];
        if (!a) a = std::make_unique<tbb::task_arena>(threads);
        return *a;
    }
};

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;

size_t roundUp64(size_t v) { return (v + 63) / 64 * 64; }

// Zero-padded copies of x / y when the true shape is not the padded one.
thread_local std::vector<float> tlsX, tlsY;

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
    const size_t codeBytes = roundUp64(layer->geom.codeBytes());
    const size_t total = codeBytes + roundUp64(layer->geom.scaleBytes(v->layout));
    layer->packedCodes = static_cast<uint8_t *>(std::aligned_alloc(64, total));
    if (!layer->packedCodes)
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_linear_create: cannot allocate " + std::to_string(total) + " bytes");
    layer->packedScales = layer->packedCodes + codeBytes;
    *out = layer.release();
    return KF_OK;
}

void kf_linear_destroy(kf_linear *layer) { delete layer; }

const char *kf_linear_variant(const kf_linear *layer) { return layer ? layer->variant->symbol : nullptr; }

size_t kf_linear_packed_bytes(const kf_linear *layer) {
    return layer ? layer->geom.codeBytes() + layer->geom.scaleBytes(layer->variant->layout) : 0;
}

kf_status kf_linear_pack(kf_linear *layer, const uint8_t *codes, const void *scales) {
    kf::rt::clearError();
    if (!layer || !codes || !scales)
        return fail(KF_ERR_NULL_POINTER, "kf_linear_pack: layer, codes and scales must not be NULL");
    if (!kf::rt::packLinear(layer->variant->layout, layer->geom, codes, scales, layer->packedCodes,
                            layer->packedScales))
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_linear_pack: " + std::string(kf_last_error()));
    layer->isPacked = true;
    return KF_OK;
}

kf_status kf_linear_unpack(const kf_linear *layer, uint8_t *codes, void *scales) {
    kf::rt::clearError();
    if (!layer || !codes || !scales)
        return fail(KF_ERR_NULL_POINTER, "kf_linear_unpack: layer, codes and scales must not be NULL");
    if (!layer->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_unpack: the layer has not been packed");
    kf::rt::unpackLinear(layer->variant->layout, layer->geom, layer->packedCodes, layer->packedScales, codes, scales);
    return KF_OK;
}

kf_status kf_linear_run(kf_linear *layer, const float *x, int64_t m, float *y, int num_threads) {
    kf::rt::clearError();
    if (!layer || !x || !y) return fail(KF_ERR_NULL_POINTER, "kf_linear_run: layer, x and y must not be NULL");
    if (m <= 0 || m >= kMaxDim) return fail(KF_ERR_SHAPE, "kf_linear_run: M must be >= 1, got " + std::to_string(m));
    if (num_threads < 0)
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_linear_run: num_threads must be >= 0, got " + std::to_string(num_threads));
    if (!layer->isPacked) return fail(KF_ERR_NOT_PACKED, "kf_linear_run: call kf_linear_pack first");

    const kf::rt::LinearGeometry &g = layer->geom;
    const int64_t nPad = g.nTiles * g.interleave;
    kf::rt::LinearArgs args{layer->packedCodes, layer->packedScales, x, y, m, g.kPad, g.nTiles, g.numScaleCols,
                            g.k, g.n};
    try {
        if (g.kPad != g.k) {
            tlsX.assign(static_cast<size_t>(m * g.kPad), 0.0f);
            for (int64_t r = 0; r < m; ++r) std::memcpy(&tlsX[r * g.kPad], x + r * g.k, g.k * sizeof(float));
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
    int rc;
    if (num_threads == 0)
        rc = layer->variant->run(args);
    else
        rc = layer->arena(num_threads).execute([&] { return layer->variant->run(args); });
    if (rc != 0)
        return fail(KF_ERR_KERNEL_FAILED, std::string("kf_linear_run: kernel ") + layer->variant->symbol +
                                              " failed: " + kf_last_error());
    if (args.y != y)
        for (int64_t r = 0; r < m; ++r) std::memcpy(y + r * g.n, &tlsY[r * nPad], g.n * sizeof(float));
    return KF_OK;
}

}  // extern "C"
