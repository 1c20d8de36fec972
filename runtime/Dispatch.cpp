#include "runtime/Dispatch.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/Error.h"
#include "targets/Target.h"

namespace kf::rt {

const Variant *anyBucketOf(const kf_kernel_def &def, const char *target) {
    for (int i = 0; i < def.numVariants; ++i)
        if (def.variants[i].bucket == kBucketAny && std::strcmp(def.variants[i].target, target) == 0)
            return &def.variants[i];
    return nullptr;
}

const Variant *variantForRows(const kf_kernel_def &def, const Variant &any, int64_t m) {
    for (int i = 0; i < def.numVariants; ++i) {
        const Variant &v = def.variants[i];
        if (v.bucket != kBucketAny && std::strcmp(v.target, any.target) == 0 && m >= v.minRows &&
            (v.maxRows == 0 || m <= v.maxRows))
            return &v;
    }
    return &any;
}

void failWrongFamily(const kf_kernel_def *def, const char *family, const char *fn) {
    fail(KF_ERR_INVALID_ARGUMENT, std::string(fn) + ": kernel '" + (def && def->name ? def->name : "?") + "' is a " +
                                      (def && def->family ? def->family : "?") + " kernel, not " + family);
}

bool variantSupported(const Variant &v) {
    const targets::TargetInfo *t = targets::find(v.target);
    return t && t->hostSupports();
}

const Variant *selectVariant(const kf_kernel_def &def, const char *requested, kf_status *status) {
    const char *origin = "requested";
    if (!requested || !*requested) {
        requested = std::getenv("KFORGE_VARIANT");
        origin = "KFORGE_VARIANT";
        if (requested && !*requested) requested = nullptr;
    }
    if (requested) {
        std::string names;
        for (int i = 0; i < def.numVariants; ++i) {
            const Variant &v = def.variants[i];
            if (std::strcmp(v.symbol, requested) == 0 || std::strcmp(v.target, requested) == 0) {
                if (variantSupported(v)) return anyBucketOf(def, v.target);
                *status = fail(KF_ERR_UNSUPPORTED_VARIANT,
                               std::string(origin) + " variant '" + requested + "' of kernel '" + def.name +
                                   "' needs target " + v.target + ", which this CPU does not support");
                return nullptr;
            }
            if (v.bucket == kBucketAny) names += std::string(names.empty() ? "" : ", ") + v.symbol;
        }
        *status = fail(KF_ERR_UNSUPPORTED_VARIANT, std::string(origin) + " variant '" + requested +
                                                       "' is not in kernel '" + def.name + "'; it has: " + names);
        return nullptr;
    }
    const Variant *best = nullptr;
    int bestPriority = -1;
    for (int i = 0; i < def.numVariants; ++i) {
        const Variant &v = def.variants[i];
        const targets::TargetInfo *t = targets::find(v.target);
        if (v.bucket == kBucketAny && t && t->hostSupports() && t->priority > bestPriority) {
            best = &v;
            bestPriority = t->priority;
        }
    }
    if (!best)
        *status = fail(KF_ERR_UNSUPPORTED_VARIANT,
                       std::string("no variant of kernel '") + def.name + "' runs on this CPU");
    return best;
}

}  // namespace kf::rt
