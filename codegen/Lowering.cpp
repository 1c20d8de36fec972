#include "codegen/Lowering.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "codegen/CodegenError.h"
#include "codegen/Naming.h"
#include "codegen/lowbit_linear/LowbitLinearHalide.h"

namespace kf::codegen {

namespace {

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
    parts.scheduleTag = scheduleTag(s, lowbit::resolveSchedule(p, nullptr, target));
    return LoweredVariant{kernelSymbol(parts), &target, lp.pipeline, lp.args, lp.layout};
}

// What lowerLowbitLinear rejects before it builds the pipeline: the schedule
// (resolveSchedule) and a target with no lowering at all.
void checkLowbitLinear(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(kernel.loc, std::string("no lowering of lowbit_linear for ") + target.name +
                                           " yet (CUDA lowering is planned)");
    lowbit::resolveSchedule(std::get<dsl::LowbitLinearParams>(kernel.params), &schedule, target);
}

// One line per family that has a lowering.
constexpr std::array<FamilyLowering, 1> kLowerings{{
    {dsl::Family::LowbitLinear, lowerLowbitLinear, checkLowbitLinear},
}};

const FamilyLowering &loweringOf(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    for (const FamilyLowering &l : kLowerings)
        if (l.family == kernel.family) return l;
    throw CodegenError(kernel.loc, std::string("no lowering of ") + dsl::toString(kernel.family) + " for " +
                                       target.name + " yet");
}

}  // namespace

const dsl::Schedule *findSchedule(const dsl::Module &module, const std::string &kernel, const std::string &target,
                                  dsl::Bucket bucket) {
    for (const dsl::Schedule &s : module.schedules)
        if (s.kernel == kernel && s.target == target && s.bucket == bucket) return &s;
    return nullptr;
}

std::vector<LoweredVariant> lowerKernel(const dsl::Module &module, const dsl::KernelSpec &kernel,
                                        const targets::TargetInfo &target) {
    const FamilyLowering *lowering = &loweringOf(kernel, target);
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
            if (!rt::samePlanes(a, l))
                throw CodegenError(s->loc, std::string("bucket=") + dsl::toString(b) + " splits the codes into planes (" +
                                               planesText(l) + ") unlike the target's bucket-any schedule (" +
                                               planesText(a) + "): the buckets of a target share one packed layout, so "
                                               "give every bucket the same 'pack weight layout='");
        }
        variants.push_back(std::move(v));
    }
    return variants;
}

void checkSchedule(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    loweringOf(kernel, target).check(kernel, schedule, target);
}

Halide::Target halideTarget(const targets::TargetInfo &target, bool withRuntime) {
    Halide::Target t(target.halideTarget);
    if (!withRuntime) t = t.with_feature(Halide::Target::NoRuntime);
    return t;
}

}  // namespace kf::codegen
