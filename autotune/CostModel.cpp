// \file
// CostModel over XGBoost's C API. Every call's status is checked; handles are
// owned by small RAII holders so that an exception between create and free
// leaks nothing.
#include "autotune/CostModel.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace kf::autotune {

namespace {

// Booster parameters: shallow trees and few rounds suit the few hundred
// points a task measures; exact splits and one thread keep it repeatable.
constexpr int kRounds = 40;
const std::pair<const char *, const char *> kParams[] = {
    {"booster", "gbtree"},     {"objective", "reg:squarederror"}, {"tree_method", "exact"},
    {"max_depth", "5"},        {"eta", "0.3"},                    {"min_child_weight", "1"},
    {"nthread", "1"},          {"verbosity", "0"},
};

void check(int status, const char *call) {
    if (status != 0) throw std::runtime_error(std::string("XGBoost ") + call + " failed: " + XGBGetLastError());
}

class DMatrix {
public:
    DMatrix(const std::vector<std::vector<float>> &X, std::size_t columns) {
        std::vector<float> flat;
        flat.reserve(X.size() * columns);
        for (const auto &row : X) {
            if (row.size() != columns)
                throw std::invalid_argument("CostModel: feature rows differ in length (" + std::to_string(row.size()) +
                                            " vs " + std::to_string(columns) + ")");
            flat.insert(flat.end(), row.begin(), row.end());
        }
        check(XGDMatrixCreateFromMat(flat.data(), X.size(), columns, std::nanf(""), &handle_),
              "XGDMatrixCreateFromMat");
    }
    ~DMatrix() {
        if (handle_) XGDMatrixFree(handle_);
    }
    DMatrix(const DMatrix &) = delete;
    DMatrix &operator=(const DMatrix &) = delete;
    DMatrixHandle get() const { return handle_; }

private:
    DMatrixHandle handle_ = nullptr;
};

void freeBooster(void *booster) {
    if (booster) XGBoosterFree(static_cast<BoosterHandle>(booster));
}

}  // namespace

CostModel::CostModel(uint64_t seed) : seed_(seed) {}

CostModel::~CostModel() { freeBooster(booster_); }

CostModel::CostModel(CostModel &&other) noexcept
    : seed_(other.seed_), columns_(other.columns_), booster_(std::exchange(other.booster_, nullptr)) {}

CostModel &CostModel::operator=(CostModel &&other) noexcept {
    if (this != &other) {
        freeBooster(booster_);
        seed_ = other.seed_;
        columns_ = other.columns_;
        booster_ = std::exchange(other.booster_, nullptr);
    }
    return *this;
}

void CostModel::fit(const std::vector<std::vector<float>> &X, const std::vector<float> &y,
                    const std::vector<float> &weights) {
    if (X.empty()) throw std::invalid_argument("CostModel::fit needs at least one row");
    if (X.size() != y.size())
        throw std::invalid_argument("CostModel::fit: " + std::to_string(X.size()) + " rows but " +
                                    std::to_string(y.size()) + " targets");
    if (!weights.empty() && weights.size() != y.size())
        throw std::invalid_argument("CostModel::fit: " + std::to_string(X.size()) + " rows but " +
                                    std::to_string(weights.size()) + " weights");
    const std::size_t columns = X[0].size();
    DMatrix train(X, columns);
    check(XGDMatrixSetFloatInfo(train.get(), "label", y.data(), y.size()), "XGDMatrixSetFloatInfo");
    if (!weights.empty())
        check(XGDMatrixSetFloatInfo(train.get(), "weight", weights.data(), weights.size()), "XGDMatrixSetFloatInfo");

    DMatrixHandle matrices[] = {train.get()};
    BoosterHandle raw = nullptr;
    check(XGBoosterCreate(matrices, 1, &raw), "XGBoosterCreate");
    // Owned from here on; replaces the old model only once training succeeded.
    std::unique_ptr<void, void (*)(void *)> booster(raw, freeBooster);
    for (const auto &[name, value] : kParams) check(XGBoosterSetParam(raw, name, value), "XGBoosterSetParam");
    check(XGBoosterSetParam(raw, "seed", std::to_string(seed_ % 2147483647u).c_str()), "XGBoosterSetParam");
    // Start from the mean target: the scores (-log seconds) sit far from
    // XGBoost's default base of 0.5, and the trees should spend their rounds
    // on the differences between points, not on the offset.
    double mean = 0, total = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        const double w = weights.empty() ? 1.0 : weights[i];
        mean += w * y[i];
        total += w;
    }
    mean = total > 0 ? mean / total : 0;
    check(XGBoosterSetParam(raw, "base_score", std::to_string(mean).c_str()), "XGBoosterSetParam");
    for (int round = 0; round < kRounds; ++round)
        check(XGBoosterUpdateOneIter(raw, round, train.get()), "XGBoosterUpdateOneIter");

    freeBooster(booster_);
    booster_ = booster.release();
    columns_ = columns;
}

std::vector<float> CostModel::predict(const std::vector<std::vector<float>> &X) const {
    if (!booster_) throw std::logic_error("CostModel::predict called before fit");
    if (X.empty()) return {};
    DMatrix data(X, columns_);
    bst_ulong length = 0;
    const float *out = nullptr;
    check(XGBoosterPredict(static_cast<BoosterHandle>(booster_), data.get(), 0, 0, 0, &length, &out),
          "XGBoosterPredict");
    if (length != X.size())
        throw std::runtime_error("XGBoost returned " + std::to_string(length) + " predictions for " +
                                 std::to_string(X.size()) + " rows");
    return std::vector<float>(out, out + length);
}

}  // namespace kf::autotune
