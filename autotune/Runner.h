// \file
// Measures one built candidate: the Runner interface, and its implementation
// for this machine (LocalRunner: a process of its own, `kforge tune-worker`,
// under a time limit). A candidate that crashes, hangs or computes the wrong
// numbers is reported as failed and the caller goes on. The worker checks the
// kernel against the family's double-precision reference before it times
// anything (autotune/Family.h: each family's measure).
//
//   Runner::run ── request.json ──> worker process (own process group)
//        │                             dlopen candidate .so, random inputs,
//        │  waits <= timeoutSeconds     run at the shape, check vs the family's
//        │  (SIGKILL to the group)      reference, copy the data until
//        │                             streamBytes, time sweeps, read roofline
//        └──── result.json <──────────┘  (perf/Ceilings.h)
//
// SshRunner (SshRunner.h) measures on another machine over SSH. Further
// runners (qemu for arm64 targets, a GPU machine) implement Runner: `kforge tune` asks the runner whether it can run a target
// (Runner::canRun) instead of assuming the host runs everything.
//
// Timing: a sample is the mean time per kernel call over whole sweeps
// through every copy of the data (>= 20 ms of calls); sampling stops when
// the best and third-best samples agree within `tolerance` (and there are >=
// minSamples), at maxSamples, or once maxSeconds of sampling have passed
// (maxSeconds wins over minSamples: a slow candidate is still measured,
// not timed out). The read bandwidth of a buffer as large as the copies is
// measured between samples with the same thread count; its best pass counts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::autotune {

struct Measurement {
    // "ok", "crash", "timeout", "wrong", "error"; never recorded: "interrupted"
    // (a signal stopped the tuner), "unreachable" (the machine that measures is gone)
    std::string status;
    std::string message;           // why, when not ok (signal name, mismatch, worker's stderr tail)
    std::vector<double> samples;   // seconds per call, in order
    double seconds = 0;            // best sample
    double rooflineSeconds = 0;    // the roofline's time per call (bytes / read bandwidth or ops / peak)
    double readBandwidth = 0;      // bytes/s of a plain read of the same working set, same threads
    // The roofline's other inputs, as the family counts them (0 = no such term):
    double bytes = 0;              // bytes per call it divides by readBandwidth
    double ops = 0;                // operations per call (int8 ops or f32 flops) it divides by computePeak
    double computePeak = 0;        // the ops/s it used (RunRequest::computePeak, or what the worker measured)
    std::string variant;           // the variant symbol that ran at the shape's rows
    int64_t packedBytes = 0;       // bytes one call streams (weights; in + out for a family without weights)
    int64_t layers = 0;            // distinct copies of the data cycled through while timed
};

struct RunRequest {
    std::string library;       // candidate shared object (Builder)
    std::string accessor;      // its kernel accessor symbol, "kf_<lib>_<kernel>"
    std::string kernelFile;    // the kernel file, for the family's reference
    std::string kernelName;
    std::string schedule;      // the candidate's schedule text (for messages and the fault hook)
    dsl::Shape shape;          // rows first; the family's dims (a dimension the kernel declares may be absent)
    int threads = 0;                    // 0 = all hardware threads
    int64_t streamBytes = 0;            // weights cycled through (memory-bound shapes); 0 = one layer
    double tolerance = 0.03;            // best and third-best sample within this
    int minSamples = 3, maxSamples = 30;
    double maxSeconds = 3.0;            // sampling stops after this much timing
    double timeoutSeconds = 60;         // the whole worker, including the check
    double computePeak = 0;             // ops/s of the roofline's compute term; 0 = the worker measures it
};

// The compute peak of the roofline on `threads` threads (0 = all): int8 dot
// products (`int8`) where the CPU has them, else f32 FMAs; 0 when unknown.
// Measured (~0.2 s) on every call.
double computePeak(bool int8, int threads);

// One measurement at a time per machine, whatever the number of tuners: an
// flock on measureLockPath() ($KFORGE_MEASURE_LOCK, else
// /tmp/kforge-measure.lock), exclusive while a worker times a candidate and
// shared while a tuner builds a batch, so that no kforge build or other
// measurement shares the CPU with a timing. Tuners of several users on one
// machine share the file (created world-readable; a shared or exclusive
// flock needs only read access). Blocks until granted; a lock that cannot be
// opened is skipped (the measurement goes on, unserialised).
class MachineLock {
public:
    explicit MachineLock(bool exclusive);
    ~MachineLock();
    MachineLock(const MachineLock &) = delete;
    MachineLock &operator=(const MachineLock &) = delete;

private:
    int fd_ = -1;
};
std::string measureLockPath();

// Where candidates are measured.
class Runner {
public:
    virtual ~Runner() = default;
    virtual std::string name() const = 0;
    // Whether this runner can run code for `target`; when not, *why says so.
    virtual bool canRun(const targets::TargetInfo &target, std::string *why) const = 0;
    // Never throws for what the candidate does.
    virtual Measurement run(const RunRequest &request) = 0;
    // The machine that measures: its fingerprint at `threads` (Fingerprint.h,
    // part of every record's key) and its last-level cache (how much data a
    // memory-bound measurement cycles through). Throw std::runtime_error when
    // the machine cannot be asked.
    virtual std::string machine(int threads) const;
    virtual int64_t lastLevelCache() const;
    // The roofline's compute peak for RunRequest::computePeak, measured once
    // per (int8, threads) by the caller; 0 lets the worker measure it.
    virtual double peak(bool int8, int threads) const { return computePeak(int8, threads); }
};

// This machine: each candidate in a `kforge tune-worker` process. `worker`:
// argv[0] and leading arguments, e.g. {"/path/kforge", "tune-worker"}.
class LocalRunner final : public Runner {
public:
    explicit LocalRunner(std::vector<std::string> worker) : worker_(std::move(worker)) {}
    std::string name() const override { return "local"; }
    bool canRun(const targets::TargetInfo &target, std::string *why) const override;
    Measurement run(const RunRequest &request) override;

private:
    std::vector<std::string> worker_;
};

// The runner named on the command line: `--runner local` (the default) or
// `--runner ssh://user@host:port`.
// Throws std::invalid_argument naming the runners there are.
std::unique_ptr<Runner> makeRunner(const std::string &name, std::vector<std::string> worker);

// Runs `worker` with the request in a process of its own (what LocalRunner
// does); never throws for what the candidate does.
Measurement runCandidate(const std::vector<std::string> &worker, const RunRequest &request);

// The worker's side: `kforge tune-worker REQUEST.json RESULT.json`. Returns the
// process exit code. Test hook: KFORGE_TUNE_FAULT="crash:<text>;hang:<text>;wrong:<text>"
// makes a candidate whose schedule text contains <text> crash (SIGSEGV),
// hang, or perturb its output before the check.
int workerMain(const std::string &requestPath, const std::string &resultPath);

// The files the two sides exchange (JSON objects with the fields' names;
// absent fields keep their defaults). From-JSON throws std::runtime_error on
// malformed text.
std::string requestToJson(const RunRequest &request);
RunRequest requestFromJson(const std::string &text);
std::string measurementToJson(const Measurement &measurement);
Measurement measurementFromJson(const std::string &text);

}  // namespace kf::autotune
