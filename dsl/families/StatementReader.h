// \file
// Helpers the family checkers share to read kernel statements: which statements
// a body has (unknown, duplicate and missing ones reported), the arity and
// attribute names of one statement, and typed values (words from a fixed set,
// bounded integers, shape dimensions). Every helper reports what was expected at
// the offending token and returns nullopt / false on error.
#pragma once

#include "dsl/Diagnostics.h"
#include "dsl/Parser.h"
#include "dsl/Spec.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kf::dsl {

// "a, b, c"; past `max` names, "a, b and 3 more".
std::string joinNames(const std::vector<std::string> &names, size_t max = SIZE_MAX);
bool isPowerOfTwo(int64_t v);
// Work one suggestion may do (edit-distance cells). A file with thousands of
// long names gets its first candidates looked at, not every pair.
constexpr size_t kSuggestionBudget = size_t{1} << 18;
// Closest name within a small edit distance (a third of the word), or empty.
// Cost is bounded: O(|word| * bound) per name, kSuggestionBudget in all.
std::string closestName(std::string_view word, const std::vector<std::string> &names);

// The statements of one kernel body, by head word.
class KernelBody {
public:
    // Reports statements not in `legal` (with a suggestion), repeated
    // statements, and tune blocks (which belong in schedules).
    KernelBody(const KernelDecl &kernel, const char *family, std::vector<std::string> legal,
               DiagnosticSink &sink);

    // The statement, or nullptr when it is absent or had a syntax error.
    const Statement *find(std::string_view head) const;
    // Reports "kernel 'x' (family) has no 'head' statement" at the kernel name
    // when absent. A statement with a syntax error counts as present, and so
    // does one already suggested for a misspelt statement.
    bool require(std::string_view head);

private:
    const KernelDecl &kernel_;
    const char *family_;
    DiagnosticSink &sink_;
    std::vector<const Statement *> first_;  // first statement of each legal head
    std::vector<std::string> legal_;
    std::vector<std::string> suggested_;  // "did you mean" names already given
};

// Checks a statement's shape: between minPositional and maxPositional
// positional values and only the attributes in `attrs`, each at most once.
// `usage` is shown in arity errors, e.g. "output f32".
bool checkArgs(const Statement &st, size_t minPositional, size_t maxPositional,
               const std::vector<std::string> &attrs, std::string_view usage, DiagnosticSink &sink);

std::vector<const Value *> positionals(const Statement &st);
const Value *findAttr(const Statement &st, std::string_view key);

// A word from a fixed set: "unknown <what> 'x'; expected one of a, b, c".
template <class T>
std::optional<T> pickWord(const Value &v, std::string_view what,
                          const std::vector<std::pair<std::string, T>> &choices, DiagnosticSink &sink) {
    if (v.kind == Value::Kind::Word)
        for (const auto &[name, value] : choices)
            if (v.text == name) return value;
    std::vector<std::string> names;
    for (const auto &c : choices) names.push_back(c.first);
    sink.error(v.loc, "unknown " + std::string(what) + " '" + describe(v) + "'; expected " +
                          (names.size() == 1 ? names[0] : "one of " + joinNames(names)));
    return std::nullopt;
}

// An integer in [lo, hi]: "<what> must be an integer between lo and hi, got x".
std::optional<int64_t> readInt(const Value &v, std::string_view what, int64_t lo, int64_t hi,
                               DiagnosticSink &sink);

// Largest fixed dimension size: sizes are int32 at run time.
constexpr int64_t kMaxDim = 2147483647;

// One shape entry: `N=4096` (fixed) or `N` (symbolic). `expected` is its name.
std::optional<Dim> readDim(const Arg &a, std::string_view expected, DiagnosticSink &sink);
// `shape=[N=.., K=..]` with the given dimension names in order.
bool readShape(const Value &v, const std::vector<std::string> &names, std::vector<Dim> &out,
               DiagnosticSink &sink);

// The shape=[N=<n>, K=<k>] attribute of a 'weight' statement (either size may
// be symbolic); an error naming `usage` when it is missing.
void readWeightShape(const Statement &st, Dim &n, Dim &k, const char *usage, DiagnosticSink &sink);

}  // namespace kf::dsl
