#include "codegen/lowbit_linear/bridge/LinearHalideBridge.h"

#include <tbb/parallel_for.h>

#include <initializer_list>
#include <vector>

#include "codegen/backends/halide/bridge/HalideBuffers.h"
#include "kforge/detail/QuantizeRow.h"

namespace kf::bridge {

using halide::makeBuffer;

int runLinear(halide::ArgvFn fn, const rt::LinearLayout &L, const LinearInputs &in, const rt::LinearArgs &a) {
    const int32_t I = L.interleave;
    const int32_t blocks = static_cast<int32_t>(a.kPad / L.kBlock);
    const int32_t tiles = static_cast<int32_t>(a.nTiles);
    const int32_t cols = static_cast<int32_t>(a.numScaleCols);
    const int32_t m = static_cast<int32_t>(a.m);

    // Up to kMaxPlanes planes + scales, zero points, codebook, bias, x, x scales, out.
    constexpr int kMaxArgs = kf::rt::kMaxPlanes + 7;
    halide_dimension_t dims[kMaxArgs][5];
    halide_buffer_t bufs[kMaxArgs];
    void *argv[kMaxArgs];
    int n = 0;
    auto add = [&](const void *host, halide_type_t type, std::initializer_list<halide_dimension_t> d) {
        int r = 0;
        for (const auto &dim : d) dims[n][r++] = dim;
        bufs[n] = makeBuffer(host, type, dims[n], r);
        argv[n] = &bufs[n];
        ++n;
    };
    for (int p = 0; p < L.numPlanes; ++p) {
        const int32_t chunks = L.planes[p].width == 0 ? 1 : L.planes[p].width;
        if (L.codeView == 1)  // bytes: (j, i, chunk, block, tile)
            add(a.planes[p], halide_type_t(halide_type_uint, 8),
                {{0, 4, 1, 0}, {0, I, 4, 0}, {0, chunks, 4 * I, 0}, {0, blocks, 4 * I * chunks, 0},
                 {0, tiles, 4 * I * chunks * blocks, 0}});
        else  // one uint32 per row: (i, chunk, block, tile)
            add(a.planes[p], halide_type_t(halide_type_uint, 32),
                {{0, I, 1, 0}, {0, chunks, I, 0}, {0, blocks, I * chunks, 0}, {0, tiles, I * chunks * blocks, 0}});
    }
    const halide_type_t scaleType = L.scaleType == KF_SCALE_F32   ? halide_type_t(halide_type_float, 32)
                                    : L.scaleType == KF_SCALE_F16 ? halide_type_t(halide_type_float, 16)
                                                                  : halide_type_t(halide_type_bfloat, 16);
    const halide_dimension_t tableDims[3] = {{0, I, 1, 0}, {0, cols, I, 0}, {0, tiles, I * cols, 0}};
    add(a.scales, scaleType, {tableDims[0], tableDims[1], tableDims[2]});
    if (in.zeroPoints) add(a.zeroPoints, halide_type_t(halide_type_uint, 8), {tableDims[0], tableDims[1], tableDims[2]});
    if (in.codebook) {
        const int32_t entries = 1 << L.bits;
        if (in.codebookPerChannel)
            add(a.codebook, halide_type_t(halide_type_float, 32),
                {{0, I, 1, 0}, {0, entries, I, 0}, {0, tiles, I * entries, 0}});
        else
            add(a.codebook, halide_type_t(halide_type_float, 32), {{0, entries, 1, 0}});
    }
    if (in.bias) add(a.bias, halide_type_t(halide_type_float, 32), {{0, I, 1, 0}, {0, tiles, I, 0}});
    const halide_type_t xType = a.xScales     ? halide_type_t(halide_type_int, 8)
                                : in.bf16Input ? halide_type_t(halide_type_bfloat, 16)
                                               : halide_type_t(halide_type_float, 32);
    add(a.x, xType, {{0, static_cast<int32_t>(a.kPad), 1, 0}, {0, m, static_cast<int32_t>(a.xStride), 0}});
    if (a.xScales) add(a.xScales, halide_type_t(halide_type_float, 32), {{0, m, 1, 0}});
    add(a.y, halide_type_t(halide_type_float, 32),
        {{0, I, 1, 0}, {0, tiles, I, 0}, {0, m, static_cast<int32_t>(a.yStride), 0}});

    return halide::call(fn, argv);
}

int runLinearInt8(halide::ArgvFn fn, const rt::LinearLayout &L, const LinearInputs &in, const rt::LinearArgs &a) {
    if (a.xScales) return runLinear(fn, L, in, a);
    const int64_t m = a.m, kPad = a.kPad;
    std::vector<int8_t> q(static_cast<size_t>(m * kPad));
    std::vector<float> scales(static_cast<size_t>(m));
    const float *x = static_cast<const float *>(a.x);
    tbb::parallel_for(int64_t{0}, m, [&](int64_t r) {
        scales[static_cast<size_t>(r)] = rt::quantizeRowInt8(x + r * a.xStride, kPad, q.data() + r * kPad);
    });
    rt::LinearArgs qa = a;
    qa.x = q.data();
    qa.xStride = kPad;
    qa.xScales = scales.data();
    return runLinear(fn, L, in, qa);
}

}  // namespace kf::bridge
