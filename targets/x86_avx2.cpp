#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kX86Avx2{
    "x86-avx2", "x86_avx2", Arch::X86_64,
    "x86-64-linux-sse41-avx-avx2-fma-f16c",
    256, 10, RunsHere::Native, nullptr, cpu::x86Avx2Fma,
    "x86-64 with AVX2, FMA and F16C (Haswell, Zen 1+)"};
}
