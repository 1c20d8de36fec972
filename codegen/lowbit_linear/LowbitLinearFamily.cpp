// The lowbit_linear family's code generator record (codegen/Family.h): its
// Halide lowering (LowbitLinearHalide.h over the schedule LinearSchedule.h
// resolves), its symbol, what the glue holds for it (the declared spec, each
// variant's packed layout and an entry through the Halide bridge), and its
// one rule for sharing packed weights (kf::rt::samePackedLayout).
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string_view>
#include <vector>

#include "codegen/CodegenError.h"
#include "codegen/Family.h"
#include "codegen/Lowering.h"
#include "codegen/Naming.h"
#include "codegen/backends/halide/HalideBackend.h"
#include "codegen/lowbit_linear/AffineLevels.h"
#include "codegen/lowbit_linear/LinearSchedule.h"
#include "codegen/lowbit_linear/LowbitLinearHalide.h"
#include "codegen/lowbit_linear/LowbitLinearMlir.h"
#include "codegen/lowbit_linear/bridge/LinearMlirBridge.h"
#if KFORGE_HAVE_MLIR
#include "codegen/backends/mlir/MlirBackend.h"
#endif
#include "dsl/families/lowbit_linear/LowbitLinear.h"

namespace kf::codegen::lowbit_linear {

namespace {

const dsl::LowbitLinearParams &paramsOf(const dsl::KernelSpec &kernel) {
    return std::get<dsl::LowbitLinearParams>(kernel.params);
}

// "s" + 8 hex digits of a hash of the resolved schedule, or "" when it is the
// target's default (Naming.h: schedules never share a symbol).
// `otherBackend`: the variant lowers through a backend other than the one
// the kernel takes by default on its target (a `backend` directive), so that
// the same numbers through two code generators never share a symbol.
std::string scheduleTag(const lowbit::LinearSchedule &s, const lowbit::LinearSchedule &defaults,
                        bool otherBackend = false) {
    // Fields added later hash only when they differ from their default, so
    // the tags of schedules that do not use them stay what they were.
    std::vector<int> fields = {s.interleave, s.vector, s.nBlock, s.kChunk, s.unrollK, s.parallel ? 1 : 0, s.mTile, s.prefetch};
    const std::vector<int> base = {defaults.interleave, defaults.vector,  defaults.nBlock, defaults.kChunk,
                                   defaults.unrollK,    defaults.parallel ? 1 : 0, defaults.mTile, defaults.prefetch};
    if (s.chunkOuter) fields.push_back(1001);  // reorder k m
    if (s.layout != lowbit::PackLayout::Planes) fields.push_back(2000 + static_cast<int>(s.layout));
    if (s.prefetchHint != lowbit::PrefetchHint::Nta) fields.push_back(3000 + static_cast<int>(s.prefetchHint));
    if (otherBackend) fields.push_back(4000);
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

// The variant's symbol (Naming.h) for the resolved schedule and its layout.
std::string symbolOf(const dsl::LowbitLinearParams &p, const lowbit::LinearSchedule &s, const rt::LinearLayout &L,
                     const targets::TargetInfo &target, bool otherBackend = false) {
    SymbolParts parts;
    parts.family = "linear";
    parts.dst = dsl::toString(p.output);
    parts.act = p.input == dsl::ActKind::QInt8PerToken ? "qd8" : dsl::toString(p.input);
    parts.weight = dsl::formatName(p.weight) + (p.weight.ternaryBase3 ? "b3" : "") +
                   (p.weight.perChannelCodebook ? "pc" : "") +
                   (p.group ? "g" + std::to_string(p.group) : std::string("c")) + dsl::toString(p.scaleType);
    parts.epilogue = p.bias ? "bias" : "";
    parts.tileM = s.mTile;
    parts.tileN = L.interleave;
    parts.tileK = L.kAlign;
    parts.target = target.symbolSuffix;
    parts.scheduleTag = scheduleTag(s, lowbit::resolveSchedule(p, nullptr, target), otherBackend);
    return kernelSymbol(parts);
}

void checkKernel(const dsl::KernelSpec &kernel) {
    if (std::optional<std::string> problem = dsl::lowbitLinearProblem(paramsOf(kernel)))
        throw CodegenError(kernel.loc, *problem);
}

// The schedule the Halide pipeline runs, or CodegenError for what Halide 14
// cannot emit: its prefetch is always prefetchnta (no locality argument).
lowbit::LinearSchedule resolveHalideSchedule(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                                             const targets::TargetInfo &target) {
    const lowbit::LinearSchedule s = lowbit::resolveSchedule(paramsOf(kernel), schedule, target);
    if (s.prefetchHint != lowbit::PrefetchHint::Nta && schedule)
        for (const dsl::Directive &d : schedule->directives)
            if (d.kind == dsl::Directive::Kind::Prefetch)
                throw CodegenError(d.loc, std::string("Halide 14 emits prefetchnta only; hint=") +
                                              lowbit::toString(s.prefetchHint) + " needs 'backend mlir'");
    return s;
}

LoweredVariant lowerHalide(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                           const targets::TargetInfo &target) {
    checkKernel(kernel);
    const auto &p = paramsOf(kernel);
    const lowbit::LinearSchedule s = resolveHalideSchedule(kernel, schedule, target);
    // int8 activations: one pipeline over rows already quantized; the bridge
    // quantizes f32 rows first (LinearHalideBridge.h: runLinearInt8), as the
    // MLIR backend's does, instead of a second pipeline that quantizes inside
    // (which doubled the compile time of every int8 variant).
    lowbit::LinearPipeline lp = lowbit::buildLinearPipeline(kernel, s, target);

    LoweredVariant v;
    v.symbol = symbolOf(p, s, lp.layout, target,
                        std::string_view(codegen::loweringFor(kernel, target).backend) != "halide");
    v.target = &target;
    v.kernel = std::make_shared<halide::HalideKernel>(lp.pipeline, lp.args);
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
    resolveHalideSchedule(kernel, &schedule, target);
}


#if KFORGE_HAVE_MLIR
// The MLIR backend (LowbitLinearMlir.h): scalable SVE and x86 AVX-512 VNNI,
// every format but the codebooks (a table lookup per code), f32 / bf16 / int8
// activations. Other kernels of a target that lists "mlir" go to its next
// backend.
// A target the fixed-width MLIR kernel (LinearIsa::Avx512Vnni) serves: x86 with
// 512-bit vectors and int8 dot products, from the target's capabilities.
bool fixedInt8Dot512(const targets::TargetInfo &target) {
    return target.arch == targets::Arch::X86_64 && target.vectorBits == 512 && target.caps.int8Dot;
}

bool coversMlir(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    const auto &p = paramsOf(kernel);
    return (target.caps.scalableVectors || fixedInt8Dot512(target)) && p.weight.kind != dsl::WeightKind::Codebook &&
           p.output == dsl::ScalarType::F32;
}

// The AVX-512 kernel's prefetch when the schedule names none: prefetcht1
// about 8 KiB ahead of the tile's weight stream. Streamed decode at 1 thread
// (4096x11008, a 64-row tile) measured t1 at 4-16 KiB ahead best or within
// 0.03 of best for int4, int2 and ternary: 0.88-0.89 / 0.83 / 0.79-0.82 of
// read bandwidth, against 0.64 / 0.49 / 0.50 without a prefetch and
// 0.36-0.61 with prefetchnta (bench/README.md, "x86 decode through MLIR").
// In k: whole blocks of the layout.
int defaultMlirPrefetchK(const rt::LinearLayout &L) {
    int blockBytes = 0;
    for (int p = 0; p < L.numPlanes; ++p) blockBytes += 4 * L.interleave * std::max(1, L.planes[p].width);
    return L.kBlock * std::max(1, (8 * 1024 + blockBytes - 1) / blockBytes);
}

// The schedule the SVE kernel runs, or CodegenError for a directive it does
// not honour.
lowbit::LinearSchedule resolveMlirSchedule(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                                           const targets::TargetInfo &target) {
    const auto &p = paramsOf(kernel);
    const lowbit::LinearSchedule s = lowbit::resolveSchedule(p, schedule, target);
    const lowbit::LinearSchedule d = lowbit::resolveSchedule(p, nullptr, target);
    // Where the directive of a kind is (the schedule's own place if none).
    auto at = [&](dsl::Directive::Kind kind, const char *var = nullptr) -> const dsl::SourceLoc & {
        if (schedule)
            for (const dsl::Directive &dir : schedule->directives)
                if (dir.kind == kind && (!var || (!dir.vars.empty() && dir.vars[0] == var))) return dir.loc;
        return schedule ? schedule->loc : kernel.loc;
    };
    using K = dsl::Directive::Kind;
    const bool sve = target.caps.scalableVectors;
    const std::string on = std::string(" on ") + target.name + (sve ? " (MLIR, scalable SVE)" : " (MLIR)");
    if (s.vector != d.vector)
        throw CodegenError(at(K::Vectorize), "'vectorize n' does not apply" + on +
                                                 (sve ? ": a strip of rows is one scalable vector, whatever the hardware's length"
                                                      : ": a strip of rows is one 512-bit vector"));
    if (s.unrollK != d.unrollK) throw CodegenError(at(K::Unroll, "k"), "'unroll k' is not lowered" + on + " yet");
    if (s.chunkOuter) throw CodegenError(at(K::Reorder), "'reorder k m' is not lowered" + on + " yet");
    if (sve && (s.prefetch != d.prefetch || s.prefetchHint != d.prefetchHint))
        throw CodegenError(at(K::Prefetch), "'prefetch weight' is not lowered" + on + " yet");
    if (s.mTile > 8) throw CodegenError(at(K::Split, "m"), "'split m' takes at most 8 rows" + on);
    if (!sve && s.interleave % 16 != 0)
        throw CodegenError(at(K::Pack), "'pack weight interleave=" + std::to_string(s.interleave) +
                                            "' is not a multiple of 16 rows (one 512-bit vector)" + on);
    return s;
}

rt::LinearLayout mlirLayout(const dsl::KernelSpec &kernel, const lowbit::LinearSchedule &s) {
    const rt::LinearLayout L = lowbit::layoutFor(paramsOf(kernel), s);
    if (L.kAlign % L.kBlock != 0)
        throw CodegenError(kernel.loc, "the scale group / k-chunk (" + std::to_string(L.kAlign) +
                                           ") must be a multiple of the packed k-block (" + std::to_string(L.kBlock) + ")");
    return L;
}

void checkMlir(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    checkKernel(kernel);
    mlirLayout(kernel, resolveMlirSchedule(kernel, &schedule, target));
}

LoweredVariant lowerMlir(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                         const targets::TargetInfo &target) {
    checkKernel(kernel);
    const auto &p = paramsOf(kernel);
    if (!coversMlir(kernel, target))
        throw CodegenError(kernel.loc, std::string("no MLIR lowering of this lowbit_linear kernel for ") + target.name +
                                           " (it covers the non-codebook formats on scalable SVE and AVX-512 VNNI)");
    lowbit::LinearSchedule s = resolveMlirSchedule(kernel, schedule, target);
    lowbit::MlirLinearKernel k;
    k.layout = mlirLayout(kernel, s);
    if (fixedInt8Dot512(target)) {
        k.isa = lowbit::LinearIsa::Avx512Vnni;
        bool named = false;
        if (schedule)
            for (const dsl::Directive &d : schedule->directives) named |= d.kind == dsl::Directive::Kind::Prefetch;
        if (!named) {  // this kernel's own default, in the schedule so that the symbol tells it apart
            s.prefetch = defaultMlirPrefetchK(k.layout);
            s.prefetchHint = lowbit::PrefetchHint::T1;
        }
        k.prefetchK = s.prefetch;
        k.prefetchLocality = static_cast<int>(s.prefetchHint);
    }
    const lowbit::AffineLevels lv = lowbit::affineLevels(p.weight);  // the same levels as the Halide lowering
    k.levelA = lv.a, k.levelB = lv.b, k.levelD = lv.d;
    k.zeroPoints = p.weight.kind == dsl::WeightKind::Uint;
    k.bias = p.bias;
    k.mTile = s.mTile;
    k.i8mm = target.caps.scalableVectors && target.caps.int8Matmul;
    k.floatInput = p.input != dsl::ActKind::QInt8PerToken;
    LoweredVariant v;
    v.symbol = symbolOf(p, s, k.layout, target,
                        std::string_view(codegen::loweringFor(kernel, target).backend) != "mlir");
    v.target = &target;
    v.kernel = std::make_shared<mlir::MlirKernel>(lowbit::linearModule(k));
    v.layout = k.layout;
    const bridge::LinearMlirVariant::Input input = p.input == dsl::ActKind::QInt8PerToken ? bridge::LinearMlirVariant::Int8
                                                   : p.input == dsl::ActKind::BF16        ? bridge::LinearMlirVariant::BF16
                                                                                          : bridge::LinearMlirVariant::F32;
    v.glueData = bridge::LinearMlirVariant{input, k.levelD, std::max(1, s.nBlock / k.layout.interleave), s.parallel,
                                           lowbit::usesRowPairs(k)};
    return v;
}
#endif

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

// The variant's packed layout and its entry through the bridge; int8
// kernels take f32 rows and rows already quantized through the same entry
// (LinearHalideBridge.h: runLinearInt8).
GlueText glueHalide(const dsl::KernelSpec &kernel, const LoweredVariant &v, const std::string &id) {
    const auto &p = paramsOf(kernel);
    const auto &L = std::any_cast<const rt::LinearLayout &>(v.layout);
    const bool int8 = p.input == dsl::ActKind::QInt8PerToken;
    std::ostringstream s;
    s << "extern \"C\" int " << v.symbol << "_argv(void **);\n"
      << "constexpr kf::bridge::LinearInputs kInputs_" << id << "{" << (p.weight.kind == dsl::WeightKind::Uint) << ", "
      << (p.weight.kind == dsl::WeightKind::Codebook) << ", " << p.weight.perChannelCodebook << ", " << p.bias << ", "
      << (p.input == dsl::ActKind::BF16) << "};\n"
      << "constexpr kf::rt::LinearLayout kLayout_" << id << layoutInit(L) << ";\n"
      << "int run_" << id << "(const void *a) { return kf::bridge::" << (int8 ? "runLinearInt8(" : "runLinear(")
      << v.symbol << "_argv, kLayout_" << id << ", kInputs_" << id
      << ", *static_cast<const kf::rt::LinearArgs *>(a)); }\n"
      << "constexpr kf::rt::LinearVariantData kData_" << id << "{kLayout_" << id << ", "
      << (int8 ? "run_" + id : std::string("nullptr")) << "};\n";
    return {s.str(), "&kData_" + id, "run_" + id};
}

#if KFORGE_HAVE_MLIR
// The MLIR variant: the generated function's declaration, its layout, and
// its entry (f32 rows, or rows already quantized) through the MLIR bridge.
GlueText glueMlir(const dsl::KernelSpec &, const LoweredVariant &v, const std::string &id) {
    const auto &L = std::any_cast<const rt::LinearLayout &>(v.layout);
    const auto &b = std::any_cast<const bridge::LinearMlirVariant &>(v.glueData);
    std::ostringstream s;
    s << "extern \"C\" void " << v.symbol
      << "(const uint8_t *const *, const void *, const uint8_t *, const float *, const int8_t *, const int32_t *, "
         "const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);\n"
      << "constexpr kf::rt::LinearLayout kLayout_" << id << layoutInit(L) << ";\n"
      << "constexpr kf::bridge::LinearMlirVariant kMlir_" << id << "{kf::bridge::LinearMlirVariant::"
      << (b.input == bridge::LinearMlirVariant::Int8 ? "Int8" : b.input == bridge::LinearMlirVariant::BF16 ? "BF16" : "F32")
      << ", " << b.levelD << ", " << b.tilesPerTask << ", " << (b.parallel ? "true" : "false") << ", "
      << (b.rowPairs ? "true" : "false") << "};\n"
      << "int run_" << id << "(const void *a) { return kf::bridge::runLinearMlir(" << v.symbol << ", kLayout_" << id
      << ", kMlir_" << id << ", *static_cast<const kf::rt::LinearArgs *>(a)); }\n"
      << "constexpr kf::rt::LinearVariantData kData_" << id << "{kLayout_" << id << ", "
      << (b.input == bridge::LinearMlirVariant::Int8 ? "run_" + id : std::string("nullptr")) << "};\n";
    return {s.str(), "&kData_" + id, "run_" + id};
}
#endif

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
                       .glue = glueHalide},
#if KFORGE_HAVE_MLIR
                      {.backend = "mlir",
                       .covers = coversMlir,
                       .lower = lowerMlir,
                       .check = checkMlir,
                       .glueIncludes = {"codegen/lowbit_linear/bridge/LinearMlirBridge.h"},
                       .glue = glueMlir},
#endif
        },
        .glueSpec = glueSpec,
        .describe = describe,
        .sameLayout = sameLayout,
        .layoutMismatch = layoutMismatch,
    };
}

}  // namespace kf::codegen::lowbit_linear
