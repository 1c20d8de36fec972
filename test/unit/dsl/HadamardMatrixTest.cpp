// hadamard: GF(p^e), the Paley / Sylvester / Goethals-Seidel constructions and
// the built-in orders (dsl/families/hadamard/HadamardMatrix.h). Orthogonality
// is checked here with plain integer dot products, not with the library's own
// firstNonOrthogonalRows.
#include "dsl/families/hadamard/GaloisField.h"
#include "dsl/families/hadamard/HadamardMatrix.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kf::families::hadamard {
namespace {

int entry(const std::vector<int8_t> &h, int m, int r, int c) { return h[static_cast<std::size_t>(r * m + c)]; }

// "" when h is m*m entries of +-1 with H Hᵀ = m I, else what is wrong.
std::string hadamardDefect(const std::vector<int8_t> &h, int m) {
    if (h.size() != static_cast<std::size_t>(m * m)) return "size " + std::to_string(h.size());
    for (std::size_t i = 0; i < h.size(); ++i)
        if (h[i] != 1 && h[i] != -1) return "entry " + std::to_string(i) + " is " + std::to_string(h[i]);
    for (int i = 0; i < m; ++i)
        for (int j = i; j < m; ++j) {
            int dot = 0;
            for (int c = 0; c < m; ++c) dot += entry(h, m, i, c) * entry(h, m, j, c);
            if (dot != (i == j ? m : 0))
                return "rows " + std::to_string(i) + ", " + std::to_string(j) + " dot " + std::to_string(dot);
        }
    return "";
}

bool symmetric(const std::vector<int8_t> &h, int m) {
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < i; ++j)
            if (entry(h, m, i, j) != entry(h, m, j, i)) return false;
    return true;
}

std::vector<int8_t> fromSigns(const std::vector<std::string> &rows) {
    std::vector<int8_t> h;
    for (const auto &r : rows)
        for (char c : r) h.push_back(c == '+' ? 1 : -1);
    return h;
}

// Legendre symbol by Euler's criterion: independent of GaloisField.
int legendre(int a, int p) {
    a = ((a % p) + p) % p;
    if (a == 0) return 0;
    long r = 1;
    for (int i = 0; i < (p - 1) / 2; ++i) r = r * a % p;
    return r == 1 ? 1 : -1;
}

TEST(HadamardField, PrimePowers) {
    EXPECT_FALSE(primePower(1));
    EXPECT_FALSE(primePower(12));
    EXPECT_FALSE(primePower(171));
    EXPECT_EQ(primePower(2), (std::pair{2, 1}));
    EXPECT_EQ(primePower(27), (std::pair{3, 3}));
    EXPECT_EQ(primePower(343), (std::pair{7, 3}));
    EXPECT_EQ(primePower(2048), (std::pair{2, 11}));
    EXPECT_EQ(primePower(107), (std::pair{107, 1}));
    EXPECT_FALSE(GaloisField::make(6));
    EXPECT_FALSE(GaloisField::make(1));
}

TEST(HadamardField, Moduli) {
    // The first monic irreducible polynomial by index (GaloisField.h).
    EXPECT_EQ(GaloisField::make(9)->modulus(), (std::vector<int>{1, 0}));     // x^2 + 1
    EXPECT_EQ(GaloisField::make(25)->modulus(), (std::vector<int>{2, 0}));    // x^2 + 2
    EXPECT_EQ(GaloisField::make(27)->modulus(), (std::vector<int>{1, 2, 0})); // x^3 + 2x + 1
    EXPECT_EQ(GaloisField::make(49)->modulus(), (std::vector<int>{1, 0}));    // x^2 + 1
    EXPECT_EQ(GaloisField::make(343)->modulus(), (std::vector<int>{2, 0, 0})); // x^3 + 2
    EXPECT_EQ(GaloisField::make(8)->modulus(), (std::vector<int>{1, 1, 0}));  // x^3 + x + 1
    EXPECT_EQ(GaloisField::make(11)->modulus(), (std::vector<int>{0}));       // x
}

TEST(HadamardField, Axioms) {
    for (int q : {2, 3, 4, 5, 8, 9, 16, 25, 27}) {
        SCOPED_TRACE("GF(" + std::to_string(q) + ")");
        const GaloisField f = *GaloisField::make(q);
        ASSERT_EQ(f.order(), q);
        int squares = 0;
        for (int a = 0; a < q; ++a) {
            EXPECT_EQ(f.add(a, 0), a);
            EXPECT_EQ(f.mul(a, 1), a);
            EXPECT_EQ(f.mul(a, 0), 0);
            EXPECT_EQ(f.add(a, f.neg(a)), 0);
            EXPECT_EQ(f.sub(a, a), 0);
            int inverses = 0;
            for (int b = 0; b < q; ++b) {
                ASSERT_LT(f.add(a, b), q);
                ASSERT_LT(f.mul(a, b), q);
                EXPECT_EQ(f.add(a, b), f.add(b, a));
                EXPECT_EQ(f.mul(a, b), f.mul(b, a));
                if (a != 0 && b != 0) {
                    EXPECT_NE(f.mul(a, b), 0) << a << " * " << b;
                    EXPECT_EQ(f.chi(f.mul(a, b)), f.chi(a) * f.chi(b));
                }
                if (f.mul(a, b) == 1) ++inverses;
                for (int c = 0; c < q; ++c) {
                    ASSERT_EQ(f.add(f.add(a, b), c), f.add(a, f.add(b, c)));
                    ASSERT_EQ(f.mul(f.mul(a, b), c), f.mul(a, f.mul(b, c)));
                    ASSERT_EQ(f.mul(a, f.add(b, c)), f.add(f.mul(a, b), f.mul(a, c)));
                }
            }
            EXPECT_EQ(inverses, a == 0 ? 0 : 1) << a;
            if (f.chi(a) == 1) ++squares;
        }
        EXPECT_EQ(f.chi(0), 0);
        EXPECT_EQ(squares, q % 2 ? (q - 1) / 2 : q - 1);
    }
}

TEST(HadamardField, PrimeFieldIsIntegersModP) {
    const GaloisField f = *GaloisField::make(13);
    for (int a = 0; a < 13; ++a)
        for (int b = 0; b < 13; ++b) {
            EXPECT_EQ(f.add(a, b), (a + b) % 13);
            EXPECT_EQ(f.mul(a, b), a * b % 13);
        }
    for (int a = 0; a < 13; ++a) EXPECT_EQ(f.chi(a), legendre(a, 13));
}

TEST(HadamardMatrix, SylvesterIsPopcountSign) {
    const auto h = *sylvester(8);
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) EXPECT_EQ(entry(h, 8, r, c), __builtin_popcount(static_cast<unsigned>(r & c)) % 2 ? -1 : 1);
    EXPECT_EQ(*sylvester(1), std::vector<int8_t>{1});
    EXPECT_EQ(*sylvester(2), (std::vector<int8_t>{1, 1, 1, -1}));
    EXPECT_FALSE(sylvester(12));
    EXPECT_FALSE(sylvester(4096));
}

TEST(HadamardMatrix, PaleyIOrder4ByHand) {
    // GF(3): chi(1) = 1, chi(2) = -1. H[0][0] = -1, first row and column +1,
    // H[1+a][1+b] = chi(a + b), +1 where a + b = 0.
    EXPECT_EQ(*paleyI(3), fromSigns({"-+++", "+++-", "++-+", "+-++"}));
}

TEST(HadamardMatrix, PaleyIIOrder12ByHand) {
    // GF(5) conference matrix, 0 -> [[+,-],[-,-]], c -> c [[+,+],[+,-]].
    EXPECT_EQ(*paleyII(5), fromSigns({"+-++++++++++", "--+-+-+-+-+-", "+++-++----++", "+---+--+-++-",
                                       "+++++-++----", "+-+---+--+-+", "++--+++-++--", "+--++---+--+",
                                       "++----+++-++", "+--+-++---+-", "++++----+++-", "+-+--+-++---"}));
}

TEST(HadamardMatrix, PaleyOverPrimesMatchesTheFormula) {
    for (int q : {3, 7, 11, 19, 23, 43, 107}) {
        SCOPED_TRACE("Paley I q=" + std::to_string(q));
        const auto h = paleyI(q);
        ASSERT_TRUE(h);
        const int m = q + 1;
        EXPECT_EQ(entry(*h, m, 0, 0), -1);
        for (int a = 0; a < q; ++a) {
            EXPECT_EQ(entry(*h, m, 0, 1 + a), 1);
            EXPECT_EQ(entry(*h, m, 1 + a, 0), 1);
            for (int b = 0; b < q; ++b)
                ASSERT_EQ(entry(*h, m, 1 + a, 1 + b), (a + b) % q == 0 ? 1 : legendre(a + b, q)) << a << "," << b;
        }
        EXPECT_EQ(hadamardDefect(*h, m), "");
    }
    for (int q : {5, 13, 17, 29, 37, 73}) {
        SCOPED_TRACE("Paley II q=" + std::to_string(q));
        const auto h = paleyII(q);
        ASSERT_TRUE(h);
        const int m = 2 * (q + 1);
        for (int i = 0; i <= q; ++i)
            for (int j = 0; j <= q; ++j) {
                const int c = i == 0 || j == 0 ? (i == j ? 0 : 1) : legendre((i - 1) - (j - 1), q);
                const int block[2][2] = {{c ? c : 1, c ? c : -1}, {c ? c : -1, c ? -c : -1}};
                for (int u = 0; u < 2; ++u)
                    for (int v = 0; v < 2; ++v) ASSERT_EQ(entry(*h, m, 2 * i + u, 2 * j + v), block[u][v]);
            }
        EXPECT_EQ(hadamardDefect(*h, m), "");
    }
}

TEST(HadamardMatrix, PaleyOverExtensionFields) {
    // q = 27 (order 28, Llama-3's 14336 = 28 * 512), 343 (order 344), and the
    // Paley II fields 9, 25 (order 52), 49.
    for (int q : {27, 343}) {
        const auto h = paleyI(q);
        ASSERT_TRUE(h) << q;
        EXPECT_EQ(hadamardDefect(*h, q + 1), "") << q;
        EXPECT_TRUE(symmetric(*h, q + 1)) << q;
    }
    for (int q : {9, 25, 49}) {
        const auto h = paleyII(q);
        ASSERT_TRUE(h) << q;
        EXPECT_EQ(hadamardDefect(*h, 2 * (q + 1)), "") << q;
        EXPECT_TRUE(symmetric(*h, 2 * (q + 1))) << q;
    }
    EXPECT_FALSE(paleyI(5));    // 5 = 1 mod 4
    EXPECT_FALSE(paleyI(15));   // not a prime power
    EXPECT_FALSE(paleyII(7));   // 7 = 3 mod 4
    EXPECT_FALSE(paleyII(21));  // not a prime power
    EXPECT_FALSE(paleyI(2));
}

TEST(HadamardMatrix, BuiltinOrders) {
    std::vector<int> notPowerOfTwo;
    for (int m : builtinOrders(256))
        if (m & (m - 1)) notPowerOfTwo.push_back(m);
    EXPECT_EQ(notPowerOfTwo,
              (std::vector<int>{12,  20,  24,  28,  36,  40,  44,  48,  52,  56,  60,  68,  72,  76,  80,  84,  88,
                                96,  100, 104, 108, 112, 120, 124, 132, 136, 140, 144, 148, 152, 160, 164, 168, 172,
                                176, 180, 192, 196, 200, 204, 208, 212, 216, 220, 224, 228, 240, 244, 248, 252}));
    for (int m : {92, 116, 156, 184, 188, 232, 236, 0, -4, 6, 10, 4096}) EXPECT_FALSE(isBuiltinOrder(m)) << m;
    EXPECT_FALSE(builtinHadamard(92));
    EXPECT_TRUE(isBuiltinOrder(344));  // 343 = 7^3
    EXPECT_TRUE(isBuiltinOrder(924));  // Paley II, q = 461 (Qwen2.5-72B: 29568 = 924 * 32)
    EXPECT_TRUE(isBuiltinOrder(2048));
}

TEST(HadamardMatrix, EveryBuiltinOrderIsHadamardAndPaleyOnesSymmetric) {
    std::vector<int> orders = builtinOrders(256);
    for (int m : {344, 924}) orders.push_back(m);
    for (int m : orders) {
        SCOPED_TRACE("order " + std::to_string(m));
        const auto h = builtinHadamard(m);
        ASSERT_TRUE(h);
        EXPECT_EQ(hadamardDefect(*h, m), "");
        // Goethals-Seidel (172: Order172IsGoethalsSeidel) is the one non-symmetric rule.
        if (m != 172) {
            EXPECT_TRUE(symmetric(*h, m));
        }
    }
    for (int m : {12, 20, 28, 36, 44, 52, 60, 108, 140, 148}) EXPECT_TRUE(isBuiltinOrder(m)) << m;
}

TEST(HadamardMatrix, RuleOrder) {
    // Sylvester first, then Paley I, then Paley II, then doubling.
    EXPECT_EQ(builtinHadamard(4), sylvester(4));
    EXPECT_EQ(builtinHadamard(8), sylvester(8));
    EXPECT_EQ(builtinHadamard(12), paleyI(11));  // Paley II q=5 fits as well
    EXPECT_EQ(builtinHadamard(20), paleyI(19));  // and Paley II q=9
    EXPECT_EQ(builtinHadamard(28), paleyI(27));  // and Paley II q=13
    EXPECT_EQ(builtinHadamard(36), paleyII(17));
    EXPECT_EQ(builtinHadamard(52), paleyII(25));
    EXPECT_EQ(builtinHadamard(148), paleyII(73));
    EXPECT_EQ(builtinHadamard(40), sylvesterDouble(*paleyI(19), 20));
    EXPECT_EQ(builtinHadamard(96), sylvesterDouble(*paleyI(47), 48));
    EXPECT_EQ(builtinHadamard(160), sylvesterDouble(*paleyI(79), 80));
    EXPECT_EQ(builtinHadamard(176), sylvesterDouble(sylvesterDouble(*paleyI(43), 44), 88));
}

TEST(HadamardMatrix, SylvesterDoublingBlocks) {
    const auto h = *paleyI(11);
    const auto d = sylvesterDouble(h, 12);
    for (int r = 0; r < 12; ++r)
        for (int c = 0; c < 12; ++c) {
            EXPECT_EQ(entry(d, 24, r, c), entry(h, 12, r, c));
            EXPECT_EQ(entry(d, 24, r, 12 + c), entry(h, 12, r, c));
            EXPECT_EQ(entry(d, 24, 12 + r, c), entry(h, 12, r, c));
            EXPECT_EQ(entry(d, 24, 12 + r, 12 + c), -entry(h, 12, r, c));
        }
}

// All quadruples of +-1 sequences of length L whose periodic autocorrelations
// sum to zero, found by brute force (4L bits), at most `limit` of them.
std::vector<std::array<std::string, 4>> gsQuadruples(int L, std::size_t limit) {
    std::vector<std::array<std::string, 4>> out;
    for (uint32_t bits = 0; bits < (1u << (4 * L)) && out.size() < limit; ++bits) {
        std::array<std::string, 4> s;
        for (int k = 0; k < 4; ++k)
            for (int i = 0; i < L; ++i) s[static_cast<std::size_t>(k)] += (bits >> (k * L + i)) & 1 ? '-' : '+';
        bool ok = true;
        for (int shift = 1; shift < L && ok; ++shift) {
            int sum = 0;
            for (const auto &seq : s)
                for (int i = 0; i < L; ++i)
                    sum += (seq[static_cast<std::size_t>(i)] == '+' ? 1 : -1) *
                           (seq[static_cast<std::size_t>((i + shift) % L)] == '+' ? 1 : -1);
            ok = sum == 0;
        }
        if (ok) out.push_back(s);
    }
    return out;
}

TEST(HadamardMatrix, GoethalsSeidelSmallLengths) {
    for (int L : {1, 3, 5}) {
        const auto quads = gsQuadruples(L, 64);
        ASSERT_FALSE(quads.empty()) << L;
        for (const auto &s : quads) {
            SCOPED_TRACE(s[0] + " " + s[1] + " " + s[2] + " " + s[3]);
            const auto h = goethalsSeidel(s);
            ASSERT_TRUE(h);
            EXPECT_EQ(hadamardDefect(*h, 4 * L), "");
            // The top-left block is the circulant A, the one right of it B R.
            for (int i = 0; i < L; ++i)
                for (int j = 0; j < L; ++j) {
                    EXPECT_EQ(entry(*h, 4 * L, i, j), s[0][static_cast<std::size_t>(((j - i) % L + L) % L)] == '+' ? 1 : -1);
                    EXPECT_EQ(entry(*h, 4 * L, i, L + j),
                              s[1][static_cast<std::size_t>(((L - 1 - j - i) % L + L) % L)] == '+' ? 1 : -1);
                }
        }
    }
    // Order 12 from (+++, ++-, ++-, ++-): A's autocorrelation 3 cancels three -1s.
    EXPECT_EQ(hadamardDefect(*goethalsSeidel({"+++", "++-", "++-", "++-"}), 12), "");
}

TEST(HadamardMatrix, GoethalsSeidelRejects) {
    EXPECT_FALSE(goethalsSeidel({"+++", "+++", "++-", "++-"}));  // autocorrelations 3+3-1-1 != 0
    EXPECT_FALSE(goethalsSeidel({"+++", "++-", "++-", "++"}));   // unequal lengths
    EXPECT_FALSE(goethalsSeidel({"+++", "++-", "++-", "++x"}));  // not + or -
    EXPECT_FALSE(goethalsSeidel({"", "", "", ""}));
    EXPECT_FALSE(goethalsSeidel({std::string(513, '+'), std::string(513, '+'), std::string(513, '+'),
                                 std::string(513, '+')}));  // order 2052 > kMaxOrder
}

TEST(HadamardMatrix, FirstNonOrthogonalRows) {
    for (int m : {12, 100, 344}) {
        SCOPED_TRACE(m);
        auto h = *builtinHadamard(m);
        EXPECT_FALSE(firstNonOrthogonalRows(h, m));
        EXPECT_TRUE(isHadamard(h, m));
        const int r = m - 5, c = m / 2 + 1;
        h[static_cast<std::size_t>(r * m + c)] = static_cast<int8_t>(-h[static_cast<std::size_t>(r * m + c)]);
        // Row r now meets every other row with dot +-2; the first pair in
        // order of the later row is (0, r).
        EXPECT_EQ(firstNonOrthogonalRows(h, m), (std::pair{0, r}));
        EXPECT_FALSE(isHadamard(h, m));
    }
    auto h = *builtinHadamard(12);
    h[5] = 0;
    EXPECT_FALSE(isHadamard(h, 12));
    EXPECT_FALSE(isHadamard(*builtinHadamard(12), 11));
}

TEST(HadamardMatrix, SignRows) {
    EXPECT_EQ(signRows(*paleyI(3), 4), (std::vector<std::string>{"-+++", "+++-", "++-+", "+-++"}));
}

// Order 172 (Llama-2's 11008 = 172 * 64): the Goethals-Seidel array of the
// stored quadruple of length 43 (rule 4), a Hadamard matrix that, unlike the
// Paley ones, is not symmetric (its inverse is its transpose).
TEST(HadamardMatrix, Order172IsGoethalsSeidel) {
    ASSERT_TRUE(isBuiltinOrder(172));
    const std::vector<int8_t> h = *builtinHadamard(172);
    EXPECT_TRUE(isHadamard(h, 172));
    bool symmetric = true;
    for (int r = 0; r < 172 && symmetric; ++r)
        for (int c = 0; c < r && symmetric; ++c) symmetric = h[r * 172 + c] == h[c * 172 + r];
    EXPECT_FALSE(symmetric);
    // 344 is Paley I (343 = 7^3) before it is a doubling of 172.
    const std::vector<int8_t> h344 = *builtinHadamard(344);
    EXPECT_EQ(h344, *paleyI(343));
}

}  // namespace
}  // namespace kf::families::hadamard
