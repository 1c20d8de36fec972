#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kArm64NeonDotProd{
    "arm64-neon-dotprod", "arm64_neondot", Arch::Arm64,
    "arm-64-linux-arm_dot_prod-arm_fp16",
    128, 20, RunsHere::Qemu, "max", cpu::arm64DotProd,
    "AArch64 NEON with sdot/udot and fp16 (ARMv8.2-A+dotprod)"};
}
