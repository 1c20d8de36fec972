// \file
// Search strategies over a Space (TVM MetaSchedule's split): a strategy
// proposes points to measure and observes their costs. Exhaustive walks the
// space in order; random samples without replacement; evolutionary evolves a
// population of measured points and ranks the children with a cost model
// (gradient-boosted trees, XGBoost) trained on everything measured so far.
// Same seed, same observations -> same proposals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autotune/Space.h"

namespace kf::autotune {

// A measurement of another task (same family and target, this machine) that
// the search may learn from before it has measurements of its own (transfer
// learning, as TVM's XGBoost tuner does with the history of other tasks):
// the schedule's Space-independent features (transferFeatures) and its speed
// relative to the best record of its own task, log(best seconds / seconds),
// 0 for that task's best and negative for the rest.
struct Prior {
    std::vector<float> features;
    double relativeScore = 0;
};

class Strategy {
public:
    virtual ~Strategy() = default;
    // Records of other tasks (see Prior), given before the first propose.
    // The evolutionary strategy trains its cost model on them together with
    // its own measurements and so needs (almost) no random warm-up; the
    // others ignore them.
    virtual void learnFrom(const std::vector<Prior> &priors) { (void)priors; }
    // Up to n point indices never proposed or observed before; fewer (or none)
    // when the space is exhausted. The evolutionary strategy also returns
    // fewer while it samples its random warm-up (it proposes no more random
    // points than the warm-up needs): call again after observing them.
    virtual std::vector<std::size_t> propose(std::size_t n) = 0;
    // Measured points: seconds per call, +infinity for a failed candidate.
    // Points measured in an earlier run (database) are observed before the
    // first propose and are never proposed.
    virtual void observe(const std::vector<std::pair<std::size_t, double>> &results) = 0;
};

// name: "exhaustive", "random", "evolutionary", or "auto" (exhaustive when
// the space has at most `exhaustiveLimit` points, else evolutionary).
// Throws std::invalid_argument on an unknown name. The strategy keeps a
// reference to `space`, which must outlive it.
std::unique_ptr<Strategy> makeStrategy(const std::string &name, const Space &space, uint64_t seed,
                                       std::size_t exhaustiveLimit = 48);
// The strategy `name` stands for on a space of `spaceSize` points ("auto"
// resolved as above); throws std::invalid_argument on an unknown name.
std::string strategyFor(const std::string &name, std::size_t spaceSize, std::size_t exhaustiveLimit = 48);

// The evolutionary strategy's knobs (the defaults are what makeStrategy uses).
//
//   observed points --fit--> cost model (features -> -log seconds)
//        |                        |
//   best `population` --mutate / crossover--> children --score--> top ones
//                                                                  + epsilon random
//                                                                  --> proposals
struct EvolutionaryOptions {
    std::size_t minWarmup = 4;       // random proposals until this many points are observed,
    double warmupFraction = 0.05;    // or this share of the space (whichever is more,
    std::size_t maxWarmup = 32;      // but never more than this)
    std::size_t population = 16;     // best observed points the children are bred from
    std::size_t children = 256;      // children bred per round (legal, never proposed)
    double epsilon = 0.15;           // chance that a proposal is a random unmeasured point instead
    std::size_t scoreAllLimit = 1024;  // spaces up to this size: the model scores every unmeasured point
    std::size_t warmupWithPriors = 0;  // the warm-up when other tasks' records were given (learnFrom)
    float ownWeight = 4.0f;            // weight of this task's measurements against one prior record
};
std::unique_ptr<Strategy> makeEvolutionary(const Space &space, uint64_t seed, const EvolutionaryOptions &options = {});

}  // namespace kf::autotune
