#include "codegen/backends/halide/HalideBackend.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "codegen/CodegenError.h"

namespace kf::codegen::halide {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Halide target of a library's one runtime object: the architecture's
// baseline, since the runtime (allocation, errors, threads) must run on every
// CPU the library's dispatch may pick.
const char *baselineTarget(targets::Arch arch) {
    return arch == targets::Arch::Arm64 ? "arm-64-linux" : "x86-64-linux";
}

std::vector<std::string> runtimeObjects(const std::vector<const targets::TargetInfo *> &targets,
                                        const std::string &objDir, const std::string &reuse) {
    if (targets.empty()) return {};
    const std::string path = reuse.empty() ? (fs::path(objDir) / "halide_runtime.o").string() : reuse;
    if (reuse.empty() || !fs::exists(path)) {
        // Written under another name and renamed: parallel builds may share the path.
        const std::string tmp = path + ".tmp" + std::to_string(::getpid());
        Halide::compile_standalone_runtime(tmp, Halide::Target(baselineTarget(targets.front()->arch)));
        fs::rename(tmp, path);
    }
    return {path};
}

}  // namespace

Halide::Target halideTarget(const targets::TargetInfo &target, bool withRuntime) {
    if (!target.halideTarget)
        throw CodegenError(std::string("target ") + target.name + " has no Halide target string");
    Halide::Target t(target.halideTarget);
    if (!withRuntime) t = t.with_feature(Halide::Target::NoRuntime);
    return t;
}

void HalideKernel::compileToObject(const std::string &path, const std::string &symbol,
                                   const targets::TargetInfo &target) const {
    pipeline_.compile_to_object(path, args_, symbol, halideTarget(target));
}

std::string HalideKernel::dump(const std::string &kind, const std::string &symbol,
                               const targets::TargetInfo &target) const {
    // Halide writes the dump to a path: a directory of our own (mkdtemp), so
    // no name in the shared temporary directory is opened for writing.
    std::string dir = (fs::temp_directory_path() / "kforge-dump-XXXXXX").string();
    if (!mkdtemp(dir.data())) throw CodegenError("cannot create a temporary directory " + dir);
    struct Cleanup {
        fs::path p;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(p, ec);
        }
    } cleanup{dir};
    const fs::path tmp = fs::path(dir) / (symbol + (kind == "asm" ? ".s" : ".stmt"));
    if (kind == "asm")
        pipeline_.compile_to_assembly(tmp.string(), args_, symbol, halideTarget(target));
    else if (kind == "stmt")
        pipeline_.compile_to_lowered_stmt(tmp.string(), args_, Halide::StmtOutputFormat::Text, halideTarget(target));
    else
        throw CodegenError("the halide backend dumps stmt or asm, not '" + kind + "'");
    return slurp(tmp);
}

const Backend &backend() {
    static const Backend b{"halide", {"stmt", "asm"}, runtimeObjects, "libkforge_halide_bridge.a"};
    return b;
}

}  // namespace kf::codegen::halide
