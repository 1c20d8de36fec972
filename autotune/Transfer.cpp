#include "autotune/Transfer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "autotune/Space.h"
#include "autotune/TunedModule.h"

namespace kf::autotune {

PriorSet priorsFor(const Database &db, const Task &task, const std::string &specHash, const std::string &compiler,
                   const std::string &machine, std::size_t limit) {
    PriorSet out;
    if (!task.module || !task.kernel || !task.target) return out;
    // The module's kernels of this family by spec hash (layers sharing a spec: the first).
    std::map<std::string, const dsl::KernelSpec *> kernels;
    for (const dsl::KernelSpec &k : task.module->kernels)
        if (k.family == task.kernel->family) kernels.emplace(autotune::specHash(k), &k);

    using TaskKey = std::tuple<std::string, std::string, dsl::Shape>;  // spec, bucket, shape
    const TaskKey own{specHash, dsl::toString(task.bucket), task.shape};
    std::vector<Record> records = db.records("", task.target->name);
    std::erase_if(records, [&](const Record &r) {
        return r.status != "ok" || !(r.seconds > 0) || r.compiler != compiler || r.machine != machine ||
               !kernels.count(r.specHash) || TaskKey{r.specHash, r.bucket, r.shape} == own;
    });
    if (records.size() > limit) records.erase(records.begin(), records.end() - static_cast<std::ptrdiff_t>(limit));

    std::map<TaskKey, double> best;  // fewest seconds per task
    for (const Record &r : records) {
        auto [it, fresh] = best.emplace(TaskKey{r.specHash, r.bucket, r.shape}, r.seconds);
        if (!fresh) it->second = std::min(it->second, r.seconds);
    }
    out.tasks = best.size();
    for (const Record &r : records) {
        const dsl::KernelSpec &kernel = *kernels.at(r.specHash);
        Task other = task;
        other.kernel = &kernel;
        other.bucket = dsl::bucketNamed(r.bucket).value_or(dsl::Bucket::Decode);
        other.shape = r.shape;
        try {
            std::vector<float> features = transferFeatures(other, recordSchedule(*task.module, kernel, r));
            if (features.empty()) return PriorSet{};  // the family has none
            out.priors.push_back(
                {std::move(features), std::log(best.at(TaskKey{r.specHash, r.bucket, r.shape}) / r.seconds)});
        } catch (const std::exception &) {
            ++out.skipped;
        }
    }
    return out;
}

}  // namespace kf::autotune
