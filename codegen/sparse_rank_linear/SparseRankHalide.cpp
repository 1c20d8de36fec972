#include "codegen/sparse_rank_linear/SparseRankHalide.h"

#include <algorithm>

#include "codegen/CodegenError.h"
#include "kforge/detail/SparseRank.h"

namespace kf::codegen::sparse_rank_linear {

using namespace Halide;

namespace {

bool isPow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// Codes per stored byte; 1 for whole-byte elements (int8, bf16, f32) and
// for `weight none` (0 bits: no W to pack).
int perByte(int bits) { return bits == 0 || bits >= 8 ? 1 : 8 / bits; }

// Accumulators (vectors) per tile: registers the update keeps live. Half the
// register file leaves room for the decoded codes, the scales and the
// broadcast activation (AVX-512, NEON: 32 registers; AVX2: 16).
int accumulators(const targets::TargetInfo &target) { return target.vectorBits >= 512 ? 16 : target.arch == targets::Arch::Arm64 ? 16 : 8; }

}  // namespace

int storedBits(const dsl::SparseRankLinearParams &p) {
    if (p.noWeight) return 0;
    if (p.denseWeight) return p.denseBits;
    return p.weight.bits == 3 ? 4 : p.weight.bits;
}

SparseRankSchedule defaultSchedule(const dsl::SparseRankLinearParams &p, const targets::TargetInfo &target) {
    SparseRankSchedule s;
    s.vector = std::max(4, target.vectorBits / 32);
    const int acc = accumulators(target);
    s.registerTile = acc * s.vector;
    // One pass over the columns per tile. A tile whose column is shorter than
    // a 64-byte line (AVX2 int4: 32 bytes) shares lines between columns, so
    // at high sparsity it fetches skipped columns too; a wider tile walked in
    // passes (`split n 128` + `unroll n 64`) fetches whole lines but walks
    // the columns twice. Measured on AVX2 (Zen 3, 4096 x 11008 int4, 1
    // thread, same run): one pass 2.9-3.2 ms at 50 % sparsity, 4.1-4.2 ms at
    // 90 %; two passes 4.0-4.6 and 2.7-3.3 ms. 50 % is the papers' operating
    // point, so one pass is the default.
    s.tile = s.registerTile;
    (void)p;
    s.lowRankTile = acc * s.vector;
    s.parallel = true;
    return s;
}

SparseRankSchedule resolveSchedule(const dsl::SparseRankLinearParams &p, const dsl::Schedule *schedule,
                                   const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(std::string("no lowering of sparse_rank_linear for ") + target.name +
                           " yet (CUDA lowering is planned)");
    SparseRankSchedule s = defaultSchedule(p, target);
    if (!schedule) return s;
    const dsl::Directive *splitN = nullptr, *splitR = nullptr, *unrollN = nullptr, *splitM = nullptr, *reorder = nullptr,
                         *prefetch = nullptr;
    for (const dsl::Directive &d : schedule->directives) {
        using K = dsl::Directive::Kind;
        const std::string var = d.vars.empty() ? "" : d.vars[0];
        auto reject = [&](const std::string &why) { throw CodegenError(d.loc, why); };
        switch (d.kind) {
        case K::Vectorize:
            if (var != "n") reject("sparse_rank_linear vectorizes over n only (output rows); got 'vectorize " + var + "'");
            if (!isPow2(d.factor) || d.factor < 4 || d.factor > 64)
                reject("vectorize n must be a power of two in 4..64, got " + std::to_string(d.factor));
            s.vector = static_cast<int>(d.factor);
            break;
        case K::Split:
            if (var == "n") {
                splitN = &d;
                s.tile = static_cast<int>(std::min<int64_t>(d.factor, 1 << 20));
            } else if (var == "r") {
                splitR = &d;
                s.lowRankTile = static_cast<int>(std::min<int64_t>(d.factor, 1 << 20));
            } else if (var == "m") {
                const dsl::BucketDef &b = dsl::bucketDef(schedule->bucket);
                if (d.factor < 1 || d.factor > 16 || d.factor > b.minRows)
                    reject("split m " + std::to_string(d.factor) + " (rows of x per register tile) must be 1..16 and "
                           "at most the bucket's smallest M (" + std::string(b.name) + ": " +
                           std::to_string(b.minRows) + "); schedule a bucket=small or bucket=prefill variant for it");
                s.rowTile = static_cast<int>(d.factor);
                splitM = &d;
            } else {
                reject("sparse_rank_linear splits n (W's output rows per tile), r (U's and V's) or m (rows of x per "
                       "register tile); got 'split " + var + "'");
            }
            break;
        case K::Parallel:
            if (var != "n") reject("sparse_rank_linear runs tiles of output rows in parallel ('parallel n'); got 'parallel " + var + "'");
            s.parallel = true;
            break;
        case K::Threads:
            reject("'threads' is chosen at run time (the caller's thread count), not in a schedule");
            break;
        case K::Pack:
            reject("sparse_rank_linear's column blocks are 'split n' rows wide; 'pack weight' does not apply");
            break;
        case K::Unroll:
            if (var != "n")
                reject("sparse_rank_linear unrolls n only ('unroll n <U>': W's rows in registers per pass); got "
                       "'unroll " + var + "'");
            unrollN = &d;
            s.registerTile = static_cast<int>(std::min<int64_t>(d.factor, 1 << 20));
            break;
        case K::Backend:  // chosen by codegen::loweringFor, before this schedule is resolved
            break;
        case K::Reorder:
            // Outer loop first, as in lowbit_linear: columns outside the rows
            // of x (each listed column read once for every row: the union of
            // the rows' masks) or rows outside (each row reads its own).
            if (d.vars == std::vector<std::string>{"k", "m"}) {
                s.perToken = false;
            } else if (d.vars == std::vector<std::string>{"m", "k"}) {
                if (p.noWeight) reject("'reorder m k' walks each row's own mask; 'weight none' has no mask");
                s.perToken = true;
                reorder = &d;
            } else {
                reject("sparse_rank_linear orders its loops 'reorder k m' (the default: each column of the union "
                       "of the rows' masks read once for all rows) or 'reorder m k' (each row of x reads only its "
                       "own active columns)");
            }
            break;
        case K::Prefetch:
            if (d.factor > rt::kSparseRankListPadding)
                reject("prefetch weight " + std::to_string(d.factor) + ": sparse_rank_linear prefetches at most " +
                       std::to_string(rt::kSparseRankListPadding) + " listed columns ahead (0 = off)");
            for (const auto &[key, value] : d.options)
                reject("sparse_rank_linear's prefetch takes a distance in listed columns only; got '" + key + "=" +
                       value + "'");
            s.prefetch = static_cast<int>(d.factor);
            prefetch = &d;
            break;
        }
    }
    // Several rows of x per register tile (prefill, small batches): their
    // union of masks is nearly every column, a stream the hardware
    // prefetchers follow, and grouped scales walked per group multiply each
    // row once a group rather than once a column. Measured on Zen 5 (4096 x
    // 4096 int4 g128, rank 256 int8 factors, split m 4, 1 thread, two
    // consecutive runs, each against its own dense layer): prefetch 0 was
    // 1.46x / 1.43x the dense layer at M = 32 / 128, prefetch 16 0.99x / 0.92x.
    if (!prefetch && s.rowTile > 1) s.prefetch = 0;
    if (reorder && s.rowTile > 1)
        throw CodegenError(splitM->loc, "split m " + std::to_string(s.rowTile) +
                                            " shares each decoded column among rows of x, but 'reorder m k' (line " +
                                            std::to_string(reorder->loc.line) +
                                            ") has each row read its own columns: use split m 1 with it");
    const int P = perByte(storedBits(p));
    const auto where = [](const dsl::Directive *d, const dsl::Schedule *sch) { return d ? d->loc : sch->loc; };
    if (!unrollN) {
        // The widest register tile that fits and divides the tile.
        int rt = std::min(s.tile, std::max(1, accumulators(target) / s.rowTile) * s.vector) / (P * s.vector) *
                 (P * s.vector);
        while (rt > P * s.vector && s.tile % rt != 0) rt -= P * s.vector;
        s.registerTile = std::max(rt, P * s.vector);
    } else if (s.registerTile % (P * s.vector) != 0 || s.registerTile / s.vector * s.rowTile > 32 ||
               s.tile % s.registerTile != 0) {
        throw CodegenError(unrollN->loc, "unroll n " + std::to_string(s.registerTile) +
                                             " (W's rows in registers) must be a multiple of " +
                                             std::to_string(P * s.vector) + ", at most 32 vectors with the " +
                                             std::to_string(s.rowTile) + " rows of split m, and divide split n " +
                                             std::to_string(s.tile));
    }
    if (s.tile % (P * s.vector) != 0 || s.tile > (1 << 16))
        throw CodegenError(where(splitN, schedule),
                           "split n " + std::to_string(s.tile) + " (W's output rows per tile) must be a multiple of " +
                               std::to_string(P * s.vector) + " (" + std::to_string(P) + " codes per byte x " +
                               std::to_string(s.vector) + " lanes)");
    if (s.lowRankTile % s.vector != 0 || s.lowRankTile / s.vector > 32)
        throw CodegenError(where(splitR, schedule),
                           "split r " + std::to_string(s.lowRankTile) + " must be a multiple of the " +
                               std::to_string(s.vector) + " lanes and at most 32 vectors");
    return s;
}

std::vector<TuneAxisSpec> tuneAxes(const dsl::SparseRankLinearParams &p, const targets::TargetInfo &target,
                                   dsl::Bucket bucket) {
    const SparseRankSchedule d = defaultSchedule(p, target);
    const int step = perByte(storedBits(p)) * d.vector;
    std::vector<TuneAxisSpec> axes;
    // Column blocks of one pass or two (whole lines at high sparsity:
    // docs/dsl.md), and a register tile of all, half or a quarter of the
    // accumulators (the smaller ones leave room for rows of x: split m).
    axes.push_back({"split n", {d.tile, 2 * d.tile}, {}});
    std::vector<int64_t> tiles{d.registerTile};
    for (int rt = d.registerTile / 2; rt >= step && rt >= d.registerTile / 4; rt /= 2)
        if (rt % step == 0) tiles.push_back(rt);
    if (tiles.size() > 1) axes.push_back({"unroll n", tiles, {}});
    if (bucket == dsl::Bucket::SmallBatch || bucket == dsl::Bucket::Prefill) axes.push_back({"split m", {4, 1, 2}, {}});
    // A few rows of x: the union of their masks (columns read once) or each
    // row its own columns (fewer multiply-adds, columns read once per row).
    if (bucket == dsl::Bucket::SmallBatch && !p.noWeight) axes.push_back({"reorder", {0, 1}, {"k m", "m k"}});
    if (p.rank > 0 && d.lowRankTile / 2 >= d.vector)
        axes.push_back({"split r", {d.lowRankTile, d.lowRankTile / 2}, {}});
    axes.push_back({"prefetch weight", {d.prefetch, 0}, {}});  // the listed columns ahead, or none
    return axes;
}

GatherPipeline buildGather(const dsl::SparseRankLinearParams &kernel, const SparseRankSchedule &s, bool lowRank) {
    // U and V: f32, or int8 with a scale per row (per output row of their
    // gather: the per-channel path).
    dsl::SparseRankLinearParams p = kernel;
    if (lowRank) {
        p.noWeight = false;
        p.denseWeight = kernel.factorBits >= 16;
        p.denseBits = kernel.factorBits;
        p.weight = dsl::WeightFormat{dsl::WeightKind::Int, 8, false, false};
        p.group = 0;
    }
    const bool quantized = !p.denseWeight;
    const bool bf16 = p.denseWeight && p.denseBits == 16;  // bf16 values: the high half of an f32
    const int bits = quantized ? storedBits(p) : 32;
    const int V = s.vector;
    const int tile = lowRank ? s.lowRankTile : s.tile;
    const int P = perByte(bits);
    const int Q = tile / (P * V);
    const int Qc = (lowRank ? tile : s.registerTile) / (P * V);  // q values per pass (registers)
    const int tileElems = quantized ? Q * V : tile;  // bytes or floats of one column of a tile

    ImageParam cols(quantized ? UInt(8) : bf16 ? UInt(16) : Float(32), 3, "cols");
    ImageParam scales(Float(32), 3, "scales");
    ImageParam idx(Int(32), 1, "idx");  // the J listed columns, then kSparseRankListPadding more
    Param<int> listed("listed");        // J
    ImageParam a(Float(32), 2, "a");
    Var i("i"), h("h"), q("q"), t("t"), m("m");
    RDom r(0, listed, "r");
    // Grouped scales walk the list in two ways. Segmented: per run of one
    // scale group (`part`, computed inside acc's segment loop) the sum of
    // a * c in registers, then one scale; no prefetch, since Halide 14
    // bounds the prefetch of that nested stage by the whole tile. Flat (with
    // a prefetch): the list in one loop like per-channel scales, each
    // column's a times its group's scale vector (one multiply per vector
    // more), the level offset once a segment. The runtime builds idx and
    // the segments itself (never from caller input) within bounds, so the
    // segmented walk promises its indices (a clamp costs four scalar ops per
    // column and tile); the flat walk clamps its column, which makes the
    // prefetch of the column D places ahead one column of fixed extent (a
    // promise leaves it a loop of run-time extent).
    const bool segmented = !p.denseWeight && p.group > 0 && s.prefetch == 0;
    const auto column = [&](const Expr &j) {
        return segmented ? unsafe_promise_clamped(idx(j), 0, cols.dim(1).extent() - 1)
                         : clamp(idx(j), 0, cols.dim(1).extent() - 1);
    };
    const Expr col = column(r);
    const Expr row = q * (P * V) + h * V + i;  // output row within the tile

    Func acc("acc"), out("out");
    acc(i, h, q, t, m) = 0.0f;
    ImageParam segments(Int(32), 2, "segments");  // (3, S): first listed column, count, scale group
    ImageParam segSums(Float(32), 2, "seg_sums"); // (S, M): sum of a over the segment's columns
    Func part("part");
    RDom rs(0, segments.dim(1).extent(), "rs");
    RDom rx;  // a segment's columns (grouped scales)
    if (quantized) {
        // Levels of intN are c - 2^(b-1) (docs/formats.md, "Codes, levels and
        // values"): the offset comes out of the sum, once per segment, as
        // offset * (sum of a) — the kernel adds a * c per weight.
        const float offset = static_cast<float>(1 << (p.weight.bits - 1));
        const auto codeAt = [&](const Expr &j) {
            const Expr c = column(j);
            Expr byte = cast<int32_t>(cols(q * V + i, c, t));
            return cast<float>(P == 1 ? byte : (byte >> (h * bits)) & ((1 << bits) - 1));
        };
        // The scale group of segment rs (grouped scales).
        const Expr segGroup = clamp(segments(2, rs), 0, scales.dim(1).extent() - 1);
        if (p.group > 0 && !segmented) {
            const Expr gr = clamp(col / p.group, 0, scales.dim(1).extent() - 1);
            acc(i, h, q, t, m) += (scales(row, gr, t) * a(r, m)) * codeAt(r);
            acc(i, h, q, t, m) -= scales(row, segGroup, t) * (offset * segSums(rs, m));
            out(i, h, q, t, m) = acc(i, h, q, t, m);
        } else if (p.group > 0) {
            // Columns in segments of one scale group each (the runtime cuts the
            // sorted list): the group's sum in registers, then one scale.
            Var sg("sg");
            rx = RDom(0, p.group, "rx");
            rx.where(rx < segments(1, sg));
            const Expr j = unsafe_promise_clamped(segments(0, sg) + rx, 0, listed - 1);
            part(i, h, q, t, m, sg) = 0.0f;
            part(i, h, q, t, m, sg) += a(j, m) * codeAt(j);
            acc(i, h, q, t, m) += scales(row, segGroup, t) * (part(i, h, q, t, m, rs) - offset * segSums(rs, m));
            out(i, h, q, t, m) = acc(i, h, q, t, m);
        } else {
            acc(i, h, q, t, m) += a(r, m) * codeAt(r);
            out(i, h, q, t, m) = scales(row, 0, t) * (acc(i, h, q, t, m) - offset * segSums(0, m));
        }
    } else {
        const Expr value = bf16 ? reinterpret<float>(cast<uint32_t>(cols(row, col, t)) << 16) : cols(row, col, t);
        acc(i, h, q, t, m) += a(r, m) * value;
        out(i, h, q, t, m) = acc(i, h, q, t, m);
    }

    // Constant strides and extents: the tile's layout is compiled in.
    cols.dim(0).set_bounds(0, tileElems).set_stride(1);
    cols.dim(1).set_min(0).set_stride(tileElems);
    cols.dim(2).set_min(0);
    idx.dim(0).set_min(0);
    a.dim(0).set_min(0).set_stride(1);
    a.dim(1).set_min(0);
    if (quantized) {
        scales.dim(0).set_bounds(0, tile).set_stride(1);
        scales.dim(1).set_min(0).set_stride(tile);
        scales.dim(2).set_min(0);
    }
    OutputImageParam o = out.output_buffer();
    o.dim(0).set_bounds(0, V).set_stride(1);
    o.dim(1).set_bounds(0, P).set_stride(V);
    o.dim(2).set_bounds(0, Q).set_stride(P * V);
    o.dim(3).set_min(0).set_stride(tile);
    o.dim(4).set_min(0);

    // Per tile and row of x: every column's codes decoded once into Q * P
    // vectors of accumulators held in registers (grouped scales: the
    // segment's partial sums; the scaled total is updated once a segment).
    // With a row tile (F > 1) each decoded column feeds F rows of x: the
    // rows are split by F (the last tile shifted inwards: every M of the
    // bucket is >= F) and unrolled inside the column loop.
    const int F = lowRank ? 1 : s.rowTile;
    Var qo("qo"), qi("qi"), mo("mo"), mi("mi");
    out.split(q, qo, qi, Qc);
    if (F > 1) {
        out.split(m, mo, mi, F, TailStrategy::ShiftInwards).reorder(i, h, qi, mi, qo, mo, t).unroll(mi);
    } else {
        out.reorder(i, h, qi, m, qo, t);
    }
    out.vectorize(i, V).unroll(h).unroll(qi);
    if (s.parallel) out.parallel(t);
    acc.compute_at(out, F > 1 ? qo : m).vectorize(i, V).unroll(h).unroll(q);
    if (F > 1) acc.unroll(m);
    if (segmented) {
        acc.update().reorder(i, h, q, m, rs).vectorize(i, V).unroll(h).unroll(q);
        part.compute_at(acc, rs).vectorize(i, V).unroll(h).unroll(q);
        part.update().reorder(i, h, q, m, rx).vectorize(i, V).unroll(h).unroll(q);
        if (F > 1) {
            acc.update().unroll(m);
            part.unroll(m);
            part.update().unroll(m);
        }
    } else {
        acc.update().reorder(i, h, q, m, r).vectorize(i, V).unroll(h).unroll(q);
        if (F > 1) acc.update().unroll(m);
        if (quantized && p.group > 0) {  // flat walk of grouped scales: the offsets, once a segment
            acc.update(1).reorder(i, h, q, m, rs).vectorize(i, V).unroll(h).unroll(q);
            if (F > 1) acc.update(1).unroll(m);
        }
    }
    // The column s.prefetch places ahead in the list (idx is padded past J,
    // so the index read stays in the buffer).
    if (s.prefetch > 0)
        acc.update().prefetch(cols, r, r, s.prefetch, PrefetchBoundStrategy::NonFaulting);
    if (quantized) {
        segments.dim(0).set_bounds(0, 3).set_stride(1);
        segments.dim(1).set_min(0);
        segSums.dim(0).set_min(0).set_stride(1);
        segSums.dim(1).set_min(0);
    }

    std::vector<Argument> args = {cols};
    if (quantized) args.push_back(scales);
    args.push_back(idx);
    args.push_back(listed);
    args.push_back(a);
    if (quantized) {
        args.push_back(segments);
        args.push_back(segSums);
    }
    return {Pipeline(out), args};
}

}  // namespace kf::codegen::sparse_rank_linear
