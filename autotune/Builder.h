// \file
// Compiles candidates: each schedule of a task becomes a shared object holding
// the kernel (one variant), the kforge runtime and a Halide runtime, which the
// runner's worker process loads. Each build is a `kforge tune-build` process
// (a compiler crash fails one candidate, not the run); builds run in parallel
// on a TBB arena, and share one Halide runtime object per architecture.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "autotune/Task.h"

namespace kf::autotune {

struct BuiltCandidate {
    std::string library;    // path of the shared object ("" when the build failed)
    std::string accessor;   // "kf_<lib>_<kernel>"
    std::string symbol;     // the kernel symbol the schedule compiled to
    std::string error;      // the compiler's message when the build failed
    std::string directory;  // the candidate's files
    double seconds = 0;     // build time
};

class Builder {
public:
    // Candidates go under workDir (created). `kforge`: argv prefix that runs
    // this kforge (its path); jobs = parallel builds (0 = hardware threads).
    Builder(std::string workDir, std::vector<std::string> kforge, int jobs = 0);
    // One result per schedule text (Space::scheduleText), in order. Never
    // throws for a candidate that fails to build.
    std::vector<BuiltCandidate> build(const Task &task, const std::vector<std::string> &schedules);
    // Removes a candidate's files once it has been measured.
    void discard(const BuiltCandidate &candidate);

private:
    std::string workDir_;
    std::vector<std::string> kforge_;
    int jobs_;
    int next_ = 0;
};

// `kforge tune-build FILE KERNEL SCHEDULE_FILE TARGET OUT_DIR RUNTIME_OBJECT`:
// emits OUT_DIR/lib/libkforge_cand.{a,so} holding KERNEL of FILE scheduled by
// the schedule in SCHEDULE_FILE, and prints "symbol <kernel symbol>". Returns
// the exit code.
int buildMain(const std::string &kernelFile, const std::string &kernelName, const std::string &scheduleFile,
              const std::string &targetName, const std::string &outDir, const std::string &runtimeObject,
              std::ostream &out, std::ostream &err);

}  // namespace kf::autotune
