#include "codegen/bridge/HalideBridge.h"

#include <HalideRuntime.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <mutex>
#include <string>

#include "runtime/Error.h"

namespace kf::bridge {
namespace {

// Halide's parallel loops run on TBB, in whatever arena the caller is in
// (kf_linear_run picks one per thread count), instead of Halide's own pool.
int tbbDoParFor(void *userContext, halide_task_t task, int min, int size, uint8_t *closure) {
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

halide_buffer_t makeBuffer(const void *host, halide_type_t type, halide_dimension_t *dims, int rank) {
    halide_buffer_t b{};
    b.host = static_cast<uint8_t *>(const_cast<void *>(host));
    b.type = type;
    b.dimensions = rank;
    b.dim = dims;
    return b;
}

}  // namespace

int runLinear(HalideLinearFn fn, const rt::LinearLayout &layout, const rt::LinearArgs &a) {
    installHooks();
    const int32_t I = layout.interleave;
    const int32_t pairs = static_cast<int32_t>(a.kPad / 2);
    const int32_t tiles = static_cast<int32_t>(a.nTiles);
    const int32_t cols = static_cast<int32_t>(a.numScaleCols);
    const int32_t m = static_cast<int32_t>(a.m);

    halide_dimension_t packedDims[3] = {{0, I, 1, 0}, {0, pairs, I, 0}, {0, tiles, I * pairs, 0}};
    halide_dimension_t scaleDims[3] = {{0, I, 1, 0}, {0, cols, I, 0}, {0, tiles, I * cols, 0}};
    halide_dimension_t xDims[2] = {{0, static_cast<int32_t>(a.kPad), 1, 0},
                                   {0, m, static_cast<int32_t>(a.xStride), 0}};
    halide_dimension_t yDims[3] = {{0, I, 1, 0}, {0, tiles, I, 0}, {0, m, static_cast<int32_t>(a.yStride), 0}};

    const halide_type_t scaleType = layout.scaleType == KF_SCALE_F32   ? halide_type_t(halide_type_float, 32)
                                    : layout.scaleType == KF_SCALE_F16 ? halide_type_t(halide_type_float, 16)
                                                                       : halide_type_t(halide_type_bfloat, 16);
    halide_buffer_t packed = makeBuffer(a.packed, halide_type_t(halide_type_uint, 8), packedDims, 3);
    halide_buffer_t scales = makeBuffer(a.scales, scaleType, scaleDims, 3);
    halide_buffer_t x = makeBuffer(a.x, halide_type_t(halide_type_float, 32), xDims, 2);
    halide_buffer_t y = makeBuffer(a.y, halide_type_t(halide_type_float, 32), yDims, 3);

    tlsHalideError.clear();
    const int rc = fn(&packed, &scales, &x, &y);
    if (rc != 0) rt::setError("Halide error " + std::to_string(rc) + ": " + tlsHalideError);
    return rc;
}

}  // namespace kf::bridge
