#include "codegen/hadamard/bridge/HadamardMlirBridge.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <vector>

#include "codegen/backends/mlir/bridge/QuantizeRow.h"

namespace kf::bridge {

int runHadamardMlir(HadamardMlirFn fn, const HadamardMlirVariant &variant, const rt::HadamardArgs &a) {
    auto rows = [&](int64_t r0, int64_t r1) {
        if (!a.codes) {
            fn(a.x, a.y, a.xStride, a.yStride, r0, r1);
            return;
        }
        std::vector<float> y(static_cast<size_t>(a.n));
        for (int64_t r = r0; r < r1; ++r) {
            fn(a.x + r * a.xStride, y.data(), a.xStride, a.n, 0, 1);
            a.scales[r] = quantizeRowInt8(y.data(), a.n, a.codes + r * a.yStride);
        }
    };
    const int64_t grain = std::max(1, variant.rowsPerTask);
    if (!variant.parallel || a.m <= grain) {
        rows(0, a.m);
    } else {
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, a.m, grain),
                          [&](const tbb::blocked_range<int64_t> &r) { rows(r.begin(), r.end()); },
                          tbb::simple_partitioner());
    }
    return 0;
}

}  // namespace kf::bridge
