// \file
// The search space of one task: the axes of the schedule's `tune` block, or
// the family's default space for the target and bucket when there is none.
// Every point is a complete schedule (the file's fixed directives with the
// point's values applied); points the family's lowering would reject are
// pruned when the space is built, before anything is compiled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autotune/Task.h"
#include "dsl/Spec.h"

namespace kf::autotune {

class Space {
public:
    // Throws CodegenError when the task's family has no lowering for the
    // target, or when no point of the space survives pruning (the message
    // says why the first point was rejected). `pinned`: axis name -> value
    // as a schedule writes it ("64", "nibbles"),
    // every point must take (e.g. the packed layout the decode bucket chose;
    // buckets of a target share it); an axis not in the space is ignored.
    //
    // The schedule of (kernel, target, bucket) gives the fixed directives and
    // the tune block; a bucket without a schedule takes the target's
    // bucket-any schedule. With no tune block, the family's default space for
    // the target and bucket (autotune/Family.h, FamilyTuning::axes).
    static Space forTask(const Task &task, const std::map<std::string, std::string> &pinned = {});

    std::size_t size() const { return points_.size(); }
    bool fromTuneBlock() const { return fromTuneBlock_; }  // false: family default space

    // Axis names as written in a tune block: "split n", "unroll k",
    // "prefetch weight", "prefetch weight hint", "pack weight interleave", "backend", ...
    const std::vector<std::string> &axisNames() const { return names_; }
    // Per axis, its values (a word axis: indices into its words, see valueText).
    const std::vector<std::vector<int64_t>> &axisValues() const { return values_; }

    // Point i: one value index per axis.
    const std::vector<int> &point(std::size_t i) const { return points_[i]; }
    // The value of `axis` at point i as a schedule writes it: "64", "nibbles", "k m".
    std::string valueText(std::size_t axis, std::size_t i) const;
    // Index of a point (value index per axis), or size() when it was pruned.
    std::size_t indexOf(const std::vector<int> &point) const;

    // Point i as a schedule for the task's target and bucket (no tune block).
    dsl::Schedule schedule(std::size_t i) const;
    // Point i as canonical DSL text, `schedule <kernel> for <target> bucket=<b> { ... }`
    // (no bucket for bucket-any), one directive per line in a fixed order
    // (backend, pack, vectorize, split, unroll, prefetch, parallel, threads, reorder;
    // loop variables in the family's order): parses back (dsl::loadString)
    // to schedule(i), and is what the database stores and hashes.
    std::string scheduleText(std::size_t i) const;
    // Numeric features of point i for the cost model: log2 of each axis value
    // (-1 for a value of 0, e.g. prefetch off; a word axis: the word's index),
    // then log2 of each of the task's dimensions (M, N, K for a linear layer).
    std::vector<float> features(std::size_t i) const;
    // Features of point i that mean the same in every task of the family
    // (transferFeatures below): what lets the cost model learn from other
    // tasks' records. False / empty for a family without them.
    bool hasTransferFeatures() const;
    std::vector<float> transferFeatures(std::size_t i) const;

private:
    Task task_;
    dsl::Schedule base_;  // fixed directives (tune block removed)
    bool fromTuneBlock_ = false;
    std::vector<std::string> names_;
    std::vector<std::vector<int64_t>> values_;
    std::vector<dsl::TuneAxis> axes_;
    std::vector<std::vector<int>> points_;
    std::map<std::vector<int>, std::size_t> index_;
};

// The task-independent features of a schedule of `task`'s kernel (any
// bucket, any shape): the schedule as the family's lowering resolves it
// (defaults filled in), then the task (log2 M, N, K, weight format,
// activation kind, target vector width); the same length for every task of a
// family (autotune/Family.h). Empty when the family has none. Throws
// CodegenError when the lowering rejects the schedule.
std::vector<float> transferFeatures(const Task &task, const dsl::Schedule &schedule);

}  // namespace kf::autotune
