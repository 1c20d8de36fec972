// \file
// The worker's side of a measurement (`kforge tune-worker REQ RES`): loads one
// candidate library and hands it to its family's measure (autotune/Family.h),
// which checks the kernel against the family's double-precision reference and
// times it next to this machine's read bandwidth and compute peak
// (perf/Ceilings.h). It runs in a process of its own because the candidate
// may crash or hang; whatever it can still report goes into the result file.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "autotune/Family.h"
#include "autotune/Runner.h"
#include "autotune/WorkerSupport.h"
#include "dsl/Load.h"
#include "kforge/detail/Kernel.h"

namespace kf::autotune {

namespace {

using worker::Stop;

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

// The kernel as the kernel file declares it.
dsl::KernelSpec kernelOf(const RunRequest &r, const dsl::LoadResult &loaded) {
    if (!loaded.ok()) {
        std::string message = "cannot load the kernel file " + r.kernelFile;
        if (!loaded.diagnostics.empty()) message += ": " + loaded.diagnostics.front().message;
        throw Stop("error", message);
    }
    const dsl::KernelSpec *spec = loaded.module->findKernel(r.kernelName);
    if (!spec) throw Stop("error", r.kernelFile + " has no kernel '" + r.kernelName + "'");
    return *spec;
}

Measurement measure(const RunRequest &r) {
    const Faults faults = faultsFor(r.schedule);
    const worker::Library library(r.library);
    const kf_kernel_def *(*accessor)(void) = nullptr;
    library.bind(r.accessor.c_str(), accessor);
    const kf_kernel_def *def = accessor();
    if (!def) throw Stop("error", r.accessor + " returned NULL");
    if (faults.crash) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (faults.hang)
        for (;;) pause();

    const dsl::KernelSpec kernel = kernelOf(r, dsl::loadFile(r.kernelFile, {}));
    const FamilyTuning *family = familyTuning(kernel.family);
    if (!family || !family->measure)
        throw Stop("error", std::string("the tuner cannot measure ") + dsl::toString(kernel.family) + " kernels");
    if (!def->family || std::string(def->family) != dsl::toString(kernel.family))
        throw Stop("error", r.accessor + " is a " + (def->family ? def->family : "?") + " kernel, the kernel file's '" +
                                r.kernelName + "' a " + dsl::toString(kernel.family) + " one");
    if (r.shape.rows() < 1) throw Stop("error", "the run request needs a shape with rows >= 1");
    worker::Call call{r, library, def, kernel, std::max(0, r.threads), faults.wrong};
    Measurement out = family->measure(call);
    out.status = "ok";
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
    // would force on kf_*_create.
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
