// hadamard: y = (H_m (x) H_2^k) x / sqrt(n), n = m * 2^k, per row of x, with an
// optional fused per-token int8 quantization of y (SpinQuant / QuaRot R4; see
// ../shared/FORMATS.md, "Rotations"). Statements (docs/dsl.md, "hadamard"):
//
//   size   N=<n> [factor=<m>] [matrix="file"]     (or `size N`: n at run time)
//   input  f32 [rows=M]
//   output f32|int8
#include "dsl/families/Family.h"
#include "dsl/families/StatementReader.h"

#include <algorithm>
#include <string>
#include <vector>

namespace kf::dsl {
namespace {

// Orders m of the H_m the code generator builds itself (Paley constructions and
// Sylvester); any other order needs matrix="file".
const std::vector<int64_t> &builtinFactors() {
    static const std::vector<int64_t> f = {1, 12, 20, 28, 36, 44, 52, 60, 108, 172};
    return f;
}

std::string builtinFactorList() {
    std::string s;
    for (int64_t f : builtinFactors()) s += (s.empty() ? "" : ", ") + std::to_string(f);
    return s;
}

bool isFactorOf(int64_t n, int64_t m) { return n % m == 0 && isPowerOfTwo(n / m); }

constexpr const char *kSizeUsage = "size N=<n> [factor=<m>] [matrix=\"<file>\"]";

void readSize(const Statement &st, HadamardParams &p, DiagnosticSink &sink) {
    // The dimension is the one argument that is neither factor= nor matrix=.
    const Arg *dimArg = nullptr;
    std::vector<std::string> seen;
    for (const auto &a : st.args) {
        if (a.key == "factor" || a.key == "matrix") {
            if (std::find(seen.begin(), seen.end(), a.key) != seen.end())
                sink.error(a.keyLoc, "duplicate attribute '" + a.key + "' for 'size'");
            seen.push_back(a.key);
        } else if (dimArg) {
            sink.error(a.loc(), "'size' takes one dimension; usage: " + std::string(kSizeUsage));
        } else {
            dimArg = &a;
        }
    }
    if (!dimArg) {
        sink.error(st.loc, "missing argument to 'size'; usage: " + std::string(kSizeUsage));
        return;
    }
    std::string dimName = dimArg->positional() ? dimArg->value.text : dimArg->key;
    if (dimArg->positional() && dimArg->value.kind != Value::Kind::Word) {
        sink.error(dimArg->value.loc, "expected a dimension like N=4096 or N, found " + describe(dimArg->value) +
                                          "; usage: " + kSizeUsage);
        return;
    }
    Dim n{dimName, std::nullopt};
    if (!dimArg->positional()) {
        auto size = readInt(dimArg->value, "dimension " + dimName, 1, kMaxDim, sink);
        if (!size) return;
        n.size = *size;
    }
    p.n = n;

    const Value *factor = findAttr(st, "factor");
    const Value *matrix = findAttr(st, "matrix");
    if (matrix) {
        if (matrix->kind == Value::Kind::String && !matrix->text.empty())
            p.matrixFile = matrix->text;
        else
            sink.error(matrix->loc, "matrix= takes a file name in quotes, e.g. matrix=\"h172.txt\", got " +
                                        describe(*matrix));
    }
    if (factor) {
        auto m = readInt(*factor, "factor", 1, kMaxDim, sink);
        if (!m) return;
        // A +-1 Hadamard matrix exists only for orders 1, 2 and multiples of 4.
        if (*m != 1 && *m != 2 && *m % 4 != 0) {
            sink.error(factor->loc, "there is no Hadamard matrix of order " + std::to_string(*m) +
                                        " (orders are 1, 2 or multiples of 4)");
            return;
        }
        auto &b = builtinFactors();
        bool builtin = std::find(b.begin(), b.end(), *m) != b.end() || isPowerOfTwo(*m);
        if (!builtin && !matrix) {
            sink.error(factor->loc, "no built-in Hadamard matrix of order " + std::to_string(*m) +
                                        "; built-in orders are " + builtinFactorList() +
                                        " (times powers of two); give matrix=\"<file>\" for others");
            return;
        }
        p.m = static_cast<int>(*m);
        if (n.size && !isFactorOf(*n.size, *m)) {
            sink.error(dimArg->value.loc, "size " + n.name + "=" + std::to_string(*n.size) + " is not factor * 2^k for factor=" +
                                              std::to_string(*m) + " (" + n.name + " / factor must be a power of two)");
            return;
        }
    } else {
        if (matrix) {
            sink.error(matrix->loc, "matrix= needs factor=<m>, the order of the matrix in the file");
            return;
        }
        if (n.size && !isPowerOfTwo(*n.size)) {
            std::string msg = "size " + n.name + "=" + std::to_string(*n.size) +
                              " is not a power of two; give factor=<m> with " + n.name + " = m * 2^k";
            for (int64_t m : builtinFactors())
                if (m > 1 && isFactorOf(*n.size, m)) {
                    msg += " (e.g. factor=" + std::to_string(m) + ")";
                    break;
                }
            sink.error(dimArg->value.loc, msg);
        }
    }
}

FamilyParams check(const KernelDecl &kernel, DiagnosticSink &sink) {
    HadamardParams p;
    KernelBody body(kernel, "hadamard", {"size", "input", "output"}, sink);
    body.require("size");
    body.require("input");
    body.require("output");
    if (const Statement *st = body.find("size")) readSize(*st, p, sink);
    if (const Statement *st = body.find("input")) {
        checkArgs(*st, 1, 1, {"rows"}, "input f32 [rows=M]", sink);
        auto pos = positionals(*st);
        if (!pos.empty()) pickWord<ActKind>(*pos[0], "input type", {{"f32", ActKind::F32}}, sink);
        if (const Value *rows = findAttr(*st, "rows")) {
            if (rows->kind == Value::Kind::Word) p.rows = rows->text;
            else sink.error(rows->loc, "rows= names the row dimension (e.g. rows=M), got " + describe(*rows));
        }
    }
    if (const Statement *st = body.find("output")) {
        checkArgs(*st, 1, 1, {}, "output f32|int8", sink);
        auto pos = positionals(*st);
        if (!pos.empty())
            if (auto a = pickWord<ActKind>(*pos[0], "output type",
                                           {{"f32", ActKind::F32}, {"int8", ActKind::QInt8PerToken}}, sink))
                p.output = *a;
    }
    return p;
}

}  // namespace

FamilyDef hadamardFamily() {
    return FamilyDef{Family::Hadamard, "hadamard", {"size", "input", "output"}, {"m", "n"}, &check, nullptr};
}

}  // namespace kf::dsl
