// \file
// The rotation_attention family's part of a kernel def (kforge/detail/Kernel.h):
// its declared spec (AttentionSpec), the per-variant entries
// (AttentionVariantData: the variant's own entry attends, these append) and
// the argument structs. The runtime (runtime/rotation_attention/) reads only
// this; the glue adapts the compiled pipelines to KernelEntry.
#pragma once

#include <cstdint>

#include "kforge/attention.h"
#include "kforge/detail/Kernel.h"

namespace kf::rt {

struct AttentionSpec {
    int numHeads;
    int numKvHeads;
    int headDim;
    int kvBits;    // 4 or 8; 16 or 32 (f16 / f32 values, one group with s = 1, z = 0)
    int kvGroup;   // values per scale (headDim: one group per token and head)
    int rotate;
    kf_rope_kind rope;
    int causal;
};

// One layer's K or V in a cache: codes [kvHeads][capacity][codeBytes],
// scales and zeros [kvHeads][capacity][groups].
struct KvView {
    uint8_t *codes;
    float *scales;
    float *zeros;
    int64_t capacity;
};

// Append `tokens` tokens at `position` into dst; x [tokens][kvHeads][headDim];
// ropeCos/ropeSin [tokens][headDim / 2] (also passed for V, not read).
struct AppendArgs {
    const AttentionSpec *spec;
    const float *x;
    const float *ropeCos;
    const float *ropeSin;
    KvView dst;
    int64_t position;
    int64_t tokens;
};

// `tokens` queries at firstPos.. over tokens 0 .. length-1 of k, v.
struct AttendArgs {
    const AttentionSpec *spec;
    const float *q;        // [tokens][numHeads][headDim]
    const float *ropeCos;  // [tokens][headDim / 2]
    const float *ropeSin;
    KvView k;
    KvView v;
    int64_t length;
    int64_t firstPos;
    int64_t tokens;
    float *out;            // [tokens][numHeads][headDim]
};

struct AttentionVariantData {
    KernelEntry appendK;
    KernelEntry appendV;
};

inline const AttentionVariantData &attentionData(const Variant &v) {
    return *static_cast<const AttentionVariantData *>(v.data);
}

}  // namespace kf::rt
