// \file
// Access to a kf_linear for runtime code outside Linear.cpp, which owns the
// (private) struct: Quantize.cpp needs the kernel and shape to quantize float
// weights for a layer (kf_linear_quantize); WeightsFile.cpp hands a layer its
// packed weights from a file (kf_linear_load). Defined in Linear.cpp;
// internal, not part of the C ABI.
#pragma once

#include <cstdint>
#include <memory>

#include "kforge/detail/Linear.h"
#include "kforge/linear.h"
#include "runtime/lowbit_linear/Pack.h"

namespace kf::rt {

// The kernel the layer was created from (never NULL for a valid layer).
const kf_kernel_def *layerDef(const kf_linear *layer);
// The layer's shape N x K as given to (or resolved by) kf_linear_create.
void layerShape(const kf_linear *layer, int64_t *n, int64_t *k);
// The variant the layer was created with (its packed layout) and where its
// arrays sit in its storage block.
const Variant *layerVariant(const kf_linear *layer);
const StoragePlan &layerStoragePlan(const kf_linear *layer);
// Gives the layer the packed block `block` (layerStoragePlan's total bytes):
// copied into storage of its own (copy), or used in place, read-only, kept
// alive by `mapping`. The layer is packed afterwards.
kf_status adoptStorage(kf_linear *layer, std::shared_ptr<const void> mapping, const uint8_t *block, bool copy);

}  // namespace kf::rt
