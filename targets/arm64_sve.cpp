#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
// Scalable vectors: the MLIR backend emits vector-length-agnostic SVE (one
// object for every vector length, 128 to 2048 bits); what it does not lower
// yet goes through Halide as NEON with dot products, which every SVE core
// this target accepts also has.
extern const TargetInfo kArm64Sve{
    .name = "arm64-sve",
    .symbolSuffix = "arm64_sve",
    .arch = Arch::Arm64,
    .description = "AArch64 SVE (any vector length) with NEON sdot/udot and fp16 (ARMv8.2-A+sve+dotprod)",
    .backends = {"mlir", "halide"},
    .halideTarget = "arm-64-linux-arm_dot_prod-arm_fp16",
    .llvmTriple = "aarch64-unknown-linux-gnu",
    .llvmCpu = "generic",
    .llvmFeatures = "+sve,+neon,+dotprod,+fullfp16",
    .vectorBits = 128,
    .caps = {.fma = true, .int8Dot = true, .int8DotSigned = true, .fp16 = true, .scalableVectors = true},
    .priority = 25,
    .runsHere = RunsHere::Qemu,
    .qemuCpu = "max",
    .hostSupports = cpu::arm64Sve,
};
}
