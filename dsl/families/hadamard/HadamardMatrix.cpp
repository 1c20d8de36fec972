// \file
// Built-in Hadamard matrices and the matrix-file reader (HadamardMatrix.h).
#include "dsl/families/hadamard/HadamardMatrix.h"

#include "dsl/families/hadamard/GaloisField.h"

#include <tbb/parallel_for.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace kf::families::hadamard {

namespace {

bool isPowerOfTwo(int v) { return v > 0 && (v & (v - 1)) == 0; }

// Entry (r, c) of a row-major matrix of order m.
std::size_t at(int r, int c, int m) { return std::size_t(r) * std::size_t(m) + std::size_t(c); }

// Which rule of HadamardMatrix.h builds order m: the base construction and
// how many Sylvester doublings follow it.
struct Recipe {
    enum class Base { Sylvester, PaleyI, PaleyII, GoethalsSeidel } base;
    int q = 0;          // the field order of a Paley base; the sequence length of a Goethals-Seidel one
    int doublings = 0;  // rule 4 applied this many times
};

bool paleyIFits(int q) { return q % 4 == 3 && primePower(q).has_value(); }
bool paleyIIFits(int q) { return q % 4 == 1 && primePower(q).has_value(); }

// Rule 5's quadruples, by sequence length (header comment). Length 43 (order
// 172, Llama-2's 11008 = 172 * 64) was found by a tabu search over the 172
// signs minimising the sum of squared periodic autocorrelations; the tests
// check H Hᵀ = 172 I.
const std::array<std::string, 4> *goethalsSeidelQuadruple(int length) {
    static const std::array<std::string, 4> k43 = {
        "+-++--++++-+-+-++-+--++-++++-++----+--+++-+",
        "+--+-+++---+++-++-+---++------+-++++++-+---",
        "-++++--++++--+-++++--+------+-+----++-+++--",
        "+-+-++--+-+-+++--+--+---+---+-+-------++---",
    };
    return length == 43 ? &k43 : nullptr;
}

std::optional<Recipe> recipe(int m) {
    if (m < 1 || m > kMaxOrder) return std::nullopt;
    for (int doublings = 0;; ++doublings, m /= 2) {
        if (isPowerOfTwo(m)) return Recipe{Recipe::Base::Sylvester, 0, doublings};
        if (paleyIFits(m - 1)) return Recipe{Recipe::Base::PaleyI, m - 1, doublings};
        if (m % 2 == 0 && paleyIIFits(m / 2 - 1)) return Recipe{Recipe::Base::PaleyII, m / 2 - 1, doublings};
        if (m % 4 == 0 && goethalsSeidelQuadruple(m / 4))
            return Recipe{Recipe::Base::GoethalsSeidel, m / 4, doublings};
        if (m % 2 != 0) return std::nullopt;
    }
}

// Quotes a token from a file for a message: printable ASCII as is, other
// bytes as \xNN, long tokens cut, so that hostile input cannot flood or
// garble the terminal.
std::string quoted(std::string_view token) {
    constexpr std::size_t kMaxShown = 24;
    std::string out = "'";
    for (std::size_t i = 0; i < token.size() && i < kMaxShown; ++i) {
        const unsigned char c = static_cast<unsigned char>(token[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (token.size() > kMaxShown) out += "...";
    return out + "'";
}

bool isSign(char c) { return c == '+' || c == '-'; }
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
    return s;
}

// One line of a matrix file reduced to its tokens, or why it is wrong.
struct ParsedLine {
    bool isRow = false;  // false: blank, comment or brackets only
    std::vector<int8_t> entries;
    std::string error;   // the <what> of "<path>:<line>: <what>"
};

ParsedLine parseLine(std::string_view line) {
    ParsedLine out;
    line = trim(line);
    if (line.empty() || line.front() == '#') return out;
    // Brackets of a pasted list of lists, and the comma between its rows.
    while (!line.empty() && (line.front() == '[' || isSpace(line.front()))) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ']' || line.back() == ',' || isSpace(line.back()))) line.remove_suffix(1);
    if (line.empty()) return out;
    out.isRow = true;

    std::vector<std::string_view> tokens;
    for (std::size_t i = 0; i < line.size();) {
        if (isSpace(line[i]) || line[i] == ',') {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < line.size() && !isSpace(line[j]) && line[j] != ',') ++j;
        tokens.push_back(line.substr(i, j - i));
        i = j;
    }
    // A token that starts with two signs (or is one sign) can only be a run
    // of + and - characters; one such token makes the row a sign row.
    auto signRun = [](std::string_view t) { return t.size() == 1 ? isSign(t[0]) : isSign(t[0]) && isSign(t[1]); };
    bool signs = false;
    for (std::string_view t : tokens) signs = signs || signRun(t);
    auto push = [&](int8_t v) {
        out.entries.push_back(v);
        if (out.entries.size() <= static_cast<std::size_t>(kMaxOrder)) return true;
        out.error = "row has more than " + std::to_string(kMaxOrder) + " entries (the largest order kforge reads)";
        return false;
    };
    for (std::string_view t : tokens) {
        if (signs) {
            for (char c : t) {
                if (!isSign(c)) {
                    out.error = "entry " + quoted(std::string_view(&c, 1)) + (t.size() > 1 ? " in " + quoted(t) : "") +
                                " is not + or -";
                    return out;
                }
                if (!push(c == '+' ? 1 : -1)) return out;
            }
        } else if (t == "1" || t == "+1" || t == "-1") {
            if (!push(t == "-1" ? -1 : 1)) return out;
        } else {
            out.error = "entry " + quoted(t) + " is not 1 or -1";
            return out;
        }
    }
    return out;
}

std::string counted(std::size_t n, const char *one, const char *many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::optional<std::vector<int8_t>> sylvester(int m) {
    if (!isPowerOfTwo(m) || m > kMaxOrder) return std::nullopt;
    std::vector<int8_t> h(at(m, 0, m));
    for (int r = 0; r < m; ++r)
        for (int c = 0; c < m; ++c) h[at(r, c, m)] = std::popcount(static_cast<unsigned>(r & c)) % 2 ? -1 : 1;
    return h;
}

std::optional<std::vector<int8_t>> paleyI(int q) {
    if (!paleyIFits(q) || q + 1 > kMaxOrder) return std::nullopt;
    const GaloisField f = *GaloisField::make(q);
    const int m = q + 1;
    std::vector<int8_t> h(at(m, 0, m));
    h[0] = -1;
    for (int a = 0; a < q; ++a) {
        h[at(0, 1 + a, m)] = 1;
        h[at(1 + a, 0, m)] = 1;
        for (int b = 0; b < q; ++b) {
            const int s = f.add(a, b);
            h[at(1 + a, 1 + b, m)] = static_cast<int8_t>(s == 0 ? 1 : f.chi(s));
        }
    }
    return h;
}

std::optional<std::vector<int8_t>> paleyII(int q) {
    if (!paleyIIFits(q) || 2 * (q + 1) > kMaxOrder) return std::nullopt;
    const GaloisField f = *GaloisField::make(q);
    const int c = q + 1, m = 2 * c;
    auto conference = [&](int i, int j) {
        if (i == 0 || j == 0) return i == j ? 0 : 1;
        return f.chi(f.sub(i - 1, j - 1));
    };
    std::vector<int8_t> h(at(m, 0, m));
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < c; ++j) {
            const int v = conference(i, j);
            // 0 -> [[1, -1], [-1, -1]], v = ±1 -> v [[1, 1], [1, -1]].
            const int block[2][2] = {{v == 0 ? 1 : v, v == 0 ? -1 : v}, {v == 0 ? -1 : v, v == 0 ? -1 : -v}};
            for (int u = 0; u < 2; ++u)
                for (int w = 0; w < 2; ++w) h[at(2 * i + u, 2 * j + w, m)] = static_cast<int8_t>(block[u][w]);
        }
    return h;
}

std::vector<int8_t> sylvesterDouble(const std::vector<int8_t> &h, int m) {
    const int d = 2 * m;
    std::vector<int8_t> out(at(d, 0, d));
    for (int r = 0; r < m; ++r)
        for (int c = 0; c < m; ++c) {
            const int8_t v = h[at(r, c, m)];
            out[at(r, c, d)] = v;
            out[at(r, m + c, d)] = v;
            out[at(m + r, c, d)] = v;
            out[at(m + r, m + c, d)] = static_cast<int8_t>(-v);
        }
    return out;
}

std::optional<std::vector<int8_t>> builtinHadamard(int m) {
    const auto r = recipe(m);
    if (!r) return std::nullopt;
    const int base = m >> r->doublings;
    std::vector<int8_t> h;
    switch (r->base) {
    case Recipe::Base::Sylvester: return sylvester(m);
    case Recipe::Base::PaleyI: h = *paleyI(r->q); break;
    case Recipe::Base::PaleyII: h = *paleyII(r->q); break;
    case Recipe::Base::GoethalsSeidel: h = *goethalsSeidel(*goethalsSeidelQuadruple(r->q)); break;
    }
    for (int order = base; order < m; order *= 2) h = sylvesterDouble(h, order);
    return h;
}

bool isBuiltinOrder(int m) { return recipe(m).has_value(); }

std::vector<int> builtinOrders(int upTo) {
    std::vector<int> out;
    for (int m = 1; m <= upTo && m <= kMaxOrder; ++m)
        if (isBuiltinOrder(m)) out.push_back(m);
    return out;
}

std::optional<std::vector<int8_t>> goethalsSeidel(const std::array<std::string, 4> &sequences) {
    const std::size_t len = sequences[0].size();
    if (len == 0 || 4 * len > static_cast<std::size_t>(kMaxOrder)) return std::nullopt;
    std::array<std::vector<int>, 4> x;
    for (std::size_t s = 0; s < 4; ++s) {
        if (sequences[s].size() != len) return std::nullopt;
        for (char ch : sequences[s]) {
            if (!isSign(ch)) return std::nullopt;
            x[s].push_back(ch == '+' ? 1 : -1);
        }
    }
    const int L = static_cast<int>(len);
    auto mod = [L](int v) { return ((v % L) + L) % L; };
    // The array is Hadamard exactly when A Aᵀ + B Bᵀ + C Cᵀ + D Dᵀ = 4L I, i.e.
    // the periodic autocorrelations sum to zero off shift 0.
    for (int shift = 1; shift < L; ++shift) {
        int sum = 0;
        for (const auto &seq : x)
            for (int i = 0; i < L; ++i) sum += seq[i] * seq[mod(i + shift)];
        if (sum != 0) return std::nullopt;
    }
    const std::vector<int> &a = x[0], &b = x[1], &c = x[2], &d = x[3];
    // Entry (i, j) of X, X R and Xᵀ R for the circulant X with first row x.
    auto plain = [&](const std::vector<int> &s, int i, int j) { return s[mod(j - i)]; };
    auto timesR = [&](const std::vector<int> &s, int i, int j) { return s[mod(L - 1 - j - i)]; };
    auto transposedTimesR = [&](const std::vector<int> &s, int i, int j) { return s[mod(i + j - L + 1)]; };
    const int m = 4 * L;
    std::vector<int8_t> h(at(m, 0, m));
    for (int i = 0; i < L; ++i)
        for (int j = 0; j < L; ++j) {
            const int blocks[4][4] = {
                {plain(a, i, j), timesR(b, i, j), timesR(c, i, j), timesR(d, i, j)},
                {-timesR(b, i, j), plain(a, i, j), transposedTimesR(d, i, j), -transposedTimesR(c, i, j)},
                {-timesR(c, i, j), -transposedTimesR(d, i, j), plain(a, i, j), transposedTimesR(b, i, j)},
                {-timesR(d, i, j), transposedTimesR(c, i, j), -transposedTimesR(b, i, j), plain(a, i, j)},
            };
            for (int br = 0; br < 4; ++br)
                for (int bc = 0; bc < 4; ++bc) h[at(br * L + i, bc * L + j, m)] = static_cast<int8_t>(blocks[br][bc]);
        }
    return h;
}

std::optional<std::pair<int, int>> firstNonOrthogonalRows(const std::vector<int8_t> &h, int m) {
    // Rows as bit sets (bit set = -1): the dot product of two rows is
    // m - 2 * popcount(a xor b), 64 entries per word, so even order 2048 is
    // checked in well under a second.
    const std::size_t words = (std::size_t(m) + 63) / 64;
    std::vector<uint64_t> bits(std::size_t(m) * words, 0);
    for (int r = 0; r < m; ++r)
        for (int c = 0; c < m; ++c)
            if (h[at(r, c, m)] < 0) bits[r * words + c / 64] |= uint64_t{1} << (c % 64);
    std::vector<int> firstConflict(m, -1);
    tbb::parallel_for(1, m, [&](int j) {
        const uint64_t *rj = &bits[j * words];
        for (int i = 0; i < j; ++i) {
            const uint64_t *ri = &bits[i * words];
            int differ = 0;
            for (std::size_t w = 0; w < words; ++w) differ += std::popcount(ri[w] ^ rj[w]);
            if (m != 2 * differ) {
                firstConflict[j] = i;
                return;
            }
        }
    });
    for (int j = 1; j < m; ++j)
        if (firstConflict[j] >= 0) return std::pair{firstConflict[j], j};
    return std::nullopt;
}

bool isHadamard(const std::vector<int8_t> &h, int m) {
    if (m < 1 || h.size() != at(m, 0, m)) return false;
    for (int8_t v : h)
        if (v != 1 && v != -1) return false;
    return !firstNonOrthogonalRows(h, m);
}

std::vector<std::string> signRows(const std::vector<int8_t> &h, int m) {
    std::vector<std::string> rows(m, std::string(m, '+'));
    for (int r = 0; r < m; ++r)
        for (int c = 0; c < m; ++c)
            if (h[at(r, c, m)] < 0) rows[r][c] = '-';
    return rows;
}

MatrixFileResult parseHadamardText(std::string_view text, const std::string &path, int expectedOrder) {
    MatrixFileResult result;
    auto fail = [&](int line, const std::string &what) {
        result.error = path;
        if (line > 0) result.error += ':' + std::to_string(line);
        result.error += ": ";
        result.error += what;
        return result;
    };
    if (expectedOrder < 0 || expectedOrder > kMaxOrder)
        return fail(0, "order " + std::to_string(expectedOrder) + " is not between 1 and " + std::to_string(kMaxOrder));

    std::vector<std::vector<int8_t>> rows;
    std::vector<int> lines;  // the line of each row, for messages
    int lineNo = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        ++lineNo;
        ParsedLine parsed = parseLine(text.substr(pos, end - pos));
        pos = end + 1;
        if (!parsed.error.empty()) return fail(lineNo, parsed.error);
        if (!parsed.isRow) continue;
        if (rows.size() == static_cast<std::size_t>(kMaxOrder))
            return fail(lineNo, "more than " + std::to_string(kMaxOrder) + " rows (the largest order kforge reads)");
        rows.push_back(std::move(parsed.entries));
        lines.push_back(lineNo);
    }
    if (rows.empty()) return fail(0, "no matrix rows (only blank lines, comments or brackets)");

    const std::size_t first = rows[0].size();
    bool square = rows.size() == first;
    for (const auto &r : rows) square = square && r.size() == first;
    const std::size_t m = expectedOrder ? static_cast<std::size_t>(expectedOrder) : first;
    if (square && first != m)
        return fail(0, "the matrix has order " + std::to_string(first) + " (" + counted(first, "row", "rows") + " of " +
                           counted(first, "entry", "entries") + "), expected order " + std::to_string(m));
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].size() != m)
            return fail(lines[i], "row " + std::to_string(i + 1) + " has " + std::to_string(rows[i].size()) +
                                      " entries, expected " + std::to_string(m) +
                                      (expectedOrder ? std::string() : " (the length of row 1)"));
    if (rows.size() < m)
        return fail(0, "the file has " + std::to_string(rows.size()) + " rows of " + std::to_string(m) +
                           " entries, expected " + std::to_string(m) + " rows");
    if (rows.size() > m)
        return fail(lines[m], "row " + std::to_string(m + 1) + " is one too many: a matrix of order " +
                                  std::to_string(m) + " has " + std::to_string(m) + " rows");

    const int order = static_cast<int>(m);
    std::vector<int8_t> h;
    h.reserve(m * m);
    for (const auto &r : rows) h.insert(h.end(), r.begin(), r.end());
    if (const auto pair = firstNonOrthogonalRows(h, order)) {
        const auto [i, j] = *pair;
        int dot = 0;
        for (int c = 0; c < order; ++c) dot += h[at(i, c, order)] * h[at(j, c, order)];
        return fail(lines[j], "row " + std::to_string(j + 1) + " (line " + std::to_string(lines[j]) +
                                  ") is not orthogonal to row " + std::to_string(i + 1) + " (line " +
                                  std::to_string(lines[i]) + "): their dot product is " + std::to_string(dot) +
                                  ", not 0 (a Hadamard matrix has H H^T = " + std::to_string(order) + " I)");
    }
    result.matrix = std::move(h);
    return result;
}

MatrixFileResult readHadamardFile(const std::string &path, int expectedOrder) {
    MatrixFileResult result;
    auto fail = [&](const std::string &what) {
        result.error = path + ": " + what;
        return result;
    };
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) return fail("cannot open file: no such file");
    if (ec) return fail("cannot open file: " + ec.message());
    if (!std::filesystem::is_regular_file(status)) return fail("cannot read: not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::string("cannot open file: ") + std::strerror(errno));
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<std::size_t>(in.gcount()));
        if (text.size() > kMaxMatrixFileBytes)
            return fail("file is too large (more than " + std::to_string(kMaxMatrixFileBytes) +
                        " bytes, enough for order " + std::to_string(kMaxOrder) + " in any notation)");
    }
    if (in.bad()) return fail("error while reading file");
    return parseHadamardText(text, path, expectedOrder);
}

}  // namespace kf::families::hadamard
