#include "codegen/sparse_rank_linear/bridge/SparseRankHalideBridge.h"

#include "codegen/backends/halide/bridge/HalideBuffers.h"

namespace kf::bridge {

int runSparseRankGather(halide::ArgvFn fn, int tile, int vector, int storedBits, const rt::SparseRankArgs &a) {
    const bool quantized = storedBits <= 8;
    const int32_t P = quantized && storedBits < 8 ? 8 / storedBits : 1;
    const int32_t Q = tile / (P * vector);
    const int32_t tileElems = quantized ? Q * vector : tile;
    const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
    halide_dimension_t colDims[3] = {{0, tileElems, 1, 0},
                                     {0, i32(a.numCols), tileElems, 0},
                                     {0, i32(a.nTiles), i32(tileElems * a.numCols), 0}};
    halide_dimension_t scaleDims[3] = {{0, tile, 1, 0},
                                       {0, i32(a.numGroups), tile, 0},
                                       {0, i32(a.nTiles), i32(tile * a.numGroups), 0}};
    halide_dimension_t idxDims[1] = {{0, i32(a.j) + rt::kSparseRankListPadding, 1, 0}};
    int32_t listed = i32(a.j);
    halide_dimension_t aDims[2] = {{0, i32(a.j), 1, 0}, {0, i32(a.m), i32(a.aStride), 0}};
    halide_dimension_t outDims[5] = {{0, vector, 1, 0},
                                     {0, P, vector, 0},
                                     {0, Q, P * vector, 0},
                                     {0, i32(a.nTiles), tile, 0},
                                     {0, i32(a.m), i32(a.outStride), 0}};
    const halide_type_t colType = quantized          ? halide_type_t(halide_type_uint, 8)
                                  : storedBits == 16 ? halide_type_t(halide_type_uint, 16)  // bf16 bits
                                                     : halide_type_t(halide_type_float, 32);
    halide_buffer_t cols = halide::makeBuffer(a.cols, colType, colDims, 3);
    halide_buffer_t scales = halide::makeBuffer(a.scales, halide_type_t(halide_type_float, 32), scaleDims, 3);
    halide_buffer_t idx = halide::makeBuffer(a.idx, halide_type_t(halide_type_int, 32), idxDims, 1);
    halide_buffer_t act = halide::makeBuffer(a.a, halide_type_t(halide_type_float, 32), aDims, 2);
    halide_buffer_t out = halide::makeBuffer(a.out, halide_type_t(halide_type_float, 32), outDims, 5);
    if (quantized) {
        halide_dimension_t segDims[2] = {{0, 3, 1, 0}, {0, i32(a.numSegments), 3, 0}};
        halide_dimension_t sumDims[2] = {{0, i32(a.numSegments), 1, 0}, {0, i32(a.m), i32(a.numSegments), 0}};
        halide_buffer_t segs = halide::makeBuffer(a.segments, halide_type_t(halide_type_int, 32), segDims, 2);
        halide_buffer_t sums = halide::makeBuffer(a.segSums, halide_type_t(halide_type_float, 32), sumDims, 2);
        void *argv[8] = {&cols, &scales, &idx, &listed, &act, &segs, &sums, &out};
        return halide::call(fn, argv);
    }
    void *argv[5] = {&cols, &idx, &listed, &act, &out};
    return halide::call(fn, argv);
}

}  // namespace kf::bridge
