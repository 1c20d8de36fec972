#include "dsl/ScheduleChecker.h"

#include "dsl/families/StatementReader.h"

#include <algorithm>
#include <utility>

namespace kf::dsl {

std::optional<Directive::Kind> parsePrimitive(const std::string &name) {
    using K = Directive::Kind;
    static const std::pair<const char *, K> table[] = {
        {"split", K::Split},     {"vectorize", K::Vectorize}, {"unroll", K::Unroll}, {"parallel", K::Parallel},
        {"reorder", K::Reorder}, {"threads", K::Threads},     {"pack", K::Pack},         {"prefetch", K::Prefetch},
        {"backend", K::Backend},
    };
    for (const auto &[n, k] : table)
        if (name == n) return k;
    return std::nullopt;
}

namespace {

// Upper bound for split / unroll factors and thread counts: they must fit the
// int32 loop extents of generated code.
constexpr int64_t kMaxFactor = 2147483647;
constexpr int64_t kMaxThreads = 4096;
constexpr int64_t kMaxPrefetch = 4096;  // k ahead

const char *usageOf(Directive::Kind k) {
    switch (k) {
    case Directive::Kind::Split: return "split <var> <factor>";
    case Directive::Kind::Vectorize: return "vectorize <var> <factor>";
    case Directive::Kind::Unroll: return "unroll <var> <factor>";
    case Directive::Kind::Parallel: return "parallel <var>";
    case Directive::Kind::Reorder: return "reorder <var> <var> ...";
    case Directive::Kind::Threads: return "threads <count>";
    case Directive::Kind::Pack: return "pack weight [interleave=<4..64>] [layout=<name>]";
    case Directive::Kind::Prefetch: return "prefetch weight <distance in k, 0..4096; 0 = off> [hint=t0|t1|t2|nta]";
    case Directive::Kind::Backend: return "backend <name>, e.g. backend halide";
    }
    return "";
}

bool hasFactor(Directive::Kind k) {
    return k == Directive::Kind::Split || k == Directive::Kind::Vectorize || k == Directive::Kind::Unroll;
}

class BodyChecker {
public:
    BodyChecker(const ScheduleDecl &decl, const FamilyDef &family, const FamilyParams *params, DiagnosticSink &sink,
                const std::vector<std::string> &knownBackends)
        : decl_(decl), family_(family), params_(params), sink_(sink), knownBackends_(knownBackends) {}

    void run(Schedule &out) {
        std::vector<std::pair<std::string, int>> seen;  // directive key, line
        for (const auto &st : decl_.body.statements) {
            if (st.broken) continue;
            auto d = readDirective(st);
            if (!d) continue;
            std::string key = keyOf(*d);
            auto it = std::find_if(seen.begin(), seen.end(), [&](const auto &s) { return s.first == key; });
            if (it != seen.end()) {
                sink_.error(st.loc, "duplicate '" + key + "' in schedule (first at line " +
                                        std::to_string(it->second) + ")");
                continue;
            }
            seen.emplace_back(key, st.loc.line);
            out.directives.push_back(std::move(*d));
        }
        const TuneBlock *first = nullptr;
        for (const auto &tb : decl_.body.tunes) {
            if (first) {
                sink_.error(tb.loc, "duplicate 'tune' block (first at line " + std::to_string(first->loc.line) +
                                        "); put all tunable axes in one block");
                continue;
            }
            first = &tb;
            out.tune = readTune(tb);
        }
    }

private:
    const ScheduleDecl &decl_;
    const FamilyDef &family_;
    const FamilyParams *params_;
    DiagnosticSink &sink_;
    const std::vector<std::string> &knownBackends_;

    // A backend name (`backend <name>`, `backend in [...]`): a word, and one
    // of the registered code generators when the caller named them.
    bool readBackend(const Value &v, std::string &out) {
        if (v.kind != Value::Kind::Word) {
            sink_.error(v.loc, "backend must be a name, e.g. 'backend halide', got '" + describe(v) + "'");
            return false;
        }
        if (!knownBackends_.empty() &&
            std::find(knownBackends_.begin(), knownBackends_.end(), v.text) == knownBackends_.end()) {
            std::string msg = "unknown backend '" + v.text + "'; known backends: " + joinNames(knownBackends_);
            std::string near = closestName(v.text, knownBackends_);
            if (!near.empty()) msg += " (did you mean '" + near + "'?)";
            sink_.error(v.loc, msg);
            return false;
        }
        out = v.text;
        return true;
    }

    bool readHint(const Value &v, std::string &out) {
        const auto &hints = prefetchHints();
        if (v.kind == Value::Kind::Word && std::find(hints.begin(), hints.end(), v.text) != hints.end()) {
            out = v.text;
            return true;
        }
        sink_.error(v.loc, "unknown prefetch hint '" + describe(v) + "'; expected one of " + joinNames(hints) +
                               " (t0: keep in every cache level ... nta: non-temporal, the default)");
        return false;
    }

    static std::string keyOf(const Directive &d) {
        std::string key = toString(d.kind);
        if (d.kind != Directive::Kind::Reorder && d.kind != Directive::Kind::Pack && d.kind != Directive::Kind::Prefetch &&
            d.kind != Directive::Kind::Backend && !d.vars.empty())
            key += " " + d.vars[0];
        return key;
    }

    std::optional<Directive::Kind> primitive(const Statement &st) {
        auto k = parsePrimitive(st.head);
        if (!k) {
            std::string msg = "unknown schedule primitive '" + st.head + "'; expected one of " +
                              kSchedulePrimitiveList;
            std::string near = closestName(st.head, {"split", "vectorize", "unroll", "parallel", "reorder",
                                                     "threads", "pack", "prefetch", "backend"});
            if (!near.empty()) msg += " (did you mean '" + near + "'?)";
            sink_.error(st.loc, msg);
            return std::nullopt;
        }
        bool packable = family_.hasPackedWeights && (!params_ || family_.hasPackedWeights(*params_));
        if ((*k == Directive::Kind::Pack || *k == Directive::Kind::Prefetch) && !packable) {
            sink_.error(st.loc, "'" + st.head + "' is not legal for " + family_.name +
                                    " kernels: they have no packed weights");
            return std::nullopt;
        }
        return k;
    }

    bool readVar(const Value &v, std::string &out) {
        const auto &vars = family_.scheduleVars;
        if (v.kind == Value::Kind::Word && std::find(vars.begin(), vars.end(), v.text) != vars.end()) {
            out = v.text;
            return true;
        }
        sink_.error(v.loc, "unknown loop variable '" + describe(v) + "' for " + family_.name +
                               "; expected one of " + joinNames(vars));
        return false;
    }

    bool readPackOperand(const Value &v, const char *primitive = "pack") {
        if (v.kind == Value::Kind::Word && v.text == "weight") return true;
        sink_.error(v.loc, std::string("'") + primitive + "' applies to 'weight', got '" + describe(v) + "'");
        return false;
    }

    std::optional<Directive> readDirective(const Statement &st) {
        auto kind = primitive(st);
        if (!kind) return std::nullopt;
        Directive d;
        d.kind = *kind;
        d.loc = st.loc;
        const char *usage = usageOf(*kind);
        size_t before = sink_.errorCount();
        switch (*kind) {
        case Directive::Kind::Split:
        case Directive::Kind::Vectorize:
        case Directive::Kind::Unroll: {
            if (!checkArgs(st, 2, 2, {}, usage, sink_)) return std::nullopt;
            auto pos = positionals(st);
            std::string var;
            if (readVar(*pos[0], var)) d.vars.push_back(var);
            if (pos[1]->kind != Value::Kind::Int) {
                sink_.error(pos[1]->loc, std::string(toString(*kind)) + " factor must be an integer, got '" +
                                             describe(*pos[1]) + "'; usage: " + usage);
            } else if (checkFactor(*kind, "", pos[1]->intValue, pos[1]->loc, &sink_)) {
                d.factor = pos[1]->intValue;
            }
            break;
        }
        case Directive::Kind::Parallel: {
            if (!checkArgs(st, 1, 1, {}, usage, sink_)) return std::nullopt;
            std::string var;
            if (readVar(*positionals(st)[0], var)) d.vars.push_back(var);
            break;
        }
        case Directive::Kind::Reorder: {
            if (!checkArgs(st, 2, family_.scheduleVars.size(), {}, usage, sink_)) return std::nullopt;
            for (const Value *v : positionals(st)) {
                std::string var;
                if (!readVar(*v, var)) continue;
                if (std::find(d.vars.begin(), d.vars.end(), var) != d.vars.end())
                    sink_.error(v->loc, "loop variable '" + var + "' appears twice in 'reorder'");
                else
                    d.vars.push_back(var);
            }
            break;
        }
        case Directive::Kind::Threads: {
            if (!checkArgs(st, 1, 1, {}, usage, sink_)) return std::nullopt;
            const Value &v = *positionals(st)[0];
            if (v.kind != Value::Kind::Int)
                sink_.error(v.loc, "thread count must be an integer, got '" + describe(v) + "'");
            else if (checkFactor(*kind, "", v.intValue, v.loc, &sink_))
                d.factor = v.intValue;
            break;
        }
        case Directive::Kind::Prefetch: {
            if (!checkArgs(st, 2, 2, {"hint"}, usage, sink_)) return std::nullopt;
            auto pos = positionals(st);
            if (readPackOperand(*pos[0], "prefetch")) d.vars.push_back("weight");
            if (pos[1]->kind != Value::Kind::Int)
                sink_.error(pos[1]->loc, "prefetch distance must be an integer, got '" + describe(*pos[1]) +
                                             "'; usage: " + usage);
            else if (checkFactor(*kind, "", pos[1]->intValue, pos[1]->loc, &sink_))
                d.factor = pos[1]->intValue;
            for (const auto &a : st.args) {
                std::string hint;
                if (!a.positional() && readHint(a.value, hint)) d.options.emplace_back(a.key, hint);
            }
            break;
        }
        case Directive::Kind::Backend: {
            if (!checkArgs(st, 1, 1, {}, usage, sink_)) return std::nullopt;
            std::string name;
            if (readBackend(*positionals(st)[0], name)) d.vars.push_back(name);
            break;
        }
        case Directive::Kind::Pack: {
            if (!checkArgs(st, 1, 1, {"interleave", "layout"}, usage, sink_)) return std::nullopt;
            if (readPackOperand(*positionals(st)[0])) d.vars.push_back("weight");
            for (const auto &a : st.args) {
                if (a.positional()) continue;
                if (a.key == "interleave") {
                    if (a.value.kind != Value::Kind::Int)
                        sink_.error(a.value.loc, "pack interleave must be an integer, got '" + describe(a.value) + "'");
                    else if (checkFactor(*kind, "interleave", a.value.intValue, a.value.loc, &sink_))
                        d.options.emplace_back(a.key, a.value.text);
                } else if (a.value.kind != Value::Kind::Word) {
                    sink_.error(a.value.loc, "pack layout must be a name, e.g. layout=nibbles, got " + describe(a.value));
                } else {
                    d.options.emplace_back(a.key, a.value.text);
                }
            }
            break;
        }
        }
        if (sink_.errorCount() != before) return std::nullopt;
        return d;
    }

    // tune statement: the directive without its factor, then `in [values]`.
    std::optional<TuneAxis> readAxis(const Statement &st) {
        auto kind = primitive(st);
        if (!kind) return std::nullopt;
        if (*kind == Directive::Kind::Parallel || *kind == Directive::Kind::Reorder) {
            sink_.error(st.loc, "'" + st.head + "' has no value to tune; tunable primitives are split, "
                                "vectorize, unroll, threads, prefetch weight (and its hint), pack weight "
                                "interleave / layout and backend");
            return std::nullopt;
        }
        TuneAxis axis;
        axis.loc = st.loc;
        axis.directive.kind = *kind;
        axis.directive.loc = st.loc;
        size_t before = sink_.errorCount();
        if (hasFactor(*kind)) {
            std::string usage = st.head + " <var> in [<factor>, ...]";
            if (!checkArgs(st, 1, 1, {}, usage, sink_)) return std::nullopt;
            std::string var;
            if (readVar(*positionals(st)[0], var)) axis.directive.vars.push_back(var);
        } else if (*kind == Directive::Kind::Threads) {
            if (!checkArgs(st, 0, 0, {}, "threads in [<count>, ...]", sink_)) return std::nullopt;
        } else if (*kind == Directive::Kind::Prefetch) {
            const char *usage = "prefetch weight in [<distance>, ...] or prefetch weight hint in [<t0|t1|t2|nta>, ...]";
            if (!checkArgs(st, 1, 2, {}, usage, sink_)) return std::nullopt;
            auto pos = positionals(st);
            if (readPackOperand(*pos[0], "prefetch")) axis.directive.vars.push_back("weight");
            if (pos.size() == 2) {
                if (pos[1]->kind == Value::Kind::Word && pos[1]->text == "hint")
                    axis.option = "hint";
                else
                    sink_.error(pos[1]->loc, "'prefetch weight' tunes its distance or 'hint', got '" +
                                                 describe(*pos[1]) + "'; usage: " + usage);
                if (axis.option.empty()) return std::nullopt;
            }
        } else if (*kind == Directive::Kind::Backend) {
            if (!checkArgs(st, 0, 0, {}, "backend in [<name>, ...]", sink_)) return std::nullopt;
        } else {
            const char *usage = "pack weight interleave in [<4..64>, ...] or pack weight layout in [<name>, ...]";
            if (!checkArgs(st, 2, 2, {}, usage, sink_)) return std::nullopt;
            auto pos = positionals(st);
            if (readPackOperand(*pos[0])) axis.directive.vars.push_back("weight");
            if (pos[1]->kind == Value::Kind::Word && (pos[1]->text == "interleave" || pos[1]->text == "layout"))
                axis.option = pos[1]->text;
            else
                sink_.error(pos[1]->loc, "'pack weight' tunes 'interleave' or 'layout', got '" + describe(*pos[1]) +
                                             "'");
            if (axis.option.empty()) return std::nullopt;
        }
        const Value &list = *st.inList;
        std::string what = st.head;
        for (const auto &v : axis.directive.vars) what += " " + v;
        if (!axis.option.empty()) what += " " + axis.option;
        if (list.items.empty())
            sink_.error(list.loc, "empty tune list for '" + what + "'; give at least one value");
        if (axis.option == "layout" || axis.option == "hint" || *kind == Directive::Kind::Backend) {
            // Names; which ones the family's lowering takes is its check (the tuner prunes with it).
            const char *names = axis.option == "layout" ? "layout names" : axis.option == "hint" ? "prefetch hints"
                                                                                                 : "backend names";
            for (const auto &item : list.items) {
                if (!item.positional() || item.value.kind != Value::Kind::Word) {
                    sink_.error(item.loc(), "tune values of '" + what + "' must be " + names + ", got " +
                                                (item.positional() ? describe(item.value) : "'" + item.key + "='"));
                    continue;
                }
                std::string word;
                if (axis.option == "hint" && !readHint(item.value, word)) continue;
                if (*kind == Directive::Kind::Backend && !readBackend(item.value, word)) continue;
                if (std::find(axis.words.begin(), axis.words.end(), item.value.text) != axis.words.end()) {
                    sink_.error(item.value.loc, "duplicate value " + item.value.text + " in tune list for '" + what + "'");
                    continue;
                }
                axis.values.push_back(static_cast<int64_t>(axis.words.size()));
                axis.words.push_back(item.value.text);
            }
            if (sink_.errorCount() != before) return std::nullopt;
            return axis;
        }
        for (const auto &item : list.items) {
            if (!item.positional() || item.value.kind != Value::Kind::Int) {
                sink_.error(item.loc(), "tune values of '" + what + "' must be integers, got " +
                                            (item.positional() ? describe(item.value) : "'" + item.key + "='"));
                continue;
            }
            int64_t v = item.value.intValue;
            if (!checkFactor(*kind, axis.option, v, item.value.loc, &sink_)) continue;
            if (std::find(axis.values.begin(), axis.values.end(), v) != axis.values.end()) {
                sink_.error(item.value.loc, "duplicate value " + item.value.text + " in tune list for '" + what + "'");
                continue;
            }
            axis.values.push_back(v);
        }
        if (sink_.errorCount() != before) return std::nullopt;
        return axis;
    }

    TuneSpace readTune(const TuneBlock &tb) {
        TuneSpace space;
        space.loc = tb.loc;
        std::vector<std::pair<std::string, int>> seen;
        for (const auto &st : tb.statements) {
            if (st.broken) continue;
            auto axis = readAxis(st);
            if (!axis) continue;
            std::string key = toString(axis->directive.kind);
            for (const auto &v : axis->directive.vars) key += " " + v;
            if (!axis->option.empty()) key += " " + axis->option;
            auto it = std::find_if(seen.begin(), seen.end(), [&](const auto &s) { return s.first == key; });
            if (it != seen.end()) {
                sink_.error(st.loc, "duplicate tune axis '" + key + "' (first at line " +
                                        std::to_string(it->second) + ")");
                continue;
            }
            seen.emplace_back(key, st.loc.line);
            space.axes.push_back(std::move(*axis));
        }
        return space;
    }
};

}  // namespace

bool checkFactor(Directive::Kind kind, const std::string &option, int64_t value, const SourceLoc &loc,
                 DiagnosticSink *sink) {
    std::string msg;
    switch (kind) {
    case Directive::Kind::Split:
    case Directive::Kind::Unroll:
        if (value >= 1 && value <= kMaxFactor) return true;
        msg = std::string(toString(kind)) + " factor must be an integer between 1 and " +
              std::to_string(kMaxFactor) + ", got " + std::to_string(value);
        break;
    case Directive::Kind::Vectorize:
        if (isPowerOfTwo(value) && value <= 64) return true;
        msg = "vectorize factor must be a power of two between 1 and 64, got " + std::to_string(value);
        break;
    case Directive::Kind::Threads:
        if (value >= 1 && value <= kMaxThreads) return true;
        msg = "thread count must be an integer between 1 and " + std::to_string(kMaxThreads) + ", got " +
              std::to_string(value);
        break;
    case Directive::Kind::Prefetch:
        if (value >= 0 && value <= kMaxPrefetch) return true;
        msg = "prefetch distance must be an integer between 0 and " + std::to_string(kMaxPrefetch) +
              " (k ahead; 0 = off), got " + std::to_string(value);
        break;
    case Directive::Kind::Pack:
        if (option == "interleave") {
            if (isPowerOfTwo(value) && value >= 4 && value <= 64) return true;
            msg = "pack interleave must be a power of two between 4 and 64, got " + std::to_string(value);
            break;
        }
        msg = "pack option '" + option + "' takes no number";
        break;
    case Directive::Kind::Parallel:
    case Directive::Kind::Reorder:
    case Directive::Kind::Backend:
        msg = std::string("'") + toString(kind) + "' takes no factor";
        break;
    }
    if (sink) sink->error(loc, msg);
    return false;
}

void checkScheduleBody(const ScheduleDecl &decl, const FamilyDef &family, const FamilyParams *params,
                       Schedule &out, DiagnosticSink &sink, const std::vector<std::string> &knownBackends) {
    BodyChecker(decl, family, params, sink, knownBackends).run(out);
}

const std::vector<std::string> &prefetchHints() {
    static const std::vector<std::string> hints = {"t0", "t1", "t2", "nta"};
    return hints;
}

}  // namespace kf::dsl
