// The families the tuner knows: every family of KFORGE_FAMILIES
// (cmake/KforgeFamilies.cmake) with a folder autotune/families/<family>/,
// each defining kf::autotune::<family>::family().
#include "autotune/Family.h"

namespace kf::autotune {

#define KF_FAMILY(name) \
    namespace name {    \
    FamilyTuning family(); \
    }
#include "kforge/autotune/Families.inc"
#undef KF_FAMILY

const std::vector<FamilyTuning> &tunedFamilies() {
    static const std::vector<FamilyTuning> all = {
#define KF_FAMILY(name) name::family(),
#include "kforge/autotune/Families.inc"
#undef KF_FAMILY
    };
    return all;
}

const FamilyTuning *familyTuning(dsl::Family family) {
    for (const FamilyTuning &f : tunedFamilies())
        if (f.family == family) return &f;
    return nullptr;
}

}  // namespace kf::autotune
