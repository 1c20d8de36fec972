#include "codegen/backends/halide/bridge/HalideBridge.h"

#include <HalideRuntime.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <mutex>
#include <string>

#include "codegen/backends/halide/bridge/HalideBuffers.h"
#include "runtime/Error.h"

namespace kf::bridge::halide {
namespace {

int tbbDoParFor(void *userContext, halide_task_t task, int min, int size, uint8_t *closure) {
    // One task (a parallel loop over one token, one row): no scheduling.
    if (size <= 1) return size == 1 ? task(userContext, min, closure) : 0;
    std::atomic<int> result{0};
    tbb::parallel_for(tbb::blocked_range<int>(min, min + size), [&](const tbb::blocked_range<int> &r) {
        for (int i = r.begin(); i != r.end(); ++i) {
            int rc = task(userContext, i, closure);
            if (rc != 0) result.store(rc);
        }
    });
    return result.load();
}

thread_local std::string tlsHalideError;

// Halide's default handler prints to stderr; keep the message for kf_last_error.
void captureError(void *, const char *msg) { tlsHalideError = msg ? msg : "unknown Halide error"; }

void installHooks() {
    static std::once_flag once;
    std::call_once(once, [] {
        halide_set_custom_do_par_for(tbbDoParFor);
        halide_set_error_handler(captureError);
    });
}

}  // namespace

halide_buffer_t makeBuffer(const void *host, halide_type_t type, halide_dimension_t *dims, int rank) {
    halide_buffer_t b{};
    b.host = static_cast<uint8_t *>(const_cast<void *>(host));
    b.type = type;
    b.dimensions = rank;
    b.dim = dims;
    return b;
}

int call(ArgvFn fn, void **argv) {
    installHooks();
    tlsHalideError.clear();
    const int rc = fn(argv);
    if (rc != 0) rt::setError("Halide error " + std::to_string(rc) + ": " + tlsHalideError);
    return rc;
}

}  // namespace kf::bridge::halide
