// \file
// What `kforge emit` needs besides Halide: a C++ compiler for the generated
// glue, `ar` to merge archives, and where kforge's runtime headers and
// archives are. Defaults come from the build (CMake); KFORGE_CXX / CXX and
// KFORGE_AR override the tools.
#pragma once

#include <string>
#include <vector>

namespace kf::codegen {

struct Toolchain {
    std::string cxx;                          // C++ compiler for generated glue
    std::string ar;                           // GNU ar (MRI scripts)
    std::vector<std::string> includeDirs;     // kforge runtime + bridge headers
    std::vector<std::string> runtimeArchives; // merged into every emitted library
    std::string runtimeHeader;                // kforge/kforge.h, copied next to the emitted header
    std::string extraLibs;                    // link flags consumers need (a sanitized runtime's)
};

Toolchain defaultToolchain();

// Runs argv (no shell), stdin from `stdinPath` if not empty. Returns the exit
// status; `output` gets stdout + stderr.
int runCommand(const std::vector<std::string> &argv, std::string &output, const std::string &stdinPath = "");

}  // namespace kf::codegen
