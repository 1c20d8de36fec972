#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kArm64Neon{
    .name = "arm64-neon",
    .symbolSuffix = "arm64_neon",
    .arch = Arch::Arm64,
    .description = "AArch64 Advanced SIMD (any ARMv8-A)",
    .backends = {"halide"},
    .halideTarget = "arm-64-linux",
    .llvmTriple = "aarch64-unknown-linux-gnu",
    .llvmCpu = "generic",
    .llvmFeatures = "+neon",
    .vectorBits = 128,
    .caps = {.fma = true},
    .priority = 10,
    .runsHere = RunsHere::Qemu,
    .qemuCpu = "max",
    .hostSupports = cpu::arm64Neon,
};
}
