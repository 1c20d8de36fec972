// \file
// One tuning task: a kernel, for one target and one shape bucket, at one shape
// (M rows for the bucket, N x K). What the space, the runner and the database
// all describe their work by.
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
    int64_t m = 1, n = 0, k = 0;  // shape the candidates are measured at
    int threads = 0;              // threads the kernel runs on while timed (0 = all hardware threads)
};

// The M a bucket is measured at when --shapes does not say: decode 1,
// small batch 16, prefill 128.
int64_t defaultRows(dsl::Bucket bucket);

// "int4_g128 x86-avx512vnni decode 1x11008x4096" (for progress lines and errors).
std::string describe(const Task &task);

}  // namespace kf::autotune
