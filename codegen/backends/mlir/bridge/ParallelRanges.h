// \file
// How the MLIR kernels' bridges (codegen/<family>/bridge/*Mlir*.cpp) spread
// a call over the caller's threads: the generated functions take a range
// [i0, i1) of their unit of work (tiles of rows, rows), and this cuts [0,
// count) into tasks of `grain` on TBB.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdint>

namespace kf::bridge {

// run(i0, i1) over [0, count): in tasks of `grain` (at least 1) on TBB when
// `parallel` and there is more than one task, else in one call.
template <class Run>
void runRanges(int64_t count, int grain, bool parallel, Run &&run) {
    const int64_t g = std::max(1, grain);
    if (!parallel || count <= g) {
        run(int64_t{0}, count);
        return;
    }
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, count, g),
                      [&](const tbb::blocked_range<int64_t> &r) { run(r.begin(), r.end()); }, tbb::simple_partitioner());
}

}  // namespace kf::bridge
