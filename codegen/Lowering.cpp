#include "codegen/Lowering.h"

#include "codegen/CodegenError.h"

#include <string_view>

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

namespace {

bool covers(const BackendLowering &l, const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    return !l.covers || l.covers(kernel, target);
}

std::string backendList(const targets::TargetInfo &target) {
    std::string want;
    for (const char *b : target.backends)
        if (b) want += (want.empty() ? "" : ", ") + std::string(b);
    return want.empty() ? "no backend" : want;
}

// The schedule's `backend` directive, or null.
const dsl::Directive *backendDirective(const dsl::Schedule *schedule) {
    if (schedule)
        for (const dsl::Directive &d : schedule->directives)
            if (d.kind == dsl::Directive::Kind::Backend && !d.vars.empty()) return &d;
    return nullptr;
}

}  // namespace

std::vector<const BackendLowering *> coveringLowerings(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    std::vector<const BackendLowering *> out;
    const FamilyCodegen *family = familyCodegen(kernel.family);
    if (!family) return out;
    for (const char *backend : target.backends)
        if (backend)
            for (const BackendLowering &l : family->lowerings)
                if (std::string_view(l.backend) == backend && covers(l, kernel, target)) out.push_back(&l);
    return out;
}

const BackendLowering &loweringFor(const dsl::KernelSpec &kernel, const targets::TargetInfo &target,
                                   const dsl::Schedule *schedule) {
    const FamilyCodegen &family = familyOf(kernel, target);
    if (const dsl::Directive *d = backendDirective(schedule)) {
        const std::string &name = d->vars[0];
        if (!target.hasBackend(name))
            throw CodegenError(d->loc, std::string(target.name) + " compiles through " + backendList(target) +
                                           "; 'backend " + name + "' is not one of them");
        for (const BackendLowering &l : family.lowerings)
            if (l.backend == name) {
                if (covers(l, kernel, target)) return l;
                break;
            }
        throw CodegenError(d->loc, std::string("'backend ") + name + "' has no lowering of this " +
                                       dsl::toString(kernel.family) + " kernel for " + target.name);
    }
    for (const BackendLowering *l : coveringLowerings(kernel, target)) return *l;
    std::string have;
    for (const BackendLowering &l : family.lowerings) have += (have.empty() ? "" : ", ") + std::string(l.backend);
    throw CodegenError(kernel.loc, std::string("no lowering of ") + dsl::toString(kernel.family) + " for " +
                                       target.name + " yet (the target compiles through " + backendList(target) +
                                       "; " + dsl::toString(kernel.family) + " lowers through " +
                                       (have.empty() ? "none" : have) + ")");
}

std::vector<LoweredVariant> lowerKernel(const dsl::Module &module, const dsl::KernelSpec &kernel,
                                        const targets::TargetInfo &target) {
    const FamilyCodegen &family = familyOf(kernel, target);
    std::vector<LoweredVariant> variants;
    for (const dsl::BucketDef &bucket : dsl::bucketDefs()) {
        const dsl::Schedule *s = findSchedule(module, kernel.name, target.name, bucket.bucket);
        if (!s && bucket.bucket != dsl::Bucket::Any) continue;
        const BackendLowering &lowering = loweringFor(kernel, target, s);
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
    loweringFor(kernel, target, &schedule).check(kernel, schedule, target);
}

bool sameLayout(const dsl::KernelSpec &kernel, const LoweredVariant &a, const LoweredVariant &b) {
    const FamilyCodegen *f = familyCodegen(kernel.family);
    return !f || !f->sameLayout || f->sameLayout(a.layout, b.layout);
}

}  // namespace kf::codegen
