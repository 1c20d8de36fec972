#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
// Host side x86-64 + CUDA PTX for compute capability 8.0 (A100; runs on H100).
// Registered so kernel files may schedule it; no family lowers for it yet.
extern const TargetInfo kCudaSm80{
    .name = "cuda-sm80",
    .symbolSuffix = "cuda_sm80",
    .arch = Arch::Cuda,
    .description = "NVIDIA GPU, compute capability 8.0+ (PTX via Halide)",
    .backends = {"halide"},
    .halideTarget = "host-cuda-cuda_capability_80",
    .llvmTriple = "nvptx64-nvidia-cuda",
    .llvmCpu = "sm_80",
    .llvmFeatures = "+ptx70",
    .vectorBits = 1024,
    .caps = {.fma = true, .int8Dot = true, .int8DotSigned = true, .fp16 = true},
    .priority = 10,
    .runsHere = RunsHere::LentGpu,
    .hostSupports = cpu::never,
};
}
