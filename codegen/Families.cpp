// The families code generation knows: every family of KFORGE_FAMILIES
// (cmake/KforgeFamilies.cmake) with a folder codegen/<family>/, each defining
// kf::codegen::<family>::family().
#include "codegen/Family.h"

namespace kf::codegen {

#define KF_FAMILY(name) \
    namespace name {    \
    FamilyCodegen family(); \
    }
#include "kforge/codegen/Families.inc"
#undef KF_FAMILY

const std::vector<FamilyCodegen> &families() {
    static const std::vector<FamilyCodegen> all = {
#define KF_FAMILY(name) name::family(),
#include "kforge/codegen/Families.inc"
#undef KF_FAMILY
    };
    return all;
}

const FamilyCodegen *familyCodegen(dsl::Family family) {
    for (const FamilyCodegen &f : families())
        if (f.family == family) return &f;
    return nullptr;
}

}  // namespace kf::codegen
