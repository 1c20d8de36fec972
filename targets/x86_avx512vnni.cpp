#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
// The whole chain is spelled out: a short `avx512_sapphirerapids` compiles but
// fails to link (undefined dpbusdx16) with Halide 14 (docs/halide.md).
extern const TargetInfo kX86Avx512Vnni{
    .name = "x86-avx512vnni",
    .symbolSuffix = "x86_avx512vnni",
    .arch = Arch::X86_64,
    .description = "x86-64 with AVX-512 VNNI, BF16, IFMA and VBMI (Sapphire Rapids, Zen 4)",
    .backends = {"halide", "mlir"},  // mlir where a schedule says `backend mlir`
    .halideTarget = "x86-64-linux-sse41-avx-avx2-fma-f16c-avx512-avx512_skylake-avx512_cannonlake-avx512_sapphirerapids",
    .llvmTriple = "x86_64-unknown-linux-gnu",
    .llvmCpu = "x86-64-v4",  // not "sapphirerapids": its GFNI / AMX / FP16 are not in hostSupports
    .llvmTuneCpu = "sapphirerapids",
    // Halide's avx512_cannonlake (in the chain above) assumes IFMA and VBMI,
    // so the MLIR kernels may use them too (base-3 ternary decodes with
    // `vpermi2b`), and hostSupports checks both.
    .llvmFeatures = "+sse4.1,+avx,+avx2,+fma,+f16c,+avx512f,+avx512cd,+avx512bw,+avx512dq,+avx512vl,"
                    "+avx512ifma,+avx512vbmi,+avx512vnni,+avx512bf16",
    .vectorBits = 512,
    .caps = {.fma = true, .int8Dot = true, .bf16 = true},
    .priority = 30,
    .runsHere = RunsHere::Native,
    .hostSupports = cpu::x86Avx512Vnni,
};
}
