#include "dsl/families/StatementReader.h"

#include <algorithm>

namespace kf::dsl {

std::string joinNames(const std::vector<std::string> &names, size_t max) {
    std::string out;
    size_t shown = std::min(max, names.size());
    for (size_t i = 0; i < shown; ++i) {
        if (!out.empty()) out += ", ";
        out += names[i];
    }
    if (shown < names.size()) out += " and " + std::to_string(names.size() - shown) + " more";
    return out;
}

bool isPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

namespace {

// Optimal string alignment distance (insertions, deletions, substitutions and
// transpositions of neighbours: "lni" -> "lin" is one edit), or `limit` when it
// is `limit` or more. Only the diagonal band |i - j| < limit can hold smaller
// distances, so a row costs O(limit) and the scan stops once a whole band row
// reaches the limit. `cells` counts the work done.
size_t editDistance(std::string_view a, std::string_view b, size_t limit, size_t &cells) {
    size_t la = a.size(), lb = b.size();
    if ((la > lb ? la - lb : lb - la) >= limit) return limit;
    // Three rolling rows; entries outside the band hold `limit`.
    std::vector<size_t> twoBack(lb + 1, limit), prev(lb + 1, limit), row(lb + 1, limit);
    for (size_t j = 0; j <= lb && j < limit; ++j) prev[j] = j;
    size_t prevMin = 0;
    for (size_t i = 1; i <= la; ++i) {
        std::fill(row.begin(), row.end(), limit);
        if (i < limit) row[0] = i;
        size_t lo = i >= limit ? i - limit + 1 : 1;
        size_t hi = std::min(lb, i + limit - 1);
        size_t rowMin = row[0];
        for (size_t j = lo; j <= hi; ++j) {
            size_t d = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d = std::min(d, twoBack[j - 2] + 1);
            row[j] = std::min(d, limit);
            rowMin = std::min(rowMin, row[j]);
        }
        cells += hi >= lo ? hi - lo + 1 : 0;
        // The transposition term looks two rows back, so stop only when both
        // of the last two rows are at the limit.
        if (rowMin >= limit && prevMin >= limit) return limit;
        prevMin = rowMin;
        std::swap(twoBack, prev);
        std::swap(prev, row);
    }
    return std::min(prev[lb], limit);
}

}  // namespace

std::string closestName(std::string_view word, const std::vector<std::string> &names) {
    if (word.size() > 64) return {};
    // Up to a third of the word may be wrong (at least one edit).
    std::string best;
    size_t bestDist = std::max<size_t>(1, word.size() / 3) + 1;  // exclusive bound
    size_t cells = 0;
    for (const auto &n : names) {
        if (cells > kSuggestionBudget) break;
        size_t d = editDistance(word, n, bestDist, cells);
        if (d < bestDist) {
            bestDist = d;
            best = n;
        }
    }
    return best;
}

KernelBody::KernelBody(const KernelDecl &kernel, const char *family, std::vector<std::string> legal,
                       DiagnosticSink &sink)
    : kernel_(kernel), family_(family), sink_(sink), first_(legal.size(), nullptr),
      legal_(std::move(legal)) {
    for (const auto &t : kernel.body.tunes)
        sink_.error(t.loc, "'tune' blocks belong in a schedule, not in kernel '" + kernel.name + "'");
    for (const auto &st : kernel.body.statements) {
        auto it = std::find(legal_.begin(), legal_.end(), st.head);
        if (it == legal_.end()) {
            std::string msg = "unknown statement '" + st.head + "' in " + family_ +
                              " kernel; expected one of " + joinNames(legal_);
            std::string near = sink_.full() ? std::string() : closestName(st.head, legal_);
            if (!near.empty()) {
                msg += " (did you mean '" + near + "'?)";
                suggested_.push_back(near);
            }
            sink_.error(st.loc, msg);
            continue;
        }
        const Statement *&slot = first_[static_cast<size_t>(it - legal_.begin())];
        if (slot) {
            sink_.error(st.loc, "duplicate '" + st.head + "' statement (first at line " +
                                    std::to_string(slot->loc.line) + ")");
            continue;
        }
        slot = &st;
    }
}

const Statement *KernelBody::find(std::string_view head) const {
    for (size_t i = 0; i < legal_.size(); ++i)
        if (legal_[i] == head) return first_[i] && !first_[i]->broken ? first_[i] : nullptr;
    return nullptr;
}

bool KernelBody::require(std::string_view head) {
    for (size_t i = 0; i < legal_.size(); ++i)
        if (legal_[i] == head && first_[i]) return true;
    // A misspelt statement was already reported with this name as suggestion.
    if (std::find(suggested_.begin(), suggested_.end(), head) != suggested_.end()) return false;
    sink_.error(kernel_.nameLoc, "kernel '" + kernel_.name + "' (" + family_ + ") has no '" +
                                     std::string(head) + "' statement");
    return false;
}

std::vector<const Value *> positionals(const Statement &st) {
    std::vector<const Value *> out;
    for (const auto &a : st.args)
        if (a.positional()) out.push_back(&a.value);
    return out;
}

const Value *findAttr(const Statement &st, std::string_view key) {
    for (const auto &a : st.args)
        if (a.key == key) return &a.value;
    return nullptr;
}

bool checkArgs(const Statement &st, size_t minPositional, size_t maxPositional,
               const std::vector<std::string> &attrs, std::string_view usage, DiagnosticSink &sink) {
    bool ok = true;
    size_t npos = 0;
    std::vector<std::string> seen;
    for (const auto &a : st.args) {
        if (a.positional()) {
            if (++npos > maxPositional) {
                sink.error(a.value.loc, "unexpected argument '" + describe(a.value) + "' to '" + st.head +
                                            "'; usage: " + std::string(usage));
                ok = false;
            }
            continue;
        }
        if (std::find(attrs.begin(), attrs.end(), a.key) == attrs.end()) {
            std::string msg = "unknown attribute '" + a.key + "' for '" + st.head + "'";
            msg += attrs.empty() ? "; it takes none" : "; expected one of " + joinNames(attrs);
            sink.error(a.keyLoc, msg);
            ok = false;
        } else if (std::find(seen.begin(), seen.end(), a.key) != seen.end()) {
            sink.error(a.keyLoc, "duplicate attribute '" + a.key + "' for '" + st.head + "'");
            ok = false;
        } else {
            seen.push_back(a.key);
        }
    }
    if (npos < minPositional) {
        sink.error(st.loc, "missing argument to '" + st.head + "'; usage: " + std::string(usage));
        ok = false;
    }
    return ok;
}

std::optional<int64_t> readInt(const Value &v, std::string_view what, int64_t lo, int64_t hi,
                               DiagnosticSink &sink) {
    if (v.kind == Value::Kind::Int && v.intValue >= lo && v.intValue <= hi) return v.intValue;
    sink.error(v.loc, std::string(what) + " must be an integer between " + std::to_string(lo) + " and " +
                          std::to_string(hi) + ", got " + describe(v));
    return std::nullopt;
}

std::optional<Dim> readDim(const Arg &a, std::string_view expected, DiagnosticSink &sink) {
    const std::string &name = a.positional() ? a.value.text : a.key;
    if ((a.positional() && a.value.kind != Value::Kind::Word) || name != expected) {
        sink.error(a.loc(), "expected dimension '" + std::string(expected) + "' here (" +
                                std::string(expected) + "=<size> or " + std::string(expected) +
                                " for a size given at run time), found " +
                                (a.positional() ? describe(a.value) : "'" + a.key + "'"));
        return std::nullopt;
    }
    Dim d{name, std::nullopt};
    if (a.positional()) return d;
    auto size = readInt(a.value, "dimension " + name, 1, kMaxDim, sink);
    if (!size) return std::nullopt;
    d.size = *size;
    return d;
}

bool readShape(const Value &v, const std::vector<std::string> &names, std::vector<Dim> &out,
               DiagnosticSink &sink) {
    std::string form;
    for (const auto &n : names) form += (form.empty() ? "" : ", ") + n + "=<size>";
    if (v.kind != Value::Kind::List || v.items.size() != names.size()) {
        sink.error(v.loc, "shape must be [" + form + "] (a size may be left symbolic: [" +
                              joinNames(names) + "]), got " +
                              (v.kind == Value::Kind::List ? std::to_string(v.items.size()) + " dimensions"
                                                           : describe(v)));
        return false;
    }
    bool ok = true;
    out.clear();
    for (size_t i = 0; i < names.size(); ++i) {
        auto d = readDim(v.items[i], names[i], sink);
        if (d) out.push_back(*d);
        else ok = false;
    }
    return ok;
}

void readWeightShape(const Statement &st, Dim &n, Dim &k, const char *usage, DiagnosticSink &sink) {
    if (const Value *shape = findAttr(st, "shape")) {
        std::vector<Dim> dims;
        if (readShape(*shape, {"N", "K"}, dims, sink)) {
            n = dims[0];
            k = dims[1];
        }
    } else {
        sink.error(st.loc, "'weight' needs shape=[N=<n>, K=<k>]; usage: " + std::string(usage));
    }
}

}  // namespace kf::dsl
