// The hadamard C ABI (kforge/hadamard.h): create, run, queries.
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "kforge/detail/Hadamard.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/Threads.h"

using kf::rt::fail;

struct kf_hadamard {
    const kf_kernel_def *def = nullptr;
    const kf::rt::HadamardSpec *spec = nullptr;
    const kf::rt::Variant *variant = nullptr;  // the target's bucket-any variant
    kf::rt::ArenaCache arenas;
};

namespace {

constexpr int64_t kMaxRows = int64_t(1) << 31;

const kf::rt::HadamardSpec *hadamardSpecOf(const kf_kernel_def *def, const char *fn) {
    return kf::rt::familySpecOf<kf::rt::HadamardSpec>(def, "hadamard", fn);
}

bool overlap(const void *a, size_t aBytes, const void *b, size_t bBytes) {
    const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
    return pa < pb + bBytes && pb < pa + aBytes;
}

kf_status run(kf_hadamard *h, kf::rt::HadamardArgs &args, int threads, const char *fn) {
    const std::string f = fn;
    if (args.m <= 0 || args.m >= kMaxRows)
        return fail(KF_ERR_SHAPE, f + ": M must be between 1 and 2^31 - 1, got " + std::to_string(args.m));
    if (threads < 0) return fail(KF_ERR_INVALID_ARGUMENT, f + ": num_threads must be >= 0, got " + std::to_string(threads));
    const size_t rowsBytes = static_cast<size_t>(args.m * args.n);
    const bool clash = args.y ? overlap(args.x, rowsBytes * 4, args.y, rowsBytes * 4)
                              : overlap(args.x, rowsBytes * 4, args.codes, rowsBytes) ||
                                    overlap(args.x, rowsBytes * 4, args.scales, static_cast<size_t>(args.m) * 4) ||
                                    overlap(args.codes, rowsBytes, args.scales, static_cast<size_t>(args.m) * 4);
    if (clash) return fail(KF_ERR_INVALID_ARGUMENT, f + ": the input and output arrays overlap");
    const kf::rt::Variant *v = kf::rt::variantForRows(*h->def, *h->variant, args.m);
    const int rc = h->arenas.run(threads, [&] { return v->run(&args); });
    if (rc != 0) return fail(KF_ERR_KERNEL_FAILED, f + ": kernel " + v->symbol + " failed: " + kf_last_error());
    return KF_OK;
}

}  // namespace

extern "C" {

kf_status kf_hadamard_query(const kf_kernel_def *def, kf_hadamard_info *info) {
    kf::rt::clearError();
    if (!def || !info) return fail(KF_ERR_NULL_POINTER, "kf_hadamard_query: def and info must not be NULL");
    const kf::rt::HadamardSpec *spec = hadamardSpecOf(def, "kf_hadamard_query");
    if (!spec) return KF_ERR_INVALID_ARGUMENT;
    info->kernel_name = def->name;
    info->n = spec->n;
    info->m = spec->m;
    info->output = spec->output;
    info->num_variants = def->numVariants;
    return KF_OK;
}

kf_status kf_hadamard_create(const kf_kernel_def *def, const char *variant, kf_hadamard **out) {
    kf::rt::clearError();
    if (!def || !out) return fail(KF_ERR_NULL_POINTER, "kf_hadamard_create: def and out must not be NULL");
    *out = nullptr;
    const kf::rt::HadamardSpec *spec = hadamardSpecOf(def, "kf_hadamard_create");
    if (!spec) return KF_ERR_INVALID_ARGUMENT;
    kf_status status = KF_OK;
    const kf::rt::Variant *v = kf::rt::selectVariant(*def, variant, &status);
    if (!v) return status;
    auto h = std::unique_ptr<kf_hadamard>(new (std::nothrow) kf_hadamard);
    if (!h) return fail(KF_ERR_OUT_OF_MEMORY, "kf_hadamard_create: out of memory");
    h->def = def;
    h->spec = spec;
    h->variant = v;
    *out = h.release();
    return KF_OK;
}

void kf_hadamard_destroy(kf_hadamard *rotation) { delete rotation; }

const char *kf_hadamard_variant(const kf_hadamard *rotation) { return rotation ? rotation->variant->symbol : nullptr; }

const char *kf_hadamard_variant_for_rows(const kf_hadamard *rotation, int64_t m) {
    if (!rotation || m <= 0) return nullptr;
    return kf::rt::variantForRows(*rotation->def, *rotation->variant, m)->symbol;
}

kf_status kf_hadamard_run(kf_hadamard *rotation, const float *x, int64_t m, float *y, int num_threads) {
    kf::rt::clearError();
    if (!rotation || !x || !y) return fail(KF_ERR_NULL_POINTER, "kf_hadamard_run: rotation, x and y must not be NULL");
    if (rotation->spec->output != KF_ACT_F32)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_hadamard_run: kernel '") + rotation->def->name +
                                                 "' writes int8 rows: use kf_hadamard_run_q8");
    const int64_t n = rotation->spec->n;
    kf::rt::HadamardArgs args{x, y, nullptr, nullptr, m, n, n, n};
    return run(rotation, args, num_threads, "kf_hadamard_run");
}

kf_status kf_hadamard_run_q8(kf_hadamard *rotation, const float *x, int64_t m, int8_t *codes, float *scales,
                             int num_threads) {
    kf::rt::clearError();
    if (!rotation || !x || !codes || !scales)
        return fail(KF_ERR_NULL_POINTER, "kf_hadamard_run_q8: rotation, x, codes and scales must not be NULL");
    if (rotation->spec->output != KF_ACT_QINT8)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_hadamard_run_q8: kernel '") + rotation->def->name +
                                                 "' writes f32 rows (declare it with 'output int8' to quantize): use "
                                                 "kf_hadamard_run");
    const int64_t n = rotation->spec->n;
    kf::rt::HadamardArgs args{x, nullptr, codes, scales, m, n, n, n};
    return run(rotation, args, num_threads, "kf_hadamard_run_q8");
}

}  // extern "C"
