#include "dsl/Checker.h"

#include "dsl/ScheduleChecker.h"
#include "dsl/families/Family.h"
#include "dsl/families/StatementReader.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace kf::dsl {

namespace {

std::string at(const SourceLoc &loc) { return "line " + std::to_string(loc.line); }

// Kernel names become parts of C identifiers (kf_<lib>_<name> in the emitted
// header, the glue's tables): the DSL's words allow inner hyphens (for
// target names), a kernel name does not, and its length is bounded.
void checkKernelName(const KernelDecl &k, DiagnosticSink &sink) {
    if (k.name.size() > kMaxKernelName) {
        sink.error(k.nameLoc, "kernel name '" + elided(k.name) + "' is too long: at most " +
                                  std::to_string(kMaxKernelName) + " characters (it becomes part of C function names)");
    } else if (k.name.find('-') != std::string::npos) {
        std::string fixed = k.name;
        std::replace(fixed.begin(), fixed.end(), '-', '_');
        sink.error(k.nameLoc, "kernel name '" + k.name +
                                  "' is not a C identifier ('-'): it names the C function kf_<lib>_<name>; use '" +
                                  fixed + "'");
    }
}

std::optional<Bucket> readBucket(const ScheduleDecl &decl, DiagnosticSink &sink) {
    if (!decl.bucket) return Bucket::Any;
    if (std::optional<Bucket> b = bucketNamed(*decl.bucket)) return b;
    std::string expected;
    for (const BucketDef &d : bucketDefs()) expected += (expected.empty() ? "" : ", ") + describeBucket(d.bucket);
    sink.error(decl.bucketLoc, "unknown bucket '" + *decl.bucket + "'; expected one of " + expected);
    return std::nullopt;
}

}  // namespace

Module checkModule(const FileAst &ast, const std::string &fileName, const CheckOptions &options,
                   DiagnosticSink &sink) {
    Module module;
    module.file = fileName;
    if (ast.kernels.empty() && ast.schedules.empty() && !sink.hasErrors())
        sink.error(SourceLoc{fileName, 0, 0},
                   "no kernels in file; expected 'kernel <name> : <family> { ... }' with <family> one of " +
                       familyNames());

    // Kernels. `declared` keeps every well-formed kernel name, even one whose
    // body had errors, so that its schedules are still checked and not reported
    // as naming an undeclared kernel.
    struct Declared {
        const KernelDecl *decl;
        const FamilyDef *family;
        std::optional<FamilyParams> params;
    };
    std::map<std::string, Declared> declared;
    if (options.context)
        for (const KernelSpec &k : options.context->kernels)
            declared[k.name] = Declared{nullptr, findFamily(toString(k.family)), k.params};
    for (const auto &k : ast.kernels) {
        checkKernelName(k, sink);
        const FamilyDef *family = findFamily(k.family);
        if (!family)
            sink.error(k.familyLoc, "unknown kernel family '" + k.family + "'; expected one of " + familyNames());
        auto prev = declared.find(k.name);
        if (prev != declared.end())
            sink.error(k.nameLoc, "duplicate kernel '" + elided(k.name) + "' (first defined " +
                                      (prev->second.decl ? "at " + at(prev->second.decl->nameLoc) : "in the kernel file") +
                                      ")");
        // An unterminated body has already been reported; checking it would add
        // noise about statements that are merely cut off.
        if (!family || !k.body.closed) {
            if (prev == declared.end()) declared[k.name] = Declared{&k, family, std::nullopt};
            continue;
        }
        size_t before = sink.errorCount();
        FamilyParams params = family->checkKernel(k, sink);
        if (prev != declared.end()) continue;
        bool ok = sink.errorCount() == before;
        declared[k.name] = Declared{&k, family, ok ? std::optional<FamilyParams>(params) : std::nullopt};
        if (ok) module.kernels.push_back(KernelSpec{k.name, family->family, std::move(params), k.nameLoc});
    }

    // Schedules.
    std::vector<std::string> kernelNames;
    for (const auto &[name, d] : declared) kernelNames.push_back(name);
    std::map<std::tuple<std::string, std::string, Bucket>, SourceLoc> seen;
    for (const auto &s : ast.schedules) {
        bool headerOk = true;
        auto k = declared.find(s.kernel);
        if (k == declared.end()) {
            std::string msg = "schedule for undeclared kernel '" + s.kernel + "'";
            std::string near = sink.full() ? std::string() : closestName(s.kernel, kernelNames);
            if (!near.empty()) msg += "; did you mean '" + near + "'?";
            else if (!kernelNames.empty()) msg += "; declared kernels: " + joinNames(kernelNames, 8);
            sink.error(s.kernelLoc, msg);
            headerOk = false;
        }
        const auto &targets = options.knownTargets;
        if (!targets.empty() && std::find(targets.begin(), targets.end(), s.target) == targets.end()) {
            sink.error(s.targetLoc, "unknown target '" + s.target + "'; known targets: " + joinNames(targets));
            headerOk = false;
        }
        auto bucket = readBucket(s, sink);
        if (!bucket) headerOk = false;
        if (headerOk) {
            auto key = std::make_tuple(s.kernel, s.target, *bucket);
            auto prev = seen.find(key);
            if (prev != seen.end()) {
                sink.error(s.kernelLoc, "duplicate schedule for kernel '" + s.kernel + "' on target '" + s.target +
                                            "' bucket=" + toString(*bucket) + " (first at " + at(prev->second) + ")");
                headerOk = false;
            } else {
                seen.emplace(key, s.kernelLoc);
            }
        }
        if (k == declared.end() || !k->second.family || !s.body.closed) continue;
        Schedule sched;
        sched.kernel = s.kernel;
        sched.target = s.target;
        sched.bucket = bucket.value_or(Bucket::Any);
        sched.loc = s.kernelLoc;
        const FamilyParams *params = k->second.params ? &*k->second.params : nullptr;
        checkScheduleBody(s, *k->second.family, params, sched, sink, options.knownBackends);
        if (headerOk) module.schedules.push_back(std::move(sched));
    }
    return module;
}

}  // namespace kf::dsl
