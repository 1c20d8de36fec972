// The family-independent part of the C ABI: what a kernel def is and which
// variants it has (kforge/core.h).
#include "kforge/core.h"
#include "kforge/detail/Kernel.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"

using kf::rt::fail;

extern "C" {

kf_status kf_kernel_query(const kf_kernel_def *def, kf_kernel_info *info) {
    kf::rt::clearError();
    if (!def || !info) return fail(KF_ERR_NULL_POINTER, "kf_kernel_query: def and info must not be NULL");
    info->name = def->name;
    info->family = def->family;
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

int kf_variant_bucket(const kf_kernel_def *def, int i) {
    if (!def || i < 0 || i >= def->numVariants) return -1;
    return def->variants[i].bucket;
}

}  // extern "C"
