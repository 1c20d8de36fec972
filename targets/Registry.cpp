#include "targets/Target.h"

#include <array>

namespace kf::targets {

// One line per target: the only list to touch when adding one.
extern const TargetInfo kX86Avx2, kX86Avx512, kX86Avx512Vnni, kArm64Neon, kArm64NeonDotProd, kArm64Sve,
    kArm64Sve2I8mm, kCudaSm80;

namespace {
constexpr std::array<const TargetInfo *, 8> kRegistry{
    &kX86Avx2,
    &kX86Avx512,
    &kX86Avx512Vnni,
    &kArm64Neon,
    &kArm64NeonDotProd,
    &kArm64Sve,
    &kArm64Sve2I8mm,
    &kCudaSm80,
};

Arch hostArch() {
#if defined(__aarch64__)
    return Arch::Arm64;
#else
    return Arch::X86_64;
#endif
}
}  // namespace

std::span<const TargetInfo *const> all() { return kRegistry; }

const TargetInfo *find(std::string_view name) {
    for (const TargetInfo *t : kRegistry)
        if (name == t->name) return t;
    return nullptr;
}

const TargetInfo *bestHostTarget() {
    const TargetInfo *best = nullptr;
    for (const TargetInfo *t : kRegistry)
        if (t->arch == hostArch() && t->hostSupports() && (!best || t->priority > best->priority)) best = t;
    return best;
}

const char *toString(RunsHere how) {
    switch (how) {
    case RunsHere::Native: return "native";
    case RunsHere::Qemu: return "qemu";
    case RunsHere::LentGpu: return "lent GPU";
    }
    return "?";
}

std::string knownNames() {
    std::string s;
    for (const TargetInfo *t : kRegistry) {
        if (!s.empty()) s += ", ";
        s += t->name;
    }
    return s;
}

}  // namespace kf::targets
