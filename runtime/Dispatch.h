// \file
// Choosing a variant of a kernel for this CPU: by name (a variant's symbol or
// its target's registry name), from KFORGE_VARIANT, or the highest-priority
// target the CPU supports.
#pragma once

#include "kforge/detail/Linear.h"

namespace kf::rt {

bool variantSupported(const LinearVariant &v);
// nullptr with the error set (status in *status) when nothing fits.
const LinearVariant *selectVariant(const kf_kernel_def &def, const char *requested, kf_status *status);

}  // namespace kf::rt
