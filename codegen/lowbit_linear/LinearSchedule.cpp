#include "codegen/lowbit_linear/LinearSchedule.h"

#include "codegen/CodegenError.h"

namespace kf::codegen::lowbit {

namespace {
bool isPow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }
}  // namespace

LinearSchedule defaultSchedule(const targets::TargetInfo &target) {
    LinearSchedule s;
    s.vector = target.vectorBits / 32;  // f32 lanes
    // Four vectors of rows per tile: four independent accumulator chains per
    // nibble hide the FMA latency, and a tile's k-pair is one 64-byte line
    // on AVX-512.
    s.interleave = 4 * s.vector;
    s.nBlock = 4 * s.interleave;
    return s;
}

LinearSchedule resolveSchedule(const dsl::LowbitLinearParams &params, const dsl::Schedule *schedule,
                               const targets::TargetInfo &target) {
    LinearSchedule s = defaultSchedule(target);
    bool nBlockSet = false, kChunkSet = false;
    if (schedule) {
        for (const dsl::Directive &d : schedule->directives) {
            using K = dsl::Directive::Kind;
            const std::string var = d.vars.empty() ? "" : d.vars[0];
            auto reject = [&](const std::string &why) { throw CodegenError(d.loc, why); };
            switch (d.kind) {
            case K::Pack:
                for (const auto &[key, value] : d.options) {
                    if (key == "interleave") {
                        s.interleave = std::stoi(value);
                    } else if (key == "layout") {
                        if (value != "nibble")
                            reject("lowbit_linear int4 has one packed layout, 'nibble'; got layout=" + value);
                    } else {
                        reject("pack option '" + key + "' is not supported by the lowbit_linear lowering");
                    }
                }
                break;
            case K::Vectorize:
                if (var != "n") reject("lowbit_linear vectorizes over n only (output rows); got 'vectorize " + var + "'");
                s.vector = static_cast<int>(d.factor);
                break;
            case K::Split:
                if (var == "n") {
                    s.nBlock = static_cast<int>(d.factor);
                    nBlockSet = true;
                } else if (var == "k") {
                    s.kChunk = static_cast<int>(d.factor);
                    kChunkSet = true;
                } else {
                    reject("lowbit_linear splits n or k; got 'split " + var + "' (rows m are looped one at a time)");
                }
                break;
            case K::Unroll:
                if (var != "k") reject("lowbit_linear unrolls k only; got 'unroll " + var + "'");
                s.unrollK = static_cast<int>(d.factor);
                break;
            case K::Parallel:
                if (var != "n") reject("lowbit_linear parallelizes over n only; got 'parallel " + var + "'");
                s.parallel = true;
                break;
            case K::Threads:
                reject("'threads' is chosen at run time (kf_linear_run's num_threads), not in a schedule");
                break;
            case K::Prefetch:
                if (d.factor % 2 != 0)
                    reject("prefetch distance is counted in k and must be even for int4 (two k per byte), got " +
                           std::to_string(d.factor));
                s.prefetch = static_cast<int>(d.factor / 2);
                break;
            case K::Reorder:
                reject("the lowbit_linear lowering has a fixed loop order (n tiles, m, k); 'reorder' is not supported");
                break;
            }
        }
    }
    const dsl::SourceLoc loc = schedule ? schedule->loc : dsl::SourceLoc{};
    if (!isPow2(s.vector) || s.vector > 64)
        throw CodegenError(loc, "vectorize n must be a power of two <= 64, got " + std::to_string(s.vector));
    if (s.interleave % s.vector != 0)
        throw CodegenError(loc, "pack interleave=" + std::to_string(s.interleave) +
                                    " must be a multiple of the vector width " + std::to_string(s.vector));
    if (!nBlockSet) s.nBlock = std::max(s.nBlock, s.interleave);
    if (s.nBlock % s.interleave != 0)
        throw CodegenError(loc, "split n " + std::to_string(s.nBlock) + " must be a multiple of pack interleave=" +
                                    std::to_string(s.interleave));
    if (params.group != 0) {
        if (kChunkSet && s.kChunk != params.group)
            throw CodegenError(loc, "split k must equal the scale group (" + std::to_string(params.group) +
                                        ") for grouped scales, got " + std::to_string(s.kChunk));
        s.kChunk = params.group;
    } else if (s.kChunk % 2 != 0 || s.kChunk < 2) {
        throw CodegenError(loc, "split k must be an even number of k, got " + std::to_string(s.kChunk));
    }
    if ((s.kChunk / 2) % s.unrollK != 0)
        throw CodegenError(loc, "unroll k " + std::to_string(s.unrollK) + " must divide the k-pairs of a chunk (" +
                                    std::to_string(s.kChunk / 2) + ")");
    return s;
}

int kAlign(const dsl::LowbitLinearParams &params, const LinearSchedule &s) {
    return params.group ? params.group : s.kChunk;
}

}  // namespace kf::codegen::lowbit
