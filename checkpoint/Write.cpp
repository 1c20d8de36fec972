#include "checkpoint/Write.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace kf::checkpoint {

namespace fs = std::filesystem;

namespace {
// The process's umask, read without changing it (umask(2) can only set it):
// /proc/self/status says it on Linux 4.7 and later; 022 otherwise.
mode_t currentUmask() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
    return 022;
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    fs::path p(path_);
    fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::string tmpl = (dir / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    fd_ = mkstemp(buf.data());
    if (fd_ < 0) fail(std::string("cannot create a temporary file in ") + dir.string() + ": " + std::strerror(errno));
    tmp_ = buf.data();
    // mkstemp makes the file 0600: give it the mode a new file gets here (or
    // the mode of the file it replaces), as any other writer would.
    struct stat st {};
    const mode_t mode = ::stat(path_.c_str(), &st) == 0 ? (st.st_mode & 07777) : (0666 & ~currentUmask());
    if (::fchmod(fd_, mode) != 0) fail(std::string("cannot set the file mode: ") + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string &what) const { throw CheckpointError(path_ + ": " + what); }

void AtomicFile::writeAt(uint64_t offset, const void *bytes, std::size_t n) {
    if (fd_ < 0) fail("write after the file was closed");
    const char *p = static_cast<const char *>(bytes);
    while (n > 0) {
        ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
        if (w < 0) {
            if (errno == EINTR) continue;
            fail(std::string("write failed: ") + std::strerror(errno));
        }
        p += w;
        offset += static_cast<uint64_t>(w);
        n -= static_cast<std::size_t>(w);
    }
}

void AtomicFile::write(const void *bytes, std::size_t n) {
    writeAt(size_, bytes, n);
    size_ += n;
}

void AtomicFile::padTo(uint64_t offset) {
    static const char zeros[4096] = {};
    while (size_ < offset) write(zeros, static_cast<std::size_t>(std::min<uint64_t>(sizeof zeros, offset - size_)));
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) fail(std::string("fsync failed: ") + std::strerror(errno));
    if (::close(fd_) != 0) {
        fd_ = -1;
        fail(std::string("close failed: ") + std::strerror(errno));
    }
    fd_ = -1;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail(std::string("cannot rename the finished file into place: ") +
                                                       std::strerror(errno));
    committed_ = true;
}

SafetensorsWriter::SafetensorsWriter(std::string path, std::vector<TensorDecl> tensors, const nlohmann::json &metadata)
    : file_(std::move(path)), tensors_(std::move(tensors)) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        for (auto it = metadata.begin(); it != metadata.end(); ++it)
            if (!it.value().is_string()) file_.fail("metadata value '" + it.key() + "' is not a string");
        header["__metadata__"] = nlohmann::ordered_json::parse(metadata.dump());
    }
    uint64_t offset = 0;
    for (const auto &t : tensors_) {
        const TypeInfo &ti = info(t.type);
        if (ti.blockSize != 1) file_.fail("tensor '" + t.name + "': safetensors cannot hold " + ti.name + " blocks");
        if (t.name == "__metadata__" || header.contains(t.name)) file_.fail("tensor name '" + t.name + "' is used twice");
        uint64_t n = static_cast<uint64_t>(ti.blockBytes);
        for (int64_t d : t.shape) {
            if (d < 0) file_.fail("tensor '" + t.name + "' has a negative dimension");
            n *= static_cast<uint64_t>(d);
        }
        header[t.name] = {{"dtype", ti.name}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
        sizes_.push_back(n);
        offset += n;
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    uint64_t len = h.size();
    file_.write(&len, 8);
    file_.write(h.data(), h.size());
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::write(const void *bytes, std::size_t n) {
    uint64_t left = 0;
    for (std::size_t i = next_; i < sizes_.size(); ++i) left += sizes_[i];
    if (n > left - writtenOfNext_)
        file_.fail("more bytes written than the declared tensors hold (" + std::to_string(left - writtenOfNext_) +
                   " left, " + std::to_string(n) + " given)");
    file_.write(bytes, n);
    writtenOfNext_ += n;
    skipEmpty();
}

// Moves past finished tensors (a write may end several) and empty ones.
void SafetensorsWriter::skipEmpty() {
    while (next_ < sizes_.size() && writtenOfNext_ >= sizes_[next_]) {
        writtenOfNext_ -= sizes_[next_];
        ++next_;
    }
}

void SafetensorsWriter::commit() {
    skipEmpty();
    if (next_ != sizes_.size() || writtenOfNext_ != 0)
        file_.fail("the data written does not match the declared tensors (" + std::to_string(next_) + " of " +
                   std::to_string(sizes_.size()) + " complete)");
    file_.commit();
}

namespace {

bool sameFile(const std::string &a, const std::string &b) {
    std::error_code ec;
    return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

}  // namespace

DeltaSummary paramDelta(const Checkpoint &post, const Checkpoint &base, const Checkpoint &newBase,
                        const std::string &outPath, const std::function<void(const std::string &)> &progress) {
    for (const Checkpoint *c : {&post, &base, &newBase})
        if (sameFile(outPath, c->path()))
            throw CheckpointError(outPath + ": the output is one of the inputs; write it to a new file");
    // The same names in all three: every name of one is in the other.
    auto missing = [](const Checkpoint &from, const Checkpoint &in) {
        for (const auto &t : from.tensors())
            if (!in.find(t.name))
                throw CheckpointError(in.path() + ": has no tensor '" + t.name + "' (the other checkpoints have it); "
                                      "ParamΔ needs the same tensors in post, base and new base");
    };
    missing(post, base);
    missing(post, newBase);
    missing(base, post);
    missing(newBase, post);

    std::vector<TensorDecl> decls;
    for (const auto &t : post.tensors()) {
        const TensorView &b = base.at(t.name), &n = newBase.at(t.name);
        using Other = std::pair<const TensorView *, const std::string *>;
        for (const auto &[other, path] : {Other{&b, &base.path()}, Other{&n, &newBase.path()}}) {
            if (other->shape != t.shape)
                throw CheckpointError("tensor '" + t.name + "': shape " + shapeText(t.shape) + " in " + post.path() +
                                      " but " + shapeText(other->shape) + " in " + *path);
            if (other->type != t.type)
                throw CheckpointError("tensor '" + t.name + "': " + typeName(t.type) + " in " + post.path() + " but " +
                                      typeName(other->type) + " in " + *path);
        }
        if (info(t.type).blockSize != 1)
            throw CheckpointError("tensor '" + t.name + "' is " + typeName(t.type) +
                                  " (quantized blocks): ParamΔ needs float weights; dequantize the checkpoints first");
        decls.push_back({t.name, t.type, t.shape});
    }
    nlohmann::json meta = newBase.format() == Format::Safetensors ? newBase.metadata() : nlohmann::json::object();
    SafetensorsWriter w(outPath, decls, meta);
    DeltaSummary s;
    for (const auto &t : post.tensors()) {
        const TensorView &b = base.at(t.name), &n = newBase.at(t.name);
        if (!info(t.type).isFloat) {
            if (t.bytes.size() != b.bytes.size() || !std::equal(t.bytes.begin(), t.bytes.end(), b.bytes.begin()))
                throw CheckpointError("tensor '" + t.name + "' (" + typeName(t.type) +
                                      ") differs between post and base: ParamΔ is defined for float tensors only, "
                                      "and a non-float tensor must be the same in both");
            w.write(n.bytes.data(), n.bytes.size());
            ++s.copiedTensors;
        } else {
            std::vector<uint8_t> out(t.bytes.size());
            if (t.type == Type::F64) {   // f64 stays f64
                for (std::size_t i = 0; i < out.size() / 8; ++i) {
                    double a, bb, c;
                    std::memcpy(&a, t.bytes.data() + 8 * i, 8);
                    std::memcpy(&bb, b.bytes.data() + 8 * i, 8);
                    std::memcpy(&c, n.bytes.data() + 8 * i, 8);
                    double r = a - bb + c;
                    std::memcpy(out.data() + 8 * i, &r, 8);
                }
            } else {
                std::vector<float> vp = toFloat(t), vb = toFloat(b), vn = toFloat(n);
                for (std::size_t i = 0; i < vp.size(); ++i) {
                    float f = static_cast<float>(static_cast<double>(vp[i]) - static_cast<double>(vb[i]) +
                                                 static_cast<double>(vn[i]));
                    if (t.type == Type::F32) {
                        std::memcpy(out.data() + 4 * i, &f, 4);
                    } else {
                        uint16_t h = t.type == Type::F16 ? floatToHalf(f) : floatToBf16(f);
                        std::memcpy(out.data() + 2 * i, &h, 2);
                    }
                }
            }
            w.write(out.data(), out.size());
            ++s.floatTensors;
        }
        s.bytes += t.bytes.size();
        if (progress) progress(t.name);
    }
    w.commit();
    return s;
}

}  // namespace kf::checkpoint
