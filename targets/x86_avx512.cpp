#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kX86Avx512{
    .name = "x86-avx512",
    .symbolSuffix = "x86_avx512",
    .arch = Arch::X86_64,
    .description = "x86-64 with AVX-512 F/CD/BW/DQ/VL (Skylake-X)",
    .backends = {"halide"},
    .halideTarget = "x86-64-linux-sse41-avx-avx2-fma-f16c-avx512-avx512_skylake",
    .llvmTriple = "x86_64-unknown-linux-gnu",
    .llvmCpu = "skylake-avx512",
    .llvmFeatures = "+sse4.1,+avx,+avx2,+fma,+f16c,+avx512f,+avx512cd,+avx512bw,+avx512dq,+avx512vl",
    .vectorBits = 512,
    .caps = {.fma = true},
    .priority = 20,
    .runsHere = RunsHere::Native,
    .hostSupports = cpu::x86Avx512,
};
}
