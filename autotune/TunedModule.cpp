#include "autotune/TunedModule.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "codegen/Lowering.h"
#include "dsl/Load.h"

namespace kf::autotune {

dsl::Schedule parseSchedule(const dsl::Module &module, const std::string &text, const std::string &name) {
    dsl::CheckOptions options;
    options.context = &module;
    dsl::LoadResult r = dsl::loadString(text, name, options);
    if (!r.ok() || r.module->schedules.size() != 1) {
        std::string msg = name;
        msg += ": not one schedule of this kernel file";
        for (const auto &d : r.diagnostics) {
            msg += '\n';
            msg += d.render();
        }
        throw std::runtime_error(msg);
    }
    return r.module->schedules[0];
}

dsl::Schedule recordSchedule(const dsl::Module &module, const dsl::KernelSpec &kernel, const Record &record) {
    std::string text = record.schedule;
    const std::string head = "schedule " + record.kernel + " ";
    if (text.rfind(head, 0) == 0) {
        std::string renamed = "schedule ";
        renamed += kernel.name;
        renamed += ' ';
        renamed += text.substr(head.size());
        text = std::move(renamed);
    }
    return parseSchedule(module, text, "record " + record.key.substr(0, 12));
}

dsl::Schedule asBucketAny(dsl::Schedule schedule) {
    schedule.bucket = dsl::Bucket::Any;
    schedule.tune.reset();
    std::erase_if(schedule.directives, [](const dsl::Directive &d) {
        return d.kind == dsl::Directive::Kind::Split && d.vars == std::vector<std::string>{"m"};
    });
    return schedule;
}

namespace {

struct Layout {
    int interleave, kAlign, kBlock;
    bool operator==(const Layout &) const = default;
};

// The packed layout a schedule gives the kernel on the target (lowering only, no compile).
Layout layoutOf(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    dsl::Module one;
    one.kernels = {kernel};
    one.schedules = {asBucketAny(schedule)};
    const auto v = codegen::lowerKernel(one, one.kernels[0], target).at(0);
    return {v.layout.interleave, v.layout.kAlign, v.layout.kBlock};
}

std::string fmtRatio(double r) {
    std::ostringstream s;
    s.precision(2);
    s << std::fixed << r;
    return s.str();
}

}  // namespace

TuningApplied applyTuning(dsl::Module &module, const std::vector<const targets::TargetInfo *> &targets,
                          const Database &db, const std::string &machine) {
    TuningApplied out;
    for (const dsl::KernelSpec &kernel : module.kernels) {
        const std::string spec = specHash(kernel);
        for (const targets::TargetInfo *target : targets) {
            // Ok records of this spec and target, best first, this machine's before others'.
            std::vector<Record> records;
            for (Record &r : db.records(spec, target->name))
                if (r.status == "ok") records.push_back(std::move(r));
            const bool local = std::any_of(records.begin(), records.end(), [&](const Record &r) { return r.machine == machine; });
            if (local)
                std::erase_if(records, [&](const Record &r) { return r.machine != machine; });
            else if (!records.empty())
                out.notes.push_back(kernel.name + " " + target->name + ": records from another machine");
            // As Database::best(): per bucket, the shape with the most ok records, fastest first.
            std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, int> perShape;
            for (const Record &r : records) ++perShape[{r.bucket, r.m, r.n, r.k}];
            std::map<std::string, std::tuple<int64_t, int64_t, int64_t>> shapeOf;
            std::map<std::string, int> most;
            for (const auto &[key, count] : perShape) {
                const std::string &bucket = std::get<0>(key);
                if (count > most[bucket]) {
                    most[bucket] = count;
                    shapeOf[bucket] = {std::get<1>(key), std::get<2>(key), std::get<3>(key)};
                }
            }
            std::erase_if(records, [&](const Record &r) {
                return shapeOf[r.bucket] != std::make_tuple(r.m, r.n, r.k);
            });
            std::stable_sort(records.begin(), records.end(),
                             [](const Record &a, const Record &b) { return a.seconds < b.seconds; });

            // Candidates per bucket that parse and lower.
            struct Choice {
                const Record *record;
                dsl::Schedule schedule;
                Layout layout;
            };
            std::vector<Choice> choices;
            for (const Record &r : records) {
                try {
                    dsl::Schedule s = recordSchedule(module, kernel, r);
                    choices.push_back({&r, s, layoutOf(kernel, s, *target)});
                } catch (const std::exception &e) {
                    out.notes.push_back(kernel.name + " " + target->name + ": record " + r.key.substr(0, 12) +
                                        " skipped: " + e.what());
                }
            }
            auto bestOf = [&](const std::string &bucket, const std::optional<Layout> &layout) -> const Choice * {
                for (const Choice &c : choices)
                    if (c.record->bucket == bucket && (!layout || c.layout == *layout)) return &c;
                return nullptr;
            };

            auto &schedules = module.schedules;
            auto fileSchedule = [&](dsl::Bucket b) {
                return std::find_if(schedules.begin(), schedules.end(), [&](const dsl::Schedule &s) {
                    return s.kernel == kernel.name && s.target == target->name && s.bucket == b;
                });
            };
            auto put = [&](dsl::Bucket b, dsl::Schedule s) {
                s.bucket = b;
                s.kernel = kernel.name;
                s.target = target->name;
                s.tune.reset();
                auto it = fileSchedule(b);
                if (it != schedules.end()) *it = std::move(s);
                else schedules.push_back(std::move(s));
            };

            const Choice *decode = bestOf("decode", std::nullopt);
            std::optional<Layout> layout;
            if (decode) {
                layout = decode->layout;
                put(dsl::Bucket::Any, decode->schedule);
                put(dsl::Bucket::Decode, decode->schedule);
            } else {
                auto it = fileSchedule(dsl::Bucket::Any);
                dsl::Schedule defaults;
                defaults.kernel = kernel.name;
                defaults.target = target->name;
                layout = layoutOf(kernel, it != schedules.end() ? *it : defaults, *target);
            }
            bool any = decode != nullptr;
            if (decode)
                out.tuned.push_back(kernel.name + " " + target->name + " decode <- " + decode->record->symbol + " (" +
                                    fmtRatio(decode->record->rooflineRatio) + " of roofline)");
            for (auto [name, bucket] : {std::pair{"small", dsl::Bucket::SmallBatch}, std::pair{"prefill", dsl::Bucket::Prefill}}) {
                const Choice *c = bestOf(name, layout);
                if (!c) {
                    if (bestOf(name, std::nullopt))
                        out.notes.push_back(kernel.name + " " + target->name + " " + name +
                                            ": no record with the decode bucket's packed layout");
                    // A file schedule of another layout would not lower with the tuned bucket-any one.
                    auto it = fileSchedule(bucket);
                    if (it != schedules.end() && layoutOf(kernel, *it, *target) != *layout) {
                        out.notes.push_back(kernel.name + " " + target->name + " " + name +
                                            ": the file's schedule packs differently from the tuned one; dropped");
                        schedules.erase(it);
                    }
                    continue;
                }
                put(bucket, c->schedule);
                any = true;
                out.tuned.push_back(kernel.name + " " + target->name + " " + name + " <- " + c->record->symbol + " (" +
                                    fmtRatio(c->record->rooflineRatio) + " of roofline)");
            }
            if (!any) out.untuned.push_back(kernel.name + " " + target->name);
        }
    }
    return out;
}

}  // namespace kf::autotune
