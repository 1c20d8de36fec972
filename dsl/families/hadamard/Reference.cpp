// \file
// The hadamard family's dense double-precision reference (Reference.h).
#include "dsl/families/hadamard/Reference.h"

#include "dsl/families/hadamard/HadamardMatrix.h"
#include "dsl/families/lowbit_linear/Reference.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

namespace kf::families::hadamard {

namespace {

void checkShape(int64_t n, int m, const std::vector<int8_t> &hm) {
    if (m < 1 || n < 1 || n % m != 0 || !std::has_single_bit(static_cast<uint64_t>(n / m)))
        throw std::invalid_argument("referenceHadamard: n = " + std::to_string(n) + " is not m * 2^k for m = " +
                                    std::to_string(m));
    if (hm.size() != static_cast<std::size_t>(m) * static_cast<std::size_t>(m))
        throw std::invalid_argument("referenceHadamard: H_m has " + std::to_string(hm.size()) + " entries, expected " +
                                    std::to_string(int64_t{m} * m));
    for (int8_t v : hm)
        if (v != 1 && v != -1) throw std::invalid_argument("referenceHadamard: H_m has an entry that is not +-1");
}

// Output i of a row's transform, from the definition: sum over j of
// H_n[i][j] x[j] for j = a2 2^k + t2, H_n[i][j] = H_m[a][a2] (-1)^popcount(t & t2).
template <class T>
double denseEntry(const T *xr, int64_t i, int m, int64_t p, const std::vector<int8_t> &hm) {
    const int64_t a = i / p, t = i % p;
    double sum = 0;
    for (int64_t a2 = 0; a2 < m; ++a2) {
        const int hma = hm[static_cast<std::size_t>(a * m + a2)];
        for (int64_t t2 = 0; t2 < p; ++t2) {
            const int h = std::popcount(static_cast<uint64_t>(t & t2)) % 2 ? -hma : hma;
            sum += h * static_cast<double>(xr[a2 * p + t2]);
        }
    }
    return sum;
}

template <class T>
void dense(int64_t n, int m, const std::vector<int8_t> &hm, int64_t rows, const T *x, double *y) {
    checkShape(n, m, hm);
    const int64_t p = n / m;  // 2^k
    const double root = std::sqrt(static_cast<double>(n));
    // Jobs of 64 outputs of one row: one row of a wide transform spreads over
    // every core, and many short rows do too.
    constexpr int64_t kBlock = 64;
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    tbb::parallel_for(int64_t{0}, rows * blocks, [&](int64_t job) {
        const int64_t r = job / blocks, i0 = job % blocks * kBlock, i1 = std::min(n, i0 + kBlock);
        const T *xr = x + r * n;
        for (int64_t i = i0; i < i1; ++i) y[r * n + i] = denseEntry(xr, i, m, p, hm) / root;
    });
}

template <class T>
double relative(const T *y, const double *ref, int64_t count) {
    double err = 0, norm = 0;
    for (int64_t i = 0; i < count; ++i) {
        const double d = static_cast<double>(y[i]) - ref[i];
        err += d * d;
        norm += ref[i] * ref[i];
    }
    if (norm == 0) return err == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(err / norm);
}

}  // namespace

std::vector<int8_t> factorMatrix(const dsl::HadamardParams &params) {
    if (!params.matrix.empty()) return params.matrix;
    if (auto h = builtinHadamard(params.m)) return *h;
    throw std::invalid_argument("no built-in Hadamard matrix of order " + std::to_string(params.m) +
                                " and no matrix from a file");
}

void referenceHadamard(int64_t n, int m, const std::vector<int8_t> &hm, int64_t rows, const float *x, double *y) {
    dense(n, m, hm, rows, x, y);
}

void referenceHadamard(int64_t n, int m, const std::vector<int8_t> &hm, int64_t rows, const double *x, double *y) {
    dense(n, m, hm, rows, x, y);
}

void referenceHadamard(const dsl::HadamardParams &params, int64_t rows, const float *x, double *y) {
    if (!params.n.size) throw std::invalid_argument("referenceHadamard: the kernel has no fixed size");
    dense(*params.n.size, params.m, factorMatrix(params), rows, x, y);
}

void referenceHadamardEntries(const dsl::HadamardParams &params, const float *xRow,
                              const std::vector<int64_t> &outputs, double *y) {
    if (!params.n.size) throw std::invalid_argument("referenceHadamardEntries: the kernel has no fixed size");
    const int64_t n = *params.n.size;
    const int m = params.m;
    const std::vector<int8_t> hm = factorMatrix(params);
    checkShape(n, m, hm);
    const int64_t p = n / m;
    const double root = std::sqrt(static_cast<double>(n));
    for (int64_t i : outputs)
        if (i < 0 || i >= n) throw std::invalid_argument("referenceHadamardEntries: output " + std::to_string(i) + " out of range");
    tbb::parallel_for(std::size_t{0}, outputs.size(), [&](std::size_t j) {
        y[j] = denseEntry(xRow, outputs[j], m, p, hm) / root;
    });
}

void referenceQuantizeRows(const double *y, int64_t rows, int64_t n, int8_t *codes, float *scales) {
    std::vector<float> row(static_cast<std::size_t>(n));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = 0; i < n; ++i) row[static_cast<std::size_t>(i)] = static_cast<float>(y[r * n + i]);
        const float s = lowbit::referenceActScale(row.data(), n);
        scales[r] = s;
        for (int64_t i = 0; i < n; ++i)
            codes[r * n + i] = static_cast<int8_t>(lowbit::referenceActCode(row[static_cast<std::size_t>(i)], s));
    }
}

void referenceHadamardInt8(const dsl::HadamardParams &params, int64_t rows, const float *x, int8_t *codes,
                           float *scales) {
    if (!params.n.size) throw std::invalid_argument("referenceHadamardInt8: the kernel has no fixed size");
    const int64_t n = *params.n.size;
    std::vector<double> y(static_cast<std::size_t>(rows * n));
    referenceHadamard(params, rows, x, y.data());
    referenceQuantizeRows(y.data(), rows, n, codes, scales);
}

double relativeError(const float *y, const double *ref, int64_t count) { return relative(y, ref, count); }
double relativeError(const double *y, const double *ref, int64_t count) { return relative(y, ref, count); }

std::vector<float> randomRows(int64_t rows, int64_t n, uint64_t seed) {
    // mt19937_64's sequence is fixed by the standard; the distributions are
    // not, so the conversion to [-1, 1) is spelt out: 24 random bits scaled.
    std::mt19937_64 rng(seed);
    std::vector<float> out(static_cast<std::size_t>(rows * n));
    for (float &v : out) v = static_cast<float>(static_cast<double>(rng() >> 40) * 0x1p-23 - 1.0);
    return out;
}

}  // namespace kf::families::hadamard
