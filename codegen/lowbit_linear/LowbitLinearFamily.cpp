// The lowbit_linear family's code generator record (codegen/Family.h): its
// Halide lowering (LowbitLinearHalide.h over the schedule LinearSchedule.h
// resolves), its symbol, what the glue holds for it (the declared spec, each
// variant's packed layout and an entry through the Halide bridge), and its
// one rule for sharing packed weights (kf::rt::samePackedLayout).
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <vector>

#include "codegen/CodegenError.h"
#include "codegen/Family.h"
#include "codegen/Naming.h"
#include "codegen/backends/halide/HalideBackend.h"
#include "codegen/lowbit_linear/LinearSchedule.h"
#include "codegen/lowbit_linear/LowbitLinearHalide.h"
#include "dsl/families/lowbit_linear/LowbitLinear.h"

namespace kf::codegen::lowbit_linear {

namespace {

const dsl::LowbitLinearParams &paramsOf(const dsl::KernelSpec &kernel) {
    return std::get<dsl::LowbitLinearParams>(kernel.params);
}

// "s" + 8 hex digits of a hash of the resolved schedule, or "" when it is the
// target's default (Naming.h: schedules never share a symbol).
std::string scheduleTag(const lowbit::LinearSchedule &s, const lowbit::LinearSchedule &defaults) {
    // Fields added later hash only when they differ from their default, so
    // the tags of schedules that do not use them stay what they were.
    std::vector<int> fields = {s.interleave, s.vector, s.nBlock, s.kChunk, s.unrollK, s.parallel ? 1 : 0, s.mTile, s.prefetch};
    const std::vector<int> base = {defaults.interleave, defaults.vector,  defaults.nBlock, defaults.kChunk,
                                   defaults.unrollK,    defaults.parallel ? 1 : 0, defaults.mTile, defaults.prefetch};
    if (s.chunkOuter) fields.push_back(1001);  // reorder k m
    if (s.layout != lowbit::PackLayout::Planes) fields.push_back(2000 + static_cast<int>(s.layout));
    if (fields == base) return "";
    uint32_t h = 2166136261u;  // FNV-1a over the fields' bytes
    for (int f : fields)
        for (int b = 0; b < 4; ++b) h = (h ^ ((static_cast<uint32_t>(f) >> (8 * b)) & 0xffu)) * 16777619u;
    char tag[16];
    std::snprintf(tag, sizeof tag, "s%08x", h);
    return tag;
}

// "4+2+1 bits", "1+1+1 bits", "base 3".
std::string planesText(const rt::LinearLayout &L) {
    std::string t;
    for (int p = 0; p < L.numPlanes; ++p) {
        if (p) t += "+";
        t += L.planes[p].width ? std::to_string(L.planes[p].width) : std::string("base 3");
    }
    return t + (L.numPlanes && L.planes[0].width ? " bits" : "");
}

void checkKernel(const dsl::KernelSpec &kernel) {
    if (std::optional<std::string> problem = dsl::lowbitLinearProblem(paramsOf(kernel)))
        throw CodegenError(kernel.loc, *problem);
}

LoweredVariant lowerHalide(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                           const targets::TargetInfo &target) {
    checkKernel(kernel);
    const auto &p = paramsOf(kernel);
    const lowbit::LinearSchedule s = lowbit::resolveSchedule(p, schedule, target);
    lowbit::LinearPipeline lp = lowbit::buildLinearPipeline(kernel, s, target);

    SymbolParts parts;
    parts.family = "linear";
    parts.dst = dsl::toString(p.output);
    parts.act = p.input == dsl::ActKind::QInt8PerToken ? "qd8" : dsl::toString(p.input);
    parts.weight = dsl::formatName(p.weight) + (p.weight.ternaryBase3 ? "b3" : "") +
                   (p.weight.perChannelCodebook ? "pc" : "") +
                   (p.group ? "g" + std::to_string(p.group) : std::string("c")) + dsl::toString(p.scaleType);
    parts.epilogue = p.bias ? "bias" : "";
    parts.tileM = s.mTile;
    parts.tileN = lp.layout.interleave;
    parts.tileK = lp.layout.kAlign;
    parts.target = target.symbolSuffix;
    parts.scheduleTag = scheduleTag(s, lowbit::resolveSchedule(p, nullptr, target));
    LoweredVariant v;
    v.symbol = kernelSymbol(parts);
    v.target = &target;
    v.kernel = std::make_shared<halide::HalideKernel>(lp.pipeline, lp.args);
    if (p.input == dsl::ActKind::QInt8PerToken) {
        // kf_linear_run_q8: the same product from rows a rotation already quantized.
        lowbit::LinearPipeline q8 = lowbit::buildLinearPipeline(kernel, s, target, /*prequantized=*/true);
        v.extras.emplace_back(lowbit::kQuantizedSuffix, std::make_shared<halide::HalideKernel>(q8.pipeline, q8.args));
    }
    v.layout = lp.layout;
    return v;
}

// What lowerHalide rejects before it builds the pipeline: the kernel, the
// schedule (resolveSchedule) and a target it has no lowering for.
void checkHalide(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    checkKernel(kernel);
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(kernel.loc, std::string("no lowering of lowbit_linear for ") + target.name +
                                           " yet (CUDA lowering is planned)");
    lowbit::resolveSchedule(paramsOf(kernel), &schedule, target);
}

const char *scaleEnum(kf_scale_type t) {
    return t == KF_SCALE_F16 ? "KF_SCALE_F16" : t == KF_SCALE_BF16 ? "KF_SCALE_BF16" : "KF_SCALE_F32";
}

const char *scaleEnum(dsl::ScalarType t) {
    return t == dsl::ScalarType::F16 ? "KF_SCALE_F16" : t == dsl::ScalarType::BF16 ? "KF_SCALE_BF16" : "KF_SCALE_F32";
}

const char *weightKindEnum(dsl::WeightKind k) {
    switch (k) {
    case dsl::WeightKind::Binary: return "KF_WEIGHT_BINARY";
    case dsl::WeightKind::Ternary: return "KF_WEIGHT_TERNARY";
    case dsl::WeightKind::Seq2: return "KF_WEIGHT_SEQ2";
    case dsl::WeightKind::Int: return "KF_WEIGHT_INT";
    case dsl::WeightKind::Uint: return "KF_WEIGHT_UINT";
    case dsl::WeightKind::Codebook: return "KF_WEIGHT_CODEBOOK";
    }
    return "KF_WEIGHT_INT";
}

const char *actEnum(dsl::ActKind a) {
    return a == dsl::ActKind::BF16 ? "KF_ACT_BF16" : a == dsl::ActKind::QInt8PerToken ? "KF_ACT_QINT8" : "KF_ACT_F32";
}

std::string layoutInit(const rt::LinearLayout &L) {
    std::ostringstream s;
    s << "{" << L.bits << ", " << L.interleave << ", " << L.kBlock << ", " << L.kAlign << ", " << L.group << ", "
      << scaleEnum(L.scaleType) << ", " << L.numPlanes << ", {";
    for (int p = 0; p < L.numPlanes; ++p) s << (p ? ", " : "") << "{" << L.planes[p].width << ", " << L.planes[p].shift << "}";
    s << "}, " << L.codeView << "}";
    return s.str();
}

// The variant's packed layout, its entry through the bridge, and (int8
// kernels) the entry over rows already quantized (LowbitLinearHalide.h).
GlueText glueHalide(const dsl::KernelSpec &kernel, const LoweredVariant &v, const std::string &id) {
    const auto &p = paramsOf(kernel);
    const auto &L = std::any_cast<const rt::LinearLayout &>(v.layout);
    std::ostringstream s;
    s << "extern \"C\" int " << v.symbol << "_argv(void **);\n";
    std::string quantized = "nullptr";
    for (const auto &[suffix, extra] : v.extras) {
        s << "extern \"C\" int " << v.symbol << suffix << "_argv(void **);\n";
        if (suffix == lowbit::kQuantizedSuffix) quantized = "runq_" + id;
    }
    s << "constexpr kf::bridge::LinearInputs kInputs_" << id << "{" << (p.weight.kind == dsl::WeightKind::Uint) << ", "
      << (p.weight.kind == dsl::WeightKind::Codebook) << ", " << p.weight.perChannelCodebook << ", " << p.bias << ", "
      << (p.input == dsl::ActKind::BF16) << "};\n"
      << "constexpr kf::rt::LinearLayout kLayout_" << id << layoutInit(L) << ";\n"
      << "int run_" << id << "(const void *a) { return kf::bridge::runLinear(" << v.symbol << "_argv, kLayout_" << id
      << ", kInputs_" << id << ", *static_cast<const kf::rt::LinearArgs *>(a)); }\n";
    if (quantized != "nullptr")
        s << "int " << quantized << "(const void *a) { return kf::bridge::runLinear(" << v.symbol
          << lowbit::kQuantizedSuffix << "_argv, kLayout_" << id << ", kInputs_" << id
          << ", *static_cast<const kf::rt::LinearArgs *>(a)); }\n";
    s << "constexpr kf::rt::LinearVariantData kData_" << id << "{kLayout_" << id << ", " << quantized << "};\n";
    return {s.str(), "&kData_" + id, "run_" + id};
}

GlueText glueSpec(const dsl::KernelSpec &kernel, const std::string &id) {
    const auto &p = paramsOf(kernel);
    std::ostringstream s;
    s << "constexpr kf::rt::LinearSpec kSpec_" << id << "{\"" << dsl::formatName(p.weight) << "\", " << p.weight.bits
      << ", " << p.n.size.value_or(0) << ", " << p.k.size.value_or(0) << ", " << p.group << ", "
      << scaleEnum(p.scaleType) << ", " << weightKindEnum(p.weight.kind) << ", " << actEnum(p.input) << ", " << p.bias
      << ", " << p.weight.perChannelCodebook << ", " << p.weight.ternaryBase3 << "};\n";
    return {s.str(), "&kSpec_" + id, ""};
}

std::string describe(const dsl::KernelSpec &k) {
    const auto &p = paramsOf(k);
    auto dim = [](const dsl::Dim &d) { return d.size ? std::to_string(*d.size) : d.name + "(dynamic)"; };
    std::ostringstream s;
    s << k.name << ": " << dsl::toString(k.family) << ", " << dsl::formatName(p.weight) << " weights, N=" << dim(p.n)
      << " K=" << dim(p.k) << ", " << dsl::toString(p.scaleType) << " scales "
      << (p.group ? "per group of " + std::to_string(p.group) : std::string("per output channel"))
      << (p.weight.kind == dsl::WeightKind::Uint ? " with zero points" : "")
      << (p.weight.kind == dsl::WeightKind::Codebook
              ? (p.weight.perChannelCodebook ? ", a codebook per output channel" : ", one codebook")
              : "")
      << (p.bias ? ", f32 bias" : "") << ", "
      << (p.input == dsl::ActKind::QInt8PerToken ? std::string("f32 activations quantized to int8 per token")
                                                 : std::string(dsl::toString(p.input)) + " activations");
    return s.str();
}

bool sameLayout(const std::any &a, const std::any &b) {
    return rt::samePackedLayout(std::any_cast<const rt::LinearLayout &>(a), std::any_cast<const rt::LinearLayout &>(b));
}

std::string layoutMismatch(const std::any &anyLayout, const std::any &other) {
    const auto &a = std::any_cast<const rt::LinearLayout &>(anyLayout);
    const auto &l = std::any_cast<const rt::LinearLayout &>(other);
    if (a.interleave != l.interleave || a.kAlign != l.kAlign || a.kBlock != l.kBlock)
        return "packs the weights differently (" + std::to_string(l.interleave) + " rows x " +
               std::to_string(l.kAlign) + " k) from the target's bucket-any schedule (" +
               std::to_string(a.interleave) + " x " + std::to_string(a.kAlign) +
               "); the buckets of a target share one packed layout";
    if (!rt::samePlanes(a, l))
        return "splits the codes into planes (" + planesText(l) + ") unlike the target's bucket-any schedule (" +
               planesText(a) +
               "): the buckets of a target share one packed layout, so give every bucket the same 'pack weight "
               "layout='";
    if (!rt::samePackedLayout(a, l)) return "packs the weights differently from the target's bucket-any schedule";
    return "";
}

}  // namespace

FamilyCodegen family() {
    return FamilyCodegen{
        .family = dsl::Family::LowbitLinear,
        .lowerings = {{.backend = "halide",
                       .lower = lowerHalide,
                       .check = checkHalide,
                       .glueIncludes = {"codegen/lowbit_linear/bridge/LinearHalideBridge.h"},
                       .glue = glueHalide}},
        .glueSpec = glueSpec,
        .describe = describe,
        .sameLayout = sameLayout,
        .layoutMismatch = layoutMismatch,
    };
}

}  // namespace kf::codegen::lowbit_linear
