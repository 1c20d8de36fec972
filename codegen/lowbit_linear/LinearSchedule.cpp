#include "codegen/lowbit_linear/LinearSchedule.h"

#include <algorithm>
#include <iterator>

#include "codegen/CodegenError.h"

namespace kf::codegen::lowbit {

namespace {
bool isPow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

constexpr PackLayout kLayouts[] = {PackLayout::Planes, PackLayout::Bitplanes, PackLayout::Nibbles, PackLayout::Bytes};
}  // namespace

const char *toString(PackLayout layout) {
    switch (layout) {
    case PackLayout::Planes: return "planes";
    case PackLayout::Bitplanes: return "bitplanes";
    case PackLayout::Nibbles: return "nibbles";
    case PackLayout::Bytes: return "bytes";
    }
    return "planes";
}

const char *toString(PrefetchHint hint) {
    switch (hint) {
    case PrefetchHint::Nta: return "nta";
    case PrefetchHint::T2: return "t2";
    case PrefetchHint::T1: return "t1";
    case PrefetchHint::T0: return "t0";
    }
    return "nta";
}

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
    bool nBlockSet = false, kChunkSet = false, prefetchSet = false;
    const bool base3 = params.weight.kind == dsl::WeightKind::Ternary && params.weight.ternaryBase3;
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
                        if (s.interleave % 16 != 0)
                            reject("pack interleave must be a multiple of 16 rows (one packed row group), got " + value);
                    } else if (key == "layout") {
                        const PackLayout *l = std::find_if(std::begin(kLayouts), std::end(kLayouts),
                                                           [&](PackLayout c) { return value == toString(c); });
                        if (l == std::end(kLayouts)) {
                            std::string why = "unknown packed layout '";
                            why += value;
                            why += "'; lowbit_linear packs its codes as planes (the default: exactly b bits per code), "
                                   "bitplanes (b planes of 1 bit), nibbles (4 bits per code, b <= 4) or bytes";
                            reject(why);
                        }
                        s.layout = *l;
                        if (base3 && s.layout != PackLayout::Planes)
                            reject("ternary packing=base3 has its own layout (five codes per byte); layout=" + value +
                                   " needs the 2-bit ternary packing");
                        if (s.layout == PackLayout::Nibbles && params.weight.bits > 4)
                            reject("layout=nibbles holds codes of at most 4 bits; " + dsl::formatName(params.weight) +
                                   " has " + std::to_string(params.weight.bits) + " (use planes, bitplanes or bytes)");
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
                } else if (var == "m") {
                    if (params.input != dsl::ActKind::QInt8PerToken)
                        reject("'split m' (tiles of rows) is supported for int8 activations only");
                    if (d.factor > minRows(schedule->bucket))
                        reject("split m " + std::to_string(d.factor) + " needs at least that many rows; bucket=" +
                               dsl::toString(schedule->bucket) + " starts at M=" +
                               std::to_string(minRows(schedule->bucket)) + " (write the schedule for bucket=prefill)");
                    s.mTile = static_cast<int>(d.factor);
                } else {
                    reject("lowbit_linear splits m, n or k; got 'split " + var + "'");
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
                s.prefetch = static_cast<int>(d.factor);
                prefetchSet = true;
                for (const auto &[key, value] : d.options) {
                    constexpr PrefetchHint hints[] = {PrefetchHint::T0, PrefetchHint::T1, PrefetchHint::T2,
                                                      PrefetchHint::Nta};
                    const PrefetchHint *h = std::find_if(std::begin(hints), std::end(hints),
                                                         [&](PrefetchHint c) { return value == toString(c); });
                    if (key != "hint" || h == std::end(hints))
                        reject("prefetch weight takes hint=t0, t1, t2 or nta; got '" + key + "=" + value + "'");
                    s.prefetchHint = *h;
                }
                break;
            case K::Backend:  // chosen by codegen::loweringFor before the schedule is resolved
                break;
            case K::Reorder:
                // The loop nest is n tiles, then m (rows of x) and k (chunks) in one of two orders.
                if (d.vars == std::vector<std::string>{"m", "k"}) {
                    s.chunkOuter = false;
                } else if (d.vars == std::vector<std::string>{"k", "m"}) {
                    if (params.input != dsl::ActKind::QInt8PerToken)
                        reject("'reorder k m' (decode each chunk of weights once for all rows) is supported for int8 "
                               "activations only");
                    s.chunkOuter = true;
                } else {
                    reject("lowbit_linear orders its loops 'reorder m k' (the default: rows of x outside the k "
                           "chunks) or 'reorder k m' (k chunks outside: weights decoded once for all rows)");
                }
                break;
            }
        }
    }
    // Default prefetch by activation kind, as measured on this project's
    // machine (bench/README.md): the f32 loop needs it (0.25 -> 0.40+ of read
    // bandwidth), while the int8 loop streams better on the hardware
    // prefetcher alone (0.63-0.78 without, 0.45-0.51 with Halide's prefetchnta).
    if (!prefetchSet && params.input == dsl::ActKind::QInt8PerToken) s.prefetch = 0;
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
    const int kBlock = base3 ? 20 : 32;
    if (params.group != 0) {
        if (kChunkSet && s.kChunk != params.group)
            throw CodegenError(loc, "split k must equal the scale group (" + std::to_string(params.group) +
                                        ") for grouped scales, got " + std::to_string(s.kChunk));
        // One chunk per group, padded to whole k-blocks (base 3: 32 -> 40,
        // 128 -> 140; rt::LinearGeometry pads each group).
        s.kChunk = (params.group + kBlock - 1) / kBlock * kBlock;
    } else {
        if (!kChunkSet && base3) s.kChunk = 160;
        if (s.kChunk % kBlock != 0)
            throw CodegenError(loc, "split k must be a multiple of the packed k-block (" + std::to_string(kBlock) +
                                        "), got " + std::to_string(s.kChunk));
    }
    if (s.unrollK != 1 && (s.unrollK % kBlock != 0 || s.kChunk % s.unrollK != 0))
        throw CodegenError(loc, "unroll k " + std::to_string(s.unrollK) + " must be a multiple of the packed k-block (" +
                                    std::to_string(kBlock) + ") that divides the k-chunk (" + std::to_string(s.kChunk) +
                                    ")");
    return s;
}

int minRows(dsl::Bucket bucket) {
    return bucket == dsl::Bucket::Prefill ? 32 : bucket == dsl::Bucket::SmallBatch ? 9 : 1;
}


}  // namespace kf::codegen::lowbit
