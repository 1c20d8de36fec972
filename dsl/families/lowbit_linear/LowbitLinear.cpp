// lowbit_linear: y[M,N] = x[M,K] . dequant(W)[N,K]^T (+ bias), W in one of the
// low-bit formats of docs/formats.md (ParetoQ binary/ternary/SEQ/LSQ,
// BitNet b1.58 ternary, GPTQ-style uintN + zero point, eDKM codebooks), scales
// per output channel or per K-group; activations f32/bf16 or dynamic int8 per
// token. Statements (docs/dsl.md, "lowbit_linear"):
//
//   weight <format> shape=[N=.., K=..] [scale=..] [group=..] [zero_point]
//          [packing=base3] [codebook=tensor|channel]
//   input  f32|bf16|int8 [rows=M]
//   output f32
//   bias   f32                       (optional)
#include "dsl/families/lowbit_linear/LowbitLinear.h"

#include "dsl/SpecJson.h"
#include "dsl/families/Family.h"
#include "dsl/families/StatementReader.h"
#include "dsl/families/WeightFormats.h"

namespace kf::dsl {

std::optional<std::string> lowbitLinearProblem(const LowbitLinearParams &p) {
    if (p.input == ActKind::QInt8PerToken && p.weight.kind == WeightKind::Codebook)
        return "int8 activations need levels that are integers up to a scale; " + formatName(p.weight) +
               " (a codebook) is not: use f32 or bf16 input";
    return std::nullopt;
}

namespace {

constexpr const char *kWeightUsage =
    "weight <format> shape=[N=<n>, K=<k>] [scale=f32|f16|bf16] [group=32|64|128|256|channel] "
    "[zero_point] [packing=base3] [codebook=tensor|channel]";

void readWeight(const Statement &st, LowbitLinearParams &p, DiagnosticSink &sink) {
    checkArgs(st, 1, 2, {"shape", "scale", "group", "packing", "codebook"}, kWeightUsage, sink);
    auto pos = positionals(st);
    if (pos.empty()) return;
    auto format = readWeightFormat(*pos[0], sink);
    if (format) p.weight = *format;

    const Value *zeroPoint = nullptr;
    if (pos.size() > 1) {
        if (pos[1]->kind == Value::Kind::Word && pos[1]->text == "zero_point")
            zeroPoint = pos[1];
        else
            sink.error(pos[1]->loc, "unexpected argument '" + describe(*pos[1]) +
                                        "' to 'weight'; the only flag is zero_point");
    }
    if (format) {
        bool isUint = format->kind == WeightKind::Uint;
        if (zeroPoint && !isUint)
            sink.error(zeroPoint->loc, "zero_point is only for uint2..uint8 weights, not '" +
                                           formatName(*format) + "'");
        if (!zeroPoint && isUint)
            sink.error(pos[0]->loc, formatName(*format) +
                                        " needs zero_point (asymmetric: w = s * (c - z)); add 'zero_point' "
                                        "to the weight statement or use int" +
                                        std::to_string(format->bits));
        p.zeroPoint = zeroPoint && isUint;
    }

    if (const Value *packing = findAttr(st, "packing")) {
        auto base3 = pickWord<bool>(*packing, "packing", {{"base3", true}}, sink);
        if (base3 && format && format->kind != WeightKind::Ternary)
            sink.error(packing->loc, "packing=base3 is only for ternary weights, not '" +
                                         formatName(*format) + "'");
        else if (base3)
            p.weight.ternaryBase3 = true;
    }
    if (const Value *codebook = findAttr(st, "codebook")) {
        auto perChannel = pickWord<bool>(*codebook, "codebook scope", {{"tensor", false}, {"channel", true}}, sink);
        if (perChannel && format && format->kind != WeightKind::Codebook)
            sink.error(codebook->loc, "codebook= is only for codebook1..codebook8 weights, not '" +
                                          formatName(*format) + "'");
        else if (perChannel)
            p.weight.perChannelCodebook = *perChannel;
    }

    readWeightShape(st, p.n, p.k, kWeightUsage, sink);
    if (const Value *scale = findAttr(st, "scale"))
        if (auto t = readScaleType(*scale, sink)) p.scaleType = *t;
    if (const Value *group = findAttr(st, "group"))
        if (auto g = readGroup(*group, sink))
            if (checkGroupFits(*g, p.k, group->loc, sink)) p.group = *g;
}

void readInput(const Statement &st, LowbitLinearParams &p, DiagnosticSink &sink) {
    checkArgs(st, 1, 1, {"rows"}, "input f32|bf16|int8 [rows=M]", sink);
    auto pos = positionals(st);
    if (!pos.empty())
        if (auto a = pickWord<ActKind>(*pos[0], "input type",
                                       {{"f32", ActKind::F32},
                                        {"bf16", ActKind::BF16},
                                        {"int8", ActKind::QInt8PerToken}},
                                       sink))
            p.input = *a;
    if (const Value *rows = findAttr(st, "rows")) {
        if (rows->kind == Value::Kind::Word)
            p.rows = rows->text;
        else
            sink.error(rows->loc, "rows= names the row dimension (e.g. rows=M), got " + describe(*rows));
    }
}

FamilyParams check(const KernelDecl &kernel, DiagnosticSink &sink) {
    const size_t errorsBefore = sink.errorCount();
    LowbitLinearParams p;
    KernelBody body(kernel, "lowbit_linear", {"weight", "input", "output", "bias"}, sink);
    body.require("weight");
    body.require("input");
    body.require("output");
    if (const Statement *st = body.find("weight")) readWeight(*st, p, sink);
    if (const Statement *st = body.find("input")) readInput(*st, p, sink);
    if (const Statement *st = body.find("output")) {
        checkArgs(*st, 1, 1, {}, "output f32", sink);
        auto pos = positionals(*st);
        if (!pos.empty()) pickWord<ScalarType>(*pos[0], "output type", {{"f32", ScalarType::F32}}, sink);
        p.output = ScalarType::F32;
    }
    if (const Statement *st = body.find("bias")) {
        checkArgs(*st, 1, 1, {}, "bias f32", sink);
        auto pos = positionals(*st);
        if (!pos.empty()) pickWord<ScalarType>(*pos[0], "bias type", {{"f32", ScalarType::F32}}, sink);
        p.bias = true;
    }
    // What the statements allow one by one but no target computes (reported
    // only when the statements themselves were fine).
    if (sink.errorCount() == errorsBefore)
        if (std::optional<std::string> problem = lowbitLinearProblem(p)) {
            const Statement *at = p.input == ActKind::QInt8PerToken && p.weight.kind == WeightKind::Codebook
                                      ? body.find("input")
                                      : body.find("weight");
            sink.error(at ? at->loc : kernel.nameLoc, *problem);
        }
    return p;
}

bool packed(const FamilyParams &) { return true; }

std::vector<Dim> dims(const FamilyParams &params) {
    const auto &p = std::get<LowbitLinearParams>(params);
    return {Dim{p.rows, std::nullopt}, p.n, p.k};
}

Json toJson(const FamilyParams &params) {
    const auto &p = std::get<LowbitLinearParams>(params);
    Json j;
    j["weight"] = weightJson(p.weight);
    j["n"] = dimJson(p.n);
    j["k"] = dimJson(p.k);
    j["scale_type"] = toString(p.scaleType);
    j["group"] = p.group;
    j["zero_point"] = p.zeroPoint;
    j["bias"] = p.bias;
    j["input"] = toString(p.input);
    j["output"] = toString(p.output);
    j["rows"] = p.rows;
    return j;
}

}  // namespace

namespace lowbit_linear {

FamilyDef family() {
    return FamilyDef{.family = Family::LowbitLinear,
                     .name = "lowbit_linear",
                     .statements = {"weight", "input", "output", "bias"},
                     .scheduleVars = {"m", "n", "k"},
                     .checkKernel = &check,
                     .hasPackedWeights = &packed,
                     .dims = &dims,
                     .toJson = &toJson};
}

}  // namespace lowbit_linear

}  // namespace kf::dsl
