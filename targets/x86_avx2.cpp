#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kX86Avx2{
    .name = "x86-avx2",
    .symbolSuffix = "x86_avx2",
    .arch = Arch::X86_64,
    .description = "x86-64 with AVX2, FMA and F16C (Haswell, Zen 1+)",
    .backends = {"halide"},
    .halideTarget = "x86-64-linux-sse41-avx-avx2-fma-f16c",
    .llvmTriple = "x86_64-unknown-linux-gnu",
    .llvmCpu = "haswell",
    .llvmFeatures = "+sse4.1,+avx,+avx2,+fma,+f16c",
    .vectorBits = 256,
    .caps = {.fma = true},
    .priority = 10,
    .runsHere = RunsHere::Native,
    .hostSupports = cpu::x86Avx2Fma,
};
}
