// \file
// CPU feature tests for runtime dispatch, read once per process.
#pragma once

namespace kf::targets::cpu {

bool x86Avx2Fma();         // AVX2 + FMA + F16C
bool x86Avx512();          // AVX-512 F/CD/BW/DQ/VL (Skylake-X level)
bool x86Avx512Vnni();      // + VNNI (vpdpbusd) and BF16
bool arm64Neon();
bool arm64DotProd();       // sdot/udot
bool arm64Sve();           // SVE (any vector length), with NEON sdot/udot
bool arm64Sve2I8mm();      // + SVE2 and SVE's int8 matrix multiply (smmla, usdot)
bool never();              // targets this process can never run (CUDA: runs on a device)

}  // namespace kf::targets::cpu
