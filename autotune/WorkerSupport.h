// \file
// What every family's measurement (FamilyTuning::measure) shares in the
// worker process (`kforge tune-worker`): the candidate library and its C API,
// the kernel's spec, ending a measurement with a status, the rows to check,
// and the sampling loop with the read roofline measured beside it.
//
// The library's C API is called through the functions dlsym finds in the
// candidate (loaded RTLD_LOCAL; Builder links it -Bsymbolic), never the copy
// of the runtime linked into kforge itself.
#pragma once

#include <kforge/core.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "autotune/Runner.h"
#include "dsl/Spec.h"

namespace kf::autotune::worker {

// A measurement that ends early: its status ("error", "wrong") and why.
struct Stop : std::runtime_error {
    std::string status;
    Stop(std::string s, const std::string &message) : std::runtime_error(message), status(std::move(s)) {}
};

// The candidate's shared object, loaded for the life of the process (never
// dlclose'd: TBB's threads may still hold its code).
class Library {
public:
    explicit Library(const std::string &path);  // throws Stop
    // The function `symbol` of the library into fn; throws Stop when absent.
    template <typename Fn>
    void bind(const char *symbol, Fn &fn) const {
        fn = reinterpret_cast<Fn>(lookup(symbol));
    }
    // "<call>: KF_ERR_SHAPE: <kf_last_error()>" of a failed C API call.
    std::string failure(const char *call, kf_status status) const;
    const std::string &path() const { return path_; }

private:
    void *lookup(const char *symbol) const;
    void *handle_ = nullptr;
    std::string path_;
    const char *(*statusName_)(kf_status) = nullptr;
    const char *(*lastError_)(void) = nullptr;
};

// What a family's measure gets.
struct Call {
    const RunRequest &request;
    const Library &library;
    const kf_kernel_def *def;      // the candidate's kernel (its accessor's result)
    const dsl::KernelSpec &kernel; // the same kernel as the kernel file declares it
    int threads;                   // >= 0; 0 = all hardware threads
    bool wrong;                    // test hook (KFORGE_TUNE_FAULT wrong:...): perturb the output before the check

    // The size of dimension `name`: the request's shape, else the kernel's
    // declared size; Stop when neither has it.
    int64_t dim(const std::string &name, const dsl::Dim *declared = nullptr) const;
};

constexpr double kMaxRelativeError = 1e-5;  // f32 paths vs the double reference (docs/formats.md, "Tolerances")
constexpr uint64_t kInputSeed = 2, kWeightSeed = 1;

// The rows checked at M: all of them up to 8, else the first, the last and
// three between (a reference costs M x the work of a row).
std::vector<int64_t> checkedRows(int64_t M);

// The sampling loop over a working set of `calls` distinct calls
// (`call(i)`, i < calls: one per copy of a layer, or per block of rows)
// totalling workingSetBytes (what the read roofline reads): samples of whole
// sweeps through all of them, >= 20 ms each, until the best and third-best
// agree within the request's tolerance (>= minSamples), maxSamples, or
// maxSeconds; the read bandwidth of a buffer as large as the working set is
// measured with the same threads between samples (its best pass counts).
// Fills out.samples and out.seconds (per call), out.readBandwidth and
// out.layers (= calls).
void timeCalls(const RunRequest &request, std::size_t workingSetBytes, int threads, std::size_t calls,
               const std::function<void(std::size_t)> &call, Measurement &out);

}  // namespace kf::autotune::worker
