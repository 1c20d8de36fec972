#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kArm64NeonDotProd{
    .name = "arm64-neon-dotprod",
    .symbolSuffix = "arm64_neondot",
    .arch = Arch::Arm64,
    .description = "AArch64 NEON with sdot/udot and fp16 (ARMv8.2-A+dotprod)",
    .backends = {"halide"},
    .halideTarget = "arm-64-linux-arm_dot_prod-arm_fp16",
    .llvmTriple = "aarch64-unknown-linux-gnu",
    .llvmCpu = "generic",
    .llvmFeatures = "+neon,+dotprod,+fullfp16",
    .vectorBits = 128,
    .caps = {.fma = true, .int8Dot = true, .int8DotSigned = true, .fp16 = true},
    .priority = 20,
    .runsHere = RunsHere::Qemu,
    .qemuCpu = "max",
    .hostSupports = cpu::arm64DotProd,
};
}
