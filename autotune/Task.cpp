// \file
// The few things every part of the tuner says about a task: the rows a bucket
// is measured at when the user gives no shapes, and the one-line description
// progress lines and errors use.
#include "autotune/Task.h"

namespace kf::autotune {

int64_t defaultRows(dsl::Bucket bucket) {
    switch (bucket) {
    case dsl::Bucket::Any:
    case dsl::Bucket::Decode: return 1;
    case dsl::Bucket::SmallBatch: return 16;
    case dsl::Bucket::Prefill: return 128;
    }
    return 1;
}

// <kernel> <target> <bucket> <M>x<N>x<K> (the order of the symbol tiles, Naming.h).
std::string describe(const Task &task) {
    std::string s = task.kernel ? task.kernel->name : std::string("?");
    s += ' ';
    s += task.target ? task.target->name : "?";
    s += ' ';
    s += dsl::toString(task.bucket);
    s += ' ' + std::to_string(task.m) + 'x' + std::to_string(task.n) + 'x' + std::to_string(task.k);
    return s;
}

}  // namespace kf::autotune
