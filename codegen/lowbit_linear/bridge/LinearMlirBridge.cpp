#include "codegen/lowbit_linear/bridge/LinearMlirBridge.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "codegen/backends/mlir/bridge/ParallelRanges.h"
#include "kforge/detail/QuantizeRow.h"

namespace kf::bridge {

int runLinearMlir(LinearMlirFn fn, const rt::LinearLayout &L, const LinearMlirVariant &variant,
                  const rt::LinearArgs &a) {
    const int64_t m = a.m, kPad = a.kPad;
    if (variant.input != LinearMlirVariant::Int8) {
        // f32 rows (bf16 widened: its bits are the top half of an f32) and
        // the sum of each chunk of kAlign, in k order as the Halide lowering.
        const int64_t chunks = kPad / L.kAlign;
        std::vector<float> rows;
        const float *x = static_cast<const float *>(a.x);
        if (variant.input == LinearMlirVariant::BF16 || a.xStride != kPad) {
            rows.resize(static_cast<size_t>(m * kPad));
            for (int64_t r = 0; r < m; ++r)
                for (int64_t k = 0; k < kPad; ++k) {
                    float v;
                    if (variant.input == LinearMlirVariant::BF16) {
                        const uint32_t bits = static_cast<uint32_t>(static_cast<const uint16_t *>(a.x)[r * a.xStride + k]) << 16;
                        std::memcpy(&v, &bits, sizeof v);
                    } else {
                        v = x[r * a.xStride + k];
                    }
                    rows[static_cast<size_t>(r * kPad + k)] = v;
                }
            x = rows.data();
        }
        std::vector<float> sums(static_cast<size_t>(m * chunks));
        for (int64_t r = 0; r < m; ++r)
            for (int64_t c = 0; c < chunks; ++c) {
                float s = 0.0f;
                for (int64_t k = c * L.kAlign; k < (c + 1) * L.kAlign; ++k) s += x[r * kPad + k];
                sums[static_cast<size_t>(r * chunks + c)] = s;
            }
        runRanges(a.nTiles, variant.tilesPerTask, variant.parallel, [&](int64_t t0, int64_t t1) {
            fn(a.planes, a.scales, a.zeroPoints, a.bias, reinterpret_cast<const int8_t *>(x),
               reinterpret_cast<const int32_t *>(sums.data()), nullptr, a.y, m, kPad, a.numScaleCols, a.yStride, t0, t1);
        });
        return 0;
    }
    const int64_t chunkK = L.group ? L.kAlign : kPad;
    const int64_t chunks = kPad / chunkK;
    std::vector<int8_t> q(static_cast<size_t>(m * kPad));
    std::vector<int32_t> qsum(static_cast<size_t>(m * chunks));
    std::vector<float> rowScale(static_cast<size_t>(m));
    // Rows in parallel on the caller's arena (a prefill quantizes M x K values).
    tbb::parallel_for(int64_t{0}, m, [&](int64_t r) {
        int8_t *qr = q.data() + r * kPad;
        float sx;
        if (a.xScales) {  // rows a rotation already quantized (kf_linear_run_q8)
            const int8_t *src = static_cast<const int8_t *>(a.x) + r * a.xStride;
            std::copy(src, src + kPad, qr);
            sx = a.xScales[r];
        } else {
            sx = rt::quantizeRowInt8(static_cast<const float *>(a.x) + r * a.xStride, kPad, qr);
        }
        for (int64_t c = 0; c < chunks; ++c) {
            int32_t s = 0;
            for (int64_t k = c * chunkK; k < (c + 1) * chunkK; ++k) s += qr[k];
            qsum[static_cast<size_t>(r * chunks + c)] = s;
        }
        rowScale[static_cast<size_t>(r)] = sx / static_cast<float>(variant.levelD);
    });
    if (variant.rowPairs) {
        // Per pair of rows, 8 k of the first then 8 k of the second (an odd
        // last row paired with itself): smmla's left operand is 16 bytes.
        std::vector<int8_t> pairs(static_cast<size_t>((m + 1) / 2 * 2 * kPad));
        for (int64_t r = 0; r < m; r += 2) {
            const int8_t *r0 = q.data() + r * kPad, *r1 = q.data() + std::min(r + 1, m - 1) * kPad;
            int8_t *out = pairs.data() + r * kPad;
            for (int64_t k = 0; k < kPad; k += 8, out += 16) {
                std::memcpy(out, r0 + k, 8);
                std::memcpy(out + 8, r1 + k, 8);
            }
        }
        q.swap(pairs);
    }
    runRanges(a.nTiles, variant.tilesPerTask, variant.parallel, [&](int64_t t0, int64_t t1) {
        fn(a.planes, a.scales, a.zeroPoints, a.bias, q.data(), qsum.data(), rowScale.data(), a.y, m, kPad,
           a.numScaleCols, a.yStride, t0, t1);
    });
    return 0;
}

}  // namespace kf::bridge
