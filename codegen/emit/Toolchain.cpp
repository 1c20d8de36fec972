#include "codegen/emit/Toolchain.h"

#include "codegen/emit/BuildPaths.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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
}  // namespace

Toolchain defaultToolchain() {
    Toolchain t;
    t.cxx = envOr("KFORGE_CXX", envOr("CXX", KFORGE_DEFAULT_CXX));
    t.ar = envOr("KFORGE_AR", KFORGE_DEFAULT_AR);
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
    namespace fs = std::filesystem;
    // One log per call: the tuner's builder runs commands from several threads.
    static std::atomic<unsigned> calls{0};
    const fs::path log = fs::temp_directory_path() /
                         ("kforge-cmd-" + std::to_string(getpid()) + "-" + std::to_string(calls++) + ".log");
    // Everything the child needs is built before fork (no allocation after it).
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        output = "fork failed";
        return -1;
    }
    if (pid == 0) {
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (!stdinPath.empty()) {
            int in = open(stdinPath.c_str(), O_RDONLY);
            if (in >= 0) dup2(in, 0);
        }
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    output = ss.str();
    std::error_code ec;
    fs::remove(log, ec);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace kf::codegen
