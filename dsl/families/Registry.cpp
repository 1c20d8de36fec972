// The kernel families the DSL knows: every family of KFORGE_FAMILIES
// (cmake/KforgeFamilies.cmake) with a folder dsl/families/<family>/, each
// defining kf::dsl::<family>::family().
#include "dsl/families/Family.h"

namespace kf::dsl {

#define KF_FAMILY(name) \
    namespace name {    \
    FamilyDef family(); \
    }
#include "kforge/dsl/Families.inc"
#undef KF_FAMILY

const std::vector<FamilyDef> &families() {
    static const std::vector<FamilyDef> all = {
#define KF_FAMILY(name) name::family(),
#include "kforge/dsl/Families.inc"
#undef KF_FAMILY
    };
    return all;
}

const FamilyDef *findFamily(std::string_view name) {
    for (const auto &f : families())
        if (name == f.name) return &f;
    return nullptr;
}

const FamilyDef *findFamily(Family family) {
    for (const auto &f : families())
        if (f.family == family) return &f;
    return nullptr;
}

std::vector<Dim> kernelDims(const KernelSpec &kernel) {
    const FamilyDef *f = findFamily(kernel.family);
    return f && f->dims ? f->dims(kernel.params) : std::vector<Dim>{};
}

std::string familyNames() {
    std::string out;
    for (const auto &f : families()) {
        if (!out.empty()) out += ", ";
        out += f.name;
    }
    return out;
}

}  // namespace kf::dsl
