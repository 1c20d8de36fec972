#include "codegen/Lowering.h"

#include "codegen/CodegenError.h"

namespace kf::codegen {

namespace {

const FamilyCodegen &familyOf(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    if (const FamilyCodegen *f = familyCodegen(kernel.family)) return *f;
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

const BackendLowering &loweringFor(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    const FamilyCodegen &family = familyOf(kernel, target);
    for (const char *backend : target.backends)
        if (backend)
            for (const BackendLowering &l : family.lowerings)
                if (std::string_view(l.backend) == backend && (!l.covers || l.covers(kernel, target))) return l;
    std::string have, want;
    for (const BackendLowering &l : family.lowerings) have += (have.empty() ? "" : ", ") + std::string(l.backend);
    for (const char *b : target.backends)
        if (b) want += (want.empty() ? "" : ", ") + std::string(b);
    throw CodegenError(kernel.loc, std::string("no lowering of ") + dsl::toString(kernel.family) + " for " +
                                       target.name + " yet (the target compiles through " +
                                       (want.empty() ? "no backend" : want) + "; " + dsl::toString(kernel.family) +
                                       " lowers through " + (have.empty() ? "none" : have) + ")");
}

std::vector<LoweredVariant> lowerKernel(const dsl::Module &module, const dsl::KernelSpec &kernel,
                                        const targets::TargetInfo &target) {
    const FamilyCodegen &family = familyOf(kernel, target);
    const BackendLowering &lowering = loweringFor(kernel, target);
    std::vector<LoweredVariant> variants;
    for (const dsl::BucketDef &bucket : dsl::bucketDefs()) {
        const dsl::Schedule *s = findSchedule(module, kernel.name, target.name, bucket.bucket);
        if (!s && bucket.bucket != dsl::Bucket::Any) continue;
        LoweredVariant v = lowering.lower(kernel, s, target);
        v.bucket = bucket.bucket;
        v.target = &target;
        v.backend = findBackend(lowering.backend);
        if (!variants.empty() && family.layoutMismatch) {
            const std::string why = family.layoutMismatch(variants[0].layout, v.layout);
            if (!why.empty()) throw CodegenError(s->loc, std::string("bucket=") + bucket.name + " " + why);
        }
        variants.push_back(std::move(v));
    }
    return variants;
}

void checkSchedule(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    loweringFor(kernel, target).check(kernel, schedule, target);
}

bool sameLayout(const dsl::KernelSpec &kernel, const LoweredVariant &a, const LoweredVariant &b) {
    const FamilyCodegen *f = familyCodegen(kernel.family);
    return !f || !f->sameLayout || f->sameLayout(a.layout, b.layout);
}

}  // namespace kf::codegen
