// \file
// A rotation_attention schedule resolved to the numbers the Halide lowering
// (AttentionHalide.h) uses: the defaults for the target and bucket,
// overridden by the DSL schedule's directives. Every directive either sets
// one of these fields or is rejected with its file:line:col.
//
// How attention over the cache is cut into work (AttentionHalide.h):
//   - the cached tokens are cut into chunks of `chunk` tokens; a chunk's
//     scores, softmax numerator and weighted sum of V are computed in one
//     task from K and V read once for every query head of its kv head;
//   - splitContext (flash-decoding, the decode default): the tasks are
//     (chunk, kv head), all in parallel, and a final pass combines the
//     chunks; with few queries this is what lets 2 threads share one
//     sequence. Otherwise (prefill) the tasks are (kv head, tile of
//     `queryTile` queries) and each walks the chunks of its tile;
//   - `vector` f32 lanes along head_dim.
//
// DSL directives (vars "h" = queries, "t" = cached tokens, "d" = head_dim):
//   split t <C>     chunk, 16..8192 tokens, a multiple of 16 (K's block in the cache)
//   split h <Q>     queries per task, 1..256 (prefill)
//   parallel t      split the context across threads (flash-decoding)
//   parallel h      queries and heads across threads, the context walked in order
//   vectorize d <V> lanes, a power of two, 4..64, dividing head_dim / 2
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen::rotation_attention {

struct AttentionSchedule {
    int vector = 16;
    int chunk = 256;
    int queryTile = 8;
    bool splitContext = true;
};

AttentionSchedule defaultSchedule(const targets::TargetInfo &target, const dsl::RotationAttentionParams &params,
                                  dsl::Bucket bucket);

// `schedule` may be null (defaults for `bucket`). Throws CodegenError on a
// directive the lowering cannot honour, with the directive's location.
AttentionSchedule resolveSchedule(const dsl::RotationAttentionParams &params, const dsl::Schedule *schedule,
                                  const targets::TargetInfo &target);

}  // namespace kf::codegen::rotation_attention
