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

// The packed layout a schedule gives the kernel on the target (lowering only,
// no compile): the target's bucket-any variant of a module of that kernel
// and schedule. Layouts compare with codegen::sameLayout, the family's one rule.
codegen::LoweredVariant layoutOf(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule,
                                 const targets::TargetInfo &target) {
    dsl::Module one;
    one.kernels = {kernel};
    one.schedules = {asBucketAny(schedule)};
    return codegen::lowerKernel(one, one.kernels[0], target).at(0);
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
            // This machine's records; a pair it has none of takes the machine with the most.
            std::map<std::string, int> perMachine;
            for (const Record &r : db.records(spec, target->name))
                if (r.status == "ok") ++perMachine[r.machine];
            std::string from = machine;
            if (!perMachine.count(machine) && !perMachine.empty()) {
                from = std::max_element(perMachine.begin(), perMachine.end(), [](const auto &a, const auto &b) {
                           return a.second < b.second;
                       })->first;
                out.notes.push_back(kernel.name + " " + target->name + ": records from another machine");
            }

            // Candidates per bucket, best first (Database::ranked: what `kforge db best` shows first), that
            // parse and lower.
            struct Choice {
                Record record;
                dsl::Schedule schedule;
                codegen::LoweredVariant layout;
            };
            std::map<std::string, std::vector<Choice>> choices;
            for (const dsl::BucketDef &b : dsl::bucketDefs()) {
                if (b.bucket == dsl::Bucket::Any) continue;
                for (Record &r : db.ranked(spec, target->name, b.name, from)) {
                    try {
                        dsl::Schedule s = recordSchedule(module, kernel, r);
                        codegen::LoweredVariant v = layoutOf(kernel, s, *target);
                        choices[b.name].push_back({std::move(r), std::move(s), std::move(v)});
                    } catch (const std::exception &e) {
                        out.notes.push_back(kernel.name + " " + target->name + ": record " + r.key.substr(0, 12) +
                                            " skipped: " + e.what());
                    }
                }
            }
            auto bestOf = [&](const std::string &bucket,
                              const std::optional<codegen::LoweredVariant> &layout) -> const Choice * {
                for (const Choice &c : choices[bucket])
                    if (!layout || codegen::sameLayout(kernel, c.layout, *layout)) return &c;
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
            std::optional<codegen::LoweredVariant> layout;
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
                out.tuned.push_back(kernel.name + " " + target->name + " decode <- " + decode->record.symbol + " (" +
                                    fmtRatio(decode->record.rooflineRatio) + " of roofline)");
            for (const dsl::BucketDef &def : dsl::bucketDefs()) {
                if (def.bucket == dsl::Bucket::Any || def.bucket == dsl::Bucket::Decode) continue;
                const std::string name = def.name;
                const dsl::Bucket bucket = def.bucket;
                const Choice *c = bestOf(name, layout);
                if (!c) {
                    if (bestOf(name, std::nullopt))
                        out.notes.push_back(kernel.name + " " + target->name + " " + name +
                                            ": no record with the decode bucket's packed layout");
                    // A file schedule of another layout would not lower with the tuned bucket-any one.
                    auto it = fileSchedule(bucket);
                    if (it != schedules.end() && !codegen::sameLayout(kernel, layoutOf(kernel, *it, *target), *layout)) {
                        out.notes.push_back(kernel.name + " " + target->name + " " + name +
                                            ": the file's schedule packs differently from the tuned one; dropped");
                        schedules.erase(it);
                    }
                    continue;
                }
                put(bucket, c->schedule);
                any = true;
                out.tuned.push_back(kernel.name + " " + target->name + " " + name + " <- " + c->record.symbol + " (" +
                                    fmtRatio(c->record.rooflineRatio) + " of roofline)");
            }
            if (!any) out.untuned.push_back(kernel.name + " " + target->name);
        }
    }
    return out;
}

}  // namespace kf::autotune
