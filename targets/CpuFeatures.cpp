#include "targets/CpuFeatures.h"

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace kf::targets::cpu {

#if defined(__x86_64__)
// __builtin_cpu_supports reads cpuid once (libgcc's __cpu_model) and honours
// the OS's XSAVE state for the AVX-512 registers.
bool x86Avx2Fma() {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool x86Avx512() {
    return x86Avx2Fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
}
// What Halide's avx512_sapphirerapids chain assumes (cannonlake's IFMA and
// VBMI included): Sapphire Rapids and Zen 4 have all of it; Cooper Lake
// (VNNI and BF16, no VBMI) runs x86-avx512.
bool x86Avx512Vnni() {
    return x86Avx512() && __builtin_cpu_supports("avx512ifma") && __builtin_cpu_supports("avx512vbmi") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16");
}
#else
bool x86Avx2Fma() { return false; }
bool x86Avx512() { return false; }
bool x86Avx512Vnni() { return false; }
#endif

#if defined(__aarch64__) && defined(__linux__)
bool arm64Neon() { return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0; }
bool arm64DotProd() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
bool arm64Sve() { return arm64DotProd() && (getauxval(AT_HWCAP) & HWCAP_SVE) != 0; }
// Linux's bits (asm/hwcap.h), spelled out for older headers.
#ifndef HWCAP2_SVE2
#define HWCAP2_SVE2 (1 << 1)
#endif
#ifndef HWCAP2_SVEI8MM
#define HWCAP2_SVEI8MM (1 << 9)
#endif
bool arm64Sve2I8mm() {
    const unsigned long hw2 = getauxval(AT_HWCAP2);
    return arm64Sve() && (hw2 & HWCAP2_SVE2) != 0 && (hw2 & HWCAP2_SVEI8MM) != 0;
}
#else
bool arm64Neon() { return false; }
bool arm64DotProd() { return false; }
bool arm64Sve() { return false; }
bool arm64Sve2I8mm() { return false; }
#endif

bool never() { return false; }

}  // namespace kf::targets::cpu
