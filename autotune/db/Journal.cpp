// \file
// The local journal (Journal.h).
#include "autotune/db/Journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "autotune/db/Store.h"

namespace kf::autotune::db {

namespace {

// An open descriptor holding an exclusive flock, closed (and unlocked) on scope exit.
class LockedFile {
public:
    LockedFile(const std::string &path, int flags) : path_(path) {
        fd_ = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
        if (fd_ < 0) return;
        while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
        }
    }
    ~LockedFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    LockedFile(const LockedFile &) = delete;
    LockedFile &operator=(const LockedFile &) = delete;
    int fd() const { return fd_; }
    [[noreturn]] void fail(const char *what) const {
        throw std::runtime_error("tuning journal " + path_ + ": " + what + ": " + std::strerror(errno));
    }
    std::string readAll() const {
        std::string text;
        char buf[1 << 16];
        ::lseek(fd_, 0, SEEK_SET);
        for (;;) {
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail("cannot read");
            if (n == 0) break;
            text.append(buf, static_cast<std::size_t>(n));
        }
        return text;
    }

private:
    std::string path_;
    int fd_ = -1;
};

std::vector<Record> parse(const std::string &text) {
    std::vector<Record> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (in.eof()) break;  // no newline after it: torn by a kill mid-append
        try {
            out.push_back(recordFromJsonLine(line));
        } catch (const std::runtime_error &) {
            // A torn or foreign line: its candidate is measured again.
        }
    }
    return out;
}

}  // namespace

void Journal::append(const Record &record) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    LockedFile f(path_, O_WRONLY | O_CREAT | O_APPEND);
    if (f.fd() < 0) f.fail("cannot open for appending");
    const std::string line = toJsonLine(record) + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(f.fd(), line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) f.fail("cannot append");
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd()) != 0) f.fail("cannot sync");
}

std::vector<Record> Journal::read() const {
    LockedFile f(path_, O_RDONLY);
    if (f.fd() < 0) return {};
    return parse(f.readAll());
}

std::size_t Journal::drain(const std::function<void(const std::vector<Record> &)> &push) {
    LockedFile f(path_, O_RDWR);
    if (f.fd() < 0) return 0;
    const std::vector<Record> records = parse(f.readAll());
    if (!records.empty()) push(records);
    if (::ftruncate(f.fd(), 0) != 0) f.fail("cannot empty");
    ::fsync(f.fd());
    return records.size();
}

std::string journalPathFor(const std::string &location) {
    std::filesystem::path dir;
    if (const char *d = std::getenv("KFORGE_JOURNAL_DIR"); d && *d)
        dir = d;
    else if (const char *s = std::getenv("XDG_STATE_HOME"); s && *s)
        dir = std::filesystem::path(s) / "kforge";
    else if (const char *h = std::getenv("HOME"); h && *h)
        dir = std::filesystem::path(h) / ".local" / "state" / "kforge";
    else
        dir = std::filesystem::temp_directory_path() / ("kforge-journal-" + std::to_string(::getuid()));
    return (dir / ("journal-" + hashHex(redactUrl(location)).substr(0, 16) + ".jsonl")).string();
}

}  // namespace kf::autotune::db
