// Starting kforge processes from tests and benches that must kill, time or
// run several of them at once (codegen::runCommand waits for one).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace kf::testing {

// Starts args (no shell) with stdout and stderr to `log` (truncated; /dev/null
// when empty), after setting the `env` pairs in the child. Returns its pid, or
// -1 when fork fails.
inline pid_t spawnLogged(std::vector<std::string> args, const std::string &log,
                         const std::vector<std::pair<std::string, std::string>> &env = {}) {
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        for (const auto &[name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
        const int fd = log.empty() ? ::open("/dev/null", O_WRONLY) : ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

// Waits for pid: its exit status, or 128 + the signal that ended it.
inline int waitExit(pid_t pid) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace kf::testing
