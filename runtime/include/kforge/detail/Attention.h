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

// Bytes of one token-head's codes (f16 / f32 caches: its values), and the
// groups (scales) per token-head.
inline int64_t codeBytesOf(const AttentionSpec &s) {
    return s.kvBits == 4 ? s.headDim / 2 : int64_t{s.headDim} * (s.kvBits / 8);
}
inline int64_t codeElemsOf(const AttentionSpec &s) { return s.kvBits == 4 ? s.headDim / 2 : s.headDim; }
inline int64_t groupsOf(const AttentionSpec &s) { return s.headDim / s.kvGroup; }

// K is stored in blocks of kKeyBlock tokens, element-major inside a block:
// codes [kvHeads][blocks][codeElems][kKeyBlock], scales and zeros
// [kvHeads][blocks][groups][kKeyBlock]. A score kernel then loads one code
// element of kKeyBlock tokens as one vector and computes kKeyBlock scores in
// vector lanes (no horizontal sums). V stays token-major:
// codes [kvHeads][capacity][codeElems], scales and zeros [kvHeads][capacity][groups].
// A cache's capacity is whole blocks for both (the kernels read V in
// blocks too, and skip the tokens past the length).
constexpr int64_t kKeyBlock = 16;
inline int64_t keyBlocks(int64_t tokens) { return (tokens + kKeyBlock - 1) / kKeyBlock; }
inline int64_t blockedTokens(int64_t tokens) { return keyBlocks(tokens) * kKeyBlock; }  // whole blocks

// One layer's K or V in a cache (layouts above; capacity in tokens: the
// stride of a kv head, whole blocks in a cache).
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
