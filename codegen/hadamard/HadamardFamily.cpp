// The hadamard family's code generator record (codegen/Family.h): its Halide
// lowering (HadamardHalide.h over the schedule HadamardSchedule.h resolves),
// its symbol, and what the glue holds for it (the declared spec and an entry
// through the Halide bridge). A rotation has no packed weights: its H_m is
// compiled into the kernel.
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
#include "codegen/hadamard/HadamardHalide.h"
#include "codegen/hadamard/HadamardSchedule.h"
#if KFORGE_HAVE_MLIR
#include "codegen/backends/mlir/MlirBackend.h"
#include "codegen/hadamard/HadamardMlir.h"
#include "codegen/hadamard/bridge/HadamardMlirBridge.h"
#endif
#include "dsl/families/hadamard/Hadamard.h"
#include "dsl/families/hadamard/Reference.h"

namespace kf::codegen::hadamard {

namespace {

const dsl::HadamardParams &paramsOf(const dsl::KernelSpec &kernel) { return std::get<dsl::HadamardParams>(kernel.params); }

void checkKernel(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    if (std::optional<std::string> problem = dsl::hadamardProblem(paramsOf(kernel)))
        throw CodegenError(kernel.loc, *problem);
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(kernel.loc, std::string("no lowering of hadamard for ") + target.name +
                                           " yet (CUDA lowering is planned)");
}

uint32_t fnv1a(const std::vector<int> &fields) {
    uint32_t h = 2166136261u;
    for (int f : fields)
        for (int b = 0; b < 4; ++b) h = (h ^ ((static_cast<uint32_t>(f) >> (8 * b)) & 0xffu)) * 16777619u;
    return h;
}

// prefix + v in 8 hex digits.
std::string hex8(const char *prefix, uint32_t v) {
    char s[24];
    std::snprintf(s, sizeof s, "%s%08x", prefix, v);
    return s;
}

// "s" + 8 hex digits of the resolved schedule, "" for the target's defaults
// (codegen/Naming.h: schedules never share a symbol).
// `otherBackend`: lowered through a backend other than the target's default
// for the kernel (codegen::loweringFor), so the two never share a symbol.
std::string scheduleTag(const HadamardSchedule &s, const HadamardSchedule &defaults, bool otherBackend) {
    std::vector<int> fields = {s.vector, s.radix, s.rowsPerTask, s.parallel ? 1 : 0, s.hmGroup};
    if (otherBackend) fields.push_back(4000);
    const std::vector<int> base = {defaults.vector, defaults.radix, defaults.rowsPerTask, defaults.parallel ? 1 : 0,
                                   defaults.hmGroup};
    return fields == base ? "" : hex8("s", fnv1a(fields));
}

// The symbol's weight part names H_m: "h28" built in, "h28f" + 8 hex digits
// of the matrix for a file's (two files, two kernels).
std::string factorName(const dsl::HadamardParams &p) {
    std::string name = "h";
    name += std::to_string(p.m);
    if (!p.matrix.empty()) {
        std::vector<int> entries(p.matrix.begin(), p.matrix.end());
        name += hex8("f", fnv1a(entries));
    }
    return name;
}

// The variant's symbol; `backend` is the lowering's, tagged when it is not
// the target's default for the kernel (the two never share a symbol).
std::string symbolOf(const dsl::KernelSpec &kernel, const HadamardSchedule &s, const targets::TargetInfo &target,
                     std::string_view backend) {
    const auto &p = paramsOf(kernel);
    SymbolParts parts;
    parts.family = "hadamard";
    parts.dst = p.output == dsl::ActKind::QInt8PerToken ? "qd8" : "f32";
    parts.act = "f32";
    parts.weight = factorName(p);
    parts.tileM = s.rowsPerTask;
    parts.tileN = static_cast<int>(*p.n.size);
    parts.tileK = s.radix;
    parts.target = target.symbolSuffix;
    parts.scheduleTag = scheduleTag(s, resolveSchedule(p, nullptr, target),
                                    std::string_view(loweringFor(kernel, target).backend) != backend);
    return kernelSymbol(parts);
}

LoweredVariant lowerHalide(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                           const targets::TargetInfo &target) {
    checkKernel(kernel, target);
    const auto &p = paramsOf(kernel);
    const HadamardSchedule s = resolveSchedule(p, schedule, target);
    const std::vector<int8_t> hm = p.m == 1 ? std::vector<int8_t>{} : families::hadamard::factorMatrix(p);
    HadamardPipeline hp = buildHadamardPipeline(p, hm, s, target);

    LoweredVariant v;
    v.symbol = symbolOf(kernel, s, target, "halide");
    v.target = &target;
    v.kernel = std::make_shared<halide::HalideKernel>(hp.pipeline, hp.args);
    return v;
}

void checkHalide(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    checkKernel(kernel, target);
    resolveSchedule(paramsOf(kernel), &schedule, target);
}

GlueText glueHalide(const dsl::KernelSpec &, const LoweredVariant &v, const std::string &id) {
    std::ostringstream s;
    s << "extern \"C\" int " << v.symbol << "_argv(void **);\n"
      << "int run_" << id << "(const void *a) { return kf::bridge::runHadamard(" << v.symbol
      << "_argv, *static_cast<const kf::rt::HadamardArgs *>(a)); }\n";
    return {s.str(), "nullptr", "run_" + id};
}

#if KFORGE_HAVE_MLIR
// The MLIR backend (HadamardMlir.h): scalable SVE, every hadamard kernel (int8
// output is quantized by the bridge from the f32 rows).
bool coversMlir(const dsl::KernelSpec &, const targets::TargetInfo &target) { return target.caps.scalableVectors; }

// The schedule the SVE kernel runs: split n (radix), split m, parallel m;
// CodegenError at the directive for what it does not honour.
HadamardSchedule resolveMlirSchedule(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                                     const targets::TargetInfo &target) {
    const auto &p = paramsOf(kernel);
    const HadamardSchedule s = resolveSchedule(p, schedule, target), d = resolveSchedule(p, nullptr, target);
    const std::string on = std::string(" on ") + target.name + " (MLIR, scalable SVE)";
    if (schedule)
        for (const dsl::Directive &dir : schedule->directives) {
            if (dir.kind == dsl::Directive::Kind::Vectorize && s.vector != d.vector)
                throw CodegenError(dir.loc, "'vectorize n' does not apply" + on +
                                                ": a vector is the hardware's length, whatever it is");
            if (dir.kind == dsl::Directive::Kind::Unroll && s.hmGroup != d.hmGroup)
                throw CodegenError(dir.loc, "'unroll n' is not lowered" + on + " (H_m is applied as signed sums)");
        }
    return s;
}

void checkMlir(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    checkKernel(kernel, target);
    resolveMlirSchedule(kernel, &schedule, target);
}

LoweredVariant lowerMlir(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                         const targets::TargetInfo &target) {
    checkKernel(kernel, target);
    if (!coversMlir(kernel, target))
        throw CodegenError(kernel.loc, std::string("no MLIR lowering of hadamard for ") + target.name +
                                           " (it covers scalable SVE)");
    const auto &p = paramsOf(kernel);
    const HadamardSchedule s = resolveMlirSchedule(kernel, schedule, target);
    MlirHadamardKernel k;
    k.n = *p.n.size;
    k.m = p.m;
    if (p.m > 1) k.hm = families::hadamard::factorMatrix(p);
    k.radix = s.radix;

    LoweredVariant v;
    v.symbol = symbolOf(kernel, s, target, "mlir");
    v.target = &target;
    v.kernel = std::make_shared<mlir::MlirKernel>(hadamardModule(k));
    v.glueData = bridge::HadamardMlirVariant{s.rowsPerTask, s.parallel};
    return v;
}

GlueText glueMlir(const dsl::KernelSpec &, const LoweredVariant &v, const std::string &id) {
    const auto &b = std::any_cast<const bridge::HadamardMlirVariant &>(v.glueData);
    std::ostringstream s;
    s << "extern \"C\" void " << v.symbol << "(const float *, float *, int64_t, int64_t, int64_t, int64_t);\n"
      << "constexpr kf::bridge::HadamardMlirVariant kMlir_" << id << "{" << b.rowsPerTask << ", "
      << (b.parallel ? "true" : "false") << "};\n"
      << "int run_" << id << "(const void *a) { return kf::bridge::runHadamardMlir(" << v.symbol << ", kMlir_" << id
      << ", *static_cast<const kf::rt::HadamardArgs *>(a)); }\n";
    return {s.str(), "nullptr", "run_" + id};
}
#endif

GlueText glueSpec(const dsl::KernelSpec &kernel, const std::string &id) {
    const auto &p = paramsOf(kernel);
    std::ostringstream s;
    s << "constexpr kf::rt::HadamardSpec kSpec_" << id << "{" << *p.n.size << ", " << p.m << ", "
      << (p.output == dsl::ActKind::QInt8PerToken ? "KF_ACT_QINT8" : "KF_ACT_F32") << "};\n";
    return {s.str(), "&kSpec_" + id, ""};
}

std::string describe(const dsl::KernelSpec &k) {
    const auto &p = paramsOf(k);
    const int64_t n = *p.n.size;
    std::ostringstream s;
    s << k.name << ": hadamard, " << p.n.name << "=" << n;
    if (p.m > 1)
        s << " = " << p.m << " x " << n / p.m << ", H_" << p.m << " "
          << (p.matrixFile ? "from " + *p.matrixFile : std::string("built in"));
    s << ", f32 rows rotated by 1/sqrt(" << n << ") (H_m x H_2^k)"
      << (p.output == dsl::ActKind::QInt8PerToken ? ", then quantized to int8 per row (kf_hadamard_run_q8)"
                                                    : " (kf_hadamard_run)");
    return s.str();
}

}  // namespace

FamilyCodegen family() {
    return FamilyCodegen{
        .family = dsl::Family::Hadamard,
        .lowerings = {{.backend = "halide",
                       .lower = lowerHalide,
                       .check = checkHalide,
                       .glueIncludes = {"codegen/hadamard/bridge/HadamardHalideBridge.h"},
                       .glue = glueHalide},
#if KFORGE_HAVE_MLIR
                      {.backend = "mlir",
                       .covers = coversMlir,
                       .lower = lowerMlir,
                       .check = checkMlir,
                       .glueIncludes = {"codegen/hadamard/bridge/HadamardMlirBridge.h"},
                       .glue = glueMlir},
#endif
        },
        .glueSpec = glueSpec,
        .describe = describe,
    };
}

}  // namespace kf::codegen::hadamard
