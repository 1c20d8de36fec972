// hadamard: y = (H_m (x) H_2^k) x / sqrt(n), n = m * 2^k, per row of x, with an
// optional fused per-token int8 quantization of y (SpinQuant / QuaRot R4; see
// docs/formats.md, "Rotations (Hadamard)"). Statements (docs/dsl.md, "hadamard"):
//
//   size   N=<n> [factor=<m>] [matrix="file"]
//   input  f32 [rows=M]
//   output f32|int8
//
// H_m is built in (HadamardMatrix.h) or read from the matrix file here, at
// check time, so that a bad file is reported at the kernel's matrix= with the
// file's own line, and the Spec carries the matrix itself.
#include "dsl/families/hadamard/Hadamard.h"

#include "dsl/SpecJson.h"
#include "dsl/families/Family.h"
#include "dsl/families/StatementReader.h"
#include "dsl/families/hadamard/HadamardMatrix.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace kf::dsl {

namespace {

namespace hm = kf::families::hadamard;

bool isFactorOf(int64_t n, int64_t m) { return n % m == 0 && isPowerOfTwo(n / m); }

// A +-1 Hadamard matrix exists only for orders 1, 2 and multiples of 4.
bool isHadamardOrder(int64_t m) { return m == 1 || m == 2 || m % 4 == 0; }

// "the powers of two and 12, 20, ..., 60, ... (every multiple of 4 up to 256
// but 92, ...)": the start of the list, and the exceptions up to a bound that
// covers the factors of today's model widths.
std::string builtinOrderSummary() {
    constexpr int kListed = 64, kBound = 256;
    std::string listed, missing;
    for (int m : hm::builtinOrders(kListed))
        if (!isPowerOfTwo(m)) listed += std::to_string(m) + ", ";
    for (int m = 4; m <= kBound; m += 4)
        if (!hm::isBuiltinOrder(m)) missing += (missing.empty() ? "" : ", ") + std::to_string(m);
    return "the powers of two and " + listed + "... (every multiple of 4 up to " + std::to_string(kBound) + " but " +
           missing + ")";
}

// The smallest factor that would make n = m * 2^k legal, preferring a built-in
// one: " (e.g. factor=344, or factor=172 with matrix="<file>")".
std::string factorSuggestion(int64_t n) {
    int64_t odd = n;
    while (odd % 2 == 0) odd /= 2;
    std::optional<int64_t> smallest, builtin;
    for (int64_t m = odd; m <= n && m <= hm::kMaxOrder; m *= 2) {
        if (m == 1 || !isHadamardOrder(m)) continue;
        if (!smallest) smallest = m;
        if (hm::isBuiltinOrder(static_cast<int>(m))) {
            builtin = m;
            break;
        }
    }
    if (!smallest) return "";
    const std::string withFile = "factor=" + std::to_string(*smallest) + " with matrix=\"<file>\"";
    if (builtin == smallest) return " (e.g. factor=" + std::to_string(*builtin) + ")";
    if (builtin) return " (e.g. factor=" + std::to_string(*builtin) + ", or " + withFile + ")";
    return " (e.g. " + withFile + ")";
}

constexpr const char *kSizeUsage = "size N=<n> [factor=<m>] [matrix=\"<file>\"]";

// Reads the H_m file named by matrix= (relative to the kernel file's folder)
// into p.matrix; its problems are reported at the matrix= value.
void readMatrixFile(const Value &matrix, const Statement &st, int m, HadamardParams &p, DiagnosticSink &sink) {
    std::filesystem::path file(matrix.text);
    if (file.is_relative()) file = std::filesystem::path(st.loc.file).parent_path() / file;
    hm::MatrixFileResult r = hm::readHadamardFile(file.string(), m);
    if (!r.ok()) {
        sink.error(matrix.loc, "matrix file for factor=" + std::to_string(m) + ": " + r.error);
        return;
    }
    p.matrix = std::move(r.matrix);
}

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
        sink.error(dimArg->value.loc, "expected a dimension like N=4096, found " + describe(dimArg->value) +
                                          "; usage: " + kSizeUsage);
        return;
    }
    Dim n{dimName, std::nullopt};
    if (dimArg->positional()) {
        // The code generator unrolls the transform for one n, so a run-time
        // size is refused here rather than by `kforge emit`.
        sink.error(dimArg->value.loc, "hadamard needs a fixed size: size " + dimName +
                                          "=<n> [factor=<m>] [matrix=\"<file>\"] (the transform is generated "
                                          "for one n)");
    } else {
        auto size = readInt(dimArg->value, "dimension " + dimName, 1, kMaxDim, sink);
        if (!size) return;
        n.size = *size;
    }
    p.n = n;

    const Value *factor = findAttr(st, "factor");
    const Value *matrix = findAttr(st, "matrix");
    bool matrixNamed = false;
    if (matrix) {
        if (matrix->kind == Value::Kind::String && !matrix->text.empty()) {
            p.matrixFile = matrix->text;
            matrixNamed = true;
        } else {
            sink.error(matrix->loc, "matrix= takes a file name in quotes, e.g. matrix=\"h172.txt\", got " +
                                        describe(*matrix));
        }
    }
    if (factor) {
        auto m = readInt(*factor, "factor", 1, hm::kMaxOrder, sink);
        if (!m) return;
        if (!isHadamardOrder(*m)) {
            sink.error(factor->loc, "there is no Hadamard matrix of order " + std::to_string(*m) +
                                        " (orders are 1, 2 or multiples of 4)");
            return;
        }
        if (!matrix && !hm::isBuiltinOrder(static_cast<int>(*m))) {
            sink.error(factor->loc, "no built-in Hadamard matrix of order " + std::to_string(*m) +
                                        "; built-in orders are " + builtinOrderSummary() +
                                        "; give matrix=\"<file>\" for others");
            return;
        }
        p.m = static_cast<int>(*m);
        if (n.size && !isFactorOf(*n.size, *m))
            sink.error(dimArg->value.loc, "size " + n.name + "=" + std::to_string(*n.size) +
                                              " is not factor * 2^k for factor=" + std::to_string(*m) + " (" +
                                              n.name + " / factor must be a power of two)");
        if (matrixNamed) readMatrixFile(*matrix, st, p.m, p, sink);
    } else {
        if (matrix) {
            sink.error(matrix->loc, "matrix= needs factor=<m>, the order of the matrix in the file");
            return;
        }
        if (n.size && !isPowerOfTwo(*n.size))
            sink.error(dimArg->value.loc, "size " + n.name + "=" + std::to_string(*n.size) +
                                              " is not a power of two; give factor=<m> with " + n.name +
                                              " = m * 2^k" + factorSuggestion(*n.size));
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

std::optional<std::string> hadamardProblem(const HadamardParams &p) {
    if (!p.n.size) return "hadamard needs a fixed size: the transform is generated for one n";
    const int64_t n = *p.n.size;
    if (p.m < 1 || p.m > hm::kMaxOrder || !isHadamardOrder(p.m))
        return "there is no Hadamard matrix of order " + std::to_string(p.m) + " kforge can use";
    if (!isFactorOf(n, p.m))
        return "size " + p.n.name + "=" + std::to_string(n) + " is not factor * 2^k for factor=" + std::to_string(p.m);
    if (p.matrix.empty()) {
        if (!hm::isBuiltinOrder(p.m))
            return "no built-in Hadamard matrix of order " + std::to_string(p.m) + " and no matrix given";
    } else if (!hm::isHadamard(p.matrix, p.m)) {
        return "the given H_m is not a Hadamard matrix of order " + std::to_string(p.m);
    }
    return std::nullopt;
}

namespace {

// Rows (M), then the transform's size (N).
std::vector<Dim> dims(const FamilyParams &params) {
    const auto &p = std::get<HadamardParams>(params);
    return {Dim{p.rows, std::nullopt}, p.n};
}

Json toJson(const FamilyParams &params) {
    const auto &p = std::get<HadamardParams>(params);
    Json j;
    j["n"] = dimJson(p.n);
    j["m"] = p.m;
    j["matrix_file"] = p.matrixFile ? Json(*p.matrixFile) : Json(nullptr);
    j["input"] = toString(p.input);
    j["output"] = toString(p.output);
    j["rows"] = p.rows;
    // The matrix a file gave, one string of + and - per row: the tuning
    // database keys on a hash of this JSON, and two files of one order hold
    // different matrices. Built-in orders are fixed by m (null here).
    j["matrix"] = p.matrix.empty() ? Json(nullptr) : Json(kf::families::hadamard::signRows(p.matrix, p.m));
    return j;
}

}  // namespace

namespace hadamard {

FamilyDef family() {
    return FamilyDef{.family = Family::Hadamard,
                     .name = "hadamard",
                     .statements = {"size", "input", "output"},
                     .scheduleVars = {"m", "n"},
                     .checkKernel = &check,
                     .dims = &dims,
                     .toJson = &toJson};
}

}  // namespace hadamard

}  // namespace kf::dsl
