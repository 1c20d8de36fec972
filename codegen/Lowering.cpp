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
    parts.weight = dsl::formatName(p.weight) + (p.weight.ternaryBase3 ? "b3" : "") +
                   (p.weight.perChannelCodebook ? "pc" : "") +
                   (p.group ? "g" + std::to_string(p.group) : std::string("c")) + dsl::toString(p.scaleType);
    parts.epilogue = p.bias ? "bias" : "";
    parts.tileM = s.mTile;
    parts.tileN = lp.layout.interleave;
    parts.tileK = lp.layout.kAlign;
    parts.target = target.symbolSuffix;
    return LoweredVariant{kernelSymbol(parts), &target, lp.pipeline, lp.args, lp.layout};
}

// One line per family that has a lowering.
constexpr std::array<FamilyLowering, 1> kLowerings{{
    {dsl::Family::LowbitLinear, lowerLowbitLinear},
}};

}  // namespace

const dsl::Schedule *findSchedule(const dsl::Module &module, const std::string &kernel, const std::string &target,
                                  dsl::Bucket bucket) {
    for (const dsl::Schedule &s : module.schedules)
        if (s.kernel == kernel && s.target == target && s.bucket == bucket) return &s;
    return nullptr;
}

std::vector<LoweredVariant> lowerKernel(const dsl::Module &module, const dsl::KernelSpec &kernel,
                                        const targets::TargetInfo &target) {
    const FamilyLowering *lowering = nullptr;
    for (const FamilyLowering &l : kLowerings)
        if (l.family == kernel.family) lowering = &l;
    if (!lowering)
        throw CodegenError(kernel.loc, std::string("no lowering of ") + dsl::toString(kernel.family) + " for " +
                                           target.name + " yet");
    std::vector<LoweredVariant> variants;
    for (dsl::Bucket b : {dsl::Bucket::Any, dsl::Bucket::Decode, dsl::Bucket::SmallBatch, dsl::Bucket::Prefill}) {
        const dsl::Schedule *s = findSchedule(module, kernel.name, target.name, b);
        if (!s && b != dsl::Bucket::Any) continue;
        LoweredVariant v = lowering->lower(kernel, s, target);
        v.bucket = b;
        if (!variants.empty()) {
            const rt::LinearLayout &a = variants[0].layout, &l = v.layout;
            if (a.interleave != l.interleave || a.kAlign != l.kAlign || a.kBlock != l.kBlock)
                throw CodegenError(s->loc, std::string("bucket=") + dsl::toString(b) + " packs the weights differently (" +
                                               std::to_string(l.interleave) + " rows x " + std::to_string(l.kAlign) +
                                               " k) from the target's bucket-any schedule (" +
                                               std::to_string(a.interleave) + " x " + std::to_string(a.kAlign) +
                                               "); the buckets of a target share one packed layout");
        }
        variants.push_back(std::move(v));
    }
    return variants;
}

Halide::Target halideTarget(const targets::TargetInfo &target, bool withRuntime) {
    Halide::Target t(target.halideTarget);
    if (!withRuntime) t = t.with_feature(Halide::Target::NoRuntime);
    return t;
}

}  // namespace kf::codegen
