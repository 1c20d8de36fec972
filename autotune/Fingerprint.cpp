// \file
// Machine and compiler fingerprints (Fingerprint.h). Both are computed once per
// process: /proc/cpuinfo and sysfs for the machine, the build's versions and
// one `<cxx> -dumpfullversion` for the compilers.
#include "autotune/Fingerprint.h"

#include <Halide.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "codegen/emit/Toolchain.h"
#include "targets/Target.h"

#ifndef KFORGE_VERSION
#error "KFORGE_VERSION must be defined by the build (autotune/CMakeLists.txt)"
#endif
#ifndef KFORGE_HALIDE_VERSION
#error "KFORGE_HALIDE_VERSION must be defined by the build (autotune/CMakeLists.txt)"
#endif

namespace kf::autotune {

namespace {

std::string trim(const std::string &s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// The value of the first "key : value" line of /proc/cpuinfo whose key is one
// of `keys`, empty when there is none.
std::string cpuinfoField(const std::vector<std::string> &keys) {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = trim(line.substr(0, colon));
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) return trim(line.substr(colon + 1));
    }
    return "";
}

// "32768K" / "1M" / "512" -> bytes; 0 when unreadable.
int64_t parseCacheSize(const std::string &text) {
    std::size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(text, &used);
    } catch (const std::exception &) {
        return 0;
    }
    const char unit = used < text.size() ? text[used] : ' ';
    if (unit == 'K') return v << 10;
    if (unit == 'M') return v << 20;
    if (unit == 'G') return v << 30;
    return v;
}

std::string readFirstLine(const std::filesystem::path &p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return trim(line);
}

struct CacheInfo {
    int level = 0;
    int64_t bytes = 0;
};

// The largest cache cpu0 sees (sysfs), {0, 0} when sysfs says nothing.
CacheInfo largestCache() {
    namespace fs = std::filesystem;
    CacheInfo best;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator("/sys/devices/system/cpu/cpu0/cache", ec)) {
        if (entry.path().filename().string().rfind("index", 0) != 0) continue;
        const int64_t bytes = parseCacheSize(readFirstLine(entry.path() / "size"));
        if (bytes <= best.bytes) continue;
        best.bytes = bytes;
        try {
            best.level = std::stoi(readFirstLine(entry.path() / "level"));
        } catch (const std::exception &) {
            best.level = 0;
        }
    }
    return best;
}

std::string sizeText(int64_t bytes) {
    if (bytes % (int64_t(1) << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
    return std::to_string(bytes >> 10) + " KiB";
}

std::string computeMachine() {
    std::string model = cpuinfoField({"model name"});
    if (model.empty()) {  // arm64: no model name, the implementer and part ids say the core
        const std::string impl = cpuinfoField({"CPU implementer"}), part = cpuinfoField({"CPU part"});
        model = impl.empty() ? "unknown cpu" : "cpu implementer " + impl + " part " + part;
    }
    // What kernels are generated for: the registry's targets this CPU runs
    // (targets/ alone knows which instructions each needs).
    std::string isa;
    for (const targets::TargetInfo *t : targets::all())
        if (t->runsHere == targets::RunsHere::Native && t->hostSupports()) {
            if (!isa.empty()) isa += ' ';
            isa += t->name;
        }

    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const CacheInfo llc = largestCache();
    std::string out = model + " | " + (isa.empty() ? "no registered target" : isa) + " | " + std::to_string(cpus) + " cpus";
    if (llc.bytes) out += " | L" + std::to_string(llc.level) + " " + sizeText(llc.bytes);
    return out;
}

std::string computeCompiler() {
    std::string out = std::string("kforge ") + KFORGE_VERSION + " | Halide " + KFORGE_HALIDE_VERSION;
    // Halide reports LLVM_VERSION as major * 10 + minor (140 = LLVM 14.0).
    if (const int llvm = Halide::Internal::get_llvm_version(); llvm > 0)
        out += " | LLVM " + std::to_string(llvm / 10) + "." + std::to_string(llvm % 10);
    const std::string cxx = codegen::defaultToolchain().cxx;
    std::string version;
    if (codegen::runCommand({cxx, "-dumpfullversion"}, version) == 0 && !trim(version).empty() &&
        trim(version).find('\n') == std::string::npos)
        out += " | " + std::filesystem::path(cxx).filename().string() + " " + trim(version);
    else
        out += " | " + cxx;
    return out;
}

}  // namespace

std::string machineFingerprint() {
    static const std::string fingerprint = computeMachine();
    return fingerprint;
}

std::string machineFingerprint(int threads) {
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    std::string out = machineFingerprint();
    if (threads > 0 && threads < cpus) {
        out += " | ";
        out += std::to_string(threads);
        out += threads == 1 ? " thread" : " threads";
    }
    return out;
}

std::string compilerFingerprint() {
    static const std::string fingerprint = computeCompiler();
    return fingerprint;
}

int64_t lastLevelCacheBytes() {
    const int64_t bytes = largestCache().bytes;
    return bytes > 0 ? bytes : int64_t(32) << 20;
}

}  // namespace kf::autotune
