#include "codegen/hadamard/bridge/HadamardMlirBridge.h"

#include <vector>

#include "codegen/backends/mlir/bridge/ParallelRanges.h"
#include "kforge/detail/QuantizeRow.h"

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
            a.scales[r] = rt::quantizeRowInt8(y.data(), a.n, a.codes + r * a.yStride);
        }
    };
    runRanges(a.m, variant.rowsPerTask, variant.parallel, rows);
    return 0;
}

}  // namespace kf::bridge
