#include "autotune/Scratch.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace fs = std::filesystem;

namespace kf::autotune {
namespace {

constexpr const char *kPrefix = "kforge-";

// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks
// since boot. With the pid it names one process, even after pid reuse.
std::optional<std::string> startTime(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may hold spaces.
    const std::size_t close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(text.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22; ++i)
        if (!(rest >> field)) return std::nullopt;
    return field;
}

std::string markerText(long pid, const std::string &start) {
    return "kforge scratch directory\npid " + std::to_string(pid) + "\nstart " + start + "\n";
}

// The owner a marker names, if the marker is one of ours.
std::optional<std::pair<long, std::string>> readMarker(const fs::path &file) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(file, ec)) || fs::file_size(file, ec) > 256) return std::nullopt;
    std::ifstream in(file);
    std::string title, pidKey, startKey, start;
    long pid = 0;
    if (!std::getline(in, title) || title != "kforge scratch directory") return std::nullopt;
    if (!(in >> pidKey >> pid >> startKey >> start) || pidKey != "pid" || startKey != "start" || pid <= 0)
        return std::nullopt;
    return std::make_pair(pid, start);
}

bool ownerAlive(long pid, const std::string &start) {
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
    if (start == "?") return true;  // the owner could not read its start time
    std::optional<std::string> now = startTime(pid);
    // Alive but unreadable (another user's process): assume it is the owner.
    return !now || *now == start;
}

std::atomic<int> gSignal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler stores with a lock-free atomic");

void onSignal(int sig) { gSignal.store(sig, std::memory_order_relaxed); }

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction gPrevious[3];

}  // namespace

ScratchDir::ScratchDir(const std::string &kind, const fs::path &root) {
    const fs::path base = root.empty() ? fs::temp_directory_path() : root;
    std::string pattern = (base / (kPrefix + kind + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data()))
        throw std::runtime_error("cannot create a temporary directory " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
    const long pid = static_cast<long>(getpid());
    std::ofstream marker(file(kScratchMarker));
    marker << markerText(pid, startTime(pid).value_or("?"));
    if (!marker.flush()) {
        std::error_code ec;
        fs::remove_all(path_, ec);
        throw std::runtime_error("cannot write " + file(kScratchMarker));
    }
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

SweepResult removeStaleScratch(const fs::path &rootIn) {
    SweepResult result;
    std::error_code ec;
    const fs::path root = rootIn.empty() ? fs::temp_directory_path(ec) : rootIn;
    if (ec) return result;
    fs::directory_iterator it(root, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const fs::path dir = it->path();
        if (dir.filename().string().rfind(kPrefix, 0) != 0) continue;
        struct stat st {};
        if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        const auto owner = readMarker(dir / kScratchMarker);
        if (!owner || ownerAlive(owner->first, owner->second)) continue;
        std::uintmax_t bytes = 0;
        std::error_code walk;
        for (fs::recursive_directory_iterator f(dir, walk), fend; !walk && f != fend; f.increment(walk))
            if (f->is_regular_file(walk)) bytes += f->file_size(walk);
        std::error_code rm;
        fs::remove_all(dir, rm);
        if (rm) continue;
        ++result.removed;
        result.bytes += bytes;
    }
    return result;
}

InterruptGuard::InterruptGuard() {
    gSignal.store(0);
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &gPrevious[i]);
}

InterruptGuard::~InterruptGuard() {
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &gPrevious[i], nullptr);
    gSignal.store(0);
}

int interruptSignal() { return gSignal.load(std::memory_order_relaxed); }

}  // namespace kf::autotune
