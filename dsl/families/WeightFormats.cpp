#include "dsl/families/WeightFormats.h"

#include "dsl/families/StatementReader.h"

#include <string>

namespace kf::dsl {

std::optional<WeightFormat> parseWeightFormat(std::string_view name) {
    WeightFormat f;
    auto bitsAfter = [&](std::string_view prefix, int lo, int hi) -> int {
        if (name.size() != prefix.size() + 1 || name.substr(0, prefix.size()) != prefix) return 0;
        int b = name.back() - '0';
        return b >= lo && b <= hi ? b : 0;
    };
    if (name == "binary") {
        f.kind = WeightKind::Binary;
        f.bits = 1;
    } else if (name == "ternary") {
        f.kind = WeightKind::Ternary;
        f.bits = 2;
    } else if (name == "seq2") {
        f.kind = WeightKind::Seq2;
        f.bits = 2;
    } else if (int b = bitsAfter("int", 2, 8); b && b != 5 && b != 6 && b != 7) {
        f.kind = WeightKind::Int;
        f.bits = b;
    } else if (int ub = bitsAfter("uint", 2, 8)) {
        f.kind = WeightKind::Uint;
        f.bits = ub;
    } else if (int cb = bitsAfter("codebook", 1, 8)) {
        f.kind = WeightKind::Codebook;
        f.bits = cb;
    } else {
        return std::nullopt;
    }
    return f;
}

std::optional<WeightFormat> readWeightFormat(const Value &v, DiagnosticSink &sink) {
    if (v.kind == Value::Kind::Word)
        if (auto f = parseWeightFormat(v.text)) return f;
    sink.error(v.loc, "unknown weight format '" + describe(v) + "'; expected one of " + kWeightFormatList);
    return std::nullopt;
}

std::optional<ScalarType> readScaleType(const Value &v, DiagnosticSink &sink) {
    return pickWord<ScalarType>(v, "scale type",
                                {{"f32", ScalarType::F32}, {"f16", ScalarType::F16}, {"bf16", ScalarType::BF16}},
                                sink);
}

std::optional<int> readGroup(const Value &v, DiagnosticSink &sink) {
    if (v.kind == Value::Kind::Word && v.text == "channel") return 0;
    if (v.kind == Value::Kind::Int &&
        (v.intValue == 32 || v.intValue == 64 || v.intValue == 128 || v.intValue == 256))
        return static_cast<int>(v.intValue);
    sink.error(v.loc, "group must be one of 32, 64, 128, 256 or channel, got " + describe(v));
    return std::nullopt;
}

bool checkGroupFits(int group, const Dim &k, const SourceLoc &groupLoc, DiagnosticSink &sink) {
    if (group == 0 || !k.size || group <= *k.size) return true;
    sink.error(groupLoc, "group " + std::to_string(group) + " is larger than " + k.name + "=" +
                             std::to_string(*k.size) + "; use a smaller group or group=channel");
    return false;
}

}  // namespace kf::dsl
