#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
// The whole chain is spelled out: a short `avx512_sapphirerapids` compiles but
// fails to link (undefined dpbusdx16) with Halide 14 (HALIDE-NOTES.md).
extern const TargetInfo kX86Avx512Vnni{
    "x86-avx512vnni", "x86_avx512vnni", Arch::X86_64,
    "x86-64-linux-sse41-avx-avx2-fma-f16c-avx512-avx512_skylake-avx512_cannonlake-avx512_sapphirerapids",
    512, 30, RunsHere::Native, nullptr, cpu::x86Avx512Vnni,
    "x86-64 with AVX-512 VNNI and BF16 (Sapphire Rapids, Zen 4)"};
}
