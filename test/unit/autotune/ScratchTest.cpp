// The tuner's temporary directories: removed by their owner on every way out,
// and by a later run when the owner was killed; nothing else is ever removed.
#include "autotune/Runner.h"
#include "autotune/Scratch.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace kf::autotune {
namespace {

namespace fs = std::filesystem;

struct Root {
    fs::path dir;
    Root() {
        dir = fs::temp_directory_path() / ("kforge-scratch-test-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~Root() { fs::remove_all(dir); }
    std::size_t entries() const {
        return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
    }
};

// A pid that belonged to a process which has exited and been reaped.
pid_t deadPid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return pid;
}

void writeMarker(const fs::path &dir, const std::string &text) {
    fs::create_directories(dir);
    std::ofstream(dir / kScratchMarker) << text;
}

TEST(Scratch, HoldsAMarkerAndIsRemovedByItsOwner) {
    Root root;
    std::string path;
    {
        ScratchDir s("tune", root.dir);
        path = s.path();
        EXPECT_EQ(fs::path(path).filename().string().rfind("kforge-tune-", 0), 0u) << path;
        std::ifstream marker(s.file(kScratchMarker));
        std::string first;
        std::getline(marker, first);
        EXPECT_EQ(first, "kforge scratch directory");
        std::ofstream(s.file("candidate.o")) << "bytes";
    }
    EXPECT_FALSE(fs::exists(path));
}

TEST(Scratch, IsRemovedWhenItsOwnerThrows) {
    Root root;
    std::string path;
    try {
        ScratchDir s("tune", root.dir);
        path = s.path();
        throw std::runtime_error("a build failed");
    } catch (const std::runtime_error &) {
    }
    EXPECT_FALSE(path.empty());
    EXPECT_FALSE(fs::exists(path));
}

TEST(Scratch, SweepRemovesOnlyDirectoriesOfDeadOwners) {
    Root root;
    // Left by a killed tuner: the marker names a process that is gone.
    const fs::path stale = root.dir / "kforge-tune-stale1";
    writeMarker(stale, "kforge scratch directory\npid " + std::to_string(deadPid()) + "\nstart 12345\n");
    std::ofstream(stale / "big.o") << std::string(3000, 'x');
    // Our pid, but another start time: the pid was reused by someone else.
    const fs::path reused = root.dir / "kforge-run-reused";
    writeMarker(reused, "kforge scratch directory\npid " + std::to_string(::getpid()) + "\nstart 1\n");
    // A live owner (this process) keeps its directory.
    ScratchDir live("tune", root.dir);
    // Not ours: no marker, a malformed marker, a marker in a foreign name, a link.
    const fs::path noMarker = root.dir / "kforge-tune-nomarker";
    fs::create_directories(noMarker);
    const fs::path badMarker = root.dir / "kforge-tune-badmarker";
    writeMarker(badMarker, "something else\npid 1\nstart 1\n");
    const fs::path otherName = root.dir / "build-output";
    writeMarker(otherName, "kforge scratch directory\npid " + std::to_string(deadPid()) + "\nstart 1\n");
    const fs::path target = root.dir / "precious";
    writeMarker(target, "kforge scratch directory\npid " + std::to_string(deadPid()) + "\nstart 1\n");
    fs::create_directory_symlink(target, root.dir / "kforge-tune-link");

    const SweepResult swept = removeStaleScratch(root.dir);
    EXPECT_EQ(swept.removed, 2u);
    EXPECT_GE(swept.bytes, 3000u);
    EXPECT_FALSE(fs::exists(stale));
    EXPECT_FALSE(fs::exists(reused));
    EXPECT_TRUE(fs::exists(live.path()));
    EXPECT_TRUE(fs::exists(noMarker));
    EXPECT_TRUE(fs::exists(badMarker));
    EXPECT_TRUE(fs::exists(otherName / kScratchMarker));
    EXPECT_TRUE(fs::exists(target / kScratchMarker));
    EXPECT_TRUE(fs::is_symlink(root.dir / "kforge-tune-link"));
}

TEST(Scratch, ASignalStopsAMeasurementAndItsDirectoryGoes) {
    Root root;
    ::setenv("TMPDIR", root.dir.c_str(), 1);
    InterruptGuard guard;
    std::thread later([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        ::kill(::getpid(), SIGTERM);  // handled: sets the flag, the test goes on
    });
    const auto t0 = std::chrono::steady_clock::now();
    const Measurement m = runCandidate({"/bin/sh", "-c", "sleep 30", "sh"}, RunRequest{});
    later.join();
    ::unsetenv("TMPDIR");
    EXPECT_EQ(m.status, "interrupted") << m.message;
    EXPECT_NE(m.message.find("signal 15"), std::string::npos) << m.message;
    EXPECT_EQ(interruptSignal(), SIGTERM);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
    EXPECT_EQ(root.entries(), 0u) << "the measurement's directory is left";
}

}  // namespace
}  // namespace kf::autotune
