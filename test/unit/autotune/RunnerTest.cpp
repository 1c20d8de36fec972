// \file
// The runner against what it promises: a correct candidate is verified, then
// timed (samples, best time, its roofline); a candidate that crashes, hangs or
// computes the wrong numbers is recorded as such and the caller goes on; a
// worker that cannot start or load the library gives "error" with the reason.
//
// The candidate is built here as the Builder builds one: `kforge emit` of a
// one-kernel file (KFORGE_EXE) for this host, the archive linked into a shared
// object. The faults come from the worker's test hook (KFORGE_TUNE_FAULT,
// inherited by the worker process), keyed on text in the request's schedule.
// The worker is kforge_tune_worker_for_tests (a main calling workerMain).
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autotune/Runner.h"
#include "codegen/emit/Toolchain.h"
#include "TestShapes.h"

namespace {

namespace fs = std::filesystem;
using kf::autotune::Measurement;
using kf::autotune::RunRequest;
using kf::autotune::runCandidate;
using kf::testing::mnk;

const char *kKernelFile = R"(
kernel tiny : lowbit_linear {
  weight int4 shape=[N, K] scale=f16 group=64
  input  f32 rows=M
  output f32
  bias   f32
}
)";

class Runner : public ::testing::Test {
  protected:
    // One candidate library for every test (emit + link: a few seconds).
    static void SetUpTestSuite() {
        dir_ = new std::string(fs::temp_directory_path() / ("kforge-runner-test-" + std::to_string(getpid())));
        fs::create_directories(*dir_);
        kernels_ = new std::string(*dir_ + "/tiny.kf");
        std::ofstream(*kernels_) << kKernelFile;
        std::string output;
        const std::string out = *dir_ + "/emit";
        ASSERT_EQ(kf::codegen::runCommand({KFORGE_EXE, "emit", *kernels_, "--target", "host", "-o", out, "--name",
                                           "cand"},
                                          output),
                  0)
            << output;
        library_ = new std::string(*dir_ + "/cand.so");
        ASSERT_EQ(kf::codegen::runCommand({kf::codegen::defaultToolchain().cxx, "-shared", "-Wl,-Bsymbolic", "-o",
                                           *library_, "-Wl,--whole-archive", out + "/lib/libkforge_cand.a",
                                           "-Wl,--no-whole-archive", "-ltbb", "-lpthread", "-ldl"},
                                          output),
                  0)
            << output;
        // The worker process inherits this; only schedules holding the texts fail.
        setenv("KFORGE_TUNE_FAULT", "crash:FAULT_CRASH;hang:FAULT_HANG;wrong:FAULT_WRONG", 1);
    }
    static void TearDownTestSuite() {
        unsetenv("KFORGE_TUNE_FAULT");
        std::error_code ec;
        if (dir_) fs::remove_all(*dir_, ec);
        delete dir_;
        delete kernels_;
        delete library_;
        dir_ = kernels_ = library_ = nullptr;
    }
    void SetUp() override {
        if (!library_ || !fs::exists(*library_)) GTEST_SKIP() << "the candidate library was not built";
    }

    // A small, quick measurement: 64 x 256 layers, ~1 MiB of copies, one thread.
    static RunRequest request(const std::string &schedule) {
        RunRequest r;
        r.library = *library_;
        r.accessor = "kf_cand_tiny";
        r.kernelFile = *kernels_;
        r.kernelName = "tiny";
        r.schedule = schedule;
        r.shape = mnk(3, 64, 256);
        r.threads = 1;
        r.streamBytes = 1 << 20;
        r.minSamples = 3;
        r.maxSamples = 10;
        r.maxSeconds = 2;
        r.timeoutSeconds = 30;
        return r;
    }
    static std::vector<std::string> worker() { return {KFORGE_TUNE_WORKER}; }

    static std::string *dir_, *kernels_, *library_;
};

std::string *Runner::dir_ = nullptr;
std::string *Runner::kernels_ = nullptr;
std::string *Runner::library_ = nullptr;

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST_F(Runner, CorrectCandidateIsVerifiedThenTimed) {
    const RunRequest r = request("split n 64");
    const Measurement m = runCandidate(worker(), r);
    ASSERT_EQ(m.status, "ok") << m.message;
    EXPECT_GE(m.samples.size(), static_cast<size_t>(r.minSamples));
    EXPECT_LE(m.samples.size(), static_cast<size_t>(r.maxSamples));
    EXPECT_GT(m.seconds, 0);
    for (double s : m.samples) EXPECT_GE(s, m.seconds);  // the best sample
    EXPECT_GT(m.rooflineSeconds, 0);
    EXPECT_GT(m.readBandwidth, 0);
    // The roofline's inputs: the packed weights, 2 M N K ops, the peak used.
    EXPECT_EQ(m.bytes, double(m.packedBytes));
    EXPECT_EQ(m.ops, 2.0 * 3 * 64 * 256);  // M N K of request()
    EXPECT_GT(m.computePeak, 0);
    EXPECT_DOUBLE_EQ(m.rooflineSeconds, std::max(m.bytes / m.readBandwidth, m.ops / m.computePeak));
    // 64 x 256 int4 codes + 64 x 4 f16 scales per copy; copies until 1 MiB.
    EXPECT_GE(m.packedBytes, 64 * 256 / 2 + 64 * 4 * 2);
    EXPECT_EQ(m.layers, (r.streamBytes + m.packedBytes - 1) / m.packedBytes);
    EXPECT_NE(m.variant.find("kf_linear_"), std::string::npos) << m.variant;
}

TEST_F(Runner, OneLayerWhenNothingIsStreamed) {
    RunRequest r = request("plain");
    r.streamBytes = 0;
    r.shape = mnk(1, 64, 256);
    r.threads = 0;
    const Measurement m = runCandidate(worker(), r);
    ASSERT_EQ(m.status, "ok") << m.message;
    EXPECT_EQ(m.layers, 1);
    EXPECT_GT(m.rooflineSeconds, 0);
}

TEST_F(Runner, CrashIsRecorded) {
    const Measurement m = runCandidate(worker(), request("split n 64 FAULT_CRASH"));
    EXPECT_EQ(m.status, "crash");
    EXPECT_NE(m.message.find("Segmentation fault"), std::string::npos) << m.message;
    EXPECT_TRUE(m.samples.empty());
}

TEST_F(Runner, HangIsKilledAtTheTimeLimit) {
    RunRequest r = request("FAULT_HANG");
    r.timeoutSeconds = 3;
    const auto t0 = std::chrono::steady_clock::now();
    const Measurement m = runCandidate(worker(), r);
    const double took = secondsSince(t0);
    EXPECT_EQ(m.status, "timeout") << m.message;
    EXPECT_GE(took, 3.0);
    EXPECT_LT(took, 5.0);
}

TEST_F(Runner, WrongResultIsCaughtByTheCheck) {
    const Measurement m = runCandidate(worker(), request("FAULT_WRONG"));
    EXPECT_EQ(m.status, "wrong");
    EXPECT_NE(m.message.find("relative L2 error"), std::string::npos) << m.message;
    EXPECT_TRUE(m.samples.empty());  // never timed
}

TEST_F(Runner, MissingLibraryIsAnError) {
    RunRequest r = request("plain");
    r.library = *dir_ + "/no-such-candidate.so";
    const Measurement m = runCandidate(worker(), r);
    EXPECT_EQ(m.status, "error");
    EXPECT_NE(m.message.find("cannot load"), std::string::npos) << m.message;
    EXPECT_NE(m.message.find("no-such-candidate.so"), std::string::npos) << m.message;
}

TEST_F(Runner, UnknownKernelIsAnError) {
    RunRequest r = request("plain");
    r.kernelName = "nope";
    const Measurement m = runCandidate(worker(), r);
    EXPECT_EQ(m.status, "error");
    EXPECT_NE(m.message.find("has no kernel 'nope'"), std::string::npos) << m.message;
}

// The runner alone, with stand-in workers (no candidate needed).

TEST(RunnerProcess, WorkerThatCannotStartIsAnError) {
    const Measurement m = runCandidate({"/nonexistent/kforge-worker"}, RunRequest{});
    EXPECT_EQ(m.status, "error");
    EXPECT_NE(m.message.find("/nonexistent/kforge-worker"), std::string::npos) << m.message;
}

TEST(RunnerProcess, FailedWorkerGivesItsStderr) {
    const Measurement m = runCandidate({"/bin/sh", "-c", "echo 'bad things' >&2; exit 3", "sh"}, RunRequest{});
    EXPECT_EQ(m.status, "error");
    EXPECT_NE(m.message.find("status 3"), std::string::npos) << m.message;
    EXPECT_NE(m.message.find("bad things"), std::string::npos) << m.message;
}

TEST(RunnerProcess, StderrTailIsBounded) {
    const std::string noisy = "i=0; while [ $i -lt 400 ]; do echo 'line of noise' >&2; i=$((i+1)); done; exit 1";
    const Measurement m = runCandidate({"/bin/sh", "-c", noisy, "sh"}, RunRequest{});
    EXPECT_EQ(m.status, "error");
    EXPECT_LT(m.message.size(), 2200u) << m.message;
}

TEST(RunnerProcess, SignalIsACrash) {
    const Measurement m = runCandidate({"/bin/sh", "-c", "kill -ABRT $$", "sh"}, RunRequest{});
    EXPECT_EQ(m.status, "crash");
    EXPECT_NE(m.message.find("Aborted"), std::string::npos) << m.message;
}

TEST(RunnerProcess, ResultOfTheWorkerIsRead) {
    // $2 is the result path: a worker that reports without measuring anything.
    const Measurement m = runCandidate(
        {"/bin/sh", "-c", R"(printf '{"status":"ok","samples":[2.0,1.0],"seconds":1.0}' > "$2")", "sh"}, RunRequest{});
    EXPECT_EQ(m.status, "ok") << m.message;
    EXPECT_EQ(m.samples, (std::vector<double>{2.0, 1.0}));
    EXPECT_EQ(m.seconds, 1.0);
}

TEST(RunnerProcess, MalformedResultIsAnError) {
    const Measurement m = runCandidate({"/bin/sh", "-c", R"(echo 'not json' > "$2")", "sh"}, RunRequest{});
    EXPECT_EQ(m.status, "error");
    EXPECT_NE(m.message.find("not a JSON object"), std::string::npos) << m.message;
}

TEST(RunnerProcess, TimeLimitKillsTheWholeGroup) {
    // The worker's child would outlive it if only the worker were killed.
    RunRequest r;
    r.timeoutSeconds = 1;
    const std::string marker = fs::temp_directory_path() / ("kforge-runner-orphan-" + std::to_string(getpid()));
    fs::remove(marker);
    const auto t0 = std::chrono::steady_clock::now();
    const Measurement m =
        runCandidate({"/bin/sh", "-c", "(sleep 2; touch " + marker + ") & sleep 30", "sh"}, r);
    EXPECT_EQ(m.status, "timeout");
    EXPECT_LT(secondsSince(t0), 3.0);
    sleep(2);
    EXPECT_FALSE(fs::exists(marker)) << "a process of the worker's group survived the time limit";
    fs::remove(marker);
}

TEST(RunnerJson, RequestAndMeasurementRoundTrip) {
    RunRequest r;
    r.library = "/tmp/x.so";
    r.schedule = "split n 64\n\"quoted\"";
    r.shape = mnk(7, 64, 256);
    r.streamBytes = int64_t(1) << 33;
    r.tolerance = 0.05;
    const RunRequest back = kf::autotune::requestFromJson(kf::autotune::requestToJson(r));
    EXPECT_EQ(back.library, r.library);
    EXPECT_EQ(back.schedule, r.schedule);
    EXPECT_EQ(back.shape, r.shape);
    EXPECT_EQ(back.streamBytes, r.streamBytes);
    EXPECT_EQ(back.tolerance, 0.05);
    EXPECT_EQ(back.timeoutSeconds, r.timeoutSeconds);
    Measurement m;
    m.status = "wrong";
    m.message = "bytes \xff from a library";
    m.samples = {0.5, 0.25};
    m.bytes = 4194304;
    m.ops = 2.0 * 128 * 4096 * 11008;
    m.computePeak = 1.0 / 3.0 * 1e12;
    const Measurement mb = kf::autotune::measurementFromJson(kf::autotune::measurementToJson(m));
    EXPECT_EQ(mb.status, "wrong");
    EXPECT_EQ(mb.samples, m.samples);
    EXPECT_EQ(mb.bytes, m.bytes);
    EXPECT_EQ(mb.ops, m.ops);
    EXPECT_EQ(mb.computePeak, m.computePeak);
    // A worker of an older kforge writes no roofline inputs: they are 0.
    const Measurement old = kf::autotune::measurementFromJson(R"({"status": "ok", "seconds": 0.5})");
    EXPECT_EQ(old.bytes, 0);
    EXPECT_EQ(old.ops, 0);
    EXPECT_EQ(old.computePeak, 0);
    EXPECT_THROW(kf::autotune::measurementFromJson("{}"), std::runtime_error);  // no status
    EXPECT_THROW(kf::autotune::requestFromJson("[1]"), std::runtime_error);
}

}  // namespace
