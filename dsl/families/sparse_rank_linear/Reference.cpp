#include "dsl/families/sparse_rank_linear/Reference.h"

#include <algorithm>
#include <cmath>

#include "dsl/families/lowbit_linear/Reference.h"
#include "dsl/families/lowbit_linear/ReferenceQuantizer.h"

namespace kf::families::sparse_rank_linear {

double referenceBf16(double v) {
    const double m = lowbit::bfloat16ToDouble(lowbit::roundToPattern(std::fabs(v), lowbit::bfloat16ToDouble, 0x7F80, "bf16"));
    return v < 0 ? -m : m;
}

std::vector<bool> referenceMask(const dsl::SparseRankLinearParams &p, const float *x, int64_t K, float tau) {
    std::vector<bool> m(static_cast<size_t>(K), false);
    if (p.noWeight) return m;
    if (p.mode == dsl::SparsityMode::Threshold) {
        for (int64_t k = 0; k < K; ++k) m[static_cast<size_t>(k)] = std::fabs(static_cast<double>(x[k])) > tau;
        return m;
    }
    // Channel k is kept when fewer than topK channels come before it: a
    // larger magnitude, or the same magnitude at a lower index.
    for (int64_t k = 0; k < K; ++k) {
        int64_t before = 0;
        const double mk = std::fabs(static_cast<double>(x[k]));
        for (int64_t j = 0; j < K; ++j) {
            const double mj = std::fabs(static_cast<double>(x[j]));
            if (mj > mk || (mj == mk && j < k)) ++before;
        }
        m[static_cast<size_t>(k)] = before < p.topK;
    }
    return m;
}

double referenceWeight(const dsl::SparseRankLinearParams &p, const ReferenceLayer &L, int64_t n, int64_t k) {
    if (p.denseWeight) return p.denseBits == 16 ? referenceBf16(L.w[n * L.k + k]) : L.w[n * L.k + k];
    const int64_t groups = p.group ? (L.k + p.group - 1) / p.group : 1;
    const int64_t si = n * groups + (p.group ? k / p.group : 0);
    double s = 0;
    switch (p.scaleType) {
    case dsl::ScalarType::F16: s = lowbit::halfToDouble(static_cast<const uint16_t *>(L.scales)[si]); break;
    case dsl::ScalarType::BF16: s = lowbit::bfloat16ToDouble(static_cast<const uint16_t *>(L.scales)[si]); break;
    default: s = static_cast<const float *>(L.scales)[si]; break;
    }
    return s * lowbit::referenceLevel(p.weight, L.codes[n * L.k + k]);
}

double referenceU(const dsl::SparseRankLinearParams &p, const ReferenceLayer &L, int64_t n, int64_t j) {
    if (p.factorBits == 8)
        return static_cast<double>(L.uScales[n]) * (static_cast<int>(L.uCodes[n * L.r + j]) - 128);
    return p.factorBits == 16 ? referenceBf16(L.u[n * L.r + j]) : L.u[n * L.r + j];
}

double referenceV(const dsl::SparseRankLinearParams &p, const ReferenceLayer &L, int64_t j, int64_t k) {
    if (p.factorBits == 8)
        return static_cast<double>(L.vScales[j]) * (static_cast<int>(L.vCodes[j * L.k + k]) - 128);
    return p.factorBits == 16 ? referenceBf16(L.v[j * L.k + k]) : L.v[j * L.k + k];
}

std::vector<double> referenceSparseRank(const dsl::SparseRankLinearParams &p, const ReferenceLayer &L, const float *x,
                                        int64_t M, float tau) {
    const int64_t N = L.n, K = L.k, R = L.r;
    std::vector<double> y(static_cast<size_t>(M * N), 0.0);
    for (int64_t row = 0; row < M; ++row) {
        const float *xr = x + row * K;
        const std::vector<bool> m = referenceMask(p, xr, K, tau);
        std::vector<double> t(static_cast<size_t>(R), 0.0);
        for (int64_t j = 0; j < R; ++j)
            for (int64_t k = 0; k < K; ++k)
                if (!m[static_cast<size_t>(k)]) t[static_cast<size_t>(j)] += referenceV(p, L, j, k) * xr[k];
        for (int64_t n = 0; n < N; ++n) {
            double acc = 0;
            for (int64_t k = 0; k < K; ++k)
                if (m[static_cast<size_t>(k)]) acc += referenceWeight(p, L, n, k) * xr[k];
            for (int64_t j = 0; j < R; ++j) acc += referenceU(p, L, n, j) * t[static_cast<size_t>(j)];
            y[static_cast<size_t>(row * N + n)] = acc;
        }
    }
    return y;
}

}  // namespace kf::families::sparse_rank_linear
