// The tuner's search experiment (bench/README.md, "Search experiment"): how
// close do the evolutionary (cost-model guided) and random strategies get to
// the exhaustive best after measuring 10% and 20% of a space?
//
// Input: a tuning database in which `kforge tune --strategy exhaustive` has
// measured every point of each task. The strategies are replayed against
// those measurements (a proposal's cost is its recorded time), over many
// seeds, so the comparison is between search strategies on identical numbers,
// free of run-to-run noise. "evolutionary+transfer" starts its cost model
// from the records of the other tasks in the database (leave one task out),
// as `kforge tune` does with the tasks it tuned before. Output: one row per task x strategy x share: the
// mean, median and worst of (exhaustive best / best found), and how many
// seeds came within 5%.
//
//   kforge_tune_experiment --db exp.db --file bench/kernels/tune_experiment.kf
//       --task int4_gate:decode --task ternary_gate:decode --task int4_attn:prefill [--seeds 20] [--json]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autotune/Database.h"
#include "autotune/Space.h"
#include "autotune/Strategy.h"
#include "autotune/Task.h"
#include "autotune/Transfer.h"
#include "dsl/Load.h"
#include "dsl/families/Family.h"
#include "targets/Target.h"

using namespace kf;

namespace {

int usage(const char *msg) {
    std::fprintf(stderr,
                 "kforge_tune_experiment: %s\nusage: kforge_tune_experiment --db DB --file FILE --task KERNEL:BUCKET "
                 "[--task ...] [--target T] [--seeds N] [--json]\n",
                 msg);
    return 2;
}

struct Row {
    std::string task, strategy;
    double share;
    std::size_t measured;
    double mean, median, worst;
    int within5, seeds;
};

}  // namespace

int main(int argc, char **argv) {
    std::string dbPath, file, targetName = "host";
    std::vector<std::string> taskArgs;
    int seeds = 20;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--db") dbPath = next();
        else if (a == "--file") file = next();
        else if (a == "--task") taskArgs.push_back(next());
        else if (a == "--target") targetName = next();
        else if (a == "--seeds") seeds = std::atoi(next().c_str());
        else if (a == "--json") json = true;
        else return usage(("unknown argument " + a).c_str());
    }
    if (dbPath.empty() || file.empty() || taskArgs.empty() || seeds < 1) return usage("missing arguments");
    const targets::TargetInfo *target = targetName == "host" ? targets::bestHostTarget() : targets::find(targetName);
    if (!target) return usage("unknown target");

    dsl::LoadResult loaded = dsl::loadFile(file, {});
    for (const auto &d : loaded.diagnostics) std::cerr << d.render() << "\n";
    if (!loaded.ok()) return 1;
    const dsl::Module &module = *loaded.module;
    std::optional<autotune::Database> opened;
    try {
        opened.emplace(dbPath);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "kforge_tune_experiment: %s\n", e.what());
        return 1;
    }
    const autotune::Database &db = *opened;

    std::vector<Row> rows;
    for (const std::string &arg : taskArgs) {
        const auto colon = arg.find(':');
        const dsl::KernelSpec *kernel = module.findKernel(arg.substr(0, colon));
        if (!kernel || colon == std::string::npos) return usage(("bad --task " + arg).c_str());
        const std::string b = arg.substr(colon + 1);
        const std::optional<dsl::Bucket> named = dsl::bucketNamed(b);
        if (!named || *named == dsl::Bucket::Any) return usage(("bad --task " + arg).c_str());
        const dsl::Bucket bucket = *named;
        // The kernel's declared dimensions, its bucket's default rows.
        autotune::Task task{&module, kernel, target, bucket, {}, 0};
        for (const dsl::Dim &d : dsl::kernelDims(*kernel))
            task.shape.dims.emplace_back(d.name, d.size.value_or(dsl::bucketDef(bucket).defaultRows));
        const autotune::Space space = autotune::Space::forTask(task);
        const std::string spec = autotune::specHash(*kernel);

        // The exhaustive measurements, one cost per point (+inf: failed),
        // matched by schedule text and shape: the records of one machine and
        // compiler, whichever (a database measured by an older kforge, whose
        // fingerprints differ from this one's, replays as well).
        std::map<std::string, const autotune::Record *> bySchedule;
        const std::vector<autotune::Record> records = db.records(spec, target->name, b);
        std::string machine, compiler;
        for (const autotune::Record &r : records) {
            if (r.shape != task.shape) continue;
            if (machine.empty()) machine = r.machine, compiler = r.compiler;
            if (r.machine != machine || r.compiler != compiler) {
                std::fprintf(stderr, "%s: records of more than one machine or compiler; use one database per machine\n",
                             autotune::describe(task).c_str());
                return 1;
            }
            bySchedule[r.schedule] = &r;
        }
        std::vector<double> cost(space.size(), std::numeric_limits<double>::infinity());
        std::size_t missing = 0;
        for (std::size_t i = 0; i < space.size(); ++i) {
            auto r = bySchedule.find(space.scheduleText(i));
            if (r == bySchedule.end()) ++missing;
            else if (r->second->status == "ok") cost[i] = r->second->seconds;
        }
        if (missing) {
            std::fprintf(stderr, "%s: %zu of %zu points have no record; run kforge tune --strategy exhaustive first\n",
                         autotune::describe(task).c_str(), missing, space.size());
            return 1;
        }
        const double best = *std::min_element(cost.begin(), cost.end());
        // Leave one task out: the priors are the other tasks' records.
        const autotune::PriorSet priors = autotune::priorsFor(db, task, spec, compiler, machine);
        std::fprintf(stderr, "%s: %zu prior records from %zu other tasks\n", autotune::describe(task).c_str(),
                     priors.priors.size(), priors.tasks);

        for (const char *strategyName : {"evolutionary+transfer", "evolutionary", "random"})
            for (double share : {0.1, 0.2}) {
                const std::string name = strategyName;
                const bool transfer = name == "evolutionary+transfer";
                if (transfer && priors.priors.empty()) continue;
                const std::size_t budget = std::max<std::size_t>(1, std::size_t(std::ceil(share * double(space.size()))));
                std::vector<double> ratios;
                for (int seed = 1; seed <= seeds; ++seed) {
                    auto strategy = autotune::makeStrategy(transfer ? "evolutionary" : name, space, uint64_t(seed));
                    if (transfer) strategy->learnFrom(priors.priors);
                    double found = std::numeric_limits<double>::infinity();
                    std::size_t measured = 0;
                    while (measured < budget) {
                        // Batches as `kforge tune` measures them on this machine (2 x builds in parallel).
                        auto batch = strategy->propose(std::min<std::size_t>(4, budget - measured));
                        if (batch.empty()) break;
                        std::vector<std::pair<std::size_t, double>> obs;
                        for (std::size_t i : batch) {
                            obs.push_back({i, cost[i]});
                            found = std::min(found, cost[i]);
                        }
                        measured += batch.size();
                        strategy->observe(obs);
                    }
                    ratios.push_back(best / found);  // 1 = found the exhaustive best
                }
                std::vector<double> sorted = ratios;
                std::sort(sorted.begin(), sorted.end());
                Row row{autotune::describe(task), strategyName, share, budget,
                        std::accumulate(ratios.begin(), ratios.end(), 0.0) / double(ratios.size()),
                        sorted[sorted.size() / 2], sorted.front(),
                        int(std::count_if(ratios.begin(), ratios.end(), [](double r) { return r >= 1.0 / 1.05; })),
                        seeds};
                rows.push_back(row);
            }
        std::fprintf(stderr, "%s: %zu points, exhaustive best %.4f ms\n", autotune::describe(task).c_str(),
                     space.size(), best * 1e3);
    }

    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const Row &r : rows)
            out.push_back({{"task", r.task}, {"strategy", r.strategy}, {"share", r.share}, {"measured", r.measured},
                           {"mean_ratio", r.mean}, {"median_ratio", r.median}, {"worst_ratio", r.worst},
                           {"within_5pct", r.within5}, {"seeds", r.seeds}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::printf("| task | strategy | measured | exhaustive best / found: mean | median | worst | seeds within 5%% |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const Row &r : rows)
        std::printf("| %s | %s | %zu (%.0f%%) | %.3f | %.3f | %.3f | %d/%d |\n", r.task.c_str(), r.strategy.c_str(),
                    r.measured, r.share * 100, r.mean, r.median, r.worst, r.within5, r.seeds);
    return 0;
}
