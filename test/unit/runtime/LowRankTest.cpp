// The truncated SVD behind kf_sparse_rank_pack_float (runtime/sparse_rank_linear/
// LowRank.h), against matrices of known spectrum built here: W = A diag(s) B^T
// with random orthonormal A, B. Eckart-Young: the best rank-r approximation
// leaves exactly the discarded singular values, ||W - U V||_F^2 = sum_{i>r}
// s_i^2; the exact path reaches it, the randomized one within 1e-3 on a
// decaying spectrum.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>
#include <vector>

#include "runtime/sparse_rank_linear/LowRank.h"

namespace {

// Columns of a random n x m matrix made orthonormal (m <= n).
Eigen::MatrixXd randomOrthonormal(int64_t n, int64_t m, std::mt19937_64 &rng) {
    std::normal_distribution<double> normal;
    Eigen::MatrixXd g(n, m);
    for (int64_t j = 0; j < m; ++j)
        for (int64_t i = 0; i < n; ++i) g(i, j) = normal(rng);
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
    return qr.householderQ() * Eigen::MatrixXd::Identity(n, m);
}

struct Known {
    std::vector<float> w;       // [n][k]
    std::vector<double> s;      // descending
};

Known knownSpectrum(int64_t n, int64_t k, double decay, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int64_t m = std::min(n, k);
    Known out;
    for (int64_t i = 0; i < m; ++i) out.s.push_back(std::pow(decay, static_cast<double>(i)));
    const Eigen::MatrixXd a = randomOrthonormal(n, m, rng), b = randomOrthonormal(k, m, rng);
    Eigen::VectorXd s(m);
    for (int64_t i = 0; i < m; ++i) s(i) = out.s[static_cast<size_t>(i)];
    const Eigen::MatrixXd w = a * s.asDiagonal() * b.transpose();
    out.w.resize(static_cast<size_t>(n * k));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j) out.w[static_cast<size_t>(i * k + j)] = static_cast<float>(w(i, j));
    // The f32 rounding of w moves its singular values by ~1e-7 relative: far
    // below the tolerances here.
    return out;
}

// ||W - U V||_F^2 in double.
double residual(const std::vector<float> &w, const kf::rt::LowRankFactors &f, int64_t n, int64_t k, int64_t r) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j) {
            double uv = 0;
            for (int64_t t = 0; t < r; ++t)
                uv += double(f.u[static_cast<size_t>(i * r + t)]) * f.v[static_cast<size_t>(t * k + j)];
            const double d = w[static_cast<size_t>(i * k + j)] - uv;
            sum += d * d;
        }
    return sum;
}

double tail(const std::vector<double> &s, int64_t r) {
    double sum = 0;
    for (size_t i = static_cast<size_t>(r); i < s.size(); ++i) sum += s[i] * s[i];
    return sum;
}

TEST(LowRank, ExactSvdLeavesTheDiscardedSingularValues) {
    const int64_t n = 20, k = 12;  // r + 16 >= 12 for every r: the exact path
    const Known m = knownSpectrum(n, k, 0.8, 1);
    for (int64_t r : {1, 5, 11, 12}) {
        const auto f = kf::rt::truncatedSvd(m.w.data(), n, k, r);
        EXPECT_TRUE(f.exact);
        ASSERT_EQ(f.sigma.size(), static_cast<size_t>(r));
        for (int64_t i = 0; i < r; ++i) EXPECT_NEAR(f.sigma[static_cast<size_t>(i)], m.s[static_cast<size_t>(i)], 1e-5);
        const double expect = tail(m.s, r), got = residual(m.w, f, n, k, r);
        if (r == k) EXPECT_LE(got, 1e-9);
        else EXPECT_NEAR(got / expect, 1.0, 1e-4) << "r=" << r;
    }
}

TEST(LowRank, RandomizedRangeFinderIsNearOptimalOnADecayingSpectrum) {
    const int64_t n = 300, k = 200, r = 24;  // r + 16 < 200: the randomized path
    const Known m = knownSpectrum(n, k, 0.9, 2);
    const auto f = kf::rt::truncatedSvd(m.w.data(), n, k, r);
    EXPECT_FALSE(f.exact);
    for (int64_t i = 0; i < r; ++i)
        EXPECT_NEAR(f.sigma[static_cast<size_t>(i)] / m.s[static_cast<size_t>(i)], 1.0, 1e-3) << "sigma " << i;
    EXPECT_NEAR(residual(m.w, f, n, k, r) / tail(m.s, r), 1.0, 1e-3);
    // The same input gives the same factors (fixed seed).
    const auto g = kf::rt::truncatedSvd(m.w.data(), n, k, r);
    EXPECT_EQ(f.u, g.u);
    EXPECT_EQ(f.v, g.v);
}

TEST(LowRank, RankZeroIsEmpty) {
    const float w[4] = {1, 2, 3, 4};
    const auto f = kf::rt::truncatedSvd(w, 2, 2, 0);
    EXPECT_TRUE(f.u.empty());
    EXPECT_TRUE(f.v.empty());
}

}  // namespace
