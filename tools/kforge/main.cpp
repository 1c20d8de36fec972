// kforge: the command-line front of the flow in DESIGN.md.
//   kforge check FILE                         parse + check, report diagnostics
//   kforge lower FILE --target T --emit=...   print the spec, lowered Halide stmt or assembly
//   kforge emit FILE --target T... -o DIR     static library + C header
//   kforge targets                            the target registry, marked for this machine
#include <CLI/CLI.hpp>
#include <Halide.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "codegen/emit/Emit.h"
#include "dsl/Load.h"
#include "dsl/SpecJson.h"
#include "targets/Target.h"

namespace fs = std::filesystem;
using namespace kf;

namespace {

std::vector<std::string> targetNames() {
    std::vector<std::string> names;
    for (const auto *t : targets::all()) names.emplace_back(t->name);
    return names;
}

// Loads and checks FILE; prints diagnostics to stderr. Empty on failure.
std::optional<dsl::Module> load(const std::string &file) {
    dsl::LoadResult r = dsl::loadFile(file, dsl::CheckOptions{targetNames()});
    for (const auto &d : r.diagnostics) std::cerr << d.render() << "\n";
    if (!r.ok()) return std::nullopt;
    return std::move(r.module);
}

// "host" -> the best target this machine runs; otherwise a registry name.
const targets::TargetInfo *resolveTarget(const std::string &name) {
    if (name == "host") {
        const targets::TargetInfo *t = targets::bestHostTarget();
        if (!t) throw codegen::CodegenError("no registered target runs on this machine");
        return t;
    }
    const targets::TargetInfo *t = targets::find(name);
    if (!t) throw codegen::CodegenError("unknown target '" + name + "'; known targets: " + targets::knownNames() + ", host");
    return t;
}

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int cmdCheck(const std::string &file) {
    auto module = load(file);
    if (!module) return 1;
    for (const auto &k : module->kernels) std::cout << "ok: " << k.name << " : " << dsl::toString(k.family) << "\n";
    for (const auto &s : module->schedules) {
        std::cout << "ok: schedule " << s.kernel << " for " << s.target;
        if (s.bucket != dsl::Bucket::Any) std::cout << " bucket=" << dsl::toString(s.bucket);
        std::cout << "\n";
    }
    return 0;
}

int cmdLower(const std::string &file, const std::string &target, const std::string &emit, const std::string &kernel) {
    auto module = load(file);
    if (!module) return 1;
    if (emit == "spec") {
        std::cout << dsl::toJson(*module) << "\n";
        return 0;
    }
    const targets::TargetInfo *t = resolveTarget(target);
    const fs::path tmp = fs::temp_directory_path() / ("kforge-lower-" + std::to_string(getpid()));
    fs::create_directories(tmp);
    int printed = 0;
    for (const auto &k : module->kernels) {
        if (!kernel.empty() && k.name != kernel) continue;
        for (codegen::LoweredVariant &v : codegen::lowerKernel(*module, k, *t)) {
            std::cout << "// kernel " << k.name << " -> " << v.symbol << " (" << t->halideTarget
                      << (v.bucket == dsl::Bucket::Any ? "" : std::string(", bucket=") + dsl::toString(v.bucket))
                      << ")\n";
            const fs::path out = tmp / (v.symbol + (emit == "asm" ? ".s" : ".stmt"));
            if (emit == "asm")
                v.pipeline.compile_to_assembly(out.string(), v.args, v.symbol, codegen::halideTarget(*t));
            else
                v.pipeline.compile_to_lowered_stmt(out.string(), v.args, Halide::StmtOutputFormat::Text,
                                                   codegen::halideTarget(*t));
            std::cout << slurp(out);
            ++printed;
        }
    }
    fs::remove_all(tmp);
    if (!printed) throw codegen::CodegenError("no kernel named '" + kernel + "' in " + file);
    return 0;
}

int cmdEmit(const std::string &file, const std::vector<std::string> &targetArgs, const std::string &outDir,
            const std::string &name, bool timePasses) {
    auto module = load(file);
    if (!module) return 1;
    codegen::EmitOptions opt;
    opt.outDir = outDir;
    opt.libName = name.empty() ? codegen::libNameFromPath(file) : name;
    opt.timePasses = timePasses;
    for (const auto &n : targetArgs) {
        const targets::TargetInfo *t = resolveTarget(n);
        if (std::find(opt.targets.begin(), opt.targets.end(), t) == opt.targets.end()) opt.targets.push_back(t);
    }
    const auto arch = opt.targets.empty() ? targets::Arch::X86_64 : opt.targets.front()->arch;
    codegen::emitLibrary(*module, opt, codegen::toolchainFor(arch), std::cerr);
    return 0;
}

int cmdTargets() {
    const targets::TargetInfo *best = targets::bestHostTarget();
    std::printf("%-20s %-6s %-5s %-10s %s\n", "target", "host", "bits", "runs here", "description");
    for (const auto *t : targets::all()) {
        const char *how = t->runsHere == targets::RunsHere::Native ? "native"
                          : t->runsHere == targets::RunsHere::Qemu ? "qemu"
                                                                   : "lent GPU";
        std::printf("%-20s %-6s %-5d %-10s %s%s\n", t->name, t->hostSupports() ? "yes" : "no", t->vectorBits, how,
                    t->description, t == best ? "  [host]" : "");
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"kforge: kernel generator for compressed LLMs (DSL -> Halide -> emitted C library)"};
    app.require_subcommand(1);

    std::string file, target = "host", emitKind = "spec", kernel, outDir, libName;
    std::vector<std::string> targetList;
    bool timePasses = false;

    auto *check = app.add_subcommand("check", "Parse and check a kernel file; print its kernels and schedules");
    check->add_option("file", file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);

    auto *lower = app.add_subcommand("lower", "Print a kernel file lowered for one target");
    lower->add_option("file", file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);
    lower->add_option("--target,-t", target, "target name or 'host'")->capture_default_str();
    lower->add_option("--emit", emitKind, "spec (typed spec as JSON), stmt (Halide lowered IR) or asm")
        ->check(CLI::IsMember({"spec", "stmt", "asm"}))
        ->capture_default_str();
    lower->add_option("--kernel,-k", kernel, "only this kernel");

    auto *emit = app.add_subcommand("emit", "Compile a kernel file into a static library + C header");
    emit->add_option("file", file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);
    emit->add_option("--target,-t", targetList, "target names (repeatable) or 'host'")->required();
    emit->add_option("-o,--output", outDir, "output directory")->required();
    emit->add_option("--name", libName, "library name (default: the file's stem)");
    emit->add_flag("--time-passes", timePasses, "print the time of each emit stage");

    app.add_subcommand("targets", "List registered targets and which this machine runs");

    CLI11_PARSE(app, argc, argv);
    try {
        if (*check) return cmdCheck(file);
        if (*lower) return cmdLower(file, target, emitKind, kernel);
        if (*emit) return cmdEmit(file, targetList, outDir, libName, timePasses);
        return cmdTargets();
    } catch (const codegen::CodegenError &e) {
        std::cerr << "error: " << e.what() << "\n";
    } catch (const Halide::CompileError &e) {
        std::cerr << "error: Halide: " << e.what() << "\n";
    } catch (const Halide::InternalError &e) {
        std::cerr << "internal error: Halide: " << e.what() << "\n";
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
    }
    return 1;
}
