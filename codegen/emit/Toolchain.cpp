#include "codegen/emit/Toolchain.h"

#include "codegen/emit/BuildPaths.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kf::codegen {

namespace {
std::vector<std::string> splitList(const std::string &s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, '|'))
        if (!item.empty()) out.push_back(item);
    return out;
}
std::string envOr(const char *name, const std::string &fallback) {
    const char *v = std::getenv(name);
    return v && *v ? v : fallback;
}

// The prefix kforge was installed into (`cmake --install`, cmake/KforgeInstall.cmake:
// PREFIX/bin/kforge beside PREFIX/lib/kforge/*.a), or empty when it runs from
// its build tree, whose paths BuildPaths.h holds.
std::filesystem::path installedPrefix() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path exe = fs::canonical("/proc/self/exe", ec);
    if (ec) return {};
    fs::path prefix = exe.parent_path().parent_path();
    if (exe.parent_path().filename() == "bin" && fs::exists(prefix / "lib/kforge/libkforge_runtime.a", ec)) return prefix;
    return {};
}

std::vector<std::string> installedArchives(const std::filesystem::path &dir) {
    return {(dir / "libkforge_runtime.a").string(), (dir / "libkforge_targets.a").string(),
            (dir / "libkforge_halide_bridge.a").string(), (dir / "libkforge_mlir_bridge.a").string()};
}
}  // namespace

Toolchain defaultToolchain() {
    Toolchain t;
    t.cxx = envOr("KFORGE_CXX", envOr("CXX", KFORGE_DEFAULT_CXX));
    t.ar = envOr("KFORGE_AR", KFORGE_DEFAULT_AR);
    if (const auto prefix = installedPrefix(); !prefix.empty()) {
        t.includeDirs = {(prefix / "include").string(), (prefix / "lib/kforge/include").string()};
        t.runtimeArchives = installedArchives(prefix / "lib/kforge");
        t.runtimeHeaders = (prefix / "include/kforge").string();
        return t;
    }
    t.includeDirs = splitList(KFORGE_INCLUDE_DIRS);
    t.runtimeArchives = splitList(KFORGE_RUNTIME_ARCHIVES);
    t.runtimeHeaders = KFORGE_RUNTIME_HEADERS;
    t.extraLibs = KFORGE_SANITIZE_LIBS;
    return t;
}

Toolchain toolchainFor(targets::Arch arch) {
    namespace fs = std::filesystem;
    if (arch == targets::Arch::X86_64) return defaultToolchain();
    Toolchain t = defaultToolchain();
    t.arch = arch;
    t.extraLibs.clear();  // sanitizers instrument the host build only
    if (arch != targets::Arch::Arm64) {
        t.unavailable = "only x86-64 and arm64 libraries can be emitted so far";
        return t;
    }
    t.cxx = envOr("KFORGE_CXX_AARCH64", KFORGE_AARCH64_CXX);
    t.ar = envOr("KFORGE_AR_AARCH64", KFORGE_AARCH64_AR);
    t.runtimeArchives = splitList(KFORGE_AARCH64_ARCHIVES);
    if (const auto prefix = installedPrefix(); !prefix.empty())
        t.runtimeArchives = fs::exists(prefix / "lib/kforge/aarch64/libkforge_runtime.a")
                                ? installedArchives(prefix / "lib/kforge/aarch64")
                                : std::vector<std::string>{};
    if (t.runtimeArchives.empty()) {
        t.unavailable =
            "this kforge was built without the aarch64 runtime archives (KFORGE_ARM64=OFF); reconfigure with "
            "-DKFORGE_ARM64=ON, which needs aarch64-linux-gnu-g++ (or -DKFORGE_CXX_AARCH64=...) and "
            "libtbb-dev:arm64 (scripts/install-deps.sh installs both)";
        return t;
    }
    for (const auto &a : t.runtimeArchives)
        if (!fs::exists(a)) {
            t.unavailable = "the aarch64 runtime archive " + a + " has not been built; build it with `cmake --build " +
                            KFORGE_BUILD_DIR + " --target kforge_aarch64`";
            return t;
        }
    if (t.ar.empty()) t.ar = "aarch64-linux-gnu-ar";
    if (t.cxx.empty()) t.cxx = "aarch64-linux-gnu-g++";
    return t;
}

int runCommand(const std::vector<std::string> &argv, std::string &output, const std::string &stdinPath) {
    output.clear();
    // stdout and stderr come back through a pipe: no file in a shared
    // directory that another user could have put a link at. Both ends are
    // close-on-exec, so commands started from other threads at the same time
    // do not hold this pipe open.
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        output = std::string("cannot create a pipe: ") + std::strerror(errno);
        return -1;
    }
    // Everything the child needs is built before fork (no allocation after it).
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        output = "fork failed";
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        if (!stdinPath.empty()) {
            int in = open(stdinPath.c_str(), O_RDONLY | O_CLOEXEC);
            if (in >= 0) dup2(in, 0);
        }
        execvp(args[0], args.data());
        _exit(127);
    }
    close(fds[1]);
    // A runaway command cannot fill memory: past the cap only the tail is kept.
    constexpr std::size_t kMaxOutput = std::size_t{4} << 20;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        output.append(buf, static_cast<std::size_t>(n));
        if (output.size() > 2 * kMaxOutput) output.erase(0, output.size() - kMaxOutput);
    }
    close(fds[0]);
    if (output.size() > kMaxOutput) output = "..." + output.substr(output.size() - kMaxOutput);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace kf::codegen
