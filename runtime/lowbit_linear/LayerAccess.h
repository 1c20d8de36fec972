// \file
// Read access to a kf_linear's kernel and shape for runtime code outside
// Linear.cpp, which owns the (private) struct: Quantize.cpp needs both to
// quantize float weights for a layer (kf_linear_quantize). Defined in
// Linear.cpp; internal, not part of the C ABI.
#pragma once

#include <cstdint>

#include "kforge/linear.h"

namespace kf::rt {

// The kernel the layer was created from (never NULL for a valid layer).
const kf_kernel_def *layerDef(const kf_linear *layer);
// The layer's shape N x K as given to (or resolved by) kf_linear_create.
void layerShape(const kf_linear *layer, int64_t *n, int64_t *k);

}  // namespace kf::rt
