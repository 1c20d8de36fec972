// \file
// What `kforge emit` needs besides Halide: a C++ compiler for the generated
// glue, `ar` to merge archives, and where kforge's runtime headers and
// archives are. Defaults come from the build (CMake); KFORGE_CXX / CXX and
// KFORGE_AR override the tools (KFORGE_CXX_AARCH64 / KFORGE_AR_AARCH64 those
// of arm64 libraries).
#pragma once

#include <string>
#include <vector>

#include "targets/Target.h"

namespace kf::codegen {

struct Toolchain {
    targets::Arch arch = targets::Arch::X86_64;  // what the compiler and the archives are for
    std::string cxx;                          // C++ compiler for generated glue
    std::string ar;                           // GNU ar (MRI scripts)
    std::vector<std::string> includeDirs;     // kforge runtime + bridge headers
    std::vector<std::string> runtimeArchives; // merged into every emitted library
    std::string runtimeHeaders;               // the runtime's public headers (kforge/*.h), copied next to the emitted header
    std::string extraLibs;                    // link flags consumers need (a sanitized runtime's)
    std::string unavailable;                  // not empty: why libraries for `arch` cannot be emitted, and the fix
};

// The host's (x86-64) toolchain.
Toolchain defaultToolchain();
// The toolchain for libraries of `arch`: x86-64 is defaultToolchain(); arm64
// uses the aarch64 cross compiler and the aarch64 archives of this build
// (cmake/KforgeAarch64.cmake); `unavailable` says when they are not there.
Toolchain toolchainFor(targets::Arch arch);

// Runs argv (no shell), stdin from `stdinPath` if not empty. Returns the exit
// status; `output` gets stdout + stderr.
int runCommand(const std::vector<std::string> &argv, std::string &output, const std::string &stdinPath = "");

}  // namespace kf::codegen
