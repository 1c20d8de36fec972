// sparse_rank_linear (R-Sparse): y = W (x . m) + U (V (x . (1 - m))),
// m_i = |x_i| > tau (threshold) or the top-k magnitudes of each token; U [N,r]
// and V [r,K] from the rank-r truncated SVD of W (docs/formats.md,
// "Sparse-rank linear"). Statements (docs/dsl.md, "sparse_rank_linear"):
//
//   weight   f32|bf16|int2|int3|int4|int8|none shape=[N=.., K=..] [scale=..] [group=..]
//                                       none: no W and no mask, y = U (V x) (pure low rank)
//   rank     <r> [factors=f32|bf16|int8] 0 <= r <= min(N, K) (0: no low-rank term; >= 1
//                                       with `weight none`); U and V in f32, bf16, or
//                                       int8 with a scale per row
//   sparsity threshold [tau=<t>] | sparsity topk=<k>   (tau: the threshold, default 0;
//                                        `kforge calibrate --write` sets it; not with
//                                        `weight none`)
//   input    f32
//   output   f32
#include "dsl/SpecJson.h"
#include "dsl/families/Family.h"
#include "dsl/families/StatementReader.h"
#include "dsl/families/WeightFormats.h"

#include <algorithm>
#include <cmath>

namespace kf::dsl {
namespace {

constexpr const char *kWeightUsage =
    "weight f32|bf16|int2|int3|int4|int8|none shape=[N=<n>, K=<k>] [scale=f32|f16|bf16] "
    "[group=32|64|128|256|channel]";

void readWeight(const Statement &st, SparseRankLinearParams &p, DiagnosticSink &sink) {
    checkArgs(st, 1, 1, {"shape", "scale", "group"}, kWeightUsage, sink);
    auto pos = positionals(st);
    if (!pos.empty()) {
        const Value &f = *pos[0];
        std::optional<WeightFormat> format;
        if (f.kind == Value::Kind::Word && (f.text == "f32" || f.text == "bf16")) {
            p.denseWeight = true;
            p.denseBits = f.text == "f32" ? 32 : 16;
        } else if (f.kind == Value::Kind::Word && f.text == "none") {
            p.denseWeight = true;
            p.noWeight = true;
        } else if (f.kind == Value::Kind::Word && (format = parseWeightFormat(f.text)) &&
                   format->kind == WeightKind::Int) {
            p.denseWeight = false;
            p.weight = *format;
        } else {
            sink.error(f.loc, "unknown weight format '" + describe(f) +
                                  "' for sparse_rank_linear; expected one of f32, bf16, int2, int3, int4, int8, none");
        }
    }
    readWeightShape(st, p.n, p.k, kWeightUsage, sink);
    for (const char *key : {"scale", "group"}) {
        const Value *v = findAttr(st, key);
        if (v && p.denseWeight && !pos.empty())
            sink.error(v->loc, std::string(key) + "= is only for quantized weights, not " + pos[0]->text);
    }
    if (p.denseWeight) return;
    if (const Value *scale = findAttr(st, "scale"))
        if (auto t = readScaleType(*scale, sink)) p.scaleType = *t;
    if (const Value *group = findAttr(st, "group"))
        if (auto g = readGroup(*group, sink))
            if (checkGroupFits(*g, p.k, group->loc, sink)) p.group = *g;
}

void readRank(const Statement &st, SparseRankLinearParams &p, DiagnosticSink &sink) {
    if (!checkArgs(st, 1, 1, {"factors"}, "rank <r> [factors=f32|bf16|int8]", sink)) return;
    if (const Value *f = findAttr(st, "factors"))
        if (auto bits = pickWord<int>(*f, "factor format", {{"f32", 32}, {"bf16", 16}, {"int8", 8}}, sink))
            p.factorBits = *bits;
    const Value &v = *positionals(st)[0];
    int64_t hi = kMaxDim;
    std::string bound;
    if (p.n.size && p.k.size) {
        hi = std::min(*p.n.size, *p.k.size);
        bound = "min(N, K) = " + std::to_string(hi);
    }
    if (v.kind == Value::Kind::Int && v.intValue > hi && !bound.empty()) {
        sink.error(v.loc, "rank " + v.text + " exceeds " + bound);
        return;
    }
    if (p.noWeight && v.kind == Value::Kind::Int && v.intValue == 0) {
        sink.error(v.loc, "rank 0 with 'weight none' leaves the layer nothing to compute; give r >= 1");
        return;
    }
    if (auto r = readInt(v, "rank", 0, hi, sink)) p.rank = static_cast<int>(*r);
}

void readSparsity(const Statement &st, SparseRankLinearParams &p, DiagnosticSink &sink) {
    constexpr const char *usage = "sparsity threshold [tau=<t>] | sparsity topk=<k>";
    if (!checkArgs(st, 0, 1, {"topk", "tau"}, usage, sink)) return;
    auto pos = positionals(st);
    const Value *topk = findAttr(st, "topk");
    if (const Value *tau = findAttr(st, "tau")) {
        if (topk) {
            sink.error(tau->loc, "tau= is the threshold of 'sparsity threshold'; a topk kernel has none");
            return;
        }
        const bool number = tau->kind == Value::Kind::Float || tau->kind == Value::Kind::Int;
        const double t = tau->kind == Value::Kind::Float ? tau->floatValue : static_cast<double>(tau->intValue);
        if (!number || !std::isfinite(t) || t < 0 || t > 3.4e38) {
            sink.error(tau->loc, "tau must be a finite number >= 0 (|x| > tau marks a channel active), got '" +
                                     describe(*tau) + "'");
            return;
        }
        p.tau = t;
    }
    if (pos.empty() == !topk) {
        sink.error(st.loc, std::string("'sparsity' takes either 'threshold' or topk=<k>; usage: ") + usage);
        return;
    }
    if (!pos.empty()) {
        if (pickWord<SparsityMode>(*pos[0], "sparsity mode", {{"threshold", SparsityMode::Threshold}}, sink))
            p.mode = SparsityMode::Threshold;
        return;
    }
    int64_t hi = p.k.size ? *p.k.size : kMaxDim;
    if (topk->kind == Value::Kind::Int && p.k.size && topk->intValue > hi) {
        sink.error(topk->loc, "topk " + topk->text + " exceeds K=" + std::to_string(hi));
        return;
    }
    if (auto k = readInt(*topk, "topk", 1, hi, sink)) {
        p.mode = SparsityMode::TopK;
        p.topK = static_cast<int>(*k);
    }
}

FamilyParams check(const KernelDecl &kernel, DiagnosticSink &sink) {
    SparseRankLinearParams p;
    KernelBody body(kernel, "sparse_rank_linear", {"weight", "rank", "sparsity", "input", "output"}, sink);
    for (const char *head : {"weight", "rank", "input", "output"}) body.require(head);
    if (const Statement *st = body.find("weight")) readWeight(*st, p, sink);
    if (const Statement *st = body.find("rank")) readRank(*st, p, sink);
    if (const Statement *st = body.find("sparsity")) {
        if (p.noWeight)
            sink.error(st->loc, "'weight none' has no sparse term and so no mask: every channel goes through "
                                "U (V x); remove 'sparsity'");
        else
            readSparsity(*st, p, sink);
    } else if (!p.noWeight) {
        body.require("sparsity");
    }
    if (const Statement *st = body.find("input")) {
        checkArgs(*st, 1, 1, {}, "input f32", sink);
        auto pos = positionals(*st);
        if (!pos.empty()) pickWord<ActKind>(*pos[0], "input type", {{"f32", ActKind::F32}}, sink);
    }
    if (const Statement *st = body.find("output")) {
        checkArgs(*st, 1, 1, {}, "output f32", sink);
        auto pos = positionals(*st);
        if (!pos.empty()) pickWord<ScalarType>(*pos[0], "output type", {{"f32", ScalarType::F32}}, sink);
    }
    return p;
}

// W, U and V are all re-layouted for the kernel (f32 too), so `pack weight`
// applies whatever W's format.
bool packed(const FamilyParams &) { return true; }

// Rows of x first (what shape buckets select on), then N and K.
std::vector<Dim> dims(const FamilyParams &params) {
    const auto &p = std::get<SparseRankLinearParams>(params);
    return {Dim{"M", std::nullopt}, p.n, p.k};
}

Json toJson(const FamilyParams &params) {
    const auto &p = std::get<SparseRankLinearParams>(params);
    Json j;
    j["weight"] = p.denseWeight ? Json(nullptr) : weightJson(p.weight);
    j["dense_weight"] = p.denseWeight && !p.noWeight;
    // "none" (no W), "f32", "bf16", or the quantized format ("int4").
    j["weight_type"] = p.noWeight ? "none" : !p.denseWeight ? "int" + std::to_string(p.weight.bits)
                                   : p.denseBits == 16 ? "bf16" : "f32";
    j["n"] = dimJson(p.n);
    j["k"] = dimJson(p.k);
    j["rank"] = p.rank;
    j["factors"] = p.factorBits == 8 ? "int8" : p.factorBits == 16 ? "bf16" : "f32";
    j["mode"] = p.mode == SparsityMode::TopK ? "topk" : "threshold";
    j["topk"] = p.topK;
    j["tau"] = p.tau;
    j["scale_type"] = toString(p.scaleType);
    j["group"] = p.group;
    j["input"] = toString(p.input);
    return j;
}

}  // namespace

namespace sparse_rank_linear {

FamilyDef family() {
    return FamilyDef{.family = Family::SparseRankLinear,
                     .name = "sparse_rank_linear",
                     .statements = {"weight", "rank", "sparsity", "input", "output"},
                     .scheduleVars = {"m", "n", "k", "r"},
                     .checkKernel = &check,
                     .hasPackedWeights = &packed,
                     .dims = &dims,
                     .toJson = &toJson};
}

}  // namespace sparse_rank_linear

}  // namespace kf::dsl
