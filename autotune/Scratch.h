// \file
// The tuner's temporary directories and how it stops on a signal.
//
// Every directory `kforge tune` creates for itself (its work directory and one
// per measurement) is a ScratchDir: <tmp>/kforge-<kind>-XXXXXX holding a marker
// file that names the owning process (pid and start time). It is removed when
// the owner returns, throws or is interrupted (SIGINT, SIGTERM, SIGHUP); a
// tuner killed with SIGKILL cannot clean up, so the next run removes the
// directories whose marker names a process that is gone. A directory without
// a valid marker, owned by another user, or a symbolic link is never touched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace kf::autotune {

class ScratchDir {
public:
    // Creates <root>/kforge-<kind>-XXXXXX (root: the system temporary
    // directory by default) with its marker. Throws std::runtime_error.
    explicit ScratchDir(const std::string &kind, const std::filesystem::path &root = {});
    ~ScratchDir();
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir &operator=(const ScratchDir &) = delete;

    const std::string &path() const { return path_; }
    std::string file(const char *name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// The marker's name inside a scratch directory.
inline constexpr const char *kScratchMarker = ".kforge-scratch";

struct SweepResult {
    std::size_t removed = 0;
    std::uintmax_t bytes = 0;
};

// Removes the scratch directories under `root` (default: the system temporary
// directory) whose owner is no longer running. Errors are skipped: a sweep
// never fails a run.
SweepResult removeStaleScratch(const std::filesystem::path &root = {});

// While alive, SIGINT, SIGTERM and SIGHUP set a flag instead of ending the
// process, so that long work can stop, clean up and report. The previous
// handlers come back, and the flag is cleared, on destruction. One guard at a
// time.
class InterruptGuard {
public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard &) = delete;
    InterruptGuard &operator=(const InterruptGuard &) = delete;
};

// The signal that arrived under the live InterruptGuard, or 0.
int interruptSignal();

}  // namespace kf::autotune
