// \file
// The SSH runner (SshRunner.h).
#include "autotune/SshRunner.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "codegen/emit/Toolchain.h"

namespace kf::autotune {

namespace {

// What ssh exits with when it, not the remote command, failed.
constexpr int kSshFailed = 255;

Measurement failed(const std::string &status, const std::string &message) {
    Measurement m;
    m.status = status;
    m.message = message;
    return m;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    if (s.size() > 2048) s = "..." + s.substr(s.size() - 2048);
    return s;
}

// A remote path this runner made (mktemp's answer): nothing a shell would read as more than a word.
bool plainPath(const std::string &p) { return std::regex_match(p, std::regex("/[A-Za-z0-9._/-]+")); }

std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

}  // namespace

SshEndpoint parseSshUrl(const std::string &url) {
    const std::string scheme = "ssh://";
    if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("'" + url + "' is not ssh://[user@]host[:port]");
    std::string rest = url.substr(scheme.size());
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    SshEndpoint e;
    if (const auto at = rest.find('@'); at != std::string::npos) {
        e.user = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (!std::regex_match(e.user, std::regex("[A-Za-z0-9_][A-Za-z0-9._-]*")))
            throw std::invalid_argument("'" + url + "': the user name '" + e.user +
                                        "' may hold letters, digits, '.', '_' and '-' only");
    }
    std::string port;
    if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
        const auto close = rest.find(']');
        if (close == std::string::npos) throw std::invalid_argument("'" + url + "': no ']' after the IPv6 address");
        e.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') throw std::invalid_argument("'" + url + "': expected ':port' after ']'");
            port = rest.substr(close + 2);
        }
        if (!std::regex_match(e.host, std::regex("[0-9A-Fa-f:.]+")))
            throw std::invalid_argument("'" + url + "': '" + e.host + "' is not an IPv6 address");
    } else {
        const auto colon = rest.find(':');
        e.host = rest.substr(0, colon);
        if (colon != std::string::npos) port = rest.substr(colon + 1);
        if (!std::regex_match(e.host, std::regex("[A-Za-z0-9][A-Za-z0-9.-]*")))
            throw std::invalid_argument("'" + url + "': the host '" + e.host +
                                        "' may hold letters, digits, '.' and '-' only");
    }
    if (!port.empty()) {
        if (!std::regex_match(port, std::regex("[0-9]{1,5}")) || std::stoi(port) < 1 || std::stoi(port) > 65535)
            throw std::invalid_argument("'" + url + "': the port '" + port + "' is not 1-65535");
        e.port = std::stoi(port);
    }
    return e;
}

SshRunner::SshRunner(const std::string &url, std::vector<std::string> worker)
    : url_(url), at_(parseSshUrl(url)), worker_(std::move(worker)) {}

SshRunner::~SshRunner() {
    if (!remoteDir_.empty() && !broken_) {
        std::string out;
        codegen::runCommand(ssh("rm -rf " + remoteDir_), out);
    }
    if (control_) {
        std::string out;
        std::vector<std::string> exit = ssh("");
        exit.insert(exit.begin() + 1, {"-O", "exit"});
        exit.pop_back();  // no command
        codegen::runCommand(exit, out);
    }
}

std::vector<std::string> SshRunner::ssh(const std::string &remoteCommand) const {
    std::vector<std::string> a{"ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR",
                               "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=3", "-o", "ServerAliveCountMax=2"};
    if (const std::string known = env("KFORGE_SSH_KNOWN_HOSTS"); !known.empty())
        a.insert(a.end(), {"-o", "UserKnownHostsFile=" + known});
    if (const std::string key = env("KFORGE_SSH_IDENTITY"); !key.empty())
        a.insert(a.end(), {"-o", "IdentitiesOnly=yes", "-i", key});
    if (control_)
        a.insert(a.end(), {"-o", "ControlMaster=auto", "-o", "ControlPath=" + control_->file("c"), "-o",
                           "ControlPersist=120"});
    if (at_.port) a.insert(a.end(), {"-p", std::to_string(at_.port)});
    if (!at_.user.empty()) a.insert(a.end(), {"-l", at_.user});
    a.push_back("--");
    a.push_back(at_.host);
    a.push_back(remoteCommand);
    return a;
}

bool SshRunner::copy(const std::string &local, const std::string &remote, std::string *why) const {
    std::string out;
    const int rc = codegen::runCommand(ssh("cat > " + remote), out, local);
    if (rc == 0) return true;
    if (why) *why = "cannot copy " + local + " to " + url_ + ":" + remote + ": " + trimmed(out);
    if (rc == kSshFailed) broken_ = true;
    return false;
}

bool SshRunner::ensureSession(std::string *why) const {
    if (broken_) {
        if (why) *why = "the connection to " + url_ + " was lost";
        return false;
    }
    if (!remoteDir_.empty()) return true;
    if (!control_) control_.emplace("ssh");
    std::string out;
    const int rc = codegen::runCommand(ssh("mktemp -d /tmp/kforge-remote.XXXXXXXX"), out);
    out = trimmed(out);
    if (rc != 0 || !plainPath(out)) {
        if (why) *why = "cannot reach " + url_ + " (ssh exit status " + std::to_string(rc) + "): " + out;
        return false;
    }
    remoteDir_ = out;
    if (const std::string installed = env("KFORGE_SSH_WORKER"); !installed.empty()) {
        if (!plainPath(installed)) {
            if (why) *why = "KFORGE_SSH_WORKER '" + installed + "' is not a plain absolute path";
            return false;
        }
        remoteWorker_ = installed;
        return true;
    }
    remoteWorker_ = remoteDir_ + "/kforge";
    if (!copy(worker_.at(0), remoteWorker_, why)) return false;
    if (codegen::runCommand(ssh("chmod 700 " + remoteWorker_), out) != 0) {
        if (why) *why = "cannot make the worker executable on " + url_ + ": " + trimmed(out);
        return false;
    }
    return true;
}

bool SshRunner::canRun(const targets::TargetInfo &target, std::string *why) const {
    if (!ensureSession(why)) return false;
    std::string out;
    if (codegen::runCommand(ssh(remoteWorker_ + " targets"), out) != 0) {
        if (why) *why = "the worker on " + url_ + " does not start: " + trimmed(out);
        return false;
    }
    // `kforge targets`: name, whether the host CPU has it, ...
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string name, host;
        words >> name >> host;
        if (name == target.name) {
            if (host == "yes") return true;
            if (why) *why = "the CPU of " + url_ + " lacks " + std::string(target.name) + "'s instructions";
            return false;
        }
    }
    if (why) *why = "the kforge on " + url_ + " does not know the target " + std::string(target.name);
    return false;
}

std::vector<std::string> SshRunner::askMachine(int threads) const {
    if (auto it = machines_.find(threads); it != machines_.end()) return it->second;
    std::string why, out;
    if (!ensureSession(&why)) throw std::runtime_error(why);
    if (codegen::runCommand(ssh(remoteWorker_ + " tune-machine " + std::to_string(threads)), out) != 0)
        throw std::runtime_error("cannot ask " + url_ + " for its machine fingerprint: " + trimmed(out));
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    if (lines.size() < 2 || lines[0].empty())
        throw std::runtime_error("the machine fingerprint of " + url_ + " is malformed: " + trimmed(out));
    return machines_[threads] = lines;
}

std::string SshRunner::machine(int threads) const { return askMachine(threads)[0]; }

int64_t SshRunner::lastLevelCache() const { return std::stoll(askMachine(0)[1]); }

Measurement SshRunner::run(const RunRequest &request) {
    std::string why;
    if (!ensureSession(&why)) return failed("unreachable", why);
    // The kernel file once per run, the candidate and the request each time.
    auto kernel = kernelFiles_.find(request.kernelFile);
    if (kernel == kernelFiles_.end()) {
        const std::string remote = remoteDir_ + "/kernel-" + std::to_string(kernelFiles_.size()) + ".kf";
        if (!copy(request.kernelFile, remote, &why)) return failed(broken_ ? "unreachable" : "error", why);
        kernel = kernelFiles_.emplace(request.kernelFile, remote).first;
    }
    const std::string library = remoteDir_ + "/candidate.so", requestPath = remoteDir_ + "/request.json",
                      resultPath = remoteDir_ + "/result.json";
    if (!copy(request.library, library, &why)) return failed(broken_ ? "unreachable" : "error", why);
    RunRequest there = request;
    there.library = library;
    there.kernelFile = kernel->second;
    ScratchDir local("ssh-request");
    const std::string localRequest = local.file("request.json");
    {
        std::ofstream out(localRequest, std::ios::binary);
        out << requestToJson(there);
        if (!out.flush()) return failed("error", "cannot write " + localRequest);
    }
    if (!copy(localRequest, requestPath, &why)) return failed(broken_ ? "unreachable" : "error", why);

    char limit[32];
    std::snprintf(limit, sizeof limit, "%.0f", std::max(1.0, request.timeoutSeconds));
    std::string out;
    const auto t0 = std::chrono::steady_clock::now();
    // One measurement at a time on that machine too (MachineLock's file, through util-linux's flock).
    const int rc = codegen::runCommand(ssh("rm -f " + resultPath + " && flock -x /tmp/kforge-measure.lock timeout -s KILL " +
                                           limit + " " + remoteWorker_ + " tune-worker " + requestPath + " " +
                                           resultPath),
                                       out);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string tail = trimmed(out);
    if (rc == kSshFailed) {
        broken_ = true;
        return failed("unreachable", "lost " + url_ + " while measuring: " + tail);
    }
    if (rc == 137 && took >= request.timeoutSeconds)
        return failed("timeout", "killed on " + url_ + " after the time limit of " + std::string(limit) + " s" +
                                     (tail.empty() ? "" : "; stderr: " + tail));
    if (rc > 128 && rc < 128 + 65) {
        const char *name = strsignal(rc - 128);
        return failed("crash", std::string(name ? name : "a signal") + " (signal " + std::to_string(rc - 128) +
                                   ") on " + url_ + (tail.empty() ? "" : "; stderr: " + tail));
    }
    std::string result;
    const int got = codegen::runCommand(ssh("cat " + resultPath), result);
    if (got == kSshFailed) {
        broken_ = true;
        return failed("unreachable", "lost " + url_ + " reading the result: " + trimmed(result));
    }
    if (got != 0)
        return failed("error", "the worker on " + url_ + " exited with status " + std::to_string(rc) +
                                   " and no result" + (tail.empty() ? "" : "; stderr: " + tail));
    try {
        return measurementFromJson(result);
    } catch (const std::exception &e) {
        return failed("error", std::string(e.what()) + (tail.empty() ? "" : "; stderr: " + tail));
    }
}

}  // namespace kf::autotune
