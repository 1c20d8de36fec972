#include "codegen/emit/Emit.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "dsl/Diagnostics.h"
#include "dsl/Spec.h"

namespace kf::codegen {

namespace fs = std::filesystem;

namespace {

// Stage timer for --time-passes: the emit flow is a linear list of stages.
class StageTimer {
  public:
    StageTimer(bool enabled, std::ostream &log) : enabled_(enabled), log_(log) {}
    template <typename F>
    void run(const std::string &name, F &&f) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        if (enabled_) {
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            log_ << "time: " << name << ": " << ms << " ms\n";
        }
    }

  private:
    bool enabled_;
    std::ostream &log_;
};

void runTool(const std::vector<std::string> &argv, const std::string &what, const std::string &stdinPath = "") {
    std::string output;
    const int rc = runCommand(argv, output, stdinPath);
    if (rc != 0) {
        std::string cmd;
        for (const auto &a : argv) cmd += (cmd.empty() ? "" : " ") + a;
        throw CodegenError(what + " failed (exit " + std::to_string(rc) + "): " + cmd + "\n" + output);
    }
}

// `tmp` renamed over `path` (removed when that fails).
void moveIntoPlace(const fs::path &tmp, const fs::path &path) {
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw CodegenError("cannot write " + path.string() + ": " + ec.message());
    }
}

fs::path tempBeside(const fs::path &path) { return path.string() + ".kforge-tmp-" + std::to_string(getpid()); }

// Written to a temporary name beside `path`, then renamed into place: a
// failed emit leaves the previous file whole.
void writeFile(const fs::path &path, const std::string &text) {
    const fs::path tmp = tempBeside(path);
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        out.flush();
        if (!out) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw CodegenError("cannot write " + path.string());
        }
    }
    moveIntoPlace(tmp, path);
}

// User-written text (the kernel file's path, a matrix file's path in a
// kernel's description) for a generated comment or description: control
// characters become '?', and "*/" cannot end a C comment.
std::string printablePath(const std::string &path) {
    std::string s;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(path[i]);
        if (c < 0x20 || c == 0x7f) s += '?';
        else if (c == '*' && i + 1 < path.size() && path[i + 1] == '/') s += "* ";
        else s += path[i];
    }
    return s;
}

// A value for a pkg-config file: '$' and '#' escaped, spaces kept in one
// argument (pkg-config splits Cflags / Libs as a shell would).
std::string pkgConfigValue(const std::string &text, bool inFlags) {
    std::string s;
    for (char c : text) {
        if (c == '$') s += "$$";
        else if (c == '#') s += "\\#";
        else if (c == ' ' && inFlags) s += "\\ ";
        else s += c;
    }
    return s;
}

// A C identifier of at most 64 characters (a library name becomes part of
// kf_<lib>_* functions, of file names and of the CMake target kforge::<lib>).
bool isCIdentifier(const std::string &name) {
    if (name.empty() || name.size() > 64 || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// What the output directory may not hold: characters the emitted pkg-config
// and CMake files cannot carry in a path.
void checkOutputDir(const fs::path &dir) {
    const std::string p = fs::absolute(dir).string();
    for (char c : p) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '"' || c == '\\' || c == '`')
            throw CodegenError("-o " + printablePath(dir.string()) +
                               ": the output directory's path holds a character (a control character, '\"', '\\' or "
                               "'`') that the emitted pkg-config and CMake files cannot carry; choose another directory");
    }
}

// The archive: ar's MRI script language has no quoting (';' starts a
// comment, a space ends a name), so ar reads links with plain names in a
// private temporary directory, and the result is renamed into place.
void buildArchive(const std::string &ar, const std::vector<std::string> &archives, const std::vector<std::string> &objects,
                  const fs::path &archive) {
    std::string tmpl = (fs::temp_directory_path() / "kforge-ar-XXXXXX").string();
    for (char c : tmpl)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' && c != '.')
            throw CodegenError("the temporary directory " + printablePath(fs::temp_directory_path().string()) +
                               " has a character ar's script cannot hold; set TMPDIR to a plain path");
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw CodegenError("cannot create a temporary directory in " + fs::temp_directory_path().string());
    const fs::path dir(buf.data());
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{dir};
    auto link = [&](const std::string &target, const std::string &name) {
        const fs::path l = dir / name;
        fs::create_symlink(fs::absolute(target), l);
        return l.string();
    };
    std::ostringstream mri;
    const fs::path merged = dir / "merged.a";
    mri << "create " << merged.string() << "\n";
    for (std::size_t i = 0; i < archives.size(); ++i) mri << "addlib " << link(archives[i], "r" + std::to_string(i) + ".a") << "\n";
    for (std::size_t i = 0; i < objects.size(); ++i) {
        // The member keeps its object's name when that is plain (kernel symbols are).
        const std::string base = fs::path(objects[i]).filename().string();
        const bool plain = std::all_of(base.begin(), base.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
        });
        mri << "addmod " << link(objects[i], plain ? base : "m" + std::to_string(i) + ".o") << "\n";
    }
    mri << "save\nend\n";
    const fs::path script = dir / "merge.mri";
    writeFile(script, mri.str());
    runTool({ar, "-M"}, "merging archives with ar", script.string());
    // Copied beside the destination (the temporary directory may be on
    // another file system), then renamed over it.
    const fs::path tmp = tempBeside(archive);
    std::error_code ec;
    fs::copy_file(merged, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) throw CodegenError("cannot write " + archive.string() + ": " + ec.message());
    moveIntoPlace(tmp, archive);
}

struct KernelVariants {
    const dsl::KernelSpec *kernel;
    const FamilyCodegen *family;
    std::vector<LoweredVariant> variants;
};

// A C string literal of `text` (kernel names, symbols and target names are
// identifiers, but nothing user-written goes into generated code unescaped).
std::string quoted(const std::string &text) {
    std::string s = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') s += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\%03o", static_cast<unsigned char>(c));
            s += esc;
            continue;
        }
        s += c;
    }
    return s + "\"";
}

const BackendLowering &loweringOf(const KernelVariants &kv, const LoweredVariant &v) {
    for (const BackendLowering &l : kv.family->lowerings)
        if (v.backend && v.backend->name == std::string_view(l.backend)) return l;
    throw CodegenError(std::string("no ") + (v.backend ? v.backend->name : "?") + " lowering of " +
                       dsl::toString(kv.kernel->family) + " for the glue of " + v.symbol);
}

// The generated glue: per kernel (identified by its index, k<i>, whatever its
// name) the family's spec, per variant the family's data and entry through
// the backend's bridge; then the generic variant tables, kernel defs and the
// accessors of kforge_<lib>.h.
std::string glueSource(const std::string &lib, const std::string &file, const std::vector<KernelVariants> &kernels) {
    std::ostringstream s;
    s << "// Generated by kforge emit from " << printablePath(file) << ". Do not edit.\n";
    std::set<std::string> includes{"kforge/detail/Kernel.h"};
    for (const auto &kv : kernels)
        for (const auto &v : kv.variants)
            for (const std::string &inc : loweringOf(kv, v).glueIncludes) includes.insert(inc);
    for (const std::string &inc : includes) s << "#include \"" << inc << "\"\n";
    s << "\nnamespace {\n";
    for (size_t k = 0; k < kernels.size(); ++k) {
        const auto &kv = kernels[k];
        const std::string id = "k" + std::to_string(k);
        const GlueText spec = kv.family->glueSpec(*kv.kernel, id);
        s << "\n// kernel " << kv.kernel->name << "\n" << spec.definitions;
        std::vector<GlueText> vars;
        for (size_t i = 0; i < kv.variants.size(); ++i) {
            vars.push_back(loweringOf(kv, kv.variants[i]).glue(*kv.kernel, kv.variants[i], id + "_" + std::to_string(i)));
            s << vars.back().definitions;
        }
        s << "const kf::rt::Variant kVariants_" << id << "[] = {\n";
        for (size_t i = 0; i < kv.variants.size(); ++i) {
            const LoweredVariant &v = kv.variants[i];
            const dsl::BucketDef &b = dsl::bucketDef(v.bucket);
            s << "    {" << quoted(v.symbol) << ", " << quoted(v.target->name) << ", " << static_cast<int>(v.bucket) << ", "
              << b.minRows << ", " << b.maxRows << ", " << vars[i].expression << ", " << vars[i].entry << "},\n";
        }
        s << "};\n"
          << "const kf_kernel_def kDef_" << id << "{" << quoted(kv.kernel->name) << ", "
          << quoted(dsl::toString(kv.kernel->family)) << ", " << spec.expression << ", kVariants_" << id << ", "
          << kv.variants.size() << "};\n";
    }
    s << "\nconst kf_kernel_def *const kAll[] = {";
    for (size_t k = 0; k < kernels.size(); ++k) s << "&kDef_k" << k << ", ";
    s << "};\n}  // namespace\n\n";
    for (size_t k = 0; k < kernels.size(); ++k)
        s << "extern \"C\" const kf_kernel_def *kf_" << lib << "_" << kernels[k].kernel->name << "(void) { return &kDef_k"
          << k << "; }\n";
    s << "extern \"C\" const kf_kernel_def *const *kf_" << lib << "_kernels(int *count) {\n"
      << "    if (count) *count = " << kernels.size() << ";\n    return kAll;\n}\n";
    return s.str();
}

std::string headerSource(const std::string &lib, const std::string &file, const std::vector<KernelVariants> &kernels) {
    std::string guard = "KFORGE_" + lib + "_H";
    for (char &c : guard) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::ostringstream s;
    s << "/* Generated by kforge emit from " << printablePath(file) << ". Do not edit.\n"
      << " * Link with libkforge_" << lib << ".a -ltbb -lpthread -ldl -lm -lstdc++ (pkg-config kforge_" << lib
      << "). */\n#ifndef " << guard << "\n#define " << guard << "\n\n#include \"kforge/kforge.h\"\n\n"
      << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
    for (const auto &kv : kernels) {
        s << "/* " << printablePath(kv.family->describe(*kv.kernel)) << ".\n * Variants:";
        for (const auto &v : kv.variants)
            s << "\n *   " << v.symbol << " (" << v.target->name
              << (v.bucket == dsl::Bucket::Any ? "" : std::string(", bucket=") + dsl::toString(v.bucket)) << ")";
        s << " */\nconst kf_kernel_def *kf_" << lib << "_" << kv.kernel->name << "(void);\n\n";
    }
    s << "/* Every kernel of the library, in file order; *count gets their number. */\n"
      << "const kf_kernel_def *const *kf_" << lib << "_kernels(int *count);\n\n";
    s << "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
    return s.str();
}

// Emit makes a library for one architecture with that architecture's toolchain.
void checkToolchain(const targets::TargetInfo *t, const Toolchain &tc) {
    if (tc.arch != t->arch)
        throw CodegenError(std::string("the toolchain given to emit is not for the architecture of ") + t->name +
                           " (use toolchainFor)");
    if (!tc.unavailable.empty())
        throw CodegenError(std::string("cannot emit a library for ") + t->name + ": " + tc.unavailable);
}

}  // namespace

std::string libNameFromPath(const std::string &path) {
    std::string stem = fs::path(path).stem().string();
    for (char &c : stem)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    if (stem.empty() || std::isdigit(static_cast<unsigned char>(stem[0]))) stem = "k" + stem;
    return stem;
}

void emitLibrary(const dsl::Module &module, const EmitOptions &opt, const Toolchain &tc, std::ostream &log) {
    if (opt.targets.empty()) throw CodegenError("emit needs at least one --target");
    for (const auto *t : opt.targets)
        if (t->arch != opt.targets[0]->arch)
            throw CodegenError(std::string("one library holds one architecture; got ") + opt.targets[0]->name +
                               " and " + t->name);
    checkToolchain(opt.targets[0], tc);
    if (module.kernels.empty()) throw CodegenError(module.file + ": no kernels to emit");
    if (!isCIdentifier(opt.libName))
        throw CodegenError("library name '" + dsl::elided(printablePath(opt.libName)) +
                           "' is not a C identifier of at most 64 characters (letters, digits, '_'): it names "
                           "libkforge_<name>.a and the functions kf_<name>_*");
    checkOutputDir(opt.outDir);

    StageTimer timer(opt.timePasses, log);
    const fs::path out(opt.outDir);
    const fs::path obj = out / "obj", inc = out / "include", lib = out / "lib", src = out / "src";
    for (const auto &d : {obj, inc / "kforge", lib / "pkgconfig", lib / "cmake" / ("kforge_" + opt.libName), src})
        fs::create_directories(d);

    std::vector<KernelVariants> kernels;
    timer.run("lower", [&] {
        for (const auto &k : module.kernels) {
            KernelVariants kv{&k, familyCodegen(k.family), {}};
            for (const auto *t : opt.targets)
                for (auto &v : lowerKernel(module, k, *t)) kv.variants.push_back(std::move(v));
            kernels.push_back(std::move(kv));
        }
    });

    std::vector<std::string> objects;
    std::vector<const Backend *> usedBackends;
    timer.run("compile kernels", [&] {
        std::set<std::string> compiled;
        auto compile = [&](const BackendKernel &kernel, const std::string &symbol, const targets::TargetInfo &target) {
            if (!compiled.insert(symbol).second) return;  // identical kernel in two declarations
            const std::string path = (obj / (symbol + ".o")).string();
            kernel.compileToObject(path, symbol, target);
            objects.push_back(path);
            log << "compiled " << symbol << "\n";
        };
        for (auto &kv : kernels)
            for (auto &v : kv.variants) {
                compile(*v.kernel, v.symbol, *v.target);
                for (const auto &[suffix, extra] : v.extras) compile(*extra, v.symbol + suffix, *v.target);
                if (std::find(usedBackends.begin(), usedBackends.end(), v.backend) == usedBackends.end())
                    usedBackends.push_back(v.backend);
            }
    });

    timer.run("compile backend runtimes", [&] {
        for (const Backend *b : usedBackends)
            for (std::string &o : b->runtimeObjects(opt.targets, obj.string(), opt.runtimeObject))
                objects.push_back(std::move(o));
    });

    timer.run("compile glue", [&] {
        const fs::path gluePath = src / ("kforge_" + opt.libName + "_glue.cpp");
        writeFile(gluePath, glueSource(opt.libName, module.file, kernels));
        const std::string glueObj = (obj / "glue.o").string();
        std::vector<std::string> argv{tc.cxx, "-std=c++17", "-O2", "-fPIC", "-c", gluePath.string(), "-o", glueObj};
        for (const auto &d : tc.includeDirs) argv.push_back("-I" + d);
        runTool(argv, "compiling the generated glue");
        objects.push_back(glueObj);
    });

    timer.run("archive", [&] {
        // The runtime archives, less the glue of backends no kernel uses.
        std::vector<std::string> archives;
        for (const std::string &a : tc.runtimeArchives) {
            bool unused = false;
            for (const Backend *b : backends())
                unused |= b->bridgeArchive && fs::path(a).filename() == b->bridgeArchive &&
                          std::find(usedBackends.begin(), usedBackends.end(), b) == usedBackends.end();
            if (!unused) archives.push_back(a);
        }
        buildArchive(tc.ar, archives, objects, lib / ("libkforge_" + opt.libName + ".a"));
    });

    if (opt.sharedLibrary)
        timer.run("link shared library", [&] {
            const fs::path archive = lib / ("libkforge_" + opt.libName + ".a");
            // -Bsymbolic: the library's own runtime, whatever the loading process defines.
            std::vector<std::string> argv{tc.cxx, "-shared", "-Wl,-Bsymbolic", "-o",
                                          (lib / ("libkforge_" + opt.libName + ".so")).string(), "-Wl,--whole-archive",
                                          archive.string(), "-Wl,--no-whole-archive"};
            std::istringstream extra(tc.extraLibs + " -ltbb -lpthread -ldl -lm");
            for (std::string flag; extra >> flag;) argv.push_back(flag);
            runTool(argv, "linking the shared library");
        });

    writeFile(inc / ("kforge_" + opt.libName + ".h"), headerSource(opt.libName, module.file, kernels));
    // The runtime's public headers (kforge/*.h; not detail/, which only the glue uses).
    for (const auto &entry : fs::directory_iterator(tc.runtimeHeaders))
        if (entry.is_regular_file() && entry.path().extension() == ".h")
            fs::copy_file(entry.path(), inc / "kforge" / entry.path().filename(), fs::copy_options::overwrite_existing);
    const std::string libs = "-ltbb -lpthread -ldl -lm -lstdc++" + (tc.extraLibs.empty() ? "" : " " + tc.extraLibs);
    writeFile(lib / "pkgconfig" / ("kforge_" + opt.libName + ".pc"),
              "prefix=" + pkgConfigValue(fs::absolute(out).string(), true) + "\nlibdir=${prefix}/lib\nincludedir=${prefix}/include\n\n" +
                  "Name: kforge_" + opt.libName + "\nDescription: kforge kernels from " + pkgConfigValue(printablePath(module.file), false) +
                  "\nVersion: 0.1.0\nCflags: -I${includedir}\nLibs: -L${libdir} -lkforge_" + opt.libName + " " +
                  libs + "\n");
    writeFile(lib / "cmake" / ("kforge_" + opt.libName) / ("kforge_" + opt.libName + "-config.cmake"),
              "# Generated by kforge emit.\nfind_package(TBB REQUIRED CONFIG)\nfind_package(Threads REQUIRED)\n"
              "if(NOT TARGET kforge::" + opt.libName + ")\n  add_library(kforge::" + opt.libName +
                  " STATIC IMPORTED)\n  set_target_properties(kforge::" + opt.libName +
                  " PROPERTIES\n    IMPORTED_LOCATION \"${CMAKE_CURRENT_LIST_DIR}/../../libkforge_" + opt.libName +
                  ".a\"\n    INTERFACE_INCLUDE_DIRECTORIES \"${CMAKE_CURRENT_LIST_DIR}/../../../include\"\n"
                  "    INTERFACE_LINK_LIBRARIES \"TBB::tbb;Threads::Threads;${CMAKE_DL_LIBS};m;stdc++\")\nendif()\n");
    log << "emitted " << (lib / ("libkforge_" + opt.libName + ".a")).string() << " and "
        << (inc / ("kforge_" + opt.libName + ".h")).string() << "\n";
}

}  // namespace kf::codegen
