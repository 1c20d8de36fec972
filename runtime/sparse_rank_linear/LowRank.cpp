#include "runtime/sparse_rank_linear/LowRank.h"

#include <Eigen/Dense>
#include <Eigen/SVD>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <random>

namespace kf::rt {

namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatF = Eigen::MatrixXf;
using MatD = Eigen::MatrixXd;

// Orthonormal columns spanning those of y (thin Q of a Householder QR).
MatF orthonormalize(const MatF &y) {
    Eigen::HouseholderQR<MatF> qr(y);
    return qr.householderQ() * MatF::Identity(y.rows(), y.cols());
}

// W x (n x l) and W^T y (k x l), in blocks of W's rows or columns over the
// caller's TBB threads (Eigen itself is single-threaded without OpenMP).
constexpr int64_t kBlock = 256;

MatF timesW(const Eigen::Map<const RowMajorF> &W, const MatF &x) {
    MatF out(W.rows(), x.cols());
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, W.rows(), kBlock), [&](const tbb::blocked_range<int64_t> &b) {
        const int64_t rows = b.end() - b.begin();
        out.middleRows(b.begin(), rows).noalias() = W.middleRows(b.begin(), rows) * x;
    });
    return out;
}

MatF timesWt(const Eigen::Map<const RowMajorF> &W, const MatF &y) {
    MatF out(W.cols(), y.cols());
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, W.cols(), kBlock), [&](const tbb::blocked_range<int64_t> &b) {
        const int64_t cols = b.end() - b.begin();
        out.middleRows(b.begin(), cols).noalias() = W.middleCols(b.begin(), cols).transpose() * y;
    });
    return out;
}

void fold(const MatD &u, const Eigen::VectorXd &s, const MatD &v, int64_t r, LowRankFactors &out) {
    const int64_t n = u.rows(), k = v.rows();
    out.u.resize(static_cast<size_t>(n * r));
    out.v.resize(static_cast<size_t>(r * k));
    out.sigma.assign(s.data(), s.data() + r);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < r; ++j) out.u[static_cast<size_t>(i * r + j)] = static_cast<float>(u(i, j) * s(j));
    for (int64_t j = 0; j < r; ++j)
        for (int64_t c = 0; c < k; ++c) out.v[static_cast<size_t>(j * k + c)] = static_cast<float>(v(c, j));
}

}  // namespace

LowRankFactors truncatedSvd(const float *w, int64_t n, int64_t k, int64_t r) {
    LowRankFactors out;
    if (r <= 0) return out;
    const Eigen::Map<const RowMajorF> W(w, n, k);
    if (r + kOversample >= std::min(n, k)) {
        Eigen::BDCSVD<MatD> svd(W.cast<double>(), Eigen::ComputeThinU | Eigen::ComputeThinV);
        out.exact = true;
        fold(svd.matrixU(), svd.singularValues(), svd.matrixV(), r, out);
        return out;
    }
    const int64_t l = r + kOversample;
    std::mt19937_64 rng(0x5eed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    MatF omega(k, l);
    for (int64_t j = 0; j < l; ++j)
        for (int64_t i = 0; i < k; ++i) omega(i, j) = normal(rng);
    MatF q = orthonormalize(timesW(W, omega));  // n x l
    for (int it = 0; it < kPowerIterations; ++it) {
        const MatF z = orthonormalize(timesWt(W, q));  // k x l
        q = orthonormalize(timesW(W, z));
    }
    const MatD b = timesWt(W, q).transpose().cast<double>();  // l x k
    Eigen::BDCSVD<MatD> svd(b, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const MatD u = q.cast<double>() * svd.matrixU();  // n x l
    fold(u, svd.singularValues(), svd.matrixV(), r, out);
    return out;
}

}  // namespace kf::rt
