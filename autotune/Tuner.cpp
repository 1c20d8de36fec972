#include "autotune/Tuner.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <thread>

#include "autotune/Builder.h"
#include "autotune/Family.h"
#include "autotune/Database.h"
#include "autotune/Fingerprint.h"
#include "autotune/Progress.h"
#include "autotune/Runner.h"
#include "autotune/Scratch.h"
#include "autotune/Space.h"
#include "autotune/Strategy.h"
#include "codegen/Backend.h"
#include "autotune/Task.h"
#include "autotune/Transfer.h"
#include "dsl/Load.h"
#include "dsl/families/Family.h"

namespace kf::autotune {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Plan {
    Task task;
    std::string spec;  // specHash(kernel)
};

// The shapes to tune `kernel` at (its non-row dimensions): the declared
// sizes, or each --shapes entry for those it leaves dynamic. Empty with a
// message on `err` when that cannot be.
std::vector<std::vector<int64_t>> shapesOf(const dsl::KernelSpec &kernel, const TuneOptions &o, std::ostream &err) {
    std::vector<dsl::Dim> dims = dsl::kernelDims(kernel);
    if (dims.empty()) {
        err << "kforge tune: " << kernel.name << ": " << dsl::toString(kernel.family) << " names no dimensions; skipped\n";
        return {};
    }
    dims.erase(dims.begin());  // the rows: per bucket
    const bool dynamic = std::any_of(dims.begin(), dims.end(), [](const dsl::Dim &d) { return !d.size; });
    std::string names;
    for (const dsl::Dim &d : dims) names += (names.empty() ? "" : "x") + d.name;
    if (!dynamic) {
        std::vector<int64_t> sizes;
        for (const dsl::Dim &d : dims) sizes.push_back(*d.size);
        return {sizes};
    }
    std::vector<std::vector<int64_t>> out;
    for (const std::vector<int64_t> &given : o.shapes) {
        if (given.size() != dims.size()) continue;
        std::vector<int64_t> sizes;
        for (std::size_t i = 0; i < dims.size(); ++i) sizes.push_back(dims[i].size.value_or(given[i]));
        out.push_back(sizes);
    }
    if (out.empty())
        err << "kforge tune: " << kernel.name << " has dynamic " << names << "; give --shapes " << names
            << (names.find('x') != std::string::npos ? " (e.g. 11008x4096)" : " (e.g. 4096)") << "; skipped\n";
    return out;
}

// Tasks in order: per kernel spec (layers with the same spec once), target,
// shape, then decode -> small -> prefill (layout pinned by decode).
std::vector<Plan> planTasks(const dsl::Module &module, const TuneOptions &o,
                            const std::vector<const targets::TargetInfo *> &targets, std::ostream &err) {
    std::vector<Plan> plans;
    std::set<std::tuple<std::string, std::string, dsl::Bucket, dsl::Shape>> seen;
    for (const dsl::KernelSpec &kernel : module.kernels) {
        if (!o.kernels.empty() && std::find(o.kernels.begin(), o.kernels.end(), kernel.name) == o.kernels.end())
            continue;
        if (!familyTuning(kernel.family)) {
            err << "kforge tune: " << kernel.name << ": " << dsl::toString(kernel.family)
                << " has no tuner support yet; skipped\n";
            continue;
        }
        const std::vector<dsl::Dim> dims = dsl::kernelDims(kernel);
        const std::string spec = specHash(kernel);
        for (const std::vector<int64_t> &sizes : shapesOf(kernel, o, err))
            for (const targets::TargetInfo *t : targets)
                for (dsl::Bucket b : o.buckets) {
                    const auto r = o.rows.find(b);
                    dsl::Shape shape;
                    shape.dims.emplace_back(dims[0].name, r != o.rows.end() ? r->second : dsl::bucketDef(b).defaultRows);
                    for (std::size_t i = 0; i < sizes.size(); ++i) shape.dims.emplace_back(dims[i + 1].name, sizes[i]);
                    if (!seen.insert({spec, t->name, b, shape}).second) continue;
                    plans.push_back({Task{&module, &kernel, t, b, shape, o.threads}, spec});
                }
    }
    return plans;
}

// Exit status of a run stopped by a signal: 128 + its number, as a shell reports it.
int interrupted(std::ostream &err, std::size_t measured) {
    const int sig = interruptSignal();
    const char *name = strsignal(sig);
    err << "kforge tune: stopped by " << (name ? name : "a signal") << "; the " << measured
        << " candidates measured in this run are in the database, and a new run resumes from them\n";
    return 128 + sig;
}

// Renews this tuner's claims (Database::claim) every third of their lease on
// a connection of its own, so that a claim outlives a long build or
// measurement and lapses soon after the tuner dies. Gives them all back when
// it goes (an interrupted or finished run holds none).
class ClaimKeeper {
public:
    ClaimKeeper(const std::string &location, std::string owner, double lease)
        : location_(location), owner_(std::move(owner)), lease_(lease), thread_([this] { loop(); }) {}
    ~ClaimKeeper() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    ClaimKeeper(const ClaimKeeper &) = delete;
    ClaimKeeper &operator=(const ClaimKeeper &) = delete;

private:
    void loop() {
        std::optional<Database> db;
        std::unique_lock<std::mutex> lock(mutex_);
        const auto period = std::chrono::duration<double>(lease_ / 3);
        while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
            try {
                if (!db) db.emplace(location_, Database::OpenMode::Claims);
                db->renewClaims(owner_, lease_);
            } catch (const std::exception &) {
                db.reset();  // reopened next time; until then claims may lapse, records are still never doubled
            }
        }
        try {
            if (db) db->releaseClaims(owner_);
        } catch (const std::exception &) {
        }
    }
    std::string location_, owner_;
    double lease_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace

int tune(const TuneOptions &o, std::ostream &out, std::ostream &err) {
    const auto start = Clock::now();
    std::vector<std::string> targetNames;
    for (const auto *t : targets::all()) targetNames.emplace_back(t->name);
    dsl::CheckOptions options{targetNames};
    for (const codegen::Backend *b : codegen::backends()) options.knownBackends.emplace_back(b->name);
    dsl::LoadResult loaded = dsl::loadFile(o.file, options);
    for (const auto &d : loaded.diagnostics) err << d.render() << "\n";
    if (!loaded.ok()) return 1;
    const dsl::Module &module = *loaded.module;

    std::vector<const targets::TargetInfo *> targets;
    for (const std::string &name : o.targets.empty() ? std::vector<std::string>{"host"} : o.targets) {
        const targets::TargetInfo *t = name == "host" ? targets::bestHostTarget() : targets::find(name);
        if (!t) {
            err << "kforge tune: unknown target '" << name << "'; known targets: " << targets::knownNames() << ", host\n";
            return 1;
        }
        targets.push_back(t);
    }
    std::vector<std::string> worker = o.kforge;
    worker.push_back("tune-worker");
    std::unique_ptr<Runner> runner;
    try {
        runner = makeRunner(o.runner, worker);
    } catch (const std::invalid_argument &e) {
        err << "kforge tune: --runner: " << e.what() << "\n";
        return 1;
    }
    for (const targets::TargetInfo *t : targets)
        if (std::string why; !runner->canRun(*t, &why)) {
            err << "kforge tune: the " << runner->name() << " runner cannot measure " << t->name << ": " << why << "\n";
            return 1;
        }
    try {
        strategyFor(o.strategy, 0);
    } catch (const std::invalid_argument &e) {
        err << "kforge tune: --strategy: " << e.what() << "\n";
        return 1;
    }

    std::optional<Database> db;
    const std::string location = o.database.empty() ? defaultDatabasePath() : o.database;
    try {
        db.emplace(location);
    } catch (const std::exception &e) {
        err << "kforge tune: " << e.what() << "\n";
        return 1;
    }
    if (!db->migrationNote().empty()) err << "kforge tune: " << db->migrationNote() << "\n";
    auto sayNotes = [&] {
        for (const std::string &n : db->takeNotes()) err << "kforge tune: " << n << "\n";
    };
    sayNotes();
    // Claims: tuners sharing the database measure each candidate once.
    const std::string owner = claimOwner();
    const double lease = o.claimLeaseSeconds > 0 ? o.claimLeaseSeconds : 30;
    std::optional<ClaimKeeper> keeper;
    keeper.emplace(location, owner, lease);
    const std::vector<Plan> plans = planTasks(module, o, targets, err);
    if (plans.empty()) {
        err << "kforge tune: nothing to tune in " << o.file << "\n";
        return 1;
    }

    // The machine that measures (this one, or the runner's remote host) is the one the records are for.
    std::string machine;
    int64_t cache = 0;
    try {
        machine = runner->machine(o.threads);
        cache = runner->lastLevelCache();
    } catch (const std::exception &e) {
        err << "kforge tune: the " << runner->name() << " runner: " << e.what() << "\n";
        return 1;
    }
    const std::string compiler = compilerFingerprint();
    const int64_t stream = o.streamBytes >= 0 ? o.streamBytes : std::max<int64_t>(int64_t{256} << 20, 2 * cache);
    // Ctrl-C, SIGTERM and SIGHUP stop the run between measurements: what was
    // measured is in the database, and the scratch directories are removed.
    InterruptGuard interrupts;
    // Directories a killed tuner left behind (by their marker; nothing else).
    if (const SweepResult swept = removeStaleScratch(); swept.removed > 0)
        err << "kforge tune: removed " << swept.removed << " temporary director"
            << (swept.removed == 1 ? "y" : "ies") << " left by a tuner that was killed ("
            << (swept.bytes + (1u << 20) - 1) / (1u << 20) << " MiB)\n";
    std::optional<ScratchDir> ownWorkDir;
    if (o.workDir.empty()) {
        try {
            ownWorkDir.emplace("tune");
        } catch (const std::exception &e) {
            err << "kforge tune: " << e.what() << "\n";
            return 1;
        }
    }
    const std::string workDir = ownWorkDir ? ownWorkDir->path() : o.workDir;
    Builder builder(workDir, o.kforge, o.jobs);
    const std::size_t batch =
        2 * static_cast<std::size_t>(o.jobs > 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency()));
    // The compute peak once per kind (int8 / f32) and thread count, not per candidate.
    std::map<std::pair<bool, int>, double> peaks;

    Progress progress(out, o.json, !o.json && ::isatty(STDOUT_FILENO));
    std::size_t measuredTotal = 0, failedTotal = 0;
    std::string lostRunner;  // why the runner's machine went away
    // A signal stops the run between measurements; the claims still held go back at once.
    auto stopNow = [&] {
        keeper.reset();
        try {
            db->releaseClaims(owner);
        } catch (const std::exception &) {
        }
        return interrupted(err, measuredTotal);
    };
    // Decode's layout choice per (spec, target, shape without the rows), pinned for later buckets.
    std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, std::string>> layouts;

    for (std::size_t t = 0; t < plans.size(); ++t) {
        const Task &task = plans[t].task;
        const auto taskStart = Clock::now();
        TaskProgress p;
        p.task = describe(task);
        p.index = t + 1;
        p.tasks = plans.size();

        const FamilyTuning &family = *familyTuning(task.kernel->family);
        dsl::Shape sizes = task.shape;
        sizes.dims.erase(sizes.dims.begin());
        const auto layoutKey = std::make_tuple(plans[t].spec, std::string(task.target->name), sizes.named());
        std::map<std::string, std::string> pinned;
        if (task.bucket != dsl::Bucket::Decode && layouts.count(layoutKey)) pinned = layouts[layoutKey];
        std::optional<Space> space;
        try {
            space.emplace(Space::forTask(task, pinned));
        } catch (const std::exception &e) {
            err << "kforge tune: " << p.task << ": " << e.what() << "\n";
            continue;
        }
        if (space->size() == 0) {
            err << "kforge tune: " << p.task << ": no legal point in the space\n";
            continue;
        }
        const uint64_t seed = o.seed ^ std::hash<std::string>{}(p.task);
        std::unique_ptr<Strategy> strategy = makeStrategy(o.strategy, *space, seed);
        p.space = space->size();
        p.strategy = strategyFor(o.strategy, space->size());
        if (p.strategy == "evolutionary") {
            // What the tasks tuned before this one (in this run or earlier) found.
            const PriorSet priors = priorsFor(*db, task, plans[t].spec, compiler, machine);
            strategy->learnFrom(priors.priors);
            p.priors = priors.priors.size();
            p.priorTasks = priors.tasks;
        }
        std::size_t cap = space->size();
        if (o.fraction > 0) cap = std::min(cap, static_cast<std::size_t>(std::ceil(o.fraction * double(space->size()))));
        if (o.maxTrials > 0) cap = std::min(cap, static_cast<std::size_t>(o.maxTrials));
        p.planned = cap;

        // Every point's record key, and the point of a key.
        std::vector<std::string> keys(space->size());
        std::unordered_map<std::string, std::size_t> pointOf;
        for (std::size_t i = 0; i < space->size(); ++i) {
            keys[i] = recordKey(plans[t].spec, space->scheduleText(i), task.target->name, task.shape, compiler, machine);
            pointOf.emplace(keys[i], i);
        }
        std::optional<std::size_t> bestIndex;
        std::vector<char> observed(space->size(), 0);
        auto note = [&](std::size_t i, const Record &r) {
            if (r.status != "ok") {
                ++p.failed;
                return;
            }
            if (p.bestSeconds == 0 || r.seconds < p.bestSeconds) {
                p.bestSeconds = r.seconds;
                p.bestRatio = r.rooflineRatio;
                p.bestSymbol = r.symbol;
                bestIndex = i;
            }
        };
        auto cost = [](const Record &r) {
            return r.status == "ok" ? r.seconds : std::numeric_limits<double>::infinity();
        };
        // What the database has for this task and is not yet observed (an
        // earlier run's records, or what other tuners measured meanwhile):
        // observed, so the strategy's cost model learns from it, and never
        // measured again.
        auto learnFromDatabase = [&] {
            std::vector<std::pair<std::size_t, double>> fresh;
            for (const Record &r : db->records(plans[t].spec, task.target->name, dsl::toString(task.bucket))) {
                const auto it = pointOf.find(r.key);
                if (it == pointOf.end() || observed[it->second]) continue;
                observed[it->second] = 1;
                fresh.push_back({it->second, cost(r)});
                note(it->second, r);
                ++p.done;
            }
            if (!fresh.empty()) strategy->observe(fresh);
            return fresh.size();
        };
        learnFromDatabase();
        p.resumed = p.done;
        p.planned = std::max(cap, p.done);

        // This task's share of what is left of the budget.
        const double left = o.budgetSeconds > 0 ? o.budgetSeconds - since(start) : 0;
        const double share = o.budgetSeconds > 0 ? std::max(0.0, left / double(plans.size() - t)) : 0;
        progress.taskStart(p);
        std::string stop = "space done";
        double perCandidate = 2.0;  // seconds, refined as candidates finish
        // Points another tuner claimed: measured there, or here once its claim lapses.
        std::set<std::size_t> elsewhere;

        // Builds the claimed points and measures them one by one, a record each.
        // False when a signal stopped the run.
        auto measure = [&](const std::vector<std::size_t> &pending) {
            std::vector<std::string> texts;
            for (std::size_t i : pending) texts.push_back(space->scheduleText(i));
            const auto batchStart = Clock::now();
            std::vector<BuiltCandidate> built;
            {
                // No build while another tuner on this machine times a candidate.
                MachineLock building(/*exclusive=*/false);
                built = builder.build(task, texts);
            }
            std::vector<std::pair<std::size_t, double>> results;
            for (std::size_t j = 0; j < pending.size(); ++j) {
                // A signal may have killed builds or the worker: nothing from
                // here on is a property of the candidate, so nothing is recorded.
                if (interruptSignal()) return false;
                Record r;
                r.key = keys[pending[j]];
                r.kernel = task.kernel->name;
                r.family = dsl::toString(task.kernel->family);
                r.specHash = plans[t].spec;
                r.target = task.target->name;
                r.bucket = dsl::toString(task.bucket);
                r.shape = task.shape;
                r.schedule = texts[j];
                r.symbol = built[j].symbol;
                r.compiler = compiler;
                r.machine = machine;
                r.createdUnix = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
                if (!built[j].error.empty()) {
                    r.status = "build_error";
                    r.message = built[j].error;
                } else {
                    RunRequest req;
                    req.library = built[j].library;
                    req.accessor = built[j].accessor;
                    req.kernelFile = o.file;
                    req.kernelName = task.kernel->name;
                    req.schedule = texts[j];
                    req.shape = task.shape;
                    req.threads = task.threads;
                    req.streamBytes = family.streams && family.streams(task) ? stream : 0;
                    req.timeoutSeconds = o.timeoutSeconds;
                    const bool int8 = family.int8Roofline && family.int8Roofline(*task.kernel);
                    auto peak = peaks.find({int8, task.threads});
                    if (peak == peaks.end())
                        peak = peaks.emplace(std::pair{int8, task.threads}, runner->peak(int8, task.threads)).first;
                    req.computePeak = peak->second;
                    Measurement ms = runner->run(req);
                    if (ms.status == "unreachable") {
                        // Not the candidate's doing: nothing recorded, and the
                        // claims of this batch go back to the queue.
                        for (std::size_t k = j; k < pending.size(); ++k) builder.discard(built[k]);
                        db->releaseClaims(owner);
                        lostRunner = ms.message;
                        return false;
                    }
                    r.status = ms.status;
                    r.message = ms.message;
                    r.samples = ms.samples;
                    if (ms.status == "ok") {
                        r.seconds = ms.seconds;
                        r.rooflineRatio = ms.seconds > 0 ? ms.rooflineSeconds / ms.seconds : 0;
                        // What the roofline was computed from, for `kforge report`'s roofline plot.
                        r.bytes = ms.bytes;
                        r.ops = ms.ops;
                        r.readBandwidth = ms.readBandwidth;
                        r.computePeak = ms.ops > 0 ? ms.computePeak : 0;
                    }
                }
                builder.discard(built[j]);
                if (interruptSignal()) return false;
                db->insert(r);
                sayNotes();
                observed[pending[j]] = 1;
                ++p.done;
                ++measuredTotal;
                note(pending[j], r);
                if (r.status != "ok") ++failedTotal;
                results.push_back({pending[j], cost(r)});
                p.elapsed = since(taskStart);
                perCandidate = since(batchStart) / double(j + 1);
                p.eta = perCandidate * double(cap - std::min(cap, p.done));
                if (o.budgetSeconds > 0) p.eta = std::min(p.eta, std::max(0.0, share - p.elapsed));
                progress.candidate(p, r);
            }
            strategy->observe(results);
            return true;
        };
        // Claims each point; those claimed come back, those measured meanwhile
        // are observed, those another tuner holds wait in `elsewhere`.
        auto claimAll = [&](const std::vector<std::size_t> &points) {
            std::vector<std::size_t> pending;
            bool measuredElsewhere = false;
            for (std::size_t i : points) {
                if (observed[i]) continue;
                switch (db->claim(keys[i], owner, lease)) {
                case ClaimResult::Claimed:
                    elsewhere.erase(i);
                    pending.push_back(i);
                    break;
                case ClaimResult::Measured:
                    measuredElsewhere = true;
                    break;
                case ClaimResult::HeldElsewhere:
                    elsewhere.insert(i);
                    break;
                }
            }
            if (measuredElsewhere) learnFromDatabase();
            return pending;
        };

        for (;;) {
            learnFromDatabase();
            std::erase_if(elsewhere, [&](std::size_t i) { return observed[i] != 0; });
            if (p.done >= cap) {
                stop = cap < space->size() ? "trial cap" : "space done";
                break;
            }
            if (o.budgetSeconds > 0 && since(taskStart) + perCandidate > share) {
                stop = "budget";
                break;
            }
            std::size_t want = std::min(batch, cap - p.done);
            if (o.budgetSeconds > 0)
                want = std::min(want, std::max<std::size_t>(1, std::size_t((share - since(taskStart)) / perCandidate)));
            std::vector<std::size_t> proposed = strategy->propose(want);
            if (proposed.empty()) {
                // Nothing new to propose: what is left is held by other tuners.
                // Wait for their records; take over a claim that lapses.
                if (elsewhere.empty()) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(500));
                if (interruptSignal()) return stopNow();
                proposed.assign(elsewhere.begin(), elsewhere.end());
            }
            const std::vector<std::size_t> pending = claimAll(proposed);
            sayNotes();
            if (!pending.empty() && !measure(pending)) {
                if (lostRunner.empty()) return stopNow();
                keeper.reset();
                err << "kforge tune: the " << runner->name() << " runner stopped: " << lostRunner
                    << "; the candidates this tuner had claimed went back to the queue (" << measuredTotal
                    << " measured in this run are in the database; a new run resumes from them)\n";
                return 1;
            }
        }
        p.elapsed = since(taskStart);
        progress.taskEnd(p, stop);
        if (task.bucket == dsl::Bucket::Decode && bestIndex) {
            std::map<std::string, std::string> chosen;
            for (std::size_t a = 0; a < space->axisNames().size(); ++a)
                for (const std::string &axis : family.layoutAxes)
                    if (space->axisNames()[a] == axis) chosen[axis] = space->valueText(a, *bestIndex);
            layouts[layoutKey] = chosen;
        }
    }
    keeper.reset();
    // Records kept while the server was away: one last try before exiting.
    if (db->journaled() > 0) {
        std::size_t left = db->journaled();
        try {
            left = db->pushJournalNow();
        } catch (const std::exception &e) {
            err << "kforge tune: " << e.what() << "\n";
        }
        sayNotes();
        if (left > 0)
            err << "kforge tune: " << left << " record" << (left == 1 ? "" : "s") << " still wait in the journal for "
                << db->path() << "; the next `kforge tune --db " << db->path() << "` pushes them\n";
    }
    progress.done(plans.size(), measuredTotal, failedTotal, since(start));
    return 0;
}

}  // namespace kf::autotune
