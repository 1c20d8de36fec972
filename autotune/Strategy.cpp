// \file
// The three strategies of Strategy.h. All randomness comes from one
// std::mt19937_64 per strategy, drawn through the generator's raw output (the
// standard distributions differ between library implementations), so that a
// seed gives the same proposals everywhere.
#include "autotune/Strategy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <unordered_set>

#include "autotune/CostModel.h"

namespace kf::autotune {

namespace {

std::size_t below(std::mt19937_64 &rng, std::size_t bound) { return static_cast<std::size_t>(rng() % bound); }
double unit(std::mt19937_64 &rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// The points neither proposed nor observed yet, drawable at random in O(1)
// (a Fisher-Yates shuffle done lazily: live points are order_[0, live_)).
class Unseen {
public:
    explicit Unseen(std::size_t size) : order_(size), pos_(size), live_(size) {
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        std::iota(pos_.begin(), pos_.end(), std::size_t{0});
    }
    std::size_t count() const { return live_; }
    bool contains(std::size_t i) const { return i < pos_.size() && pos_[i] < live_; }
    void remove(std::size_t i) {
        if (!contains(i)) return;
        const std::size_t p = pos_[i], lastPoint = order_[live_ - 1];
        std::swap(order_[p], order_[live_ - 1]);
        pos_[lastPoint] = p;
        pos_[i] = --live_;
    }
    std::size_t draw(std::mt19937_64 &rng) {
        const std::size_t i = order_[below(rng, live_)];
        remove(i);
        return i;
    }
    // All live points in index order.
    std::vector<std::size_t> sorted() const {
        std::vector<std::size_t> v(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(live_));
        std::sort(v.begin(), v.end());
        return v;
    }

private:
    std::vector<std::size_t> order_, pos_;
    std::size_t live_;
};

class Exhaustive final : public Strategy {
public:
    explicit Exhaustive(const Space &space) : seen_(space.size(), 0) {}
    std::vector<std::size_t> propose(std::size_t n) override {
        std::vector<std::size_t> out;
        for (; next_ < seen_.size() && out.size() < n; ++next_)
            if (!seen_[next_]) {
                seen_[next_] = 1;
                out.push_back(next_);
            }
        return out;
    }
    void observe(const std::vector<std::pair<std::size_t, double>> &results) override {
        for (const auto &[i, seconds] : results)
            if (i < seen_.size()) seen_[i] = 1;
    }

private:
    std::vector<char> seen_;
    std::size_t next_ = 0;
};

class Random final : public Strategy {
public:
    Random(const Space &space, uint64_t seed) : rng_(seed), unseen_(space.size()) {}
    std::vector<std::size_t> propose(std::size_t n) override {
        std::vector<std::size_t> out;
        while (out.size() < n && unseen_.count() > 0) out.push_back(unseen_.draw(rng_));
        return out;
    }
    void observe(const std::vector<std::pair<std::size_t, double>> &results) override {
        for (const auto &[i, seconds] : results) unseen_.remove(i);
    }

private:
    std::mt19937_64 rng_;
    Unseen unseen_;
};

class Evolutionary final : public Strategy {
public:
    Evolutionary(const Space &space, uint64_t seed, const EvolutionaryOptions &options)
        : space_(space), options_(options), rng_(seed), model_(seed), unseen_(space.size()) {
        const auto share = static_cast<std::size_t>(std::ceil(options_.warmupFraction * static_cast<double>(space.size())));
        warmup_ = std::max(options_.minWarmup, std::min(share, options_.maxWarmup));
    }

    std::vector<std::size_t> propose(std::size_t n) override {
        std::vector<std::size_t> out;
        if (n == 0 || unseen_.count() == 0) return out;
        const bool anyFinite = std::any_of(observed_.begin(), observed_.end(),
                                           [](const auto &o) { return std::isfinite(o.second); });
        if (observed_.size() < warmup_ || (!anyFinite && priors_.empty())) {
            // Random until the model has something to learn from; no more than
            // the warm-up needs, so that a large first batch does not spend
            // the whole budget before the model is consulted.
            const std::size_t want = observed_.size() < warmup_ ? std::min(n, warmup_ - observed_.size()) : n;
            while (out.size() < want && unseen_.count() > 0) out.push_back(unseen_.draw(rng_));
            return out;
        }
        const std::vector<std::size_t> ranked = rankCandidates();
        std::size_t next = 0;
        while (out.size() < n && unseen_.count() > 0) {
            while (next < ranked.size() && !unseen_.contains(ranked[next])) ++next;
            if (next == ranked.size() || unit(rng_) < options_.epsilon) {
                out.push_back(unseen_.draw(rng_));
            } else {
                unseen_.remove(ranked[next]);
                out.push_back(ranked[next++]);
            }
        }
        return out;
    }

    void observe(const std::vector<std::pair<std::size_t, double>> &results) override {
        for (const auto &[i, seconds] : results) {
            if (i >= space_.size()) continue;
            unseen_.remove(i);
            observed_.emplace_back(i, seconds);
        }
    }

    void learnFrom(const std::vector<Prior> &priors) override {
        if (!space_.hasTransferFeatures() || space_.size() == 0) return;
        const std::size_t columns = space_.transferFeatures(0).size();
        for (const Prior &p : priors)
            if (p.features.size() == columns && std::isfinite(p.relativeScore)) priors_.push_back(p);
        if (!priors_.empty()) warmup_ = std::min(warmup_, options_.warmupWithPriors);
    }

private:
    const Space &space_;
    EvolutionaryOptions options_;
    std::mt19937_64 rng_;
    CostModel model_;
    Unseen unseen_;
    std::size_t warmup_ = 8;
    std::vector<std::pair<std::size_t, double>> observed_;  // in the order observed
    std::vector<Prior> priors_;                              // other tasks' records (learnFrom)

    std::vector<float> featuresOf(std::size_t i) const {
        return priors_.empty() ? space_.features(i) : space_.transferFeatures(i);
    }

    // Unmeasured candidates, best predicted first.
    std::vector<std::size_t> rankCandidates() {
        // Scores: log(best seconds / seconds), 0 for the best so far, as the
        // priors are scored against their own tasks' best; a failed point
        // scores below the worst success, so the model learns to avoid its
        // neighbourhood.
        double best = -std::numeric_limits<double>::infinity(), worst = 0;
        for (const auto &[i, seconds] : observed_)
            if (std::isfinite(seconds) && seconds > 0) best = std::max(best, -std::log(seconds));
        std::vector<std::vector<float>> X;
        std::vector<float> y, weights;
        std::vector<std::pair<double, std::size_t>> measured;  // score, point
        for (const auto &[i, seconds] : observed_)
            if (std::isfinite(seconds) && seconds > 0) worst = std::min(worst, -std::log(seconds) - best);
        for (const auto &[i, seconds] : observed_) {
            const bool ok = std::isfinite(seconds) && seconds > 0;
            const double score = ok ? -std::log(seconds) - best : worst - 1.0;
            X.push_back(featuresOf(i));
            y.push_back(static_cast<float>(score));
            weights.push_back(priors_.empty() ? 1.0f : options_.ownWeight);
            if (ok) measured.emplace_back(score, i);
        }
        for (const Prior &p : priors_) {
            X.push_back(p.features);
            y.push_back(static_cast<float>(p.relativeScore));
            weights.push_back(1.0f);
        }
        model_.fit(X, y, weights);

        std::vector<std::size_t> candidates;
        if (space_.size() <= options_.scoreAllLimit)
            candidates = unseen_.sorted();
        else
            candidates = breed(measured);
        if (candidates.empty()) return candidates;

        std::vector<std::vector<float>> features;
        features.reserve(candidates.size());
        for (std::size_t c : candidates) features.push_back(featuresOf(c));
        const std::vector<float> predicted = model_.predict(features);
        // Trees predict in steps: equal predictions are common, and a fixed
        // tie order would keep proposing one corner of a plateau.
        std::vector<uint64_t> tieBreak(candidates.size());
        for (uint64_t &t : tieBreak) t = rng_();
        std::vector<std::size_t> order(candidates.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            if (predicted[a] != predicted[b]) return predicted[a] > predicted[b];
            return tieBreak[a] < tieBreak[b];
        });
        std::vector<std::size_t> ranked;
        ranked.reserve(order.size());
        for (std::size_t o : order) ranked.push_back(candidates[o]);
        return ranked;
    }

    // Children of the best measured points: mutation (one or two axes take
    // another value) or uniform crossover of two parents; only legal points
    // never proposed, each once.
    std::vector<std::size_t> breed(std::vector<std::pair<double, std::size_t>> measured) {
        std::stable_sort(measured.begin(), measured.end(), [](const auto &a, const auto &b) {
            if (a.first != b.first) return a.first > b.first;
            return a.second < b.second;
        });
        measured.resize(std::min(measured.size(), options_.population));
        const std::size_t axes = space_.axisNames().size();
        std::vector<std::size_t> freeAxes;
        for (std::size_t a = 0; a < axes; ++a)
            if (space_.axisValues()[a].size() > 1) freeAxes.push_back(a);

        std::vector<std::size_t> children;
        std::unordered_set<std::size_t> taken;
        if (freeAxes.empty()) return children;
        if (measured.empty() || options_.population == 0) {
            // Nothing measured yet (the model learnt from other tasks only):
            // the candidates are a random sample of the space.
            for (std::size_t t = 0; t < 20 * options_.children && children.size() < options_.children; ++t) {
                const std::size_t index = below(rng_, space_.size());
                if (unseen_.contains(index) && taken.insert(index).second) children.push_back(index);
            }
            return children;
        }
        const std::size_t attempts = 20 * options_.children;
        for (std::size_t t = 0; t < attempts && children.size() < options_.children; ++t) {
            std::vector<int> child = space_.point(measured[below(rng_, measured.size())].second);
            if (measured.size() > 1 && unit(rng_) < 0.5) {
                const std::vector<int> &other = space_.point(measured[below(rng_, measured.size())].second);
                for (std::size_t a = 0; a < axes; ++a)
                    if (rng_() & 1) child[a] = other[a];
            } else {
                const std::size_t changes = 1 + below(rng_, 2);
                for (std::size_t c = 0; c < changes; ++c) {
                    const std::size_t a = freeAxes[below(rng_, freeAxes.size())];
                    const auto values = space_.axisValues()[a].size();
                    auto v = static_cast<int>(below(rng_, values - 1));
                    if (v >= child[a]) ++v;  // any value but the current one
                    child[a] = v;
                }
            }
            const std::size_t index = space_.indexOf(child);
            if (index == space_.size() || !unseen_.contains(index) || !taken.insert(index).second) continue;
            children.push_back(index);
        }
        return children;
    }
};

}  // namespace

std::unique_ptr<Strategy> makeEvolutionary(const Space &space, uint64_t seed, const EvolutionaryOptions &options) {
    return std::make_unique<Evolutionary>(space, seed, options);
}

std::string strategyFor(const std::string &name, std::size_t spaceSize, std::size_t exhaustiveLimit) {
    if (name == "auto") return spaceSize <= exhaustiveLimit ? "exhaustive" : "evolutionary";
    if (name == "exhaustive" || name == "random" || name == "evolutionary") return name;
    throw std::invalid_argument("unknown search strategy '" + name +
                                "'; expected exhaustive, random, evolutionary or auto");
}

std::unique_ptr<Strategy> makeStrategy(const std::string &name, const Space &space, uint64_t seed,
                                       std::size_t exhaustiveLimit) {
    const std::string resolved = strategyFor(name, space.size(), exhaustiveLimit);
    if (resolved == "exhaustive") return std::make_unique<Exhaustive>(space);
    if (resolved == "random") return std::make_unique<Random>(space, seed);
    return makeEvolutionary(space, seed);
}

}  // namespace kf::autotune
