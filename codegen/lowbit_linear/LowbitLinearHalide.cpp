#include "codegen/lowbit_linear/LowbitLinearHalide.h"

#include "codegen/CodegenError.h"
#include "codegen/lowbit_linear/AffineLevels.h"

namespace kf::codegen::lowbit {

using namespace Halide;

namespace {

Type halideScaleType(dsl::ScalarType t) {
    switch (t) {
    case dsl::ScalarType::F32: return Float(32);
    case dsl::ScalarType::F16: return Float(16);
    case dsl::ScalarType::BF16: return BFloat(16);
    default: throw CodegenError("lowbit_linear scales must be f32, f16 or bf16");
    }
}

kf_scale_type runtimeScaleType(dsl::ScalarType t) {
    return t == dsl::ScalarType::F16 ? KF_SCALE_F16 : t == dsl::ScalarType::BF16 ? KF_SCALE_BF16 : KF_SCALE_F32;
}

int codesPerByte(const rt::PlaneLayout &p) { return p.width == 0 ? 5 : 8 / p.width; }
int chunksPerBlock(const rt::PlaneLayout &p) { return p.width == 0 ? 1 : p.width; }
int pow3(int s) { return s == 0 ? 1 : 3 * pow3(s - 1); }

}  // namespace

rt::LinearLayout layoutFor(const dsl::LowbitLinearParams &p, const LinearSchedule &s) {
    rt::LinearLayout L{};
    L.bits = p.weight.bits;
    L.interleave = s.interleave;
    L.group = p.group;
    L.scaleType = runtimeScaleType(p.scaleType);
    L.codeView = p.input == dsl::ActKind::QInt8PerToken ? 1 : 0;
    if (p.weight.kind == dsl::WeightKind::Ternary && p.weight.ternaryBase3) {
        L.kBlock = 20;
        L.numPlanes = 1;
        L.planes[0] = {0, 0};
    } else {
        L.kBlock = 32;
        switch (s.layout) {
        case PackLayout::Planes:
            for (int width : {8, 4, 2, 1}) {
                const int shift = L.numPlanes ? L.planes[L.numPlanes - 1].shift + L.planes[L.numPlanes - 1].width : 0;
                if (L.bits - shift >= width) L.planes[L.numPlanes++] = {width, shift};
            }
            break;
        case PackLayout::Bitplanes:
            for (int b = 0; b < L.bits; ++b) L.planes[L.numPlanes++] = {1, b};
            break;
        case PackLayout::Nibbles: L.planes[L.numPlanes++] = {4, 0}; break;
        case PackLayout::Bytes: L.planes[L.numPlanes++] = {8, 0}; break;
        }
    }
    L.kAlign = s.kChunk;  // grouped: the group rounded up to whole k-blocks (LinearSchedule.cpp)
    return L;
}

rt::LinearSpec linearSpecFor(const dsl::LowbitLinearParams &p, const std::string &formatName) {
    auto kind = [](dsl::WeightKind k) {
        switch (k) {
        case dsl::WeightKind::Binary: return KF_WEIGHT_BINARY;
        case dsl::WeightKind::Ternary: return KF_WEIGHT_TERNARY;
        case dsl::WeightKind::Seq2: return KF_WEIGHT_SEQ2;
        case dsl::WeightKind::Int: return KF_WEIGHT_INT;
        case dsl::WeightKind::Uint: return KF_WEIGHT_UINT;
        case dsl::WeightKind::Codebook: return KF_WEIGHT_CODEBOOK;
        }
        return KF_WEIGHT_INT;
    };
    const kf_act_type act = p.input == dsl::ActKind::BF16            ? KF_ACT_BF16
                            : p.input == dsl::ActKind::QInt8PerToken ? KF_ACT_QINT8
                                                                     : KF_ACT_F32;
    return {formatName.c_str(), p.weight.bits,     p.n.size.value_or(0),          p.k.size.value_or(0),
            p.group,            runtimeScaleType(p.scaleType), kind(p.weight.kind), act,
            p.bias,             p.weight.perChannelCodebook,  p.weight.ternaryBase3};
}

LinearPipeline buildLinearPipeline(const dsl::KernelSpec &kernel, const LinearSchedule &s,
                                   const targets::TargetInfo &target) {
    const auto &p = std::get<dsl::LowbitLinearParams>(kernel.params);
    const std::string where = " for " + std::string(target.name);
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(kernel.loc, "no lowering of lowbit_linear" + where + " yet (CUDA lowering is planned)");
    if (p.output != dsl::ScalarType::F32)
        throw CodegenError(kernel.loc, "no lowering of lowbit_linear with a non-f32 output" + where + " yet");
    const bool int8 = p.input == dsl::ActKind::QInt8PerToken;
    const bool codebook = p.weight.kind == dsl::WeightKind::Codebook;  // never with int8 (dsl::lowbitLinearProblem)

    const rt::LinearLayout L = layoutFor(p, s);
    if (L.kAlign % L.kBlock != 0)
        throw CodegenError(kernel.loc, "the scale group / k-chunk (" + std::to_string(L.kAlign) +
                                           ") must be a multiple of the packed k-block (" + std::to_string(L.kBlock) + ")");
    const int I = L.interleave;
    const int quadsPerBlock = L.kBlock / 4;
    const int blocksPerChunk = L.kAlign / L.kBlock;
    const AffineLevels lv = affineLevels(p.weight);

    // Inputs, in the bridge's canonical order.
    std::vector<ImageParam> planes;
    for (int pi = 0; pi < L.numPlanes; ++pi)
        planes.emplace_back(int8 ? UInt(8) : UInt(32), int8 ? 5 : 4, "plane" + std::to_string(pi));
    ImageParam scales(halideScaleType(p.scaleType), 3, "scales");  // (i, col, tile)
    ImageParam zeroPoints(UInt(8), 3, "zero_points");
    ImageParam table(Float(32), p.weight.perChannelCodebook ? 3 : 1, "codebook");
    ImageParam bias(Float(32), 2, "bias");  // (i, tile)
    // (k, m): int8 kernels take rows already quantized, one scale per row in x_scales
    ImageParam x(int8 ? Int(8) : p.input == dsl::ActKind::BF16 ? BFloat(16) : Float(32), 2, "x");
    ImageParam xScales(Float(32), 1, "x_scales");  // (m), int8 rows only

    Var i("i"), h("h"), c("c"), t("t"), m("m");
    Expr numChunks = x.dim(0).extent() / L.kAlign;

    // The code of row t*I+i at k = kBlock*blk + 4*quad + j, from its planes.
    // quad is a reduction variable that the schedule unrolls, so the plane
    // coordinates and shifts below fold to constants.
    auto codeAt = [&](Expr j, Expr quad, Expr blk) {
        Expr code;
        for (int pi = 0; pi < L.numPlanes; ++pi) {
            const rt::PlaneLayout &pl = L.planes[pi];
            const int cpb = codesPerByte(pl);
            Expr u = quad / cpb, sl = quad % cpb;
            Expr pow3sl = select(sl == 0, 1, sl == 1, 3, sl == 2, 9, sl == 3, 27, 81);
            Expr bits;
            if (int8) {
                Expr byte = planes[pi](j, i, u, blk, t);
                bits = pl.width == 0 ? (byte / cast<uint8_t>(pow3sl)) % cast<uint8_t>(3)
                                     : (byte >> cast<uint8_t>(pl.width * sl)) & cast<uint8_t>((1 << pl.width) - 1);
                if (pl.shift) bits = bits << cast<uint8_t>(pl.shift);
            } else {
                Expr word = planes[pi](i, u, blk, t);
                bits = pl.width == 0 ? ((word >> cast<uint32_t>(8 * j)) & cast<uint32_t>(0xFF)) / cast<uint32_t>(pow3sl) %
                                           cast<uint32_t>(3)
                                     : (word >> cast<uint32_t>(8 * j + pl.width * sl)) & cast<uint32_t>((1 << pl.width) - 1);
                if (pl.shift) bits = bits << cast<uint32_t>(pl.shift);
            }
            code = code.defined() ? (code | bits) : bits;
        }
        return code;
    };

    auto scaleAt = [&](Expr col) { return cast<float>(scales(i, col, t)); };
    // b of L(c) = (a c + b) / d for row i, chunk col (uint: -z).
    auto levelOffset = [&](Expr col) -> Expr {
        if (p.weight.kind == dsl::WeightKind::Uint) return -cast<int32_t>(zeroPoints(i, col, t));
        return lv.b;
    };

    Func acc("acc"), out("out");
    Func part("part"), xsum("xsum"), iacc("iacc"), dot("dot");
    Func q("q");
    RDom rc(0, numChunks, "rc");
    RDom rf(0, 2, 0, quadsPerBlock, 0, blocksPerChunk, "rf");  // f32 path: j / 2, quad, block
    RDom ri(0, 4, 0, quadsPerBlock, 0, blocksPerChunk, "ri");  // int8 path: j, quad, block
    const bool perChannel = p.group == 0;
    // int8 path: the Func whose update sums the chunks (int32 for per-channel scales, else f32).
    Func &chunkAcc = perChannel ? iacc : acc;

    if (!int8) {
        // f32 FMAs. part(i, h, ...) splits the k of a chunk by lane parity j % 2
        // so each row vector has two independent accumulator chains.
        Expr j = 2 * rf.x + h;
        Expr blk = c * blocksPerChunk + rf.z;
        Expr code = codeAt(j, rf.y, blk);
        // Codes are masked to `bits` bits by construction; tell bounds inference.
        Expr entry = unsafe_promise_clamped(cast<int32_t>(code), 0, (1 << L.bits) - 1);
        Expr w = codebook ? (p.weight.perChannelCodebook ? table(i, entry, t) : table(entry)) : cast<float>(code);
        Expr contrib = cast<float>(x(blk * L.kBlock + 4 * rf.y + j, m)) * w;
        part(i, h, c, t, m) = 0.0f;
        part(i, h, c, t, m) += contrib;

        RDom rk(0, L.kAlign, "rk");
        xsum(c, m) = 0.0f;
        xsum(c, m) += cast<float>(x(c * L.kAlign + rk, m));

        Expr dotc = part(i, 0, rc, t, m) + part(i, 1, rc, t, m);
        Expr chunk = codebook ? dotc
                              : (static_cast<float>(lv.a) * dotc + cast<float>(levelOffset(perChannel ? Expr(0) : Expr(rc))) * xsum(rc, m)) /
                                    static_cast<float>(lv.d);
        acc(i, t, m) = 0.0f;
        acc(i, t, m) += perChannel ? chunk : scaleAt(rc) * chunk;
        Expr result = perChannel ? acc(i, t, m) * scaleAt(0) : acc(i, t, m);
        out(i, t, m) = p.bias ? result + bias(i, t) : result;
    } else {
        // Dynamic int8 per token (docs/formats.md, "Dynamic int8 per token"):
        // rows quantized by the bridge (kforge/detail/QuantizeRow.h) or by a
        // rotation (kf_linear_run_q8), s_x per row in x_scales.
        // reorder k m computes rows of x in whole tiles (RoundUp): rows past
        // M repeat row M-1 and their results are never stored.
        auto xAt = [&](Expr k, Expr row) {
            return s.chunkOuter ? x(k, clamp(row, x.dim(1).min(), x.dim(1).max())) : x(k, row);
        };
        Var k("k");
        Expr sx = s.chunkOuter ? xScales(clamp(m, x.dim(1).min(), x.dim(1).max())) : xScales(m);
        q(k, m) = xAt(k, m);

        // u8 codes x s8 activations, 4 k per dword lane: vpdpbusd / sdot shape.
        dot(i, c, t, m) = 0;
        Expr blk = c * blocksPerChunk + ri.z;
        // x86 VNNI multiplies u8 x s8 (vpdpbusd): the codes go in as they are.
        // ARM dotprod multiplies s8 x s8 (sdot): codes go in as c - 2^(b-1)
        // (in s8 for every b <= 8) and the offset comes back through sum(q).
        const bool signedCodes = target.arch == targets::Arch::Arm64;
        const int codeOffset = signedCodes ? 1 << (L.bits - 1) : 0;
        auto operandAt = [&](Expr j, Expr quad, Expr b) -> Expr {
            Expr code = codeAt(j, quad, b);
            return signedCodes ? reinterpret<int8_t>(cast<uint8_t>(code - cast<uint8_t>(codeOffset))) : cast<uint8_t>(code);
        };
        // reorder k m: the operands of one chunk of the tile, decoded once into
        // bytes (same [block][quad][row][j] order as the packed chunk) and read
        // by the dot of every tile of rows.
        Func wq("wq");
        Var wj("wj"), wquad("wquad"), wb("wb");
        Expr codeOperand;
        if (s.chunkOuter) {
            wq(wj, i, wquad, wb, t) = operandAt(wj, wquad, wb);
            codeOperand = cast<int32_t>(wq(ri.x, i, ri.y, blk, t));
        } else {
            codeOperand = cast<int32_t>(operandAt(ri.x, ri.y, blk));
        }
        Expr sum = codeOperand * cast<int32_t>(q(blk * L.kBlock + 4 * ri.y + ri.x, m));
        dot(i, c, t, m) += sum;
        RDom rk(0, L.kAlign, "rk");
        Func qsum("qsum");
        qsum(c, m) = 0;
        qsum(c, m) += cast<int32_t>(q(c * L.kAlign + rk, m));

        // a * sum(q c) + b * sum(q) is exact in int32 for every format and K < 2^31 / (127 * 510).
        Expr chunk = lv.a * (dot(i, rc, t, m) + codeOffset * qsum(rc, m)) + levelOffset(perChannel ? Expr(0) : Expr(rc)) * qsum(rc, m);
        if (perChannel) {
            iacc(i, t, m) = 0;
            iacc(i, t, m) += chunk;
            acc(i, t, m) = cast<float>(iacc(i, t, m)) * scaleAt(0);
        } else {
            acc(i, t, m) = 0.0f;
            acc(i, t, m) += scaleAt(rc) * cast<float>(chunk);
        }
        Expr result = acc(i, t, m) * (sx / static_cast<float>(lv.d));
        out(i, t, m) = p.bias ? result + bias(i, t) : result;

        // The rows copied once into a dense buffer: the dot then reads them
        // with no row clamp (reorder k m) and at a known row stride. Read
        // straight from x they cost the prefill schedules half their speed
        // (Zen 5, 4096 x 4096 int4, M = 128: 0.36 of the VNNI peak against 0.71).
        q.compute_root().vectorize(k, 16, TailStrategy::GuardWithIf);
        qsum.compute_root();
        // Schedule of the integer dot: rows vectorized by 16, the 4 k of a
        // lane reduced atomically (docs/halide.md, "Integer dot products": what makes LLVM emit vpdpbusd).
        Var amo("amo"), ami("ami");
        if (s.chunkOuter) {
            // acc of every row of x lives at the tile (memory, not registers);
            // per chunk: decode the chunk, then each tile of rows runs its dot.
            chunkAcc.update().split(m, amo, ami, s.mTile, TailStrategy::RoundUp).reorder(i, ami, amo, rc);
            dot.compute_at(chunkAcc, amo);
            wq.compute_at(chunkAcc, rc).vectorize(wj).vectorize(i, 16).unroll(wquad);
        } else {
            dot.compute_at(chunkAcc, rc);
        }
        dot.vectorize(i, 16);
        Var io("io"), ii("ii");
        // With a tile of rows (split m), m is innermost and unrolled: the
        // decoded weight vectors are shared by the rows' dot products.
        dot.update().reorder(ri.x, i, m, ri.y, ri.z).atomic().vectorize(ri.x).split(i, io, ii, 16).vectorize(ii).unroll(io).unroll(ri.y);
        if (s.mTile > 1) dot.update().unroll(m);
        // unroll k and the software prefetch as on the f32 path, on the block loop.
        RVar blockLoop = ri.z;
        if (s.unrollK > 1) {
            RVar rbo("rbo"), rbi("rbi");
            dot.update().split(ri.z, rbo, rbi, s.unrollK / L.kBlock).unroll(rbi);
            blockLoop = rbo;
        }
        if (s.prefetch > 0 && s.chunkOuter) {
            // The weights are read where a chunk is decoded (wq): prefetch
            // whole chunks ahead on the chunk loop.
            const int ahead = std::max(1, s.prefetch / L.kAlign);
            for (auto &pl : planes)
                chunkAcc.update().prefetch(pl, rc, rc, ahead, PrefetchBoundStrategy::NonFaulting);
        } else if (s.prefetch > 0) {
            const int ahead = std::max(1, s.prefetch / (L.kBlock * std::max(1, s.unrollK / L.kBlock)));
            for (auto &pl : planes)
                dot.update().prefetch(pl, blockLoop, blockLoop, ahead, PrefetchBoundStrategy::NonFaulting);
        }
    }

    // Constant tile geometry: the kernel's contract with the runtime's packing.
    for (size_t pi = 0; pi < planes.size(); ++pi) {
        const int chunks = chunksPerBlock(L.planes[pi]);
        if (int8) {
            planes[pi].dim(0).set_bounds(0, 4).set_stride(1);
            planes[pi].dim(1).set_bounds(0, I).set_stride(4);
            planes[pi].dim(2).set_bounds(0, chunks).set_stride(4 * I);
            planes[pi].dim(3).set_stride(4 * I * chunks);
        } else {
            planes[pi].dim(0).set_bounds(0, I).set_stride(1);
            planes[pi].dim(1).set_bounds(0, chunks).set_stride(I);
            planes[pi].dim(2).set_stride(I * chunks);
        }
    }
    scales.dim(0).set_bounds(0, I).set_stride(1);
    scales.dim(1).set_stride(I);
    zeroPoints.dim(0).set_bounds(0, I).set_stride(1);
    zeroPoints.dim(1).set_stride(I);
    bias.dim(0).set_bounds(0, I).set_stride(1);
    x.dim(0).set_stride(1);
    out.output_buffer().dim(0).set_bounds(0, I).set_stride(1);
    out.output_buffer().dim(1).set_stride(I);

    // Schedule: tiles of I rows (blocks of them in parallel), then rows m, so
    // the accumulators have constant size and live in registers, and a
    // tile's weights stay in L1/L2 across the rows of x.
    Var tb("tb"), io("io"), ii("ii"), mo("mo"), mi("mi");
    out.split(i, io, ii, s.vector).vectorize(ii).unroll(io).reorder(ii, io, m, t);
    Var rowLoop = m;  // where the per-row (or per-tile-of-rows) accumulators live
    if (s.mTile > 1) {
        // The bucket guarantees M >= mTile, so the last tile shifts inwards.
        out.split(m, mo, mi, s.mTile, TailStrategy::ShiftInwards).reorder(ii, io, mi, mo, t);
        rowLoop = mo;
    }
    if (s.parallel) out.split(t, tb, t, s.nBlock / I, TailStrategy::GuardWithIf).parallel(tb);
    if (!int8) {
        acc.compute_at(out, m);
        acc.split(i, io, ii, s.vector).vectorize(ii).unroll(io);
        // Chunk loop outside the vector lanes (docs/halide.md: otherwise the
        // chunk loop sits inside the vector loop and spills).
        acc.update().reorder(i, rc).split(i, io, ii, s.vector).vectorize(ii).unroll(io);
        part.compute_at(acc, rc);
        xsum.compute_at(acc, rc);
        part.split(i, io, ii, s.vector).vectorize(ii).unroll(io).unroll(h);
        auto upd = part.update();
        upd.reorder(i, h, rf.x, rf.y, rf.z).unroll(rf.x).unroll(rf.y);
        // Software prefetch of the weights `prefetch` k ahead. Measured on this
        // project's CI machine (Sapphire Rapids class VM): without it the
        // hardware prefetcher leaves the f32 kernel latency-bound at ~0.25 of
        // read bandwidth. The prefetch hangs on the block loop that remains.
        RVar blockLoop = rf.z;
        if (s.unrollK > 1) {
            RVar rbo("rbo"), rbi("rbi");
            upd.split(rf.z, rbo, rbi, s.unrollK / L.kBlock).unroll(rbi);
            blockLoop = rbo;
        }
        if (s.prefetch > 0) {
            const int ahead = std::max(1, s.prefetch / (L.kBlock * std::max(1, s.unrollK / L.kBlock)));
            for (auto &pl : planes) upd.prefetch(pl, blockLoop, blockLoop, ahead, PrefetchBoundStrategy::NonFaulting);
        }
        upd.split(i, io, ii, s.vector).vectorize(ii).unroll(io).unroll(h);
    } else {
        // reorder k m: the accumulators of all rows sit at the tile.
        const LoopLevel accAt = s.chunkOuter ? LoopLevel(out, t) : LoopLevel(out, rowLoop);
        chunkAcc.compute_at(accAt).vectorize(i, 16);
        if (!s.chunkOuter) chunkAcc.update().reorder(i, m, rc);
        chunkAcc.update().vectorize(i, 16);
        if (perChannel) acc.compute_at(accAt).vectorize(i, 16);  // acc = iacc * scale
    }

    std::vector<Argument> args;
    for (auto &pl : planes) args.push_back(pl);
    args.push_back(scales);
    if (p.weight.kind == dsl::WeightKind::Uint) args.push_back(zeroPoints);
    if (codebook) args.push_back(table);
    if (p.bias) args.push_back(bias);
    args.push_back(x);
    if (int8) {
        xScales.dim(0).set_stride(1);
        args.push_back(xScales);
    }
    return LinearPipeline{Pipeline(out), args, L};
}

}  // namespace kf::codegen::lowbit
