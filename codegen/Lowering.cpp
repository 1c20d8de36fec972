#include "codegen/Lowering.h"

#include <array>

#include "codegen/CodegenError.h"
#include "codegen/Naming.h"
#include "codegen/lowbit_linear/LowbitLinearHalide.h"

namespace kf::codegen {

namespace {

LoweredVariant lowerLowbitLinear(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                                 const targets::TargetInfo &target) {
    const auto &p = std::get<dsl::LowbitLinearParams>(kernel.params);
    const lowbit::LinearSchedule s = lowbit::resolveSchedule(p, schedule, target);
    lowbit::LinearPipeline lp = lowbit::buildLinearPipeline(kernel, s, target);

    SymbolParts parts;
    parts.family = "linear";
    parts.dst = dsl::toString(p.output);
    parts.act = p.input == dsl::ActKind::QInt8PerToken ? "qd8" : dsl::toString(p.input);
    parts.weight = dsl::formatName(p.weight) + (p.group ? "g" + std::to_string(p.group) : std::string("c")) +
                   dsl::toString(p.scaleType);
    parts.epilogue = p.bias ? "bias" : "";
    parts.tileM = 1;
    parts.tileN = s.interleave;
    parts.tileK = lowbit::kAlign(p, s);
    parts.target = target.symbolSuffix;
    return LoweredVariant{kernelSymbol(parts), &target, lp.pipeline, lp.args, lp.layout};
}

// One line per family that has a lowering.
constexpr std::array<FamilyLowering, 1> kLowerings{{
    {dsl::Family::LowbitLinear, lowerLowbitLinear},
}};

}  // namespace

const dsl::Schedule *findSchedule(const dsl::Module &module, const std::string &kernel, const std::string &target) {
    for (const dsl::Schedule &s : module.schedules)
        if (s.kernel == kernel && s.target == target && s.bucket == dsl::Bucket::Any) return &s;
    return nullptr;
}

LoweredVariant lowerKernel(const dsl::Module &module, const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    for (const dsl::Schedule &s : module.schedules)
        if (s.kernel == kernel.name && s.target == target.name && s.bucket != dsl::Bucket::Any)
            throw CodegenError(s.loc, std::string("schedules per shape bucket (bucket=") + dsl::toString(s.bucket) +
                                          ") are not dispatched yet; write the schedule without a bucket");
    for (const FamilyLowering &l : kLowerings)
        if (l.family == kernel.family) return l.lower(kernel, findSchedule(module, kernel.name, target.name), target);
    throw CodegenError(kernel.loc, std::string("no lowering of ") + dsl::toString(kernel.family) + " for " +
                                       target.name + " yet");
}

Halide::Target halideTarget(const targets::TargetInfo &target, bool withRuntime) {
    Halide::Target t(target.halideTarget);
    if (!withRuntime) t = t.with_feature(Halide::Target::NoRuntime);
    return t;
}

}  // namespace kf::codegen
