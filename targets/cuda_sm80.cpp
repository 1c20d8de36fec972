#include "targets/CpuFeatures.h"
#include "targets/Target.h"

namespace kf::targets {
// Host side x86-64 + CUDA PTX for compute capability 8.0 (A100; runs on H100).
extern const TargetInfo kCudaSm80{
    "cuda-sm80", "cuda_sm80", Arch::Cuda,
    "host-cuda-cuda_capability_80",
    1024, 10, RunsHere::LentGpu, nullptr, cpu::never,
    "NVIDIA GPU, compute capability 8.0+ (PTX via Halide)"};
}
