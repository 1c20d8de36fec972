// The one-line description of a task that progress lines and errors use.
#include "autotune/Task.h"

namespace kf::autotune {

// <kernel> <target> <bucket> <sizes in the family's order> (the order of the symbol tiles, Naming.h).
std::string describe(const Task &task) {
    std::string s = task.kernel ? task.kernel->name : std::string("?");
    s += ' ';
    s += task.target ? task.target->name : "?";
    s += ' ';
    s += dsl::toString(task.bucket);
    s += ' ' + task.shape.text();
    return s;
}

}  // namespace kf::autotune
