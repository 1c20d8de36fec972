// \file
// What makes a measurement valid elsewhere: the machine (CPU model, the
// registry targets it runs, cores, caches) and the compilers (Halide, LLVM, the C++
// compiler emit uses, kforge's version). Both go into every record's key.
#pragma once

#include <cstdint>
#include <string>

namespace kf::autotune {

// e.g. "Intel(R) Xeon(R) ... | <registry targets this CPU runs> | 2 cpus | L3 480 MiB"
std::string machineFingerprint();
// The machine as a measurement on `threads` threads sees it: the fingerprint
// above, plus " | 1 thread" / " | N threads" when fewer than all CPUs
// (0 = all). Records measured on fewer threads are a different machine:
// their own keys, their own best, and emit takes them only when no record of
// the whole machine exists.
std::string machineFingerprint(int threads);
// e.g. "kforge 0.1.0 | Halide 14.0.0 | LLVM 14 | g++ 12.2.0"
std::string compilerFingerprint();
// Last-level cache size in bytes (sysfs), 32 MiB when unknown.
int64_t lastLevelCacheBytes();

}  // namespace kf::autotune
