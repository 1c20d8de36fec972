// Servers of the test's own on loopback, started in a temporary directory on
// a free port and stopped and removed when the object goes:
// PgServer (test/servers/postgres.sh), whose stop() / start() let a test take
// it away mid-run, and SshServer (test/servers/sshd.sh).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>

#include "codegen/emit/Toolchain.h"

namespace kf::testing {

// A loopback port nothing listens on now.
inline int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
        throw std::runtime_error("no free loopback port");
    ::close(fd);
    return ntohs(a.sin_port);
}

class PgServer {
public:
    PgServer() {
        dir_ = std::filesystem::temp_directory_path() / ("kforge-pg-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        port_ = freePort();
        start();
    }
    ~PgServer() {
        std::string out;
        codegen::runCommand({script(), "stop", dir_.string()}, out);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    PgServer(const PgServer &) = delete;
    PgServer &operator=(const PgServer &) = delete;

    void start() {
        std::string out;
        if (codegen::runCommand({script(), "start", dir_.string(), std::to_string(port_)}, out) != 0)
            throw std::runtime_error("cannot start the test's PostgreSQL server: " + out);
        // The URL is the line the script prints; anything else is a tool's chatter.
        const auto at = out.find("postgresql://");
        if (at == std::string::npos) throw std::runtime_error("the test's PostgreSQL server gave no URL: " + out);
        url_ = out.substr(at, out.find('\n', at) - at);
    }
    void stop() {
        std::string out;
        codegen::runCommand({script(), "stop", dir_.string()}, out);
    }
    const std::string &url() const { return url_; }
    // A database of its own on the same server (tests must not see each other's records).
    std::string freshDatabase(const std::string &name) const {
        std::string out;
        const std::string base = url_.substr(0, url_.rfind('/') + 1);
        const std::string bin = "/usr/bin/psql";
        codegen::runCommand({bin, url_, "-qtAc", "DROP DATABASE IF EXISTS " + name}, out);
        if (codegen::runCommand({bin, url_, "-qtAc", "CREATE DATABASE " + name}, out) != 0)
            throw std::runtime_error("cannot create database " + name + ": " + out);
        return base + name;
    }

private:
    static std::string script() { return std::string(KFORGE_SOURCE_DIR) + "/test/servers/postgres.sh"; }
    std::filesystem::path dir_;
    int port_ = 0;
    std::string url_;
};


class SshServer {
public:
    explicit SshServer(const std::string &name) {
        dir_ = std::filesystem::temp_directory_path() / ("kforge-sshd-" + std::to_string(::getpid()) + "-" + name);
        std::filesystem::remove_all(dir_);
        std::string out;
        if (codegen::runCommand({script(), "start", dir_.string(), std::to_string(freePort())}, out) != 0)
            throw std::runtime_error("cannot start the test's sshd: " + out);
        std::istringstream lines(out);
        std::getline(lines, url_);
        std::getline(lines, identity_);
        std::getline(lines, knownHosts_);
    }
    ~SshServer() {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    SshServer(const SshServer &) = delete;
    SshServer &operator=(const SshServer &) = delete;
    // Stops the server and drops every session: a host that goes away.
    void stop() {
        std::string out;
        codegen::runCommand({script(), "stop", dir_.string()}, out);
    }
    const std::string &url() const { return url_; }
    const std::string &identity() const { return identity_; }
    const std::string &knownHosts() const { return knownHosts_; }

private:
    static std::string script() { return std::string(KFORGE_SOURCE_DIR) + "/test/servers/sshd.sh"; }
    std::filesystem::path dir_;
    std::string url_, identity_, knownHosts_;
};

}  // namespace kf::testing
