// \file
// The ±1 Hadamard matrices H_m of the hadamard family (y = (H_m ⊗ H_{2^k}) x /
// sqrt(m 2^k); docs/formats.md, "Rotations (Hadamard)"): which orders kforge
// builds itself and exactly how, and the reader of the matrix files that supply
// any other H_m. Every matrix here is m*m entries of +1 / -1, row-major
// (entry [r][c] at r*m + c), with H Hᵀ = m I.
//
// Built-in matrices
// -----------------
// builtinHadamard(m) applies the first rule that fits m (1 <= m <= kMaxOrder), so
// every built-in matrix is reproducible offline from this description:
//
//   1. m a power of two: Sylvester, H[r][c] = (-1)^popcount(r & c)
//      (H_1 = [1], H_2m = [[H_m, H_m], [H_m, -H_m]]).
//   2. q = m - 1 a prime power with q ≡ 3 (mod 4): Paley I over GF(q).
//   3. q = m/2 - 1 a prime power with q ≡ 1 (mod 4): Paley II over GF(q).
//   4. m a multiple of 4 whose m/4 has a stored Goethals-Seidel quadruple
//      (only 43: m = 172): goethalsSeidel() of the quadruple in
//      HadamardMatrix.cpp (goethalsSeidelQuadruple).
//   5. m even and m/2 built-in: Sylvester doubling of H_{m/2},
//      H_m = [[H_{m/2}, H_{m/2}], [H_{m/2}, -H_{m/2}]].
//   No rule fits: no built-in matrix (isBuiltinOrder(m) is false). Rules
//   1-4 are tried on m, then on m/2 (rule 5), and so on.
// So rule 5 applied d times to a Paley matrix H_p gives, for r = b p + a and
// c = b' p + a' (b, b' < 2^d; a, a' < p), H[r][c] = (-1)^popcount(b & b') H_p[a][a'].
//
// The Paley matrices are the textbook ones (Paley 1933) with rows and columns
// in a fixed order and signs chosen so that the matrix is symmetric. GF(q) and
// the integer code of each element are those of GaloisField.h; χ is the
// quadratic character (0 at 0, +1 on nonzero squares, -1 otherwise). Index 0
// is the point at infinity and index 1 + a the field element with code a:
//
//   Paley I, order q + 1:   H[0][0] = -1,  H[0][1+b] = H[1+a][0] = +1,
//                           H[1+a][1+b] = χ(a + b) when a + b ≠ 0, else +1.
//     (This is Paley's I + S, S = [[0, 1ᵀ], [-1, Q]], Q[a][b] = χ(a - b),
//     with column 1+b moved to 1+(-b) and column 0 negated.)
//   Paley II, order 2(q + 1): the conference matrix C[0][0] = 0,
//     C[0][1+b] = C[1+a][0] = 1, C[1+a][1+b] = χ(a - b), with each entry c
//     replaced by the 2x2 block [[1, -1], [-1, -1]] when c = 0 and by
//     c [[1, 1], [1, -1]] otherwise: H[2i+u][2j+v] is entry (u, v) of block
//     (i, j).
//
// Every built-in matrix but the Goethals-Seidel ones is therefore symmetric
// (Sylvester and doubling keep symmetry), so its normalised transform is its
// own inverse; a Goethals-Seidel matrix (172) is not, and its inverse is the
// transpose (as for any file's matrix). No other normalisation is applied
// (first rows and columns are not made all +1). Orders up to 256 that are
// neither powers of two nor built-in: 92, 116, 156, 184, 188, 232, 236 (they
// need matrix="file"). QuaRot's and SpinQuant's own H_172 is another matrix:
// weights rotated with theirs need their file (matrix="...").
//
// Matrix files
// ------------
// A matrix file holds one row of H_m per line, m lines of m entries. A row is
// written either as a run of + and - characters (the style of Sloane's library
// of Hadamard matrices, e.g. `++-+`), or as integers 1, +1 or -1 separated by
// spaces and/or commas (e.g. `1 -1 1 1` or `1, -1, 1, 1`). Brackets at the start
// and end of a line and a trailing comma are ignored, so a Python list of lists
// pasted as one row per line (`[[1, 1],` / ` [1, -1]]`) reads as written; a
// line that holds only brackets is ignored. Blank lines and lines whose first
// non-blank character is `#` are ignored. The rows must be mutually orthogonal
// (H Hᵀ = m I). Files are at most kMaxMatrixFileBytes long and orders at most
// kMaxOrder.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kf::families::hadamard {

// The largest order built in or read from a file. H_m of a rotation is a
// small factor of the width (172 for Llama-2's 11008, 924 for Qwen2.5-72B's
// 29568); the bound keeps the work on hostile input small. Files may be up to
// 32 MiB: order 2048 written as "-1, " per entry takes 16.8 MB.
inline constexpr int kMaxOrder = 2048;
inline constexpr std::size_t kMaxMatrixFileBytes = std::size_t{32} << 20;

// The built-in H_m (rules above), or nullopt when no rule fits m.
std::optional<std::vector<int8_t>> builtinHadamard(int m);
bool isBuiltinOrder(int m);
// The built-in orders in [1, upTo], ascending.
std::vector<int> builtinOrders(int upTo);

// The individual constructions, for tests and for building other orders.
// Sylvester's H_m, m a power of two in [1, kMaxOrder] (else nullopt).
std::optional<std::vector<int8_t>> sylvester(int m);
// Paley I of order q + 1 (q ≡ 3 mod 4) and Paley II of order 2(q + 1)
// (q ≡ 1 mod 4), as above; nullopt when q is not such a prime power or the
// order would exceed kMaxOrder.
std::optional<std::vector<int8_t>> paleyI(int q);
std::optional<std::vector<int8_t>> paleyII(int q);
// [[H, H], [H, -H]] of order 2m from h of order m.
std::vector<int8_t> sylvesterDouble(const std::vector<int8_t> &h, int m);

// The Goethals-Seidel array of order 4L from four ±1 sequences of length L,
// each written as + and - characters: the first rows a, b, c, d of the
// circulants A, B, C, D (X[i][j] = x[(j - i) mod L]), R the back-diagonal
// identity (R[i][j] = 1 iff i + j = L - 1):
//     [[  A,    BR,    CR,    DR ],
//      [ -BR,   A,     DᵀR,  -CᵀR],
//      [ -CR,  -DᵀR,   A,     BᵀR],
//      [ -DR,   CᵀR,  -BᵀR,   A  ]]
// It is a Hadamard matrix iff the periodic autocorrelations of the four
// sequences sum to zero at every shift 1 .. L-1; nullopt otherwise, and for
// sequences of unequal or zero length, other characters, or 4L > kMaxOrder.
// This is how orders that are no Paley order (172 = 4 * 43) are built from a
// quadruple of their length (rule 4 above).
std::optional<std::vector<int8_t>> goethalsSeidel(const std::array<std::string, 4> &sequences);

// Whether h is m*m entries of ±1 with H Hᵀ = m I.
bool isHadamard(const std::vector<int8_t> &h, int m);
// The first pair of rows (i, j), i < j, whose dot product is not 0, in order
// of j and then i (the first conflict met reading top to bottom); nullopt when
// all rows are orthogonal. h must be m*m entries of ±1.
std::optional<std::pair<int, int>> firstNonOrthogonalRows(const std::vector<int8_t> &h, int m);

// A matrix read from a file (format above): either the matrix or why not.
struct MatrixFileResult {
    std::vector<int8_t> matrix;  // m*m entries of ±1, row-major; empty on error
    std::string error;           // "<path>:<line>: <what>" or "<path>: <what>"; empty on success
    bool ok() const { return error.empty(); }
};

// Reads and checks an H_m file. expectedOrder is the order the kernel declares
// (factor=<m>); 0 takes the order from the length of the first row. Reports
// the first problem: unreadable or too large file, an entry that is not ±1
// (quoted), a row of the wrong length, too few or too many rows, a square
// matrix of another order, rows that are not orthogonal (both named with
// their lines).
MatrixFileResult readHadamardFile(const std::string &path, int expectedOrder);
// The same on text already read; `path` is used in the messages only.
MatrixFileResult parseHadamardText(std::string_view text, const std::string &path, int expectedOrder);

// Rows of ±1 as + and - characters, one string per row (the file format's
// first notation; the spec JSON writes a file's matrix this way).
std::vector<std::string> signRows(const std::vector<int8_t> &h, int m);

}  // namespace kf::families::hadamard
