#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
// arm64-sve with SVE2 and the int8 matrix multiply extension (Neoverse V2 /
// N2, Graviton 4, Grace, Cortex-X3 and later): the MLIR backend's SVE kernels
// put pairs of x rows on `smmla` (twice `sdot`'s multiplies per instruction)
// and 8-bit codes on `usdot` (unsigned codes, no offset). Everything else is
// as arm64-sve: one object for every vector length, NEON with dot products
// through Halide for what MLIR does not lower.
extern const TargetInfo kArm64Sve2I8mm{
    .name = "arm64-sve2-i8mm",
    .symbolSuffix = "arm64_sve2_i8mm",
    .arch = Arch::Arm64,
    .description = "AArch64 SVE2 (any vector length) with int8 matrix multiply (smmla, usdot), NEON sdot and fp16 "
                   "(ARMv8.6-A+sve2+i8mm)",
    .backends = {"mlir", "halide"},
    .halideTarget = "arm-64-linux-arm_dot_prod-arm_fp16",
    .llvmTriple = "aarch64-unknown-linux-gnu",
    .llvmCpu = "generic",
    .llvmFeatures = "+sve,+sve2,+i8mm,+neon,+dotprod,+fullfp16",
    .vectorBits = 128,
    .caps = {.fma = true, .int8Dot = true, .int8DotSigned = true, .int8Matmul = true, .fp16 = true,
             .scalableVectors = true},
    .priority = 27,
    .runsHere = RunsHere::Qemu,
    .qemuCpu = "max",
    .hostSupports = cpu::arm64Sve2I8mm,
};
}
