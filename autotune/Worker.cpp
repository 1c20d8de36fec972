// \file
// The worker's side of a measurement (`kforge tune-worker REQ RES`): loads one
// candidate library, checks its kernel against the family's double-precision
// reference on a random layer, then times it on copies of that layer large
// enough to stream from memory, next to the read bandwidth and compute peak
// of this machine (perf/Ceilings.h). It runs in a process of its own because
// the candidate may crash or hang; whatever it can still report goes into the
// result file.
//
// The library's C API is called through the functions dlsym finds in the
// candidate (loaded RTLD_LOCAL; Builder links it -Bsymbolic), never the copy
// of the runtime linked into kforge itself.
#include <dlfcn.h>
#include <kforge/kforge.h>
#include <signal.h>
#include <sys/prctl.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "autotune/Runner.h"
#include "dsl/Load.h"
#include "dsl/families/lowbit_linear/RandomLayer.h"
#include "dsl/families/lowbit_linear/Reference.h"
#include "perf/Ceilings.h"

namespace kf::autotune {

namespace {

namespace lowbit = kf::families::lowbit;
using Clock = std::chrono::steady_clock;

constexpr double kMaxRelativeError = 1e-5;
constexpr double kMinSampleSeconds = 0.02;        // calls per sample: at least this long
constexpr std::size_t kReadBytesPerMeasure = 32u << 20;  // small buffers: passes to read this much
constexpr uint64_t kLayerSeed = 1, kInputSeed = 2;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A measurement that ends early: the status and why.
struct Stop : std::runtime_error {
    std::string status;
    Stop(std::string s, const std::string &message) : std::runtime_error(message), status(std::move(s)) {}
};

// ---- the fault hook (tests) --------------------------------------------------

struct Faults {
    bool crash = false, hang = false, wrong = false;
};

// KFORGE_TUNE_FAULT="crash:<text>;hang:<text>;wrong:<text>": each fault whose
// text occurs in the schedule.
Faults faultsFor(const std::string &schedule) {
    Faults f;
    const char *env = std::getenv("KFORGE_TUNE_FAULT");
    if (!env) return f;
    std::stringstream in(env);
    std::string item;
    while (std::getline(in, item, ';')) {
        const auto colon = item.find(':');
        if (colon == std::string::npos) continue;
        const std::string kind = item.substr(0, colon), text = item.substr(colon + 1);
        if (text.empty() || schedule.find(text) == std::string::npos) continue;
        f.crash |= kind == "crash";
        f.hang |= kind == "hang";
        f.wrong |= kind == "wrong";
    }
    return f;
}

// ---- the candidate's C API ---------------------------------------------------

struct Api {
    const kf_kernel_def *(*accessor)(void) = nullptr;
    kf_status (*create)(const kf_kernel_def *, int64_t, int64_t, const char *, kf_linear **) = nullptr;
    void (*destroy)(kf_linear *) = nullptr;
    kf_status (*packWeights)(kf_linear *, const kf_linear_weights *) = nullptr;
    kf_status (*copyWeights)(kf_linear *, const kf_linear *) = nullptr;
    size_t (*packedBytes)(const kf_linear *) = nullptr;
    kf_status (*run)(kf_linear *, const void *, int64_t, float *, int) = nullptr;
    const char *(*variantForRows)(const kf_linear *, int64_t) = nullptr;
    const char *(*statusName)(kf_status) = nullptr;
    const char *(*lastError)(void) = nullptr;

    // "KF_ERR_SHAPE: <message>" of a failed call.
    std::string failure(const char *call, kf_status st) const {
        return std::string(call) + ": " + statusName(st) + ": " + lastError();
    }
};

template <typename Fn>
void bind(void *handle, const std::string &library, const char *symbol, Fn &fn) {
    dlerror();
    void *p = dlsym(handle, symbol);
    if (!p) throw Stop("error", library + " does not export " + symbol);
    fn = reinterpret_cast<Fn>(p);
}

Api loadLibrary(const RunRequest &r) {
    void *handle = dlopen(r.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        throw Stop("error", "cannot load " + r.library + ": " + (why ? why : "dlopen failed"));
    }
    // Never dlclose'd: the process ends after one measurement, and TBB's
    // threads may still hold the library's code.
    Api api;
    bind(handle, r.library, r.accessor.c_str(), api.accessor);
    bind(handle, r.library, "kf_linear_create", api.create);
    bind(handle, r.library, "kf_linear_destroy", api.destroy);
    bind(handle, r.library, "kf_linear_pack_weights", api.packWeights);
    bind(handle, r.library, "kf_linear_copy_weights", api.copyWeights);
    bind(handle, r.library, "kf_linear_packed_bytes", api.packedBytes);
    bind(handle, r.library, "kf_linear_run", api.run);
    bind(handle, r.library, "kf_linear_variant_for_rows", api.variantForRows);
    bind(handle, r.library, "kf_status_name", api.statusName);
    bind(handle, r.library, "kf_last_error", api.lastError);
    return api;
}

// The layers of one measurement, destroyed with it.
struct Layers {
    const Api &api;
    std::vector<kf_linear *> all;
    explicit Layers(const Api &a) : api(a) {}
    ~Layers() {
        for (kf_linear *l : all) api.destroy(l);
    }
    Layers(const Layers &) = delete;
    Layers &operator=(const Layers &) = delete;
};

// ---- the kernel and its check -------------------------------------------------

dsl::LowbitLinearParams kernelParams(const RunRequest &r) {
    dsl::LoadResult loaded = dsl::loadFile(r.kernelFile, {});
    if (!loaded.ok()) {
        std::string message = "cannot load the kernel file " + r.kernelFile;
        if (!loaded.diagnostics.empty()) message += ": " + loaded.diagnostics.front().message;
        throw Stop("error", message);
    }
    const dsl::KernelSpec *spec = loaded.module->findKernel(r.kernelName);
    if (!spec || !std::holds_alternative<dsl::LowbitLinearParams>(spec->params))
        throw Stop("error", r.kernelFile + " has no lowbit_linear kernel '" + r.kernelName + "'");
    return std::get<dsl::LowbitLinearParams>(spec->params);
}

// The rows checked at M: all of them up to 8, else the first, the last and
// three between (the reference costs M x N x K).
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


// ---- the measurement -------------------------------------------------------------

int64_t dimension(int64_t requested, const dsl::Dim &declared, const char *name) {
    if (requested > 0) return requested;
    if (declared.size) return *declared.size;
    throw Stop("error", std::string("the kernel's ") + name + " is dynamic: the run request must give " + name);
}

// True when the best and third-best samples agree within `tolerance`.
bool converged(std::vector<double> samples, double tolerance) {
    if (samples.size() < 3) return false;
    std::sort(samples.begin(), samples.end());
    return samples[2] <= samples[0] * (1.0 + tolerance);
}

Measurement measure(const RunRequest &r) {
    const Faults faults = faultsFor(r.schedule);
    const Api api = loadLibrary(r);
    const kf_kernel_def *def = api.accessor();
    if (!def) throw Stop("error", r.accessor + " returned NULL");
    if (faults.crash) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (faults.hang)
        for (;;) pause();

    const dsl::LowbitLinearParams p = kernelParams(r);
    const int64_t M = r.m, N = dimension(r.n, p.n, "N"), K = dimension(r.k, p.k, "K");
    if (M < 1) throw Stop("error", "the run request needs m >= 1, got " + std::to_string(M));
    const int threads = std::max(0, r.threads);

    Measurement out;
    Layers layers(api);
    auto create = [&] {
        kf_linear *l = nullptr;
        if (kf_status st = api.create(def, N, K, nullptr, &l); st != KF_OK)
            throw Stop("error", api.failure("kf_linear_create", st));
        layers.all.push_back(l);
        return l;
    };

    // Check layer 0 at M rows before anything is timed.
    kf_linear *first = create();
    const lowbit::RandomLayer w = lowbit::makeRandomLayer(p, N, K, kLayerSeed);
    const lowbit::RandomInput x = lowbit::makeRandomInput(p, M, K, kInputSeed);
    const lowbit::ReferenceWeights rw = w.reference();
    const kf_linear_weights weights{rw.codes, rw.scales, rw.zeroPoints, rw.codebook, rw.bias};
    if (kf_status st = api.packWeights(first, &weights); st != KF_OK)
        throw Stop("error", api.failure("kf_linear_pack_weights", st));
    if (const char *v = api.variantForRows(first, M)) out.variant = v;
    std::vector<float> y(static_cast<std::size_t>(M * N), NAN);
    if (kf_status st = api.run(first, x.data(), M, y.data(), threads); st != KF_OK)
        throw Stop("error", api.failure("kf_linear_run", st));
    if (faults.wrong) y[0] += 1.0f + std::fabs(y[0]);
    const std::vector<int64_t> rows = checkedRows(M);
    if (double err = lowbit::relativeError(p, w.n, w.k, w.reference(), x.data(), y.data(), rows); !(err <= kMaxRelativeError)) {
        char msg[200];
        std::snprintf(msg, sizeof msg,
                      "result does not match the reference at %lldx%lldx%lld: relative L2 error %.3g > %g "
                      "(%zu rows checked)",
                      static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K), err,
                      kMaxRelativeError, rows.size());
        throw Stop("wrong", msg);
    }

    // Copies of layer 0 until they total streamBytes (memory-bound shapes
    // then stream from DRAM, as in a model, rather than from cache).
    const std::size_t packed = api.packedBytes(first);
    if (packed == 0) throw Stop("error", "kf_linear_packed_bytes returned 0");
    const std::size_t count =
        std::max<std::size_t>(1, (static_cast<std::size_t>(std::max<int64_t>(0, r.streamBytes)) + packed - 1) / packed);
    while (layers.all.size() < count)
        if (kf_status st = api.copyWeights(create(), first); st != KF_OK)
            throw Stop("error", api.failure("kf_linear_copy_weights", st));
    out.packedBytes = static_cast<int64_t>(packed);
    out.layers = static_cast<int64_t>(count);

    // A plain-read buffer as large as the copies, on the layers' kind of pages
    // (written: pages resident).
    const std::size_t readBytes = packed * count;
    const perf::ReadBuffer readBuf(readBytes);
    const int readPasses = static_cast<int>(std::max<std::size_t>(1, kReadBytesPerMeasure / readBytes));
    auto measureRead = [&] {
        const double bandwidth = readBuf.bandwidth(threads, readPasses);
        out.readBandwidth = std::max(out.readBandwidth, bandwidth);
    };

    // Seconds per call over `sweeps` sweeps through every copy.
    auto sweep = [&](int64_t sweeps) {
        const auto t0 = Clock::now();
        for (int64_t s = 0; s < sweeps; ++s)
            for (kf_linear *l : layers.all)
                if (kf_status st = api.run(l, x.data(), M, y.data(), threads); st != KF_OK)
                    throw Stop("error", api.failure("kf_linear_run", st));
        return secondsSince(t0) / double(sweeps * static_cast<int64_t>(count));
    };
    const double warm = sweep(1);
    const int64_t sweepsPerSample =
        std::max<int64_t>(1, static_cast<int64_t>(std::ceil(kMinSampleSeconds / std::max(warm * count, 1e-9))));

    const double peak = r.computePeak > 0 ? r.computePeak : computePeak(p.input, threads);

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

    out.status = "ok";
    out.seconds = *std::min_element(out.samples.begin(), out.samples.end());
    const double memory = out.readBandwidth > 0 ? double(packed) / out.readBandwidth : 0.0;
    const double compute = peak > 0 ? 2.0 * double(M) * double(N) * double(K) / peak : 0.0;
    out.rooflineSeconds = std::max(memory, compute);
    return out;
}

std::string readFile(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the run request " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

int workerMain(const std::string &requestPath, const std::string &resultPath) {
    // Die with the runner: a runner killed mid-measurement leaves no worker
    // behind (the worker is in a process group of its own, so ^C misses it).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The candidate's own variant is measured, whatever the tuner's environment
    // would force on kf_linear_create.
    unsetenv("KFORGE_VARIANT");
    Measurement m;
    try {
        m = measure(requestFromJson(readFile(requestPath)));
    } catch (const Stop &stop) {
        m.status = stop.status;
        m.message = stop.what();
    } catch (const std::exception &e) {
        m.status = "error";
        m.message = e.what();
    }
    std::ofstream out(resultPath, std::ios::binary | std::ios::trunc);
    out << measurementToJson(m);
    if (!out.flush()) {
        std::cerr << "kforge tune-worker: cannot write " << resultPath << " (" << m.status << ": " << m.message
                  << ")\n";
        return 1;
    }
    return 0;
}

}  // namespace kf::autotune
