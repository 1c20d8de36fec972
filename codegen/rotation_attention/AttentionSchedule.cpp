#include "codegen/rotation_attention/AttentionSchedule.h"

#include <algorithm>

#include "codegen/CodegenError.h"
#include "kforge/detail/Attention.h"

namespace kf::codegen::rotation_attention {

namespace {

bool isPow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

AttentionSchedule defaultSchedule(const targets::TargetInfo &target, const dsl::RotationAttentionParams &params,
                                  dsl::Bucket bucket) {
    AttentionSchedule s;
    // The widest vector that still fits half a head (int4 codes: one byte
    // holds elements j and j + d/2, so a vector covers one half).
    s.vector = std::clamp(target.vectorBits / 32, 4, params.headDim / 2);
    // Decode and "any": split the context (a batch of one must still use
    // every thread); prefill: query tiles have parallelism of their own.
    s.splitContext = bucket == dsl::Bucket::Any || bucket == dsl::Bucket::Decode;
    s.chunk = s.splitContext ? 1024 : 512;
    s.queryTile = s.splitContext ? 8 : 16;
    return s;
}

AttentionSchedule resolveSchedule(const dsl::RotationAttentionParams &params, const dsl::Schedule *schedule,
                                  const targets::TargetInfo &target) {
    AttentionSchedule s = defaultSchedule(target, params, schedule ? schedule->bucket : dsl::Bucket::Any);
    if (!schedule) return s;
    for (const dsl::Directive &d : schedule->directives) {
        using K = dsl::Directive::Kind;
        const std::string var = d.vars.empty() ? "" : d.vars[0];
        auto reject = [&](const std::string &why) { throw CodegenError(d.loc, why); };
        switch (d.kind) {
        case K::Split:
            if (var == "t") {
                if (d.factor < 16 || d.factor > 8192 || d.factor % rt::kKeyBlock != 0)
                    reject("split t is the context chunk (cached tokens per task): a multiple of " +
                           std::to_string(rt::kKeyBlock) + " (the cache's K block) in 16..8192, got " +
                           std::to_string(d.factor));
                s.chunk = static_cast<int>(d.factor);
            } else if (var == "h") {
                if (d.factor < 1 || d.factor > 256)
                    reject("split h is the queries per task: 1..256, got " + std::to_string(d.factor));
                s.queryTile = static_cast<int>(d.factor);
            } else {
                reject("rotation_attention splits t (context chunk) or h (queries per task); got 'split " + var +
                       "'");
            }
            break;
        case K::Vectorize:
            if (var != "d") reject("rotation_attention vectorizes d (head_dim) only; got 'vectorize " + var + "'");
            if (!isPow2(d.factor) || d.factor < 4 || d.factor > 64 || (params.headDim / 2) % d.factor != 0)
                reject("vectorize d must be a power of two in 4..64 dividing head_dim / 2 = " +
                       std::to_string(params.headDim / 2) + ", got " + std::to_string(d.factor));
            s.vector = static_cast<int>(d.factor);
            break;
        case K::Parallel:
            if (var == "t") s.splitContext = true;
            else if (var == "h") s.splitContext = false;
            else reject("rotation_attention runs 'parallel t' (context split) or 'parallel h'; got 'parallel " + var +
                        "'");
            break;
        case K::Threads:
            reject("'threads' is chosen at run time (the caller's thread count), not in a schedule");
            break;
        case K::Unroll:
        case K::Reorder:
            reject(std::string("'") + dsl::toString(d.kind) +
                   "' does not apply to rotation_attention (one loop order per mode)");
            break;
        case K::Backend:  // chosen by codegen::loweringFor, before this schedule is resolved
            break;
        case K::Pack:
        case K::Prefetch:
            reject(std::string("'") + dsl::toString(d.kind) +
                   "' does not apply to rotation_attention (the cache layout is fixed: docs/formats.md)");
            break;
        }
    }
    return s;
}

}  // namespace kf::codegen::rotation_attention
