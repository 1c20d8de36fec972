// \file
// The target registry: every ISA kforge knows, and the only place that names
// one (docs/architecture.md). A target is one TargetInfo in its own file here
// plus one line in Registry.cpp; the CLI, emit, dispatch, tests and benches
// all read this.
//
// No Halide or LLVM here: the runtime (which emitted libraries link) uses the
// CPU-feature tests, and each code generator (codegen/backends/<backend>/)
// turns the strings below into its own target description.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace kf::targets {

enum class Arch { X86_64, Arm64, Cuda };

// How code for a target runs on this (x86-64, no GPU) development machine.
enum class RunsHere { Native, Qemu, LentGpu };

// What the target's instructions can do, for lowerings that choose an
// instruction sequence and for tuner features.
struct Capabilities {
    bool fma = false;          // fused multiply-add on f32 vectors
    bool int8Dot = false;      // 4-way int8 dot products into int32 (vpdpbusd u8 x s8, sdot s8 x s8)
    bool int8DotSigned = false;// ... and the dot product takes two signed operands (ARM sdot)
    bool int8Matmul = false;   // int8 matrix multiply-accumulate, 2x8 by 8x2 per 128 bits, and mixed-sign
                               // dot products (ARM i8mm: smmla, usdot)
    bool bf16 = false;         // native bf16 dot products / conversions
    bool fp16 = false;         // f16 arithmetic
    bool scalableVectors = false;  // vector length chosen by the hardware (SVE)
};

struct TargetInfo {
    const char *name = nullptr;          // registry name used in DSL text and on the CLI: "x86-avx512"
    const char *symbolSuffix = nullptr;  // in generated symbol names after "__": "x86_avx512"
    Arch arch = Arch::X86_64;
    const char *description = nullptr;
    // Code generators that can compile for it, preferred first ("halide",
    // later "mlir"); a family lowers through the first one it has a lowering for.
    std::array<const char *, 3> backends{};
    const char *halideTarget = nullptr;  // full Halide 14 target string (docs/halide.md): spell the whole chain
    const char *llvmTriple = nullptr;    // "x86_64-unknown-linux-gnu"
    const char *llvmCpu = nullptr;       // LLVM CPU name: "skylake-avx512"; an ISA level ("x86-64-v4") where
                                         // a named CPU would enable features the target does not promise (GFNI)
    const char *llvmTuneCpu = nullptr;   // LLVM "tune-cpu": scheduling model only, no features
    const char *llvmFeatures = nullptr;  // LLVM feature string: "+avx512f,+avx512vnni,..."
    int vectorBits = 128;                // widest vector register (SVE: the minimum, 128)
    Capabilities caps{};
    int priority = 0;                    // dispatch order among runnable targets: higher wins
    RunsHere runsHere = RunsHere::Native;
    const char *qemuCpu = nullptr;       // qemu-aarch64 -cpu argument, for Arm64
    // True when the CPU this process runs on can execute code for the target.
    bool (*hostSupports)() = nullptr;

    bool hasBackend(std::string_view backend) const {
        for (const char *b : backends)
            if (b && backend == b) return true;
        return false;
    }
};

// All registered targets, in registry order.
std::span<const TargetInfo *const> all();
// nullptr if unknown.
const TargetInfo *find(std::string_view name);
// The highest-priority target of the host's architecture that the host supports.
const TargetInfo *bestHostTarget();
// "x86-avx2, x86-avx512, ..." for diagnostics.
std::string knownNames();
// "native", "qemu" or "lent GPU".
const char *toString(RunsHere how);

}  // namespace kf::targets
