#include "codegen/rotation_attention/AttentionHalide.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "codegen/CodegenError.h"
#include "kforge/detail/Attention.h"

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
// lastRow (when defined) clamps t's table row: rows past it read the last one.
Func rope(Func in, ImageParam cosT, ImageParam sinT, dsl::RopeKind kind, const Shape &sh, const std::string &name,
          Expr lastRow = Expr()) {
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
    Expr row = lastRow.defined() ? min(t, lastRow) : Expr(t);
    Expr c = cosT(j, row), s = sinT(j, row);
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

// One token-head's d = 2^n values in single-bit coordinates b_0 .. b_{n-1}
// (i = sum b_k 2^k), then h, t. The lowest `lanes` bits are vectorized
// together, one dense vector; the others are unrolled. A butterfly over a
// high bit is then one add or sub of two vectors, over a lane bit a lane
// permute (as in codegen/hadamard/HadamardHalide.cpp): no gathers, which a
// flat index's partner i +- 2^k (clamped to the row) would need.
struct BitCoords {
    std::vector<Var> b;
    Var h{"h"}, t{"t"};
    int lanes = 0;
    BitCoords(int d, int vector) {
        for (int k = 0; (1 << k) < d; ++k) b.emplace_back("b" + std::to_string(k));
        while ((2 << lanes) <= vector && lanes < static_cast<int>(b.size())) ++lanes;
    }
    std::vector<Expr> args() const {
        std::vector<Expr> a(b.begin(), b.end());
        a.push_back(h);
        a.push_back(t);
        return a;
    }
    std::vector<Var> vars() const {
        std::vector<Var> a(b);
        a.push_back(h);
        a.push_back(t);
        return a;
    }
    std::vector<Expr> with(int k, Expr v) const {
        std::vector<Expr> a = args();
        a[k] = std::move(v);
        return a;
    }
    // sum over k in [from, to) of c[k] 2^(k - from)
    template <typename C>
    static Expr flat(const C &c, int from, int to) {
        Expr f = 0;
        for (int k = to - 1; k >= from; --k) f = f * 2 + c[k];
        return f;
    }
    void schedule(Func f, const LoopLevel &at) const {
        f.compute_at(at);
        for (int k = 0; k < static_cast<int>(b.size()); ++k) {
            if (k < lanes) f.vectorize(b[k]);
            else f.unroll(b[k]);
        }
    }
};

// RoPE and R3 of one token-head of keys, in BitCoords; returns the rotated
// values indexed flat (i, h, t). Same arithmetic as rope() and walshStages():
// the stored codes do not depend on the coordinates.
Func rotateKeys(Func in, ImageParam cosT, ImageParam sinT, const dsl::RotationAttentionParams &p, const Shape &sh,
                int vector, const LoopLevel &at) {
    const BitCoords bc(sh.d, vector);
    const int n = static_cast<int>(bc.b.size());
    std::vector<Func> funcs;
    Func cur("k_bits");
    {
        std::vector<Expr> flatArgs{BitCoords::flat(bc.b, 0, n), bc.h, bc.t};
        cur(bc.vars()) = in(flatArgs);
    }
    funcs.push_back(cur);
    if (p.rope != dsl::RopeKind::None) {
        // Rotate-half pairs i with i ^ d/2 (the top bit), angle j = i mod d/2;
        // interleaved pairs i with i ^ 1 (bit 0), angle j = i / 2. First of a
        // pair: a c - b s; second: a s + b c (b the element itself).
        const int pb = p.rope == dsl::RopeKind::Half ? n - 1 : 0;
        Expr j = p.rope == dsl::RopeKind::Half ? BitCoords::flat(bc.b, 0, n - 1) : BitCoords::flat(bc.b, 1, n);
        Expr c = cosT(j, bc.t), s = sinT(j, bc.t);
        Expr a0 = cur(bc.with(pb, 0)), a1 = cur(bc.with(pb, 1)), self = cur(bc.args());
        Func roped("k_roped");
        roped(bc.vars()) = select(bc.b[pb] == 0, self * c - a1 * s, a0 * s + self * c);
        funcs.push_back(roped);
        cur = roped;
    }
    if (p.rotate) {
        for (int k = 0; k < n; ++k) {  // bit 1 first, as walshStages
            Func next("k_r3_" + std::to_string(1 << k));
            if (k < bc.lanes) {
                // v[e] = v[e ^ 2^k] + (e_k ? -1 : +1) v[e]: exactly the add or sub.
                next(bc.vars()) = cur(bc.with(k, 1 - bc.b[k])) + select(bc.b[k] == 0, 1.0f, -1.0f) * cur(bc.args());
            } else {
                Expr lo = cur(bc.with(k, 0)), hi = cur(bc.with(k, 1));
                next(bc.vars()) = select(bc.b[k] == 0, lo + hi, lo - hi);
            }
            funcs.push_back(next);
            cur = next;
        }
        Func r3("k_rotated");
        // R3 = H_d / sqrt(d): strict, so the stored values do not depend on
        // how LLVM fuses the last stage with the scale.
        r3(bc.vars()) = strict_float(cur(bc.args()) * static_cast<float>(1.0 / std::sqrt(double(sh.d))));
        funcs.push_back(r3);
        cur = r3;
    }
    // Back to a flat index: each point of r writes its own element.
    Var i("i"), h("h"), t("t");
    Func out("k_rot");
    out(i, h, t) = undef<float>();
    Region bits(n, Range(0, 2));
    RDom r(bits, "r");
    std::vector<Expr> rArgs, rBits;
    for (int k = 0; k < n; ++k) rBits.push_back(r[k]);
    rArgs = rBits;
    rArgs.push_back(h);
    rArgs.push_back(t);
    out(BitCoords::flat(rBits, 0, n), h, t) = cur(rArgs);
    out.compute_at(at);
    Stage u = out.update();
    u.allow_race_conditions();
    for (int k = 0; k < n; ++k) {
        if (k < bc.lanes) u.vectorize(r[k]);
        else u.unroll(r[k]);
    }
    // The stages of one token-head at a time (d floats: registers and L1).
    for (Func &f : funcs) bc.schedule(f, LoopLevel(out, h));
    return out;
}

}  // namespace

// One pass per token: everything of a token (all its kv heads) is computed in
// registers and a few KiB of stack at the loop over t, then stored; tokens
// run in parallel. (Computing each stage over all T tokens at root cost a
// pass over memory per stage and page faults on its buffers.)
AttentionPipeline buildAppendPipeline(const dsl::RotationAttentionParams &p, bool isKey, const AttentionSchedule &s,
                                      const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(std::string("no lowering of rotation_attention for ") + target.name + " yet");
    const Shape sh = shapeOf(p);
    ImageParam x(Float(32), 3, "x"), cosT(Float(32), 2, "rope_cos"), sinT(Float(32), 2, "rope_sin");
    Var i("i"), h("h"), t("t"), g("g"), j("j"), l("l");

    Func codes("codes"), scales("scales"), zeros("zeros");
    const LoopLevel perToken(codes, t);
    Func in("in");
    in(i, h, t) = x(i, h, t);
    Func rot = in;
    if (isKey && (p.rope != dsl::RopeKind::None || p.rotate)) rot = rotateKeys(in, cosT, sinT, p, sh, s.vector, perToken);

    std::vector<Func> perTokenFuncs;
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
        // steps of the definition (strict_float: true divisions). lo and hi
        // first per lane, then across the lanes (min and max are exact in
        // any order).
        const int lanesQ = std::min(s.vector, sh.group);
        const int steps = sh.group / lanesQ;
        Func loL("lo_lanes"), hiL("hi_lanes"), lo("lo"), hi("hi"), scale("scale"), zero("zero");
        loL(l, g, h, t) = rot(g * sh.group + l, h, t);
        hiL(l, g, h, t) = rot(g * sh.group + l, h, t);
        if (steps > 1) {
            RDom rv(1, steps - 1, "rv");
            loL(l, g, h, t) = min(loL(l, g, h, t), rot(g * sh.group + l + lanesQ * rv, h, t));
            hiL(l, g, h, t) = max(hiL(l, g, h, t), rot(g * sh.group + l + lanesQ * rv, h, t));
        }
        lo(g, h, t) = loL(0, g, h, t);
        hi(g, h, t) = hiL(0, g, h, t);
        if (lanesQ > 1) {
            RDom rl(1, lanesQ - 1, "rl");
            lo(g, h, t) = min(lo(g, h, t), loL(rl, g, h, t));
            hi(g, h, t) = max(hi(g, h, t), hiL(rl, g, h, t));
        }
        Expr L = static_cast<float>(sh.levels);
        Expr spread = hi(g, h, t) > lo(g, h, t);
        scale(g, h, t) = select(spread, strict_float(strict_float(hi(g, h, t) - lo(g, h, t)) / L), abs(lo(g, h, t)));
        zero(g, h, t) = select(spread, roundHalfAway(strict_float(-lo(g, h, t) / scale(g, h, t))),
                               select(lo(g, h, t) > 0.0f, -1.0f, lo(g, h, t) < 0.0f, 1.0f, 0.0f));
        for (Func f : {loL, hiL}) {
            f.compute_at(perToken).vectorize(l);
            if (steps > 1) f.update().vectorize(l);
        }
        for (Func f : {lo, hi, scale, zero}) f.compute_at(perToken);

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
        // rot, when it is a Func of its own, was scheduled by rotateKeys.
    }

    codes.output_buffer().dim(0).set_bounds(0, sh.codeElems).set_stride(1);
    codes.output_buffer().dim(2).set_bounds(0, sh.nkv);
    scales.output_buffer().dim(0).set_bounds(0, sh.groups).set_stride(1);
    scales.output_buffer().dim(2).set_bounds(0, sh.nkv);
    zeros.output_buffer().dim(0).set_bounds(0, sh.groups).set_stride(1);
    zeros.output_buffer().dim(2).set_bounds(0, sh.nkv);
    x.dim(0).set_bounds(0, sh.d).set_stride(1);
    x.dim(1).set_bounds(0, sh.nkv);
    cosT.dim(0).set_bounds(0, sh.half).set_stride(1);
    sinT.dim(0).set_bounds(0, sh.half).set_stride(1);
    // Loops t (parallel), h, then the elements; scales and zeros in the same
    // loop over t as the codes, so that a token's scale is computed once.
    codes.reorder(j, h, t).vectorize(j, std::min(s.vector, sh.codeElems)).parallel(t);
    scales.reorder(g, h, t).parallel(t).compute_with(codes, t);
    zeros.reorder(g, h, t).parallel(t).compute_with(codes, t);
    return AttentionPipeline{Pipeline({codes, scales, zeros}), {x, cosT, sinT}};
}

AttentionPipeline buildAttendPipeline(const dsl::RotationAttentionParams &p, const AttentionSchedule &s,
                                      const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(std::string("no lowering of rotation_attention for ") + target.name + " yet");
    const Shape sh = shapeOf(p);
    const int B = static_cast<int>(rt::kKeyBlock);  // K's tokens per block
    if (s.chunk % B != 0)
        throw CodegenError("rotation_attention's context chunk must be a multiple of " + std::to_string(B) + " tokens");
    ImageParam q(Float(32), 3, "q"), cosT(Float(32), 2, "rope_cos"), sinT(Float(32), 2, "rope_sin");
    ImageParam kc(sh.codeType, 4, "k_codes"), ks(Float(32), 4, "k_scales"), kz(Float(32), 4, "k_zeros");
    ImageParam vc(sh.codeType, 3, "v_codes"), vs(Float(32), 3, "v_scales"), vz(Float(32), 3, "v_zeros");
    Param<int32_t> firstPos("first_pos"), length("length");
    Var i("i"), h("h"), t("t"), u("u"), c("c"), gq("gq"), kh("kh"), l("l"), b("b"), g("g"), j("j"), n("n");

    // Queries: RoPE, R3 and the 1/sqrt(d) of the scores, per head. A query
    // tile may run past the last query: it reads the last one again (and its
    // results are not stored).
    Expr lastQuery = q.dim(2).extent() - 1;
    Func qIn("q_in");
    qIn(i, h, t) = q(i, h, min(t, lastQuery));
    Func qr = rope(qIn, cosT, sinT, p.rope, sh, "q_roped", lastQuery);
    std::vector<Func> stages;
    Func qs("q_scaled");
    if (p.rotate) {
        stages = walshStages(qr, sh, "q_r3");
        // (H_d / sqrt(d)) q / sqrt(d) = H_d q / d, exact scaling (d is a power of two).
        qs(i, gq, kh, t) = stages.back()(i, gq + kh * sh.gs, t) * (1.0f / static_cast<float>(sh.d));
    } else {
        qs(i, gq, kh, t) = qr(i, gq + kh * sh.gs, t) * static_cast<float>(1.0 / std::sqrt(double(sh.d)));
    }

    // Cached tokens: `length` of them, in whole blocks of B (K in blocks,
    // element-major: token l of block b; V token-major: kforge/detail/Attention.h).
    // A block past the last (a chunk's tail) reads the last one; tokens past
    // the length are masked out of the softmax and skipped in V's sum.
    Expr len = length;
    Expr lastBlock = kc.dim(2).extent() - 1;
    // Element j + n * d/2 of a V token-head: int4 keeps it in nibble n of byte j.
    auto valueCode = [&](Expr jj, Expr nn, Expr tok) {
        if (sh.bits == 16) return cast<float>(reinterpret(Float(16), vc(jj + nn * sh.half, tok, kh)));
        if (sh.bits == 32) return Expr(vc(jj + nn * sh.half, tok, kh));
        if (sh.bits == 4) {
            Expr byte = vc(jj, tok, kh);
            return cast<float>(select(nn == 0, byte & 15, byte >> 4));
        }
        return cast<float>(vc(jj + nn * sh.half, tok, kh));
    };
    // The same element of K's token l of block blk.
    auto keyCode = [&](Expr jj, Expr nn, Expr blk) {
        if (sh.bits == 16) return cast<float>(reinterpret(Float(16), kc(l, jj + nn * sh.half, blk, kh)));
        if (sh.bits == 32) return Expr(kc(l, jj + nn * sh.half, blk, kh));
        if (sh.bits == 4) {
            Expr byte = kc(l, jj, blk, kh);
            return cast<float>(select(nn == 0, byte & 15, byte >> 4));
        }
        return cast<float>(kc(l, jj + nn * sh.half, blk, kh));
    };
    // V's codes as f32 (the scale and zero point are applied per token below).
    Func vcode("v_code");
    vcode(j, n, u, kh) = valueCode(j, n, u);

    // Scores of the queries against token l of block b, per group g of K:
    // s_g (sum q c - z_g sum q) over the group, summed over the groups (f16
    // / f32 caches: sum q c). The group's elements j + n * d/2: a group of all d
    // elements spans both halves (n = 0, 1); a smaller one lies in one half.
    const int G = sh.group;
    RDom rd(0, std::min(G, sh.half), 0, std::max(1, G / sh.half), "rd");
    const int perHalf = std::max(1, sh.half / G);  // groups per half
    Expr ej = G >= sh.half ? Expr(rd.x) : (g % perHalf) * G + rd.x;
    Expr en = G >= sh.half ? Expr(rd.y) : g / perHalf;
    Expr blk = min(b, lastBlock);
    Func dot("k_dot"), score("score"), qsum("q_sum");
    dot(l, b, g, gq, kh, t) = 0.0f;
    dot(l, b, g, gq, kh, t) += qs(ej + en * sh.half, gq, kh, t) * keyCode(ej, en, blk);
    if (sh.floats) {
        score(l, b, gq, kh, t) = dot(l, b, 0, gq, kh, t);
    } else {
        qsum(g, gq, kh, t) = 0.0f;
        qsum(g, gq, kh, t) += qs(ej + en * sh.half, gq, kh, t);
        auto term = [&](int gi) {
            return ks(l, gi, blk, kh) * (dot(l, b, gi, gq, kh, t) - kz(l, gi, blk, kh) * qsum(gi, gq, kh, t));
        };
        Expr sum = term(0);
        for (int gi = 1; gi < sh.groups; ++gi) sum = sum + term(gi);
        score(l, b, gq, kh, t) = sum;
    }

    // Per chunk of C tokens (C / B blocks): its max m, weights p = exp(score
    // - m), their sum l and the weighted sum of V, all in one accumulator
    // acc(j, n, c, ...): the sum of V's element j + n d/2, the max m and the sum l.
    // Quantized V: sum over tokens of (p s) (c - z), p s and c - z once per token.
    const int C = s.chunk, CB = C / B;
    RDom rr(0, B, 0, CB, "rr");
    Expr blkR = c * CB + rr.y, tok = blkR * B + rr.x;
    Expr visible = p.causal ? min(firstPos + t + 1, len) : len;
    Func chunkMax("chunk_max"), chunkSum("chunk_sum"), weight("weight"), vsum("v_sum"), acc("acc");
    chunkMax(c, gq, kh, t) = kNoScore;
    chunkMax(c, gq, kh, t) = max(chunkMax(c, gq, kh, t), select(tok < visible, score(rr.x, blkR, gq, kh, t), kNoScore));
    weight(l, b, gq, kh, t) =
        select(b * B + l < visible, expNonPositive(score(l, b, gq, kh, t) - chunkMax(b / CB, gq, kh, t)), 0.0f);
    chunkSum(c, gq, kh, t) = 0.0f;
    chunkSum(c, gq, kh, t) += weight(rr.x, blkR, gq, kh, t);
    Func ws("v_weight"), vcodeZ("v_code_minus_zero");
    RDom rv(0, B, 0, CB, "rv");  // rr, skipping the tokens past the length
    Expr blkV = c * CB + rv.y, tokVis = blkV * B + rv.x, tokVbuf = min(blkV, lastBlock) * B + rv.x;
    rv.where(tokVis < len);
    Expr vgrp = (j + n * sh.half) / sh.group;
    vsum(j, n, c, gq, kh, t) = 0.0f;
    if (sh.floats) {
        vsum(j, n, c, gq, kh, t) += weight(rv.x, blkV, gq, kh, t) * vcode(j, n, tokVbuf, kh);
    } else {
        // Per token: its weights times its scales (vectors over the block's
        // tokens), and its codes minus its zero points (once for every query).
        ws(l, b, g, gq, kh, t) = weight(l, b, gq, kh, t) * vs(g, min(b, lastBlock) * B + l, kh);
        vcodeZ(j, n, u, kh) = vcode(j, n, u, kh) - vz(vgrp, u, kh);
        vsum(j, n, c, gq, kh, t) += ws(rv.x, blkV, vgrp, gq, kh, t) * vcodeZ(j, n, tokVbuf, kh);
    }
    acc(j, n, c, gq, kh, t) = Tuple(vsum(j, n, c, gq, kh, t), chunkMax(c, gq, kh, t), chunkSum(c, gq, kh, t));

    // Combine the chunks (flash-decoding): rescale each by exp(m_c - M).
    Expr chunks = (len + C - 1) / C;
    RDom rc(0, chunks, "rc");
    Func gmax("global_max"), num("num"), den("den"), out("out");
    gmax(gq, kh, t) = kNoScore;
    gmax(gq, kh, t) = max(gmax(gq, kh, t), acc(0, 0, rc, gq, kh, t)[1]);
    Expr scaleC = expNonPositive(acc(0, 0, rc, gq, kh, t)[1] - gmax(gq, kh, t));
    den(gq, kh, t) = 0.0f;
    den(gq, kh, t) += scaleC * acc(0, 0, rc, gq, kh, t)[2];
    num(i, gq, kh, t) = 0.0f;
    num(i, gq, kh, t) += scaleC * acc(i % sh.half, i / sh.half, rc, gq, kh, t)[0];
    out(i, gq, kh, t) = num(i, gq, kh, t) / den(gq, kh, t);

    // Schedule.
    q.dim(0).set_bounds(0, sh.d).set_stride(1);
    q.dim(1).set_bounds(0, sh.nq);
    cosT.dim(0).set_bounds(0, sh.half).set_stride(1);
    sinT.dim(0).set_bounds(0, sh.half).set_stride(1);
    kc.dim(0).set_bounds(0, B).set_stride(1);
    kc.dim(1).set_bounds(0, sh.codeElems).set_stride(B);
    for (ImageParam *sc : {&ks, &kz}) {
        sc->dim(0).set_bounds(0, B).set_stride(1);
        sc->dim(1).set_bounds(0, sh.groups).set_stride(B);
    }
    for (ImageParam *key : {&kc, &ks, &kz}) {
        key->dim(2).set_min(0);
        key->dim(3).set_bounds(0, sh.nkv);
    }
    vc.dim(0).set_bounds(0, sh.codeElems).set_stride(1);
    for (ImageParam *sc : {&vs, &vz}) sc->dim(0).set_bounds(0, sh.groups).set_stride(1);
    for (ImageParam *value : {&vc, &vs, &vz}) {
        value->dim(1).set_min(0);
        value->dim(2).set_bounds(0, sh.nkv);
    }
    out.output_buffer().dim(0).set_bounds(0, sh.d).set_stride(1);
    out.output_buffer().dim(1).set_bounds(0, sh.gs);
    out.output_buffer().dim(2).set_bounds(0, sh.nkv);

    const int V = s.vector;
    // Register tiles: at most `budget` vector accumulators (half the vector
    // registers). Scores: Vk lanes of a block's tokens x `tileB` blocks x
    // every query of the kv head x `tq` query tokens, so one load of a K code
    // element of B tokens feeds gs x tq FMAs. Weighted sum of V: `tileVectors`
    // vectors of head_dim x the queries x `tq` query tokens. Decode has one
    // query token per call (tq = 1); prefill tiles them.
    const int budget = target.arch == targets::Arch::X86_64 && target.vectorBits < 512 ? 8 : 16;
    const int Vk = std::min(V, B), kVecs = B / Vk;
    const int tq = s.splitContext ? 1 : std::clamp(budget / (sh.gs * kVecs), 1, 8);
    const int tileB = std::max(1, budget / 2 / (sh.gs * kVecs * tq));
    const int tileVectors = std::clamp(budget / (sh.gs * tq), 1, sh.half / V);
    const int tile = tileVectors * V;
    Var task("task"), to("to"), ti("ti"), jo("jo"), ji("ji"), tvo("tvo"), tvi("tvi");
    out.vectorize(i, V);
    LoopLevel perTask;
    if (s.splitContext) {
        // Tasks (chunk, kv head) in parallel; all queries of the call in each.
        acc.compute_root()
            .split(j, jo, ji, tile)
            .reorder(ji, gq, jo, n, t, c, kh)
            .fuse(c, kh, task)
            .parallel(task)
            .vectorize(ji, V)
            .unroll(n);
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
            .split(j, jo, ji, tile)
            .split(t, tvo, tvi, tq, TailStrategy::RoundUp)
            .reorder(ji, gq, tvi, jo, n, tvo, c)
            .vectorize(ji, V)
            .unroll(n);
        gmax.compute_at(out, task);
        den.compute_at(out, task);
        num.compute_at(out, task).vectorize(i, V);
        num.update().vectorize(i, V);
        perTask = LoopLevel(out, task);
    }
    // Per task: the queries (RoPE, R3), then per chunk the scores, max and
    // weights. The butterfly stages run in scalar code: vectorized, their
    // clamped partner indices become gathers (measured: a quarter of a
    // prefill's time, against a few percent in scalar code).
    for (Func &f : stages) f.compute_at(perTask);
    if (p.rope != dsl::RopeKind::None) qr.compute_at(perTask).vectorize(i, V);
    qs.compute_at(perTask).vectorize(i, V);
    if (!sh.floats) qsum.compute_at(perTask);
    LoopLevel perChunk = s.splitContext ? LoopLevel(acc, task) : LoopLevel(acc, c);
    Var bo("bo"), bi("bi"), tso("tso"), tsi("tsi"), lane("lane");
    score.bound(l, 0, B)
        .compute_at(perChunk)
        .split(b, bo, bi, tileB, TailStrategy::RoundUp)
        .split(t, tso, tsi, tq, TailStrategy::RoundUp)
        .reorder(l, gq, tsi, bi, bo, tso)
        .vectorize(l, Vk)
        .unroll(l)
        .unroll(gq)
        .unroll(tsi)
        .unroll(bi);
    // The score tile in registers, over the group's elements: one load of a
    // code element of B tokens (both nibbles of its bytes) for every query.
    dot.compute_at(score, bo).vectorize(l, Vk).unroll(l).unroll(b).unroll(g).unroll(gq).unroll(t);
    dot.update()
        .reorder(l, gq, t, b, rd.y, rd.x, g, kh)
        .vectorize(l, Vk)
        .unroll(l)
        .unroll(gq)
        .unroll(t)
        .unroll(b)
        .unroll(rd.y)
        .unroll(g);
    // The chunk's max and sum of weights in Vk lanes, then across them.
    chunkMax.compute_at(perChunk);
    chunkSum.compute_at(perChunk);
    for (Func *f : {&chunkMax, &chunkSum}) {
        Func lanes = f->update().rfactor(rr.x, lane);
        const std::vector<Var> args = lanes.args();  // the reduction's pure vars, then lane
        std::vector<Var> storage{lane};
        for (const Var &v : args)
            if (v.name() != lane.name()) storage.push_back(v);
        lanes.compute_at(perChunk).reorder_storage(storage).vectorize(lane, Vk);
        lanes.update().vectorize(lane, Vk);
    }
    weight.bound(l, 0, B).compute_at(perChunk).vectorize(l, Vk);
    // The register tile of V: all of it (tile x queries x query tokens) per token of the chunk.
    vsum.compute_at(acc, jo).vectorize(j, V).unroll(j).unroll(gq).unroll(t);
    vsum.update().reorder(j, gq, t, rv.x, rv.y).vectorize(j, V).unroll(j).unroll(gq).unroll(t);
    if (sh.floats) {
        vcode.compute_at(vsum, rv.x).vectorize(j, V);
    } else {
        vcodeZ.compute_at(vsum, rv.x).vectorize(j, V);
        ws.bound(l, 0, B).compute_at(perChunk).vectorize(l, Vk);
    }
    return AttentionPipeline{Pipeline(out), {q, cosT, sinT, kc, ks, kz, vc, vs, vz, firstPos, length}};
}

}  // namespace kf::codegen::rotation_attention
