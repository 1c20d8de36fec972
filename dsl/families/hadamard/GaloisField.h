// \file
// The finite field GF(q), q = p^e, as much of it as the Paley constructions of
// Hadamard matrices need (HadamardMatrix.h): addition, multiplication and the
// quadratic character. Small fields only (q <= 65536), elements as integers.
//
// Element encoding: the integer a in [0, q) is the polynomial
// a_0 + a_1 x + ... + a_{e-1} x^{e-1} over GF(p) whose coefficients are the
// base-p digits of a (a_0 least significant). For e = 1 this is the usual
// 0 .. p-1 of the integers mod p.
//
// The modulus is deterministic, so every element's code is too: the monic
// irreducible polynomial x^e + c_{e-1} x^{e-1} + ... + c_0 with the smallest
// index c_0 + c_1 p + ... + c_{e-1} p^{e-1}. For example GF(9) uses x^2 + 1,
// GF(25) x^2 + 2, GF(27) x^3 + 2x + 1, GF(49) x^2 + 1, GF(343) x^3 + 2.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace kf::families::hadamard {

// (p, e) with q = p^e and p prime, or nullopt (q < 2 or not a prime power).
std::optional<std::pair<int, int>> primePower(int q);

class GaloisField {
public:
    static constexpr int kMaxOrder = 1 << 16;

    // GF(q), or nullopt unless q is a prime power in [2, kMaxOrder].
    static std::optional<GaloisField> make(int q);

    int order() const { return q_; }
    int characteristic() const { return p_; }
    int degree() const { return e_; }
    // c_0 .. c_{e-1} of the monic modulus (the x^e coefficient, 1, is implied).
    const std::vector<int> &modulus() const { return modulus_; }

    int add(int a, int b) const;
    int neg(int a) const;
    int sub(int a, int b) const { return add(a, neg(b)); }
    int mul(int a, int b) const;
    // The quadratic character: 0 for a = 0, +1 when a is a nonzero square,
    // -1 otherwise. In characteristic 2 every element is a square.
    int chi(int a) const { return chi_[a]; }

private:
    GaloisField(int p, int e, std::vector<int> modulus);

    int q_ = 0, p_ = 0, e_ = 0;
    std::vector<int> modulus_;
    std::vector<int8_t> chi_;
};

}  // namespace kf::families::hadamard
