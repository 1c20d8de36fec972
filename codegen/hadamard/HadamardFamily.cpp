// The hadamard family's code generator record (codegen/Family.h): its Halide
// lowering (HadamardHalide.h over the schedule HadamardSchedule.h resolves),
// its symbol, and what the glue holds for it (the declared spec and an entry
// through the Halide bridge). A rotation has no packed weights: its H_m is
// compiled into the kernel.
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <vector>

#include "codegen/CodegenError.h"
#include "codegen/Family.h"
#include "codegen/Naming.h"
#include "codegen/backends/halide/HalideBackend.h"
#include "codegen/hadamard/HadamardHalide.h"
#include "codegen/hadamard/HadamardSchedule.h"
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

std::string hex8(uint32_t v) {
    char s[16];
    std::snprintf(s, sizeof s, "%08x", v);
    return s;
}

// "s" + 8 hex digits of the resolved schedule, "" for the target's defaults
// (codegen/Naming.h: schedules never share a symbol).
std::string scheduleTag(const HadamardSchedule &s, const HadamardSchedule &defaults) {
    const std::vector<int> fields = {s.vector, s.radix, s.rowsPerTask, s.parallel ? 1 : 0, s.hmGroup};
    const std::vector<int> base = {defaults.vector, defaults.radix, defaults.rowsPerTask, defaults.parallel ? 1 : 0,
                                   defaults.hmGroup};
    return fields == base ? "" : "s" + hex8(fnv1a(fields));
}

// The symbol's weight part names H_m: "h28" built in, "h28f" + 8 hex digits
// of the matrix for a file's (two files, two kernels).
std::string factorName(const dsl::HadamardParams &p) {
    std::string name = "h" + std::to_string(p.m);
    if (!p.matrix.empty()) {
        std::vector<int> entries(p.matrix.begin(), p.matrix.end());
        name += "f" + hex8(fnv1a(entries));
    }
    return name;
}

LoweredVariant lowerHalide(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                           const targets::TargetInfo &target) {
    checkKernel(kernel, target);
    const auto &p = paramsOf(kernel);
    const HadamardSchedule s = resolveSchedule(p, schedule, target);
    const std::vector<int8_t> hm = p.m == 1 ? std::vector<int8_t>{} : families::hadamard::factorMatrix(p);
    HadamardPipeline hp = buildHadamardPipeline(p, hm, s, target);

    SymbolParts parts;
    parts.family = "hadamard";
    parts.dst = p.output == dsl::ActKind::QInt8PerToken ? "qd8" : "f32";
    parts.act = "f32";
    parts.weight = factorName(p);
    parts.tileM = s.rowsPerTask;
    parts.tileN = static_cast<int>(*p.n.size);
    parts.tileK = s.radix;
    parts.target = target.symbolSuffix;
    parts.scheduleTag = scheduleTag(s, resolveSchedule(p, nullptr, target));
    LoweredVariant v;
    v.symbol = kernelSymbol(parts);
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
                       .glue = glueHalide}},
        .glueSpec = glueSpec,
        .describe = describe,
    };
}

}  // namespace kf::codegen::hadamard
