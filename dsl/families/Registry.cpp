// The kernel families the DSL knows. Adding a family: a folder
// dsl/families/<family>/ defining `FamilyDef <name>Family()`, and one line in
// KF_DSL_FAMILIES below.
#include "dsl/families/Family.h"

namespace kf::dsl {

#define KF_DSL_FAMILIES(X) \
    X(lowbitLinearFamily)  \
    X(hadamardFamily)      \
    X(rotationAttentionFamily) \
    X(sparseRankLinearFamily)

#define KF_DSL_DECLARE_FAMILY(fn) FamilyDef fn();
KF_DSL_FAMILIES(KF_DSL_DECLARE_FAMILY)
#undef KF_DSL_DECLARE_FAMILY

const std::vector<FamilyDef> &families() {
#define KF_DSL_FAMILY_ENTRY(fn) fn(),
    static const std::vector<FamilyDef> all = {KF_DSL_FAMILIES(KF_DSL_FAMILY_ENTRY)};
#undef KF_DSL_FAMILY_ENTRY
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
