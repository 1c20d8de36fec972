#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kArm64Neon{
    "arm64-neon", "arm64_neon", Arch::Arm64,
    "arm-64-linux",
    128, 10, RunsHere::Qemu, "max", cpu::arm64Neon,
    "AArch64 Advanced SIMD (any ARMv8-A)"};
}
