#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
extern const TargetInfo kX86Avx512{
    "x86-avx512", "x86_avx512", Arch::X86_64,
    "x86-64-linux-sse41-avx-avx2-fma-f16c-avx512-avx512_skylake",
    512, 20, RunsHere::Native, nullptr, cpu::x86Avx512,
    "x86-64 with AVX-512 F/CD/BW/DQ/VL (Skylake-X)"};
}
