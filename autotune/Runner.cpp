// \file
// The runner's side of a measurement: writes the request, starts the worker
// in a process group of its own (posix_spawn: safe from a process that runs
// TBB threads), waits for it under the time limit and turns how it ended into
// a Measurement. A candidate can crash, hang or write nothing; none of that
// throws here. Also the JSON both sides exchange.
#include "autotune/Runner.h"

#include "autotune/Fingerprint.h"
#include "autotune/Scratch.h"
#include "autotune/SshRunner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "perf/Ceilings.h"

extern char **environ;

namespace kf::autotune {

namespace fs = std::filesystem;
using json = nlohmann::json;

// ---- the exchanged files ---------------------------------------------------

namespace {

template <typename T>
void take(const json &j, const char *key, T &field) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) field = it->get<T>();
}

json parseObject(const std::string &text, const char *what) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw std::runtime_error(std::string(what) + " is not a JSON object");
    return j;
}

}  // namespace

std::string requestToJson(const RunRequest &r) {
    json j = {{"library", r.library},         {"accessor", r.accessor},     {"kernelFile", r.kernelFile},
              {"kernelName", r.kernelName},   {"schedule", r.schedule},     {"shape", r.shape.named()},
              {"threads", r.threads},         {"streamBytes", r.streamBytes}, {"tolerance", r.tolerance},
              {"minSamples", r.minSamples},   {"maxSamples", r.maxSamples}, {"maxSeconds", r.maxSeconds},
              {"timeoutSeconds", r.timeoutSeconds}, {"computePeak", r.computePeak}};
    return j.dump(2);
}

RunRequest requestFromJson(const std::string &text) {
    const json j = parseObject(text, "the run request");
    RunRequest r;
    try {
        take(j, "library", r.library);
        take(j, "accessor", r.accessor);
        take(j, "kernelFile", r.kernelFile);
        take(j, "kernelName", r.kernelName);
        take(j, "schedule", r.schedule);
        std::string shape;
        take(j, "shape", shape);
        if (!shape.empty()) {
            std::optional<dsl::Shape> parsed = dsl::Shape::parseNamed(shape);
            if (!parsed) throw std::runtime_error("the run request's shape '" + shape + "' is not NAME=<size> ...");
            r.shape = *parsed;
        }
        take(j, "threads", r.threads);
        take(j, "streamBytes", r.streamBytes);
        take(j, "tolerance", r.tolerance);
        take(j, "minSamples", r.minSamples);
        take(j, "maxSamples", r.maxSamples);
        take(j, "maxSeconds", r.maxSeconds);
        take(j, "timeoutSeconds", r.timeoutSeconds);
        take(j, "computePeak", r.computePeak);
    } catch (const json::exception &e) {
        throw std::runtime_error(std::string("the run request has a field of the wrong type: ") + e.what());
    }
    return r;
}

std::string measurementToJson(const Measurement &m) {
    json j = {{"status", m.status},
              {"message", m.message},
              {"samples", m.samples},
              {"seconds", m.seconds},
              {"rooflineSeconds", m.rooflineSeconds},
              {"readBandwidth", m.readBandwidth},
              {"bytes", m.bytes},
              {"ops", m.ops},
              {"computePeak", m.computePeak},
              {"variant", m.variant},
              {"packedBytes", m.packedBytes},
              {"layers", m.layers}};
    // A message may hold bytes from a library's error text: never fail on them.
    return j.dump(2, ' ', false, json::error_handler_t::replace);
}

Measurement measurementFromJson(const std::string &text) {
    const json j = parseObject(text, "the worker's result");
    Measurement m;
    try {
        take(j, "status", m.status);
        take(j, "message", m.message);
        take(j, "samples", m.samples);
        take(j, "seconds", m.seconds);
        take(j, "rooflineSeconds", m.rooflineSeconds);
        take(j, "readBandwidth", m.readBandwidth);
        take(j, "bytes", m.bytes);  // absent from a worker of an older kforge: 0
        take(j, "ops", m.ops);
        take(j, "computePeak", m.computePeak);
        take(j, "variant", m.variant);
        take(j, "packedBytes", m.packedBytes);
        take(j, "layers", m.layers);
    } catch (const json::exception &e) {
        throw std::runtime_error(std::string("the worker's result has a field of the wrong type: ") + e.what());
    }
    if (m.status.empty()) throw std::runtime_error("the worker's result has no status");
    return m;
}

// ---- running the worker ----------------------------------------------------

namespace {

constexpr std::size_t kStderrTail = 2048;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

Measurement failed(const std::string &status, const std::string &message) {
    Measurement m;
    m.status = status;
    m.message = message;
    return m;
}

std::string readFile(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The last kStderrTail bytes of the worker's stderr, trimmed.
std::string stderrTail(const std::string &path) {
    std::string text = readFile(path);
    if (text.size() > kStderrTail) text = "..." + text.substr(text.size() - kStderrTail);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

std::string withTail(std::string message, const std::string &tail) {
    if (!tail.empty()) message += "; stderr: " + tail;
    return message;
}

// posix_spawn attributes and file actions, released on every path.
struct Spawn {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    Spawn() {
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_init(&actions);
    }
    ~Spawn() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
};

// Starts argv in a new process group (its pgid = its pid), stdin from
// /dev/null, stdout and stderr to `errPath`; default signal dispositions and
// an empty signal mask whatever the caller set. Returns the pid, or -1 with
// `error` set.
pid_t spawnWorker(const std::vector<std::string> &args, const std::string &errPath, std::string &error) {
    std::vector<char *> argv;
    for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    Spawn s;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP})
        sigaddset(&defaults, sig);
    posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&s.attr, 0);
    posix_spawnattr_setsigmask(&s.attr, &none);
    posix_spawnattr_setsigdefault(&s.attr, &defaults);
    posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&s.actions, STDERR_FILENO, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&s.actions, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid = -1;
    if (int rc = posix_spawnp(&pid, argv[0], &s.actions, &s.attr, argv.data(), environ); rc != 0) {
        error = "cannot start the worker " + args[0] + ": " + std::strerror(rc);
        return -1;
    }
    return pid;
}

// How the worker process ended.
struct Ending {
    bool timedOut = false;
    int interruptedBy = 0;  // a signal under the tuner's InterruptGuard
    int code = 0;    // si_code: CLD_EXITED, CLD_KILLED, CLD_DUMPED
    int status = 0;  // exit status or signal number
};

// Waits for `pid` until `timeoutSeconds` (<= 0: no limit). The worker's whole
// group is killed once it has ended (nothing it started outlives it) or when
// the time is up; the process is reaped only after that, so its pid (= the
// group's id) cannot have been reused by then.
bool waitWorker(pid_t pid, double timeoutSeconds, Ending &ending, std::string &error) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        siginfo_t info{};
        if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
            if (errno == EINTR) continue;
            error = std::string("cannot wait for the worker: ") + std::strerror(errno);
            kill(-pid, SIGKILL);
            return false;
        }
        if (info.si_pid == pid) {
            ending.code = info.si_code;
            ending.status = info.si_status;
            break;
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (timeoutSeconds > 0 && elapsed >= timeoutSeconds) {
            ending.timedOut = true;
            break;
        }
        if (const int sig = interruptSignal()) {
            ending.interruptedBy = sig;
            break;
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return true;
}

std::string signalText(int sig) {
    const char *name = strsignal(sig);
    return std::string(name ? name : "unknown signal") + " (signal " + std::to_string(sig) + ")";
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

Measurement run(const std::vector<std::string> &worker, const RunRequest &request) {
    if (worker.empty()) return failed("error", "runCandidate: no worker command");
    // A directory of its own for the request, the result and the worker's
    // stderr; removed when the measurement is done, whatever happened.
    ScratchDir dir("run");
    const std::string requestPath = dir.file("request.json"), resultPath = dir.file("result.json"),
                      errPath = dir.file("stderr.txt");
    {
        std::ofstream out(requestPath, std::ios::binary);
        out << requestToJson(request);
        if (!out.flush()) return failed("error", "cannot write the run request " + requestPath);
    }
    std::vector<std::string> args = worker;
    args.push_back(requestPath);
    args.push_back(resultPath);
    std::string error;
    const pid_t pid = spawnWorker(args, errPath, error);
    if (pid < 0) return failed("error", error);
    Ending ending;
    if (!waitWorker(pid, request.timeoutSeconds, ending, error)) return failed("error", error);

    if (ending.interruptedBy) return failed("interrupted", "stopped by " + signalText(ending.interruptedBy));
    if (ending.timedOut)
        return failed("timeout", withTail("killed after the time limit of " + seconds(request.timeoutSeconds) + " s",
                                          stderrTail(errPath)));
    if (ending.code == CLD_KILLED || ending.code == CLD_DUMPED)
        return failed("crash", withTail(signalText(ending.status), stderrTail(errPath)));
    if (!fs::exists(resultPath)) {
        const std::string how = ending.status == 0 ? "the worker exited without a result"
                                                   : "the worker exited with status " + std::to_string(ending.status);
        return failed("error", withTail(how, stderrTail(errPath)));
    }
    try {
        return measurementFromJson(readFile(resultPath));
    } catch (const std::exception &e) {
        return failed("error", withTail(e.what(), stderrTail(errPath)));
    }
}

}  // namespace

double computePeak(bool int8, int threads) {
    const double vnni = int8 ? perf::vnniPeakOps(threads) : 0.0;
    return vnni > 0 ? vnni : perf::fmaPeakFlops(threads);
}

bool LocalRunner::canRun(const targets::TargetInfo &target, std::string *why) const {
    if (target.runsHere == targets::RunsHere::Native && target.hostSupports()) return true;
    if (why)
        *why = std::string(target.name) + " does not run on this machine (" +
               (target.runsHere == targets::RunsHere::Native ? "this CPU lacks its instructions"
                                                             : std::string("it runs ") + targets::toString(target.runsHere) +
                                                                   " here, and the local runner times native code only") +
               "); tune on the target hardware and bring the records here with `kforge db export` / `kforge db import`";
    return false;
}

Measurement LocalRunner::run(const RunRequest &request) {
    MachineLock measuring(/*exclusive=*/true);
    return runCandidate(worker_, request);
}

std::string measureLockPath() {
    const char *env = std::getenv("KFORGE_MEASURE_LOCK");
    return env && *env ? env : "/tmp/kforge-measure.lock";
}

MachineLock::MachineLock(bool exclusive) {
    const std::string path = measureLockPath();
    fd_ = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    ::fchmod(fd_, 0644);  // whatever the umask (fails harmlessly on another user's file)
    while (::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0) {
        if (errno != EINTR || interruptSignal()) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
    }
}

MachineLock::~MachineLock() {
    if (fd_ >= 0) ::close(fd_);
}

std::string Runner::machine(int threads) const { return machineFingerprint(threads); }

int64_t Runner::lastLevelCache() const { return lastLevelCacheBytes(); }

std::unique_ptr<Runner> makeRunner(const std::string &name, std::vector<std::string> worker) {
    if (name.empty() || name == "local") return std::make_unique<LocalRunner>(std::move(worker));
    if (name.rfind("ssh://", 0) == 0) return std::make_unique<SshRunner>(name, std::move(worker));
    throw std::invalid_argument("unknown runner '" + name +
                                "'; runners: local (this machine), ssh://[user@]host[:port] (another machine)");
}

Measurement runCandidate(const std::vector<std::string> &worker, const RunRequest &request) {
    try {
        return run(worker, request);
    } catch (const std::exception &e) {
        return failed("error", std::string("runCandidate: ") + e.what());
    }
}

}  // namespace kf::autotune
