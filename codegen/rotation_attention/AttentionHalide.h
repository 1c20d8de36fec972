// \file
// rotation_attention -> Halide: the two pipelines of a variant
// (docs/formats.md, "KV cache", "Rotary position embedding", "Attention
// over the cache").
//
// Append (one per K and V; V has no RoPE and no R3), T tokens of kvh heads:
//   args   x        Float(32) (d, kvh, T)      the new tokens' K or V
//          rope_cos Float(32) (d/2, T)          the RoPE table of each token's position
//          rope_sin Float(32) (d/2, T)
//   outputs, in this order (V: views of the cache at the tokens' positions;
//   K: a token-major scratch the runtime moves into its blocks):
//          codes    UInt(8)   (cb, T, kvh)      cb = d/2 (int4, two codes a byte) or d (int8)
//          scales   Float(32) (G, T, kvh)       G groups per token and head
//          zeros    Float(32) (G, T, kvh)
//
// Attend, T queries of nq heads over len cached tokens:
//   args   q        Float(32) (d, nq, T)        before RoPE
//          rope_cos, rope_sin (d/2, T)          the queries' positions
//          k_codes  (B, cb, blocks, kvh)        K in blocks of B tokens (kforge/detail/Attention.h),
//          k_scales (B, G, blocks, kvh)         blocks = ceil(len / B)
//          k_zeros  (B, G, blocks, kvh)
//          v_codes, v_scales, v_zeros           token-major, dims as in append, blocks x B for T
//          first_pos Int(32)                    position of query 0 (causal mask)
//          length   Int(32)                     len, the cached tokens (the rest of the last block is not read)
//   output out      Float(32) (d, nq/kvh, kvh, T) = (d, nq, T) in memory
#pragma once

#include <Halide.h>

#include <vector>

#include "codegen/rotation_attention/AttentionSchedule.h"
#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen::rotation_attention {

struct AttentionPipeline {
    Halide::Pipeline pipeline;
    std::vector<Halide::Argument> args;  // inputs in the order above (outputs implicit, after them)
};

// isKey: RoPE + R3 as the kernel declares; otherwise the values as given.
AttentionPipeline buildAppendPipeline(const dsl::RotationAttentionParams &p, bool isKey, const AttentionSchedule &s,
                                      const targets::TargetInfo &target);
AttentionPipeline buildAttendPipeline(const dsl::RotationAttentionParams &p, const AttentionSchedule &s,
                                      const targets::TargetInfo &target);

}  // namespace kf::codegen::rotation_attention
