// \file
// Space::forTask: the axes (tune block, or the family's default space), the
// cross product of their values applied to the fixed directives, and pruning
// by the family lowering's own legality check (codegen::checkSchedule), so
// that nothing the lowering would reject is ever compiled or timed. Also the
// canonical text of a point, which the database stores and hashes: the same
// schedule always prints the same way, whatever order the file wrote it in.
#include "autotune/Space.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "autotune/Family.h"
#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "dsl/ScheduleChecker.h"
#include "dsl/families/Family.h"

namespace kf::autotune {

namespace {

using Kind = dsl::Directive::Kind;

// Enumerating more than this is a mistake in the tune block, not a search.
constexpr std::size_t kMaxPoints = 1000000;

std::vector<std::string> splitWords(const std::string &text) {
    std::vector<std::string> out;
    std::string word;
    for (char c : text + " ") {
        if (c != ' ') {
            word += c;
        } else if (!word.empty()) {
            out.push_back(word);
            word.clear();
        }
    }
    return out;
}

// What value `value` of `axis` writes into a schedule: the word, or the number.
std::string valueText(const dsl::TuneAxis &axis, int64_t value) {
    return axis.words.empty() ? std::to_string(value) : axis.words.at(static_cast<std::size_t>(value));
}

float log2Feature(int64_t v) { return v > 0 ? static_cast<float>(std::log2(static_cast<double>(v))) : -1.0f; }

// ---------------------------------------------------------------------------
// Points as directives.

std::string axisName(const dsl::TuneAxis &axis) {
    std::string name = dsl::toString(axis.directive.kind);
    for (const std::string &v : axis.directive.vars) name += " " + v;
    if (!axis.option.empty()) name += " " + axis.option;
    return name;
}

// The directive a tune axis sets: the same primitive on the same loop
// variable (pack, prefetch, threads, reorder and backend exist once per schedule).
bool sameTarget(const dsl::Directive &d, const dsl::Directive &axis) {
    if (d.kind != axis.kind) return false;
    if (d.kind == Kind::Pack || d.kind == Kind::Prefetch || d.kind == Kind::Threads || d.kind == Kind::Reorder ||
        d.kind == Kind::Backend)
        return true;
    return d.vars == axis.vars;
}

void applyAxis(std::vector<dsl::Directive> &directives, const dsl::TuneAxis &axis, int64_t value) {
    auto it = std::find_if(directives.begin(), directives.end(),
                           [&](const dsl::Directive &d) { return sameTarget(d, axis.directive); });
    if (it == directives.end()) {
        dsl::Directive d = axis.directive;
        d.loc = axis.loc;
        d.factor = 0;
        d.options.clear();
        directives.push_back(std::move(d));
        it = std::prev(directives.end());
    }
    if (axis.directive.kind == Kind::Reorder || axis.directive.kind == Kind::Backend) {
        it->vars = splitWords(valueText(axis, value));
        return;
    }
    if (axis.option.empty()) {
        it->factor = value;
        return;
    }
    auto opt = std::find_if(it->options.begin(), it->options.end(),
                            [&](const auto &kv) { return kv.first == axis.option; });
    if (opt == it->options.end())
        it->options.emplace_back(axis.option, valueText(axis, value));
    else
        opt->second = valueText(axis, value);
}

// Canonical order: by primitive, then by the family's loop-variable order;
// pack options by name. The lowering does not depend on the order.
int kindRank(Kind k) {
    static const Kind order[] = {Kind::Backend,  Kind::Pack,     Kind::Vectorize, Kind::Split,  Kind::Unroll,
                                 Kind::Prefetch, Kind::Parallel, Kind::Threads,   Kind::Reorder};
    return static_cast<int>(std::find(std::begin(order), std::end(order), k) - std::begin(order));
}

void canonicalize(std::vector<dsl::Directive> &directives, const std::vector<std::string> &familyVars) {
    auto varRank = [&](const dsl::Directive &d) -> std::pair<std::size_t, std::string> {
        if (d.vars.empty()) return {0, ""};
        auto it = std::find(familyVars.begin(), familyVars.end(), d.vars[0]);
        return {static_cast<std::size_t>(it - familyVars.begin()), d.vars[0]};
    };
    for (dsl::Directive &d : directives)
        std::stable_sort(d.options.begin(), d.options.end(),
                         [](const auto &a, const auto &b) { return a.first < b.first; });
    std::stable_sort(directives.begin(), directives.end(), [&](const dsl::Directive &a, const dsl::Directive &b) {
        if (kindRank(a.kind) != kindRank(b.kind)) return kindRank(a.kind) < kindRank(b.kind);
        return varRank(a) < varRank(b);
    });
}

std::string directiveText(const dsl::Directive &d) {
    std::string s = dsl::toString(d.kind);
    switch (d.kind) {
    case Kind::Split:
    case Kind::Vectorize:
    case Kind::Unroll:
        s += " " + (d.vars.empty() ? std::string("?") : d.vars[0]) + " " + std::to_string(d.factor);
        break;
    case Kind::Parallel:
    case Kind::Reorder:
    case Kind::Backend:
        for (const std::string &v : d.vars) s += " " + v;
        break;
    case Kind::Threads: s += " " + std::to_string(d.factor); break;
    case Kind::Pack:
        s += " weight";
        for (const auto &[key, value] : d.options) s += " " + key + "=" + value;
        break;
    case Kind::Prefetch:
        s += " weight " + std::to_string(d.factor);
        for (const auto &[key, value] : d.options) s += " " + key + "=" + value;
        break;
    }
    return s;
}


}  // namespace

// ---------------------------------------------------------------------------

Space Space::forTask(const Task &task, const std::map<std::string, std::string> &pinned) {
    if (!task.module || !task.kernel || !task.target)
        throw std::invalid_argument("Space::forTask: the task needs a module, a kernel and a target");
    const dsl::KernelSpec &kernel = *task.kernel;
    const targets::TargetInfo &target = *task.target;

    Space space;
    space.task_ = task;
    const dsl::Schedule *own = codegen::findSchedule(*task.module, kernel.name, target.name, task.bucket);
    const dsl::Schedule *from = own ? own : codegen::findSchedule(*task.module, kernel.name, target.name);
    if (from) space.base_ = *from;
    space.base_.kernel = kernel.name;
    space.base_.target = target.name;
    space.base_.bucket = task.bucket;
    space.base_.tune.reset();

    if (from && from->tune) {
        space.fromTuneBlock_ = true;
        space.axes_ = from->tune->axes;
    } else if (const FamilyTuning *d = familyTuning(kernel.family); d && d->axes) {
        space.axes_ = d->axes(kernel, target, task.bucket);
    } else {
        codegen::checkSchedule(kernel, space.base_, target);  // "no lowering of <family>" comes first
        throw codegen::CodegenError(kernel.loc, std::string("no default tune space for ") +
                                                    dsl::toString(kernel.family) +
                                                    " kernels; give the schedule a tune { ... } block");
    }

    for (dsl::TuneAxis &axis : space.axes_) {
        auto pin = pinned.find(axisName(axis));
        if (pin == pinned.end()) continue;
        const std::string bad = "Space::forTask: pinned value '" + pin->second + "' is not a legal '" + axisName(axis) + "'";
        if (!axis.words.empty()) {
            // Any word: the lowering's check below prunes what it does not take.
            if (splitWords(pin->second).empty()) throw std::invalid_argument(bad);
            axis.words = {pin->second};
            axis.values = {0};
            continue;
        }
        int64_t value = 0;
        std::size_t used = 0;
        try {
            value = std::stoll(pin->second, &used);
        } catch (const std::exception &) {
            throw std::invalid_argument(bad);
        }
        if (used != pin->second.size() || !dsl::checkFactor(axis.directive.kind, axis.option, value, axis.loc, nullptr))
            throw std::invalid_argument(bad);
        axis.values = {value};
    }
    // A hint without a distance would tune nothing (the distance would be 0: off).
    for (const dsl::TuneAxis &axis : space.axes_) {
        if (axis.directive.kind != Kind::Prefetch || axis.option != "hint") continue;
        const bool fixed = std::any_of(space.base_.directives.begin(), space.base_.directives.end(),
                                       [](const dsl::Directive &d) { return d.kind == Kind::Prefetch; });
        const bool tuned = std::any_of(space.axes_.begin(), space.axes_.end(), [](const dsl::TuneAxis &a) {
            return a.directive.kind == Kind::Prefetch && a.option.empty();
        });
        if (!fixed && !tuned)
            throw codegen::CodegenError(axis.loc, "tune axis 'prefetch weight hint' needs a prefetch distance: write "
                                                  "'prefetch weight <k>' in the schedule or tune 'prefetch weight'");
    }
    std::size_t total = 1;
    for (const dsl::TuneAxis &axis : space.axes_) {
        space.names_.push_back(axisName(axis));
        space.values_.push_back(axis.values);
        if (axis.values.empty())
            throw codegen::CodegenError(axis.loc, "tune axis '" + axisName(axis) + "' has no values");
        if (total > kMaxPoints / axis.values.size())
            throw codegen::CodegenError(from && from->tune ? from->tune->loc : kernel.loc,
                                        "the tune space has more than " + std::to_string(kMaxPoints) +
                                            " points; give fewer values");
        total *= axis.values.size();
    }

    // Cross product in index order (the first axis varies slowest), pruned
    // by the lowering's own check.
    std::string firstRejection;
    std::vector<int> point(space.axes_.size(), 0);
    dsl::Schedule candidate = space.base_;
    const FamilyTuning *family = familyTuning(kernel.family);
    const bool ownSpaces = !space.fromTuneBlock_ && family && family->inDefaultSpace;
    std::vector<int64_t> values(point.size());
    for (std::size_t n = 0; n < total; ++n) {
        for (std::size_t a = 0; ownSpaces && a < point.size(); ++a) values[a] = space.values_[a][point[a]];
        if (ownSpaces && !family->inDefaultSpace(kernel, target, task.bucket, space.axes_, values)) {
            for (std::size_t a = point.size(); a-- > 0;) {
                if (++point[a] < static_cast<int>(space.values_[a].size())) break;
                point[a] = 0;
            }
            continue;
        }
        candidate.directives = space.base_.directives;
        for (std::size_t a = 0; a < point.size(); ++a) applyAxis(candidate.directives, space.axes_[a], space.values_[a][point[a]]);
        try {
            codegen::checkSchedule(kernel, candidate, target);
            space.index_.emplace(point, space.points_.size());
            space.points_.push_back(point);
        } catch (const codegen::CodegenError &e) {
            if (firstRejection.empty()) firstRejection = e.what();
        }
        for (std::size_t a = point.size(); a-- > 0;) {
            if (++point[a] < static_cast<int>(space.values_[a].size())) break;
            point[a] = 0;
        }
    }
    if (space.points_.empty())
        throw codegen::CodegenError("no legal schedule in the tune space of " + describe(task) + " (" +
                                    std::to_string(total) + " points, all rejected; the first: " + firstRejection +
                                    ")");
    return space;
}

std::string Space::valueText(std::size_t axis, std::size_t point) const {
    return autotune::valueText(axes_.at(axis), values_.at(axis).at(static_cast<std::size_t>(points_.at(point).at(axis))));
}

std::size_t Space::indexOf(const std::vector<int> &point) const {
    auto it = index_.find(point);
    return it == index_.end() ? size() : it->second;
}

dsl::Schedule Space::schedule(std::size_t i) const {
    if (i >= size())
        throw std::out_of_range("Space::schedule: point " + std::to_string(i) + " of " + std::to_string(size()));
    dsl::Schedule s = base_;
    for (std::size_t a = 0; a < axes_.size(); ++a) applyAxis(s.directives, axes_[a], values_[a][points_[i][a]]);
    const dsl::FamilyDef *family = dsl::findFamily(task_.kernel->family);
    canonicalize(s.directives, family ? family->scheduleVars : std::vector<std::string>{});
    return s;
}

std::string Space::scheduleText(std::size_t i) const {
    const dsl::Schedule s = schedule(i);
    std::string text = "schedule " + s.kernel + " for " + s.target;
    if (s.bucket != dsl::Bucket::Any) text += std::string(" bucket=") + dsl::toString(s.bucket);
    text += " {\n";
    for (const dsl::Directive &d : s.directives) text += "  " + directiveText(d) + "\n";
    text += "}\n";
    return text;
}

std::vector<float> Space::features(std::size_t i) const {
    if (i >= size())
        throw std::out_of_range("Space::features: point " + std::to_string(i) + " of " + std::to_string(size()));
    std::vector<float> f;
    f.reserve(axes_.size() + 4);
    for (std::size_t a = 0; a < axes_.size(); ++a) {
        const int64_t v = values_[a][points_[i][a]];
        f.push_back(axes_[a].words.empty() ? log2Feature(v) : static_cast<float>(v));  // a word: its index
    }
    for (const auto &d : task_.shape.dims) f.push_back(log2Feature(std::max<int64_t>(1, d.second)));
    return f;
}

bool Space::hasTransferFeatures() const {
    const FamilyTuning *d = familyTuning(task_.kernel->family);
    return d && d->features;
}

std::vector<float> Space::transferFeatures(std::size_t i) const {
    if (i >= size())
        throw std::out_of_range("Space::transferFeatures: point " + std::to_string(i) + " of " + std::to_string(size()));
    return autotune::transferFeatures(task_, schedule(i));
}

std::vector<float> transferFeatures(const Task &task, const dsl::Schedule &schedule) {
    const FamilyTuning *d = task.kernel ? familyTuning(task.kernel->family) : nullptr;
    if (!d || !d->features || !task.target) return {};
    return d->features(task, schedule);
}

}  // namespace kf::autotune
