// \file
// Choosing a variant of a kernel (any family) for this CPU: by name (a
// variant's symbol or its target's registry name), from KFORGE_VARIANT, or
// the highest-priority target the CPU supports; then, per call, the variant
// of that target scheduled for the call's row count.
#pragma once

#include <cstdint>

#include "kforge/detail/Kernel.h"

namespace kf::rt {

bool variantSupported(const Variant &v);
// nullptr with the error set (status in *status) when nothing fits. `fn`
// names the calling entry point in messages. Returns the target's
// bucket-any variant (the one every row count falls back to).
const Variant *selectVariant(const kf_kernel_def &def, const char *requested, kf_status *status);
const Variant *anyBucketOf(const kf_kernel_def &def, const char *target);
// The variant of `any`'s target whose rows include m (`any` when none does).
const Variant *variantForRows(const kf_kernel_def &def, const Variant &any, int64_t m);

// Sets the error "<fn>: kernel 'k' is a hadamard kernel, not lowbit_linear":
// what every family's C API says when given another family's kernel.
void failWrongFamily(const kf_kernel_def *def, const char *family, const char *fn);
// The spec of `def` if it is a kernel of `family` (specOf); else null with
// that error set.
template <class Spec>
const Spec *familySpecOf(const kf_kernel_def *def, const char *family, const char *fn) {
    if (const Spec *s = specOf<Spec>(def, family)) return s;
    failWrongFamily(def, family, fn);
    return nullptr;
}

}  // namespace kf::rt
