#include "codegen/rotation_attention/AttentionHalide.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "codegen/CodegenError.h"

namespace kf::codegen::rotation_attention {

using namespace Halide;

namespace {

// Stands for -infinity in running maxima: finite, so max - m never becomes
// inf - inf; every query sees at least one token, so the final max is real.
constexpr float kNoScore = -3.0e38f;
// exp(v) for v <= 0 (fast_exp is undefined where its result would
// underflow: below e^-80 ~ 1.8e-35 a weight is zero next to the max's 1).
Expr expNonPositive(Expr v) { return fast_exp(max(v, -80.0f)); }

// Round half away from zero, exactly (v - trunc(v) is exact in f32).
Expr roundHalfAway(Expr v) {
    Expr t = trunc(v);
    Expr f = v - t;
    return t + select(f >= 0.5f, 1.0f, f <= -0.5f, -1.0f, 0.0f);
}

struct Shape {
    int d, half, nq, nkv, gs;  // head_dim, d/2, heads, kv heads, q heads per kv head
    int bits, levels;          // 4 or 8 (15 or 255 levels); 16 or 32: f16 / f32 values, no levels
    bool floats;               // an unquantized cache (bits 16 or 32)
    int group, groups;         // stored group size and count per token-head (floats: one, s = 1, z = 0)
    int codeElems;             // code elements per token-head (bytes, or the f16 / f32 values)
    Type codeType;             // of one code element
};

Shape shapeOf(const dsl::RotationAttentionParams &p) {
    if (p.headDim < 32 || p.headDim > 256 || (p.headDim & (p.headDim - 1)) != 0)
        throw CodegenError("rotation_attention needs head_dim a power of two in 32..256, got " +
                           std::to_string(p.headDim));
    if (p.numKvHeads < 1 || p.numHeads % p.numKvHeads != 0)
        throw CodegenError("rotation_attention needs q heads a multiple of kv heads");
    if (p.kvBits != 4 && p.kvBits != 8 && p.kvBits != 16 && p.kvBits != 32)
        throw CodegenError("rotation_attention caches int4, int8, f16 or f32, not " + std::to_string(p.kvBits) + " bits");
    Shape s;
    s.d = p.headDim;
    s.half = p.headDim / 2;
    s.nq = p.numHeads;
    s.nkv = p.numKvHeads;
    s.gs = p.numHeads / p.numKvHeads;
    s.bits = p.kvBits;
    s.levels = p.kvBits == 4 ? 15 : p.kvBits == 8 ? 255 : 0;
    s.floats = p.kvBits > 8;
    s.group = p.kvGroup && !s.floats ? p.kvGroup : p.headDim;
    if (s.d % s.group != 0) throw CodegenError("kv_cache group does not divide head_dim");
    s.groups = s.d / s.group;
    s.codeElems = p.kvBits == 4 ? s.half : s.d;
    s.codeType = p.kvBits == 16 ? UInt(16) : p.kvBits == 32 ? Float(32) : UInt(8);
    return s;
}

// RoPE (docs/formats.md) of in(i, h, t) with the tables cosT(j, t), sinT(j, t):
// element i is turned with its partner by the angle of frequency j.
Func rope(Func in, ImageParam cosT, ImageParam sinT, dsl::RopeKind kind, const Shape &sh, const std::string &name) {
    if (kind == dsl::RopeKind::None) return in;
    Var i("i"), h("h"), t("t");
    Func out(name);
    Expr j, partner, first;
    if (kind == dsl::RopeKind::Half) {
        j = i % sh.half;
        partner = (i + sh.half) % sh.d;
        first = i < sh.half;
    } else {
        j = i / 2;
        partner = clamp(i + 1 - 2 * (i % 2), 0, sh.d - 1);
        first = i % 2 == 0;
    }
    // first of a pair: a c - b s; second: a s + b c (b the element itself).
    Expr c = cosT(j, t), s = sinT(j, t);
    out(i, h, t) = select(first, in(i, h, t) * c - in(partner, h, t) * s, in(partner, h, t) * s + in(i, h, t) * c);
    return out;
}

// The unnormalized Sylvester transform over i (H_d, d a power of two), one
// butterfly stage per bit, each a Func (compute them where the result is).
std::vector<Func> walshStages(Func in, const Shape &sh, const std::string &name) {
    Var i("i"), h("h"), t("t");
    std::vector<Func> stages;
    Func cur = in;
    for (int bit = 1; bit < sh.d; bit *= 2) {
        Func next(name + "_" + std::to_string(bit));
        Expr low = (i & bit) == 0;
        next(i, h, t) = select(low, cur(i, h, t) + cur(min(i + bit, sh.d - 1), h, t),
                               cur(max(i - bit, 0), h, t) - cur(i, h, t));
        stages.push_back(next);
        cur = next;
    }
    return stages;
}

}  // namespace

AttentionPipeline buildAppendPipeline(const dsl::RotationAttentionParams &p, bool isKey, const AttentionSchedule &s,
                                      const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(std::string("no lowering of rotation_attention for ") + target.name + " yet");
    const Shape sh = shapeOf(p);
    ImageParam x(Float(32), 3, "x"), cosT(Float(32), 2, "rope_cos"), sinT(Float(32), 2, "rope_sin");
    Var i("i"), h("h"), t("t"), g("g"), j("j");

    Func in("in");
    in(i, h, t) = x(i, h, t);
    Func rot = in;
    std::vector<Func> stages;
    if (isKey) {
        rot = rope(in, cosT, sinT, p.rope, sh, "k_roped");
        if (p.rotate) {
            stages = walshStages(rot, sh, "k_r3");
            // R3 = H_d / sqrt(d): strict, so the stored values do not depend on
            // how LLVM fuses the last stage with the scale.
            Func r3("k_rotated");
            r3(i, h, t) = strict_float(stages.back()(i, h, t) * static_cast<float>(1.0 / std::sqrt(double(sh.d))));
            rot = r3;
        }
    }
    if (rot.name() != in.name()) rot.compute_root().vectorize(i, s.vector).parallel(t);
    for (Func &f : stages) f.compute_root().vectorize(i, s.vector).parallel(t);

    Func codes("codes"), scales("scales"), zeros("zeros");
    if (sh.floats) {
        // docs/formats.md, "Unquantized caches": the values (f16: rne), s = 1, z = 0.
        if (sh.bits == 16)
            codes(j, t, h) = reinterpret(UInt(16), cast(Float(16), rot(j, h, t)));
        else
            codes(j, t, h) = rot(j, h, t);
        scales(g, t, h) = 1.0f;
        zeros(g, t, h) = 0.0f;
    } else {
        // Per group (docs/formats.md, "KV cache"): lo, hi, s, z, with the f32
        // steps of the definition (strict_float: true divisions).
        RDom rg(0, sh.group, "rg");
        Func lo("lo"), hi("hi"), scale("scale"), zero("zero");
        lo(g, h, t) = rot(g * sh.group, h, t);
        lo(g, h, t) = min(lo(g, h, t), rot(g * sh.group + rg, h, t));
        hi(g, h, t) = rot(g * sh.group, h, t);
        hi(g, h, t) = max(hi(g, h, t), rot(g * sh.group + rg, h, t));
        Expr L = static_cast<float>(sh.levels);
        Expr spread = hi(g, h, t) > lo(g, h, t);
        scale(g, h, t) = select(spread, strict_float(strict_float(hi(g, h, t) - lo(g, h, t)) / L), abs(lo(g, h, t)));
        zero(g, h, t) = select(spread, roundHalfAway(strict_float(-lo(g, h, t) / scale(g, h, t))),
                               select(lo(g, h, t) > 0.0f, -1.0f, lo(g, h, t) < 0.0f, 1.0f, 0.0f));
        lo.compute_root();
        hi.compute_root();
        scale.compute_root();
        zero.compute_root();

        Func code("code");
        Expr gi = i / sh.group;
        Expr spreadI = hi(gi, h, t) > lo(gi, h, t);
        Expr q = roundHalfAway(strict_float(rot(i, h, t) / scale(gi, h, t)));
        code(i, h, t) = select(spreadI, clamp(q + zero(gi, h, t), 0.0f, L), 0.0f);
        if (sh.bits == 4)
            codes(j, t, h) = cast<uint8_t>(code(j, h, t)) | (cast<uint8_t>(code(j + sh.half, h, t)) << 4);
        else
            codes(j, t, h) = cast<uint8_t>(code(j, h, t));
        scales(g, t, h) = scale(g, h, t);
        zeros(g, t, h) = zero(g, h, t);
    }

    codes.output_buffer().dim(0).set_bounds(0, sh.codeElems).set_stride(1);
    codes.output_buffer().dim(2).set_bounds(0, sh.nkv);
    scales.output_buffer().dim(0).set_bounds(0, sh.groups).set_stride(1);
    zeros.output_buffer().dim(0).set_bounds(0, sh.groups).set_stride(1);
    x.dim(0).set_bounds(0, sh.d).set_stride(1);
    x.dim(1).set_bounds(0, sh.nkv);
    cosT.dim(0).set_bounds(0, sh.half).set_stride(1);
    sinT.dim(0).set_bounds(0, sh.half).set_stride(1);
    codes.vectorize(j, s.vector).parallel(t);
    return AttentionPipeline{Pipeline({codes, scales, zeros}), {x, cosT, sinT}};
}

AttentionPipeline buildAttendPipeline(const dsl::RotationAttentionParams &p, const AttentionSchedule &s,
                                      const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(std::string("no lowering of rotation_attention for ") + target.name + " yet");
    const Shape sh = shapeOf(p);
    ImageParam q(Float(32), 3, "q"), cosT(Float(32), 2, "rope_cos"), sinT(Float(32), 2, "rope_sin");
    ImageParam kc(sh.codeType, 3, "k_codes"), ks(Float(32), 3, "k_scales"), kz(Float(32), 3, "k_zeros");
    ImageParam vc(sh.codeType, 3, "v_codes"), vs(Float(32), 3, "v_scales"), vz(Float(32), 3, "v_zeros");
    Param<int32_t> firstPos("first_pos");
    Var i("i"), h("h"), t("t"), j("j"), n("n"), u("u"), c("c"), gq("gq"), kh("kh");

    // Queries: RoPE, R3 and the 1/sqrt(d) of the scores, per head.
    Func qIn("q_in");
    qIn(i, h, t) = q(i, h, t);
    Func qr = rope(qIn, cosT, sinT, p.rope, sh, "q_roped");
    std::vector<Func> stages;
    Func qs("q_scaled");
    if (p.rotate) {
        stages = walshStages(qr, sh, "q_r3");
        // (H_d / sqrt(d)) q / sqrt(d) = H_d q / d, exact scaling (d is a power of two).
        qs(i, gq, kh, t) = stages.back()(i, gq + kh * sh.gs, t) * (1.0f / static_cast<float>(sh.d));
    } else {
        qs(i, gq, kh, t) = qr(i, gq + kh * sh.gs, t) * static_cast<float>(1.0 / std::sqrt(double(sh.d)));
    }

    // Cached tokens: u past the end (the last chunk's tail) reads the last
    // token and is masked out of the softmax.
    Expr len = kc.dim(1).extent();
    Expr uc = clamp(u, 0, len - 1);
    // Element j + n * d/2 of a token-head: int4 keeps it in nibble n of byte j.
    auto codeOf = [&](ImageParam codes, Expr jj, Expr nn, Expr tok, Expr head) {
        if (sh.bits == 16) return cast<float>(reinterpret(Float(16), codes(jj + nn * sh.half, tok, head)));
        if (sh.bits == 32) return Expr(codes(jj + nn * sh.half, tok, head));
        if (sh.bits == 4) {
            Expr b = codes(jj, tok, head);
            return cast<float>(select(nn == 0, b & 15, b >> 4));
        }
        return cast<float>(codes(jj + nn * sh.half, tok, head));
    };
    Func kdeq("k_dequant"), vdeq("v_dequant");
    {
        Expr grp = (j + n * sh.half) / sh.group;
        if (sh.floats)  // the values themselves: the scales (1) and zeros (0) are not read
            kdeq(j, n, u, kh) = codeOf(kc, j, n, uc, kh);
        else
            kdeq(j, n, u, kh) = ks(grp, uc, kh) * (codeOf(kc, j, n, uc, kh) - kz(grp, uc, kh));
    }
    {
        Expr jj = i % sh.half, nn = i / sh.half;
        Expr grp = i / sh.group;
        if (sh.floats)
            vdeq(i, u, kh) = codeOf(vc, jj, nn, uc, kh);
        else
            vdeq(i, u, kh) = vs(grp, uc, kh) * (codeOf(vc, jj, nn, uc, kh) - vz(grp, uc, kh));
    }

    // Scores of the queries against token u.
    RDom rs(0, sh.half, 0, 2, "rs");
    Func score("score");
    score(u, gq, kh, t) = 0.0f;
    score(u, gq, kh, t) += qs(rs.x + rs.y * sh.half, gq, kh, t) * kdeq(rs.x, rs.y, u, kh);

    // Per chunk of C tokens: its max m, weights exp(score - m), their sum l
    // and the weighted sum of V, all in one accumulator acc(i, c, ...):
    // lanes 0..d-1 the sum of V, lane d the sum l, lane d+1 the max m.
    const int C = s.chunk;
    RDom ru(0, C, "ru");
    Expr tok = c * C + ru;
    Expr visible = p.causal ? min(firstPos + t + 1, len) : len;
    Func chunkMax("chunk_max"), chunkSum("chunk_sum"), weight("weight"), vsum("v_sum"), acc("acc");
    chunkMax(c, gq, kh, t) = kNoScore;
    chunkMax(c, gq, kh, t) = max(chunkMax(c, gq, kh, t), select(tok < visible, score(tok, gq, kh, t), kNoScore));
    weight(u, gq, kh, t) = select(u < visible, expNonPositive(score(u, gq, kh, t) - chunkMax(u / C, gq, kh, t)), 0.0f);
    chunkSum(c, gq, kh, t) = 0.0f;
    chunkSum(c, gq, kh, t) += weight(tok, gq, kh, t);
    vsum(i, c, gq, kh, t) = 0.0f;
    vsum(i, c, gq, kh, t) += weight(tok, gq, kh, t) * vdeq(i, tok, kh);
    // Per chunk: the weighted sum of V, and (the same in every i) the max and the sum of weights.
    acc(i, c, gq, kh, t) = Tuple(vsum(i, c, gq, kh, t), chunkMax(c, gq, kh, t), chunkSum(c, gq, kh, t));

    // Combine the chunks (flash-decoding): rescale each by exp(m_c - M).
    Expr chunks = (len + C - 1) / C;
    RDom rc(0, chunks, "rc");
    Func gmax("global_max"), num("num"), den("den"), out("out");
    gmax(gq, kh, t) = kNoScore;
    gmax(gq, kh, t) = max(gmax(gq, kh, t), acc(0, rc, gq, kh, t)[1]);
    Expr scaleC = expNonPositive(acc(0, rc, gq, kh, t)[1] - gmax(gq, kh, t));
    den(gq, kh, t) = 0.0f;
    den(gq, kh, t) += scaleC * acc(0, rc, gq, kh, t)[2];
    num(i, gq, kh, t) = 0.0f;
    num(i, gq, kh, t) += scaleC * acc(i, rc, gq, kh, t)[0];
    out(i, gq, kh, t) = num(i, gq, kh, t) / den(gq, kh, t);

    // Schedule.
    q.dim(0).set_bounds(0, sh.d).set_stride(1);
    q.dim(1).set_bounds(0, sh.nq);
    cosT.dim(0).set_bounds(0, sh.half).set_stride(1);
    sinT.dim(0).set_bounds(0, sh.half).set_stride(1);
    kc.dim(0).set_bounds(0, sh.codeElems).set_stride(1);
    vc.dim(0).set_bounds(0, sh.codeElems).set_stride(1);
    for (ImageParam *sc : {&ks, &kz, &vs, &vz}) sc->dim(0).set_bounds(0, sh.groups).set_stride(1);
    for (ImageParam *cache : {&kc, &ks, &kz, &vc, &vs, &vz}) {
        cache->dim(1).set_min(0);
        cache->dim(2).set_bounds(0, sh.nkv);
    }
    out.output_buffer().dim(0).set_bounds(0, sh.d).set_stride(1);
    out.output_buffer().dim(1).set_bounds(0, sh.gs);
    out.output_buffer().dim(2).set_bounds(0, sh.nkv);

    const int V = s.vector;
    // The weighted sum of V runs in register tiles: `tileVectors` vectors of
    // head_dim for every query of the kv head (at most 16 accumulators), over
    // the chunk's tokens; a tile of int4 codes is one nibble of a run of bytes.
    const int tileVectors = std::clamp(16 / sh.gs, 1, sh.d / V);
    const int tile = tileVectors * V;
    Var task("task"), to("to"), ti("ti"), io("io"), ii("ii");
    out.vectorize(i, V);
    LoopLevel perTask;
    if (s.splitContext) {
        // Tasks (chunk, kv head) in parallel; all queries of the call in each.
        acc.compute_root()
            .split(i, io, ii, tile)
            .reorder(ii, gq, io, t, c, kh)
            .fuse(c, kh, task)
            .parallel(task)
            .vectorize(ii, V);
        perTask = LoopLevel(acc, task);
        gmax.compute_root();
        den.compute_root();
        num.compute_root().vectorize(i, V);
        num.update().vectorize(i, V);
    } else {
        // Tasks (kv head, tile of queries) in parallel, each walking the chunks.
        out.split(t, to, ti, s.queryTile, TailStrategy::GuardWithIf)
            .reorder(i, gq, ti, kh, to)
            .fuse(kh, to, task)
            .parallel(task);
        acc.compute_at(out, task)
            .split(i, io, ii, tile)
            .reorder(ii, gq, io, t, c)
            .vectorize(ii, V);
        gmax.compute_at(out, task);
        den.compute_at(out, task);
        num.compute_at(out, task).vectorize(i, V);
        num.update().vectorize(i, V);
        perTask = LoopLevel(out, task);
    }
    // Per task: the queries (RoPE, R3), then per chunk the scores, max and weights.
    for (Func &f : stages) f.compute_at(perTask).vectorize(i, V);
    if (p.rope != dsl::RopeKind::None) qr.compute_at(perTask).vectorize(i, V);
    qs.compute_at(perTask).vectorize(i, V);
    LoopLevel perChunk = s.splitContext ? LoopLevel(acc, task) : LoopLevel(acc, c);
    score.compute_at(perChunk);
    // Token outermost: a token's K is dequantized once for every query of its
    // kv head. The dot product over d runs in V lanes (rfactor: lane l sums
    // the elements l, l + V, ...), then one horizontal sum per score.
    RVar rxo("rxo"), rxi("rxi");
    Var lane("lane");
    score.update().split(rs.x, rxo, rxi, V);
    Func lanes = score.update().rfactor(rxi, lane);
    score.update().reorder(rxi, gq, t, u).atomic().vectorize(rxi);
    lanes.compute_at(score, gq).vectorize(lane);  // 16 lanes per score: registers
    lanes.update().reorder(lane, rxo, rs.y, gq, t).vectorize(lane);
    chunkMax.compute_at(perChunk);
    chunkSum.compute_at(perChunk);
    weight.compute_at(perChunk).vectorize(u, V);
    kdeq.compute_at(score, u).vectorize(j, V).unroll(n);  // before the lanes at u: once per token
    // The register tile: all of it (tile x queries) per token of the chunk.
    vsum.compute_at(acc, io).vectorize(i, V).unroll(i).unroll(gq);
    vsum.update().reorder(i, gq, ru).vectorize(i, V).unroll(i).unroll(gq);
    vdeq.compute_at(vsum, ru).vectorize(i, V);
    return AttentionPipeline{Pipeline(out), {q, cosT, sinT, kc, ks, kz, vc, vs, vz, firstPos}};
}

}  // namespace kf::codegen::rotation_attention
