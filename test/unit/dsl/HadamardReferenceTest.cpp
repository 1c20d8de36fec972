// hadamard: the double-precision reference (dsl/families/hadamard/Reference.h)
// against cases worked out by hand, the Kronecker index convention, and the
// inverse; the int8 output and the helpers around it.
#include "dsl/families/hadamard/Reference.h"

#include "dsl/families/hadamard/HadamardMatrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace kf::families::hadamard {
namespace {

std::vector<int8_t> fromSigns(const std::vector<std::string> &rows) {
    std::vector<int8_t> h;
    for (const auto &r : rows)
        for (char c : r) h.push_back(c == '+' ? 1 : -1);
    return h;
}

std::vector<int8_t> transposed(const std::vector<int8_t> &h, int m) {
    std::vector<int8_t> t(h.size());
    for (int r = 0; r < m; ++r)
        for (int c = 0; c < m; ++c) t[static_cast<std::size_t>(c * m + r)] = h[static_cast<std::size_t>(r * m + c)];
    return t;
}

// A Hadamard matrix of order 4 that is not symmetric (its inverse is its
// transpose, not itself).
const std::vector<int8_t> kN4 = fromSigns({"++++", "+-+-", "++--", "-++-"});

dsl::HadamardParams params(int64_t n, int m) {
    dsl::HadamardParams p;
    p.n.size = n;
    p.m = m;
    return p;
}

TEST(HadamardReference, Size2And4ByHand) {
    const float x2[] = {3.0f, -0.5f};
    double y2[2];
    referenceHadamard(params(2, 1), 1, x2, y2);
    EXPECT_NEAR(y2[0], 2.5 / std::sqrt(2.0), 1e-15);
    EXPECT_NEAR(y2[1], 3.5 / std::sqrt(2.0), 1e-15);

    // H_4 rows ++++, +-+-, ++--, +--+; two rows at once.
    const float x4[] = {1, 2, 3, 4, 0, 0, 0, -2};
    double y4[8];
    referenceHadamard(params(4, 1), 2, x4, y4);
    const double expected[] = {5, -1, -2, 0, -1, 1, 1, -1};
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(y4[i], expected[i], 1e-15) << i;
}

TEST(HadamardReference, Order12Times2ByHand) {
    // n = 12 * 2: y[2a + t] = sum_a' H_12[a][a'] (x[2a'] + (-1)^t x[2a' + 1]) / sqrt(24).
    const auto h12 = fromSigns({"+-++++++++++", "--+-+-+-+-+-", "+++-++----++", "+---+--+-++-",
                                "+++++-++----", "+-+---+--+-+", "++--+++-++--", "+--++---+--+",
                                "++----+++-++", "+--+-++---+-", "++++----+++-", "+-+--+-++---"});
    const std::vector<float> x = randomRows(1, 24, 7);
    std::vector<double> y(24);
    referenceHadamard(24, 12, h12, 1, x.data(), y.data());
    for (int a = 0; a < 12; ++a) {
        double even = 0, odd = 0;
        for (int a2 = 0; a2 < 12; ++a2) {
            const double h = h12[static_cast<std::size_t>(a * 12 + a2)];
            even += h * (double(x[static_cast<std::size_t>(2 * a2)]) + x[static_cast<std::size_t>(2 * a2 + 1)]);
            odd += h * (double(x[static_cast<std::size_t>(2 * a2)]) - x[static_cast<std::size_t>(2 * a2 + 1)]);
        }
        EXPECT_NEAR(y[static_cast<std::size_t>(2 * a)], even / std::sqrt(24.0), 1e-14) << a;
        EXPECT_NEAR(y[static_cast<std::size_t>(2 * a + 1)], odd / std::sqrt(24.0), 1e-14) << a;
    }
}

TEST(HadamardReference, KroneckerConvention) {
    // H_8 = N_4 ⊗ H_2 with i = a * 2 + t, written out by hand; H_2 ⊗ N_4 (the
    // other convention) differs in rows 2, 3, 4, 5, 6 and 7.
    const std::vector<std::string> h8 = {"++++++++", "+-+-+-+-", "++--++--", "+--++--+",
                                         "++++----", "+-+--+-+", "--++++--", "-++-+--+"};
    for (int j = 0; j < 8; ++j) {
        std::vector<float> x(8, 0.0f);
        x[static_cast<std::size_t>(j)] = 1.0f;
        double y[8];
        referenceHadamard(8, 4, kN4, 1, x.data(), y);
        for (int i = 0; i < 8; ++i)
            EXPECT_NEAR(y[i] * std::sqrt(8.0), h8[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] == '+' ? 1 : -1, 1e-14)
                << "H_8[" << i << "][" << j << "]";
    }
}

TEST(HadamardReference, BuiltinTransformsAreTheirOwnInverse) {
    for (auto [n, m] : std::vector<std::pair<int64_t, int>>{{1024, 1}, {48, 12}, {160, 20}, {56, 28}, {576, 36}, {688, 344}}) {
        SCOPED_TRACE("n=" + std::to_string(n) + " m=" + std::to_string(m));
        const std::vector<float> x = randomRows(3, n, 42);
        std::vector<double> y(x.size()), z(x.size()), xd(x.begin(), x.end());
        referenceHadamard(params(n, m), 3, x.data(), y.data());
        referenceHadamard(n, m, *builtinHadamard(m), 3, y.data(), z.data());
        EXPECT_LE(relativeError(z.data(), xd.data(), static_cast<int64_t>(z.size())), 1e-12);
        // Orthonormal: the norm is kept.
        double nx = 0, ny = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            nx += xd[i] * xd[i];
            ny += y[i] * y[i];
        }
        EXPECT_NEAR(ny / nx, 1.0, 1e-12);
    }
}

TEST(HadamardReference, TransposeInvertsAFileMatrix) {
    const int64_t n = 32;
    const std::vector<float> x = randomRows(2, n, 5);
    std::vector<double> y(x.size()), z(x.size()), xd(x.begin(), x.end());
    referenceHadamard(n, 4, kN4, 2, x.data(), y.data());
    referenceHadamard(n, 4, transposed(kN4, 4), 2, y.data(), z.data());
    EXPECT_LE(relativeError(z.data(), xd.data(), 2 * n), 1e-12);
    // N_4 is not symmetric: applying it twice does not give x back.
    referenceHadamard(n, 4, kN4, 2, y.data(), z.data());
    EXPECT_GT(relativeError(z.data(), xd.data(), 2 * n), 0.1);
}

TEST(HadamardReference, WideRow) {
    // Llama-3's 14336 doubled: n = 28 * 1024, one row, dense O(n^2).
    const int64_t n = 28672;
    const std::vector<float> x = randomRows(1, n, 3);
    std::vector<double> y(static_cast<std::size_t>(n));
    referenceHadamard(params(n, 28), 1, x.data(), y.data());
    // Row 0 of H_28 (Paley I, q = 27) is - + + ... +, of H_1024 all +.
    double first = 0, nx = 0, ny = 0;
    for (int64_t j = 0; j < n; ++j) {
        first += (j < 1024 ? -1.0 : 1.0) * x[static_cast<std::size_t>(j)];
        nx += double(x[static_cast<std::size_t>(j)]) * x[static_cast<std::size_t>(j)];
        ny += y[static_cast<std::size_t>(j)] * y[static_cast<std::size_t>(j)];
    }
    EXPECT_NEAR(y[0], first / std::sqrt(double(n)), 1e-12);
    EXPECT_NEAR(ny / nx, 1.0, 1e-12);
}

TEST(HadamardReference, Int8Output) {
    // y = [5, -1, -2, 0] (Size2And4ByHand): s = 5/127, codes 127, -25.4 -> -25,
    // -50.8 -> -51, 0.
    const float x[] = {1, 2, 3, 4, 0, 0, 0, 0};
    int8_t codes[8];
    float scales[2];
    auto p = params(4, 1);
    p.output = dsl::ActKind::QInt8PerToken;
    referenceHadamardInt8(p, 2, x, codes, scales);
    EXPECT_EQ(scales[0], 5.0f / 127.0f);
    EXPECT_EQ((std::vector<int>(codes, codes + 4)), (std::vector<int>{127, -25, -51, 0}));
    EXPECT_EQ(scales[1], 0.0f);
    EXPECT_EQ((std::vector<int>(codes + 4, codes + 8)), (std::vector<int>{0, 0, 0, 0}));
}

TEST(HadamardReference, QuantizeRoundsHalfAwayFromZero) {
    const double y[] = {2.5, -2.5, 127, 0.4, -254, 1.0, 0.5, -0.5};
    int8_t codes[8];
    float scales[2];
    referenceQuantizeRows(y, 2, 4, codes, scales);
    EXPECT_EQ(scales[0], 1.0f);
    EXPECT_EQ(scales[1], 2.0f);
    EXPECT_EQ((std::vector<int>(codes, codes + 8)), (std::vector<int>{3, -3, 127, 0, -127, 1, 0, 0}));
}

TEST(HadamardReference, RejectsBadShapes) {
    const float x[12] = {};
    double y[12];
    EXPECT_THROW(referenceHadamard(12, 1, {1}, 1, x, y), std::invalid_argument);      // 12 is not 2^k
    EXPECT_THROW(referenceHadamard(24, 12, kN4, 1, x, y), std::invalid_argument);     // H_m of the wrong size
    EXPECT_THROW(referenceHadamard(8, 2, {1, 1, 1, 0}, 1, x, y), std::invalid_argument);  // not +-1
    dsl::HadamardParams dynamic;
    EXPECT_THROW(referenceHadamard(dynamic, 1, x, y), std::invalid_argument);
    EXPECT_THROW(factorMatrix(params(92 * 64, 92)), std::invalid_argument);
    auto withFile = params(8, 4);
    withFile.matrix = kN4;
    EXPECT_EQ(factorMatrix(withFile), kN4);
    EXPECT_EQ(factorMatrix(params(24, 12)), *builtinHadamard(12));
}

TEST(HadamardReference, Helpers) {
    const auto a = randomRows(3, 100, 9), b = randomRows(3, 100, 9), c = randomRows(3, 100, 10);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    for (float v : a) {
        EXPECT_GE(v, -1.0f);
        EXPECT_LT(v, 1.0f);
        EXPECT_EQ(std::ldexp(double(v) + 1.0, 23), std::floor(std::ldexp(double(v) + 1.0, 23)));
    }
    const double ref[] = {0, 1};
    const float same[] = {0, 1}, other[] = {1, 0};
    EXPECT_EQ(relativeError(same, ref, 2), 0.0);
    EXPECT_NEAR(relativeError(other, ref, 2), std::sqrt(2.0), 1e-15);
    const double zero[] = {0, 0};
    EXPECT_EQ(relativeError(zero, zero, 2), 0.0);
    EXPECT_EQ(relativeError(same, zero, 2), std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace kf::families::hadamard
