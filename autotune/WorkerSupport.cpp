#include "autotune/WorkerSupport.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "perf/Ceilings.h"

namespace kf::autotune::worker {

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kMinSampleSeconds = 0.02;               // calls per sample: at least this long
constexpr std::size_t kReadBytesPerMeasure = 32u << 20;  // small buffers: passes to read this much

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// True when the best and third-best samples agree within `tolerance`.
bool converged(std::vector<double> samples, double tolerance) {
    if (samples.size() < 3) return false;
    std::sort(samples.begin(), samples.end());
    return samples[2] <= samples[0] * (1.0 + tolerance);
}

}  // namespace

Library::Library(const std::string &path) : path_(path) {
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
        const char *why = dlerror();
        throw Stop("error", "cannot load " + path + ": " + (why ? why : "dlopen failed"));
    }
    bind("kf_status_name", statusName_);
    bind("kf_last_error", lastError_);
}

void *Library::lookup(const char *symbol) const {
    dlerror();
    void *p = dlsym(handle_, symbol);
    if (!p) throw Stop("error", path_ + " does not export " + symbol);
    return p;
}

std::string Library::failure(const char *call, kf_status status) const {
    return std::string(call) + ": " + statusName_(status) + ": " + lastError_();
}

int64_t Call::dim(const std::string &name, const dsl::Dim *declared) const {
    if (const int64_t v = request.shape[name]; v > 0) return v;
    if (declared && declared->size) return *declared->size;
    throw Stop("error", "the kernel's " + name + " is dynamic: the run request must give " + name);
}

std::vector<int64_t> checkedRows(int64_t M) {
    std::vector<int64_t> rows;
    if (M <= 8) {
        for (int64_t m = 0; m < M; ++m) rows.push_back(m);
        return rows;
    }
    for (int64_t m : {int64_t{0}, M / 4, M / 2, 3 * M / 4, M - 1})
        if (rows.empty() || rows.back() != m) rows.push_back(m);
    return rows;
}

void timeCalls(const RunRequest &r, std::size_t workingSetBytes, int threads, std::size_t calls,
               const std::function<void(std::size_t)> &call, Measurement &out) {
    out.layers = static_cast<int64_t>(calls);
    // A plain-read buffer as large as the working set, on the same kind of
    // pages (written: pages resident).
    const perf::ReadBuffer readBuf(std::max<std::size_t>(workingSetBytes, 64));
    const int readPasses = static_cast<int>(std::max<std::size_t>(1, kReadBytesPerMeasure / readBuf.bytes()));
    auto measureRead = [&] { out.readBandwidth = std::max(out.readBandwidth, readBuf.bandwidth(threads, readPasses)); };
    // Seconds per call over `sweeps` sweeps through every call.
    auto sweep = [&](int64_t sweeps) {
        const auto t0 = Clock::now();
        for (int64_t s = 0; s < sweeps; ++s)
            for (std::size_t i = 0; i < calls; ++i) call(i);
        return secondsSince(t0) / double(sweeps * static_cast<int64_t>(calls));
    };

    const double warm = sweep(1);
    const int64_t sweepsPerSample = std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil(kMinSampleSeconds / std::max(warm * static_cast<double>(calls), 1e-9))));
    measureRead();
    const auto start = Clock::now();
    const int minSamples = std::max(1, r.minSamples), maxSamples = std::max(minSamples, r.maxSamples);
    for (;;) {
        out.samples.push_back(sweep(sweepsPerSample));
        const int n = static_cast<int>(out.samples.size());
        if (n % 2 == 0) measureRead();  // this VM's bandwidth drifts: measure it alongside
        if (n >= maxSamples || secondsSince(start) >= r.maxSeconds) break;
        if (n >= minSamples && converged(out.samples, r.tolerance)) break;
    }
    measureRead();
    out.seconds = *std::min_element(out.samples.begin(), out.samples.end());
}

}  // namespace kf::autotune::worker
