// \file
// A Runner that measures on another machine over SSH (`kforge tune --runner
// ssh://user@host:port`): candidates are compiled here, where Halide is, and
// timed there, on the CPU the records are for.
//
//   here                                   there (a directory from mktemp -d)
//   ssh ... mktemp -d             ───────> /tmp/kforge-remote.XXXXXXXX/
//   the worker (this kforge)      ─ cat ─> kforge      once per run
//   the kernel file               ─ cat ─> kernel-N.kf once per file
//   candidate .so, request.json   ─ cat ─> candidate.so, request.json
//   ssh ... timeout -s KILL T kforge tune-worker request.json result.json
//   ssh ... cat result.json       <─────── the Measurement
//
// Plain OpenSSH client: BatchMode (no prompt), host keys checked
// (StrictHostKeyChecking=yes: the host must be in known_hosts), one
// multiplexed connection for the whole run. The remote commands are built
// from constants and the directory mktemp printed (checked to be a plain
// path); nothing the user typed reaches a shell there, and the host and user
// are checked before they reach ssh's command line.
//
// Environment: KFORGE_SSH_IDENTITY (a private key file), KFORGE_SSH_KNOWN_HOSTS
// (a known_hosts file instead of ~/.ssh/known_hosts), KFORGE_SSH_WORKER (a
// kforge already on the remote host, instead of copying this one). The worker
// copied is this kforge executable: the remote host needs the shared
// libraries it links (the same Debian packages).
//
// A host that cannot be reached, or that drops mid-run, gives the status
// "unreachable" (never recorded): the tuner gives that candidate's claim back
// to the queue and stops.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autotune/Runner.h"
#include "autotune/Scratch.h"

namespace kf::autotune {

struct SshEndpoint {
    std::string user;  // empty: ssh's default
    std::string host;
    int port = 0;      // 0: ssh's default
};

// ssh://[user@]host[:port] (host a name, an IPv4 address or [IPv6]); throws
// std::invalid_argument saying what is wrong.
SshEndpoint parseSshUrl(const std::string &url);

class SshRunner final : public Runner {
public:
    // `worker`: this kforge's argv prefix for the worker ({path, "tune-worker"}).
    SshRunner(const std::string &url, std::vector<std::string> worker);
    ~SshRunner() override;
    std::string name() const override { return url_; }
    // Connects, sets up the remote directory and asks the remote kforge
    // whether its CPU runs `target`.
    bool canRun(const targets::TargetInfo &target, std::string *why) const override;
    Measurement run(const RunRequest &request) override;
    // The remote machine's fingerprint and cache (`kforge tune-machine` there).
    std::string machine(int threads) const override;
    int64_t lastLevelCache() const override;
    // 0: the worker measures the remote CPU's peak.
    double peak(bool, int) const override { return 0; }

private:
    std::vector<std::string> askMachine(int threads) const;
    bool ensureSession(std::string *why) const;
    std::vector<std::string> ssh(const std::string &remoteCommand) const;
    // Copies a local file to a remote path (in the remote directory).
    bool copy(const std::string &local, const std::string &remote, std::string *why) const;

    std::string url_;
    SshEndpoint at_;
    std::vector<std::string> worker_;
    mutable std::optional<ScratchDir> control_;  // the multiplexed connection's socket
    mutable std::string remoteDir_, remoteWorker_;
    mutable bool broken_ = false;
    std::map<std::string, std::string> kernelFiles_;  // local path -> remote copy
    mutable std::map<int, std::vector<std::string>> machines_;  // threads -> tune-machine's lines
};

}  // namespace kf::autotune
