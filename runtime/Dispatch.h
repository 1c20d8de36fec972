// \file
// Choosing a variant of a kernel for this CPU: by name (a variant's symbol or
// its target's registry name), from KFORGE_VARIANT, or the highest-priority
// target the CPU supports.
#pragma once

#include "kforge/detail/Linear.h"

namespace kf::rt {

bool variantSupported(const LinearVariant &v);
// nullptr with the error set (status in *status) when nothing fits.
// Returns the target's bucket-any variant (the one that names the layout).
const LinearVariant *selectVariant(const kf_kernel_def &def, const char *requested, kf_status *status);
const LinearVariant *anyBucketOf(const kf_kernel_def &def, const char *target);
// The variant of `any`'s target scheduled for M rows (`any` when none is).
const LinearVariant *variantForRows(const kf_kernel_def &def, const LinearVariant &any, int64_t m);

}  // namespace kf::rt
