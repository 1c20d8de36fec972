// \file
// The low-bit family's paper quantizer (kf_quantize_linear, docs/formats.md
// "From float weights: the paper quantizer") for other families that store
// weights in its formats (sparse_rank_linear's W).
#pragma once

#include <cstdint>
#include <string>

#include "kforge/detail/Linear.h"

namespace kf::rt {

// w [n][k] -> codes [n][k], scales [n][ceil(k / group)] of spec->scaleType
// and, for UINT, zero points in the same layout. `kernelName` names the
// kernel in messages, `fn` the entry point. Sets the error on failure
// (non-finite weights, a scale overflowing its type, a bad spec).
kf_status quantizeLinearWeights(const char *fn, const LinearSpec *spec, const std::string &kernelName, int64_t n,
                                int64_t k, const float *w, uint8_t *codes, void *scales, uint8_t *zeroPoints);

}  // namespace kf::rt
