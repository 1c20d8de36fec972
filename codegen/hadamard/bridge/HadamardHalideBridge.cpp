#include "codegen/hadamard/bridge/HadamardHalideBridge.h"

#include "codegen/backends/halide/bridge/HalideBuffers.h"

namespace kf::bridge {

int runHadamard(halide::ArgvFn fn, const rt::HadamardArgs &a) {
    const int32_t n = static_cast<int32_t>(a.n), m = static_cast<int32_t>(a.m);
    halide_dimension_t xDims[2] = {{0, n, 1, 0}, {0, m, static_cast<int32_t>(a.xStride), 0}};
    halide_dimension_t yDims[2] = {{0, n, 1, 0}, {0, m, static_cast<int32_t>(a.yStride), 0}};
    halide_dimension_t sDims[1] = {{0, m, 1, 0}};
    halide_buffer_t x = halide::makeBuffer(a.x, halide_type_t(halide_type_float, 32), xDims, 2);
    halide_buffer_t y{}, scales{};
    void *argv[3] = {&x, &y, &scales};
    if (a.codes) {
        y = halide::makeBuffer(a.codes, halide_type_t(halide_type_int, 8), yDims, 2);
        scales = halide::makeBuffer(a.scales, halide_type_t(halide_type_float, 32), sDims, 1);
    } else {
        y = halide::makeBuffer(a.y, halide_type_t(halide_type_float, 32), yDims, 2);
    }
    return halide::call(fn, argv);
}

}  // namespace kf::bridge
