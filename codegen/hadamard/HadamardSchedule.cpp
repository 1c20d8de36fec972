#include "codegen/hadamard/HadamardSchedule.h"

#include <algorithm>

#include "codegen/CodegenError.h"

namespace kf::codegen::hadamard {

namespace {

bool isPow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

int64_t sizeOf(const dsl::HadamardParams &p) {
    if (!p.n.size)
        throw CodegenError("hadamard needs n known when the kernel is compiled (size " + p.n.name + "=<n>)");
    return *p.n.size;
}

// 2^k, the power-of-two factor of n.
int64_t pow2Part(const dsl::HadamardParams &p) { return sizeOf(p) / std::max(1, p.m); }

}  // namespace

HadamardSchedule defaultSchedule(const targets::TargetInfo &target, const dsl::HadamardParams &params) {
    HadamardSchedule s;
    // The widest vector: lane stages cost 2 ops per vector per bit whatever
    // the width, so wider vectors do more of the transform per op (AVX2
    // 8 lanes was 1.5x slower per row than AVX-512 16 lanes at n = 4096).
    s.vector = static_cast<int>(std::clamp<int64_t>(target.vectorBits / 32, 1, pow2Part(params)));
    // AVX-512, radix 16: 16 vectors + the +-1 lane constants fit the 32 zmm
    // registers (radix 8 was 1.15x-1.25x slower at n = 4096 / 16384: one
    // more pass; radix 32 within noise of 16). AVX2 (16 ymm registers):
    // radix 8 (radix 16 spills: 1.07x slower at 16384, equal at 4096).
    // NEON takes the AVX2 value (not measured: no arm64 hardware here).
    s.radix = target.vectorBits >= 512 ? 16 : 8;
    // Tasks of at least ~32 KiB of input, so a task's work dwarfs the thread
    // pool's per-task cost on short rows (n = 128: 64 rows per task).
    s.rowsPerTask = static_cast<int>(std::max<int64_t>(1, 8192 / sizeOf(params)));
    s.parallel = true;
    // Four Russians groups for H_m (in-cache time per row on AVX-512):
    // m = 12: g = 3 best (g = 1 +15%); m = 28, 44, 172: g = 4 best (g = 1
    // +40% at m = 28, g = 3 2x slower at m = 172, g = 5, 6 no better: the
    // tables outgrow L1).
    s.hmGroup = params.m >= 16 ? 4 : params.m >= 8 ? 3 : 1;
    return s;
}

HadamardSchedule resolveSchedule(const dsl::HadamardParams &params, const dsl::Schedule *schedule,
                                 const targets::TargetInfo &target) {
    HadamardSchedule s = defaultSchedule(target, params);
    if (!schedule) return s;
    const int64_t t = pow2Part(params);
    for (const dsl::Directive &d : schedule->directives) {
        using K = dsl::Directive::Kind;
        const std::string var = d.vars.empty() ? "" : d.vars[0];
        auto reject = [&](const std::string &why) { throw CodegenError(d.loc, why); };
        switch (d.kind) {
        case K::Vectorize:
            if (var != "n") reject("hadamard vectorizes over n only (the transform dimension); got 'vectorize " + var + "'");
            if (!isPow2(d.factor) || d.factor > 64)
                reject("vectorize n must be a power of two <= 64, got " + std::to_string(d.factor));
            if (d.factor > t)
                reject("vectorize n " + std::to_string(d.factor) + " is wider than 2^k = " + std::to_string(t) +
                       ", the power-of-two factor of n (a vector holds consecutive elements of one H_2^k block)");
            s.vector = static_cast<int>(d.factor);
            break;
        case K::Split:
            if (var == "n") {
                if (!isPow2(d.factor) || d.factor < 2 || d.factor > 64)
                    reject("split n is the radix of a butterfly pass (vectors held in registers): a power of two "
                           "in 2..64, got " + std::to_string(d.factor));
                s.radix = static_cast<int>(d.factor);
            } else if (var == "m") {
                if (d.factor < 1 || d.factor > (1 << 20))
                    reject("split m is the rows per parallel task: 1..1048576, got " + std::to_string(d.factor));
                s.rowsPerTask = static_cast<int>(d.factor);
            } else {
                reject("hadamard splits m (rows per task) or n (radix); got 'split " + var + "'");
            }
            break;
        case K::Unroll:
            if (var != "n")
                reject("hadamard unrolls n only ('unroll n <g>': H_m inputs per partial-sum table); got 'unroll " +
                       var + "'");
            if (params.m <= 1)
                reject("'unroll n' groups the inputs of H_m; this kernel has no factor=<m> (m = 1)");
            if (d.factor < 1 || d.factor > 8)
                reject("unroll n is the H_m inputs per partial-sum table (2^(g-1) sums each): 1..8, got " +
                       std::to_string(d.factor));
            s.hmGroup = static_cast<int>(d.factor);
            break;
        case K::Parallel:
            if (var != "m") reject("hadamard runs rows in parallel ('parallel m'); got 'parallel " + var + "'");
            s.parallel = true;
            break;
        case K::Threads:
            reject("'threads' is chosen at run time (the caller's thread count), not in a schedule");
            break;
        case K::Reorder:
            reject("hadamard has one loop order (rows outside, the passes of a row inside); 'reorder' does not apply");
            break;
        case K::Backend:  // chosen by codegen::loweringFor, before this schedule is resolved
            break;
        case K::Pack:
        case K::Prefetch:
            reject(std::string("'") + dsl::toString(d.kind) + "' does not apply to hadamard (it has no packed weights)");
            break;
        }
    }
    return s;
}

std::vector<TuneAxisSpec> tuneAxes(const dsl::HadamardParams &params, const targets::TargetInfo &target) {
    const HadamardSchedule d = defaultSchedule(target, params);
    const int64_t n = sizeOf(params), t = pow2Part(params);
    std::vector<TuneAxisSpec> axes;
    auto axis = [&](const char *name, int64_t def, std::vector<int64_t> cands) {
        std::vector<int64_t> v{def};
        for (int64_t c : cands)
            if (std::find(v.begin(), v.end(), c) == v.end()) v.push_back(c);
        if (v.size() > 1) axes.push_back({name, v});
    };
    // Radix matters once the 2^k index has bits left above the lanes.
    if (t > d.vector) axis("split n", d.radix, {8, 16, 32});
    // Rows per task: per-task cost vs balance over threads; only short rows care.
    if (n <= 4096) axis("split m", d.rowsPerTask, {1, 4, 16, 64});
    if (params.m > 1) axis("unroll n", d.hmGroup, {1, 3, 4, 5});
    // vectorize n stays out of the space: narrower vectors were always slower.
    return axes;
}

}  // namespace kf::codegen::hadamard
