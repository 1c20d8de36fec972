// \file
// The evolutionary strategy's cost model: gradient-boosted regression trees
// (XGBoost, as in TVM MetaSchedule's XGBModel) from a point's features
// (Space::features) to a score, higher = faster. Trained from scratch on
// everything measured so far each time it is fitted; small (a few dozen trees
// of depth 5), single-threaded and seeded so that the same data gives the same
// predictions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kf::autotune {

class CostModel {
public:
    explicit CostModel(uint64_t seed = 0);
    ~CostModel();
    CostModel(const CostModel &) = delete;
    CostModel &operator=(const CostModel &) = delete;
    CostModel(CostModel &&other) noexcept;
    CostModel &operator=(CostModel &&other) noexcept;

    // Replaces the model by one trained on rows X (all the same length, at
    // least one row) with targets y and, when not empty, one weight per row.
    // Throws std::invalid_argument on ragged or empty input or a weight count
    // that does not match, std::runtime_error with XGBoost's message on its
    // errors.
    void fit(const std::vector<std::vector<float>> &X, const std::vector<float> &y,
             const std::vector<float> &weights = {});
    // One prediction per row of X (rows as long as the training rows).
    // Throws std::logic_error before the first fit.
    std::vector<float> predict(const std::vector<std::vector<float>> &X) const;
    bool trained() const { return booster_ != nullptr; }

private:
    uint64_t seed_;
    std::size_t columns_ = 0;
    void *booster_ = nullptr;  // BoosterHandle
};

}  // namespace kf::autotune
