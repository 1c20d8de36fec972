// rotation_attention: attention of Q over a quantized KV cache (int4 / int8,
// asymmetric per (token, kv-head) or per group: docs/formats.md, "KV cache
// (int4, int8)"), with the SpinQuant / QuaRot R3 Hadamard applied per head to Q and K
// after RoPE. Statements (docs/dsl.md, "rotation_attention"):
//
//   heads    q=<n> kv=<n> dim=<d>      q % kv == 0 (GQA), d a power of two 32..256
//   kv_cache int4|int8 [group=<g>]     g divides d
//   kv_cache f16|f32                   the values themselves (no group)
//   rotate   r3|none                   (optional, default r3)
//   rope     [half|interleaved|none]   (optional, default half; bare `rope` = half)
//   mask     causal|none               (optional, default causal)
//   input    f32
#include "dsl/SpecJson.h"
#include "dsl/families/Family.h"
#include "dsl/families/StatementReader.h"

namespace kf::dsl {
namespace {

constexpr const char *kHeadsUsage = "heads q=<heads> kv=<kv heads> dim=<head dim>";

// Returns whether head_dim was read (kv_cache group checks need it).
bool readHeads(const Statement &st, RotationAttentionParams &p, DiagnosticSink &sink) {
    checkArgs(st, 0, 0, {"q", "kv", "dim"}, kHeadsUsage, sink);
    const Value *q = findAttr(st, "q"), *kv = findAttr(st, "kv"), *dim = findAttr(st, "dim");
    if (!q || !kv || !dim) {
        std::string missing = !q ? "q" : !kv ? "kv" : "dim";
        sink.error(st.loc, "'heads' needs " + missing + "=; usage: " + kHeadsUsage);
    }
    std::optional<int64_t> nq, nkv, d;
    if (q) nq = readInt(*q, "q (number of query heads)", 1, 65536, sink);
    if (kv) nkv = readInt(*kv, "kv (number of key/value heads)", 1, 65536, sink);
    if (dim) {
        d = readInt(*dim, "dim (head dimension)", 32, 256, sink);
        if (d && !isPowerOfTwo(*d)) {
            sink.error(dim->loc, "dim (head dimension) must be a power of two between 32 and 256, got " +
                                     std::to_string(*d));
            d.reset();
        }
    }
    if (nq && nkv && *nq % *nkv != 0) {
        sink.error(q->loc, "q=" + std::to_string(*nq) + " is not a multiple of kv=" + std::to_string(*nkv) +
                               " (each kv head serves q/kv query heads)");
    }
    if (nq) p.numHeads = static_cast<int>(*nq);
    if (nkv) p.numKvHeads = static_cast<int>(*nkv);
    if (d) p.headDim = static_cast<int>(*d);
    return d.has_value();
}

void readKvCache(const Statement &st, RotationAttentionParams &p, bool headDimKnown, DiagnosticSink &sink) {
    checkArgs(st, 1, 1, {"group"}, "kv_cache int4|int8 [group=<g>] or kv_cache f16|f32", sink);
    auto pos = positionals(st);
    if (!pos.empty())
        if (auto bits = pickWord<int>(*pos[0], "kv cache format",
                                      {{"int4", 4}, {"int8", 8}, {"f16", 16}, {"f32", 32}}, sink))
            p.kvBits = *bits;
    if (const Value *group = findAttr(st, "group")) {
        if (p.kvBits > 8) {
            sink.error(group->loc, "kv_cache f" + std::to_string(p.kvBits) +
                                       " stores the values themselves: it has no group (group= is for int4 and int8)");
            return;
        }
        auto g = readInt(*group, "kv_cache group", 1, 256, sink);
        if (g && headDimKnown && p.headDim % *g != 0)
            sink.error(group->loc, "kv_cache group " + std::to_string(*g) + " does not divide dim=" +
                                       std::to_string(p.headDim));
        else if (g)
            p.kvGroup = static_cast<int>(*g) == p.headDim ? 0 : static_cast<int>(*g);
    }
}

// `word <on>` -> true; `word none` -> false.
void readSwitch(const Statement &st, const std::string &on, bool &out, DiagnosticSink &sink) {
    if (!checkArgs(st, 1, 1, {}, st.head + " " + on + "|none", sink)) return;
    auto pos = positionals(st);
    if (pos.empty()) return;
    if (auto v = pickWord<bool>(*pos[0], "'" + st.head + "' setting", {{on, true}, {"none", false}}, sink)) out = *v;
}

void readRope(const Statement &st, RotationAttentionParams &p, DiagnosticSink &sink) {
    if (!checkArgs(st, 0, 1, {}, "rope [half|interleaved|none]", sink)) return;
    auto pos = positionals(st);
    if (pos.empty()) {
        p.rope = RopeKind::Half;
        return;
    }
    if (auto v = pickWord<RopeKind>(*pos[0], "'rope' pairing",
                                    {{"half", RopeKind::Half}, {"interleaved", RopeKind::Interleaved}, {"none", RopeKind::None}},
                                    sink))
        p.rope = *v;
}

FamilyParams check(const KernelDecl &kernel, DiagnosticSink &sink) {
    RotationAttentionParams p;
    KernelBody body(kernel, "rotation_attention", {"heads", "kv_cache", "rotate", "rope", "mask", "input"}, sink);
    body.require("heads");
    body.require("kv_cache");
    body.require("input");
    bool headDimKnown = false;
    if (const Statement *st = body.find("heads")) headDimKnown = readHeads(*st, p, sink);
    if (const Statement *st = body.find("kv_cache")) readKvCache(*st, p, headDimKnown, sink);
    if (const Statement *st = body.find("rotate")) readSwitch(*st, "r3", p.rotate, sink);
    if (const Statement *st = body.find("rope")) readRope(*st, p, sink);
    if (const Statement *st = body.find("mask")) readSwitch(*st, "causal", p.causal, sink);
    if (const Statement *st = body.find("input")) {
        checkArgs(*st, 1, 1, {}, "input f32", sink);
        auto pos = positionals(*st);
        if (!pos.empty()) pickWord<ActKind>(*pos[0], "input type", {{"f32", ActKind::F32}}, sink);
    }
    return p;
}

// T (query tokens: the rows buckets select on), then ctx (the cached tokens
// they attend to; given when tuning, `kforge tune --shapes <ctx>`).
std::vector<Dim> dims(const FamilyParams &) { return {Dim{"T", std::nullopt}, Dim{"ctx", std::nullopt}}; }

Json toJson(const FamilyParams &params) {
    const auto &p = std::get<RotationAttentionParams>(params);
    Json j;
    j["head_dim"] = p.headDim;
    j["num_heads"] = p.numHeads;
    j["num_kv_heads"] = p.numKvHeads;
    j["kv_bits"] = p.kvBits;
    j["kv_group"] = p.kvGroup;
    j["causal"] = p.causal;
    j["rotate"] = p.rotate;
    j["rope"] = toString(p.rope);
    j["input"] = toString(p.input);
    return j;
}

}  // namespace

namespace rotation_attention {

FamilyDef family() {
    return FamilyDef{.family = Family::RotationAttention,
                     .name = "rotation_attention",
                     .statements = {"heads", "kv_cache", "rotate", "rope", "mask", "input"},
                     .scheduleVars = {"h", "t", "d"},
                     .checkKernel = &check,
                     .dims = &dims,
                     .toJson = &toJson};
}

}  // namespace rotation_attention

}  // namespace kf::dsl
