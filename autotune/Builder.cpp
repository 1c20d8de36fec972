#include "autotune/Builder.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "autotune/TunedModule.h"
#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "codegen/emit/Emit.h"
#include "dsl/Load.h"

namespace kf::autotune {

namespace fs = std::filesystem;

namespace {

const char *kLibName = "cand";

std::string tail(const std::string &text, std::size_t n) {
    return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

}  // namespace

Builder::Builder(std::string workDir, std::vector<std::string> kforge, int jobs)
    : workDir_(std::move(workDir)), kforge_(std::move(kforge)),
      jobs_(jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
    fs::create_directories(workDir_);
}

std::vector<BuiltCandidate> Builder::build(const Task &task, const std::vector<std::string> &schedules) {
    std::vector<BuiltCandidate> out(schedules.size());
    std::vector<std::string> dirs(schedules.size());
    for (std::size_t i = 0; i < schedules.size(); ++i) {
        dirs[i] = (fs::path(workDir_) / ("c" + std::to_string(next_++))).string();
        fs::remove_all(dirs[i]);
        fs::create_directories(dirs[i]);
        std::ofstream(fs::path(dirs[i]) / "schedule.kf") << schedules[i];
    }
    const std::string runtime =
        (fs::path(workDir_) / ("halide_runtime_" + std::to_string(static_cast<int>(task.target->arch)) + ".o")).string();
    tbb::task_arena arena(jobs_);
    arena.execute([&] {
        tbb::parallel_for(std::size_t{0}, schedules.size(), [&](std::size_t i) {
            const auto t0 = std::chrono::steady_clock::now();
            std::vector<std::string> argv = kforge_;
            argv.insert(argv.end(), {"tune-build", task.module->file, task.kernel->name,
                                     (fs::path(dirs[i]) / "schedule.kf").string(), task.target->name, dirs[i],
                                     runtime});
            std::string output;
            const int rc = codegen::runCommand(argv, output);
            BuiltCandidate &c = out[i];
            c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            c.directory = dirs[i];
            const fs::path lib = fs::path(dirs[i]) / "lib" / ("libkforge_" + std::string(kLibName) + ".so");
            std::istringstream lines(output);
            for (std::string line; std::getline(lines, line);)
                if (line.rfind("symbol ", 0) == 0) c.symbol = line.substr(7);
            if (rc != 0 || !fs::exists(lib) || c.symbol.empty()) {
                c.error = "build failed (exit " + std::to_string(rc) + "): " + tail(output, 2000);
                return;
            }
            c.library = lib.string();
            c.accessor = "kf_" + std::string(kLibName) + "_" + task.kernel->name;
        });
    });
    return out;
}

void Builder::discard(const BuiltCandidate &candidate) {
    std::error_code ec;
    if (!candidate.directory.empty()) fs::remove_all(candidate.directory, ec);
}

int buildMain(const std::string &kernelFile, const std::string &kernelName, const std::string &scheduleFile,
              const std::string &targetName, const std::string &outDir, const std::string &runtimeObject,
              std::ostream &out, std::ostream &err) {
    try {
        const targets::TargetInfo *target = targets::find(targetName);
        if (!target) throw codegen::CodegenError("unknown target '" + targetName + "'");
        dsl::LoadResult file = dsl::loadFile(kernelFile, {});
        if (!file.ok()) throw codegen::CodegenError(kernelFile + ": does not load (run `kforge check` on it)");
        const dsl::KernelSpec *kernel = file.module->findKernel(kernelName);
        if (!kernel) throw codegen::CodegenError(kernelFile + ": no kernel '" + kernelName + "'");
        std::ifstream in(scheduleFile);
        std::stringstream text;
        text << in.rdbuf();
        const dsl::Schedule schedule = parseSchedule(*file.module, text.str(), scheduleFile);
        dsl::Module one;
        one.file = kernelFile;
        one.kernels = {*kernel};
        // The candidate serves its bucket; every library also has a bucket-any
        // variant (asBucketAny: same packed layout). Equal schedules compile once.
        one.schedules = {asBucketAny(schedule)};
        if (schedule.bucket != dsl::Bucket::Any) one.schedules.push_back(schedule);
        std::string symbol;
        for (const auto &v : codegen::lowerKernel(one, one.kernels[0], *target))
            if (v.bucket == schedule.bucket) symbol = v.symbol;
        codegen::EmitOptions options;
        options.outDir = outDir;
        options.libName = kLibName;
        options.targets = {target};
        options.runtimeObject = runtimeObject;
        options.sharedLibrary = true;
        std::ostringstream log;
        codegen::emitLibrary(one, options, codegen::toolchainFor(target->arch), log);
        out << "symbol " << symbol << "\n";
        return 0;
    } catch (const std::exception &e) {
        err << "kforge tune-build: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace kf::autotune
