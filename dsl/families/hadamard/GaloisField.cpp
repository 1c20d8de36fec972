// \file
// GF(p^e) by polynomial arithmetic over GF(p) (GaloisField.h).
#include "dsl/families/hadamard/GaloisField.h"

namespace kf::families::hadamard {

namespace {

// Base-p digits of v, e of them, least significant first.
std::vector<int> digits(int v, int p, int e) {
    std::vector<int> d(e);
    for (int i = 0; i < e; ++i, v /= p) d[i] = v % p;
    return d;
}

// Whether the monic g (coefficients low to high, leading 1 included) divides
// the monic f over GF(p).
bool divides(const std::vector<int> &g, std::vector<int> f, int p) {
    const std::size_t dg = g.size() - 1;
    while (f.size() > dg) {
        const int c = f.back();
        const std::size_t shift = f.size() - 1 - dg;
        for (std::size_t i = 0; i <= dg; ++i) f[shift + i] = ((f[shift + i] - c * g[i]) % p + p) % p;
        f.pop_back();
    }
    for (int c : f)
        if (c != 0) return false;
    return true;
}

// A polynomial of degree e is irreducible iff no monic polynomial of degree
// 1 .. e/2 divides it. Fields here have q <= 65536, so trying them all is cheap.
bool irreducible(const std::vector<int> &lowCoefficients, int p, int e) {
    std::vector<int> f = lowCoefficients;
    f.push_back(1);
    for (int d = 1; d <= e / 2; ++d) {
        int count = 1;
        for (int i = 0; i < d; ++i) count *= p;
        for (int idx = 0; idx < count; ++idx) {
            std::vector<int> g = digits(idx, p, d);
            g.push_back(1);
            if (divides(g, f, p)) return false;
        }
    }
    return true;
}

}  // namespace

std::optional<std::pair<int, int>> primePower(int q) {
    if (q < 2) return std::nullopt;
    int p = q;
    for (int d = 2; d * d <= q; ++d)
        if (q % d == 0) {
            p = d;
            break;
        }
    int e = 0;
    while (q % p == 0) {
        q /= p;
        ++e;
    }
    if (q != 1) return std::nullopt;
    return std::pair{p, e};
}

std::optional<GaloisField> GaloisField::make(int q) {
    if (q > kMaxOrder) return std::nullopt;
    const auto pe = primePower(q);
    if (!pe) return std::nullopt;
    const auto [p, e] = *pe;
    // The first monic irreducible polynomial in index order (GaloisField.h):
    // one exists for every degree, so the loop always returns.
    for (int idx = 0;; ++idx) {
        std::vector<int> c = digits(idx, p, e);
        if (irreducible(c, p, e)) return GaloisField(p, e, std::move(c));
    }
}

GaloisField::GaloisField(int p, int e, std::vector<int> modulus) : p_(p), e_(e), modulus_(std::move(modulus)) {
    q_ = 1;
    for (int i = 0; i < e; ++i) q_ *= p;
    chi_.assign(q_, -1);
    chi_[0] = 0;
    for (int a = 1; a < q_; ++a) chi_[static_cast<std::size_t>(mul(a, a))] = 1;
}

int GaloisField::add(int a, int b) const {
    int sum = 0;
    for (int place = 1, i = 0; i < e_; ++i, place *= p_, a /= p_, b /= p_) sum += (a % p_ + b % p_) % p_ * place;
    return sum;
}

int GaloisField::neg(int a) const {
    int r = 0;
    for (int place = 1, i = 0; i < e_; ++i, place *= p_, a /= p_) r += (p_ - a % p_) % p_ * place;
    return r;
}

int GaloisField::mul(int a, int b) const {
    const std::vector<int> x = digits(a, p_, e_), y = digits(b, p_, e_);
    std::vector<int> prod(2 * e_ - 1, 0);
    for (int i = 0; i < e_; ++i)
        for (int j = 0; j < e_; ++j) prod[i + j] = (prod[i + j] + x[i] * y[j]) % p_;
    // x^e = -(c_0 + ... + c_{e-1} x^{e-1}): fold the high terms down.
    for (int k = 2 * e_ - 2; k >= e_; --k) {
        const int c = prod[k];
        for (int i = 0; i < e_ && c != 0; ++i) prod[k - e_ + i] = ((prod[k - e_ + i] - c * modulus_[i]) % p_ + p_) % p_;
        prod[k] = 0;
    }
    int r = 0;
    for (int place = 1, i = 0; i < e_; ++i, place *= p_) r += prod[i] * place;
    return r;
}

}  // namespace kf::families::hadamard
