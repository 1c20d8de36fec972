// \file
// One tuning task: a kernel, for one target and one shape bucket, at one shape
// (named dimensions, rows first: M=1 N=11008 K=4096). What the space, the
// runner and the database all describe their work by.
#pragma once

#include <cstdint>
#include <string>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::autotune {

struct Task {
    const dsl::Module *module = nullptr;
    const dsl::KernelSpec *kernel = nullptr;
    const targets::TargetInfo *target = nullptr;
    dsl::Bucket bucket = dsl::Bucket::Decode;
    dsl::Shape shape;             // what the candidates are measured at (the family's dims, rows first)
    int threads = 0;              // threads the kernel runs on while timed (0 = all hardware threads)
};

// "down_proj x86-avx512vnni decode 1x11008x4096" (for progress lines and errors).
std::string describe(const Task &task);

}  // namespace kf::autotune
