#include "tools/kforge/CheckpointCommands.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <memory>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/lowbit_linear/WeightsFile.h"

#include <chrono>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "checkpoint/Checkpoint.h"
#include "checkpoint/Write.h"

namespace kf::tools {

using namespace checkpoint;

namespace {

// What a tensor loads as in kforge (a linear layer's weight for 2-D tensors).
std::string loadsAs(const TensorView &t) {
    if (auto f = exactFormat(t.type)) return std::string(f->format) + " g" + std::to_string(f->group) + " f16 scales (exact)";
    if (info(t.type).isFloat) return "float";
    if (canConvertToFloat(t.type)) return "f32 (converted)";
    return "not convertible";
}

std::string jsonText(const nlohmann::json &v) {
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A metadata value on one line: arrays by length and first element, long values cut.
std::string scalarText(const nlohmann::json &v) {
    std::string s;
    if (v.is_array()) {
        s = "[";
        s += std::to_string(v.size());
        s += " values";
        if (!v.empty()) {
            s += ": ";
            s += jsonText(v[0]);
            if (v.size() > 1) s += ", ...";
        }
        s += "]";
        return s;
    }
    s = jsonText(v);
    if (s.size() > 80) {
        s.resize(77);
        s += "...";
    }
    return s;
}

}  // namespace

namespace {

// A kforge packed-weights file (kforge quantize): its layers and packings.
int inspectPacked(const std::string &path, bool json, std::ostream &out) {
    // Mapped, not read: only the header and the directory at the end are touched.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        throw CheckpointError(path + ": cannot open: " + std::strerror(errno));
    }
    const size_t size = static_cast<size_t>(st.st_size);
    void *m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) throw CheckpointError(path + ": cannot map: " + std::strerror(errno));
    std::unique_ptr<void, std::function<void(void *)>> unmap(m, [size](void *q) { ::munmap(q, size); });
    std::vector<rt::WeightsLayer> layers;
    std::string error;
    if (!rt::decodeWeightsFile(static_cast<const uint8_t *>(m), size, layers, error))
        throw CheckpointError(path + ": " + error);
    if (json) {
        nlohmann::json j;
        j["path"] = path;
        j["format"] = "kfw";
        j["layers"] = nlohmann::json::array();
        for (const auto &l : layers) {
            nlohmann::json packings = nlohmann::json::array();
            for (const auto &p : l.packings)
                packings.push_back({{"targets", p.targets}, {"layout", rt::describeLayout(p.layout)},
                                    {"offset", p.offset}, {"bytes", p.bytes}});
            j["layers"].push_back({{"name", l.name}, {"kernel", l.kernel}, {"format", l.format}, {"n", l.n},
                                   {"k", l.k}, {"packings", packings}});
        }
        out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    out << path << ": kforge packed weights, " << layers.size() << " layers, " << size << " bytes\n";
    std::size_t w = 4;
    for (const auto &l : layers) w = std::max(w, l.name.size());
    out << std::left << std::setw(static_cast<int>(w)) << "name" << "  " << std::setw(16) << "kernel" << std::setw(10)
        << "format" << std::setw(14) << "N x K" << "packed for\n";
    for (const auto &l : layers) {
        std::string targets;
        for (const auto &p : l.packings) targets += (targets.empty() ? "" : "; ") + p.targets;
        out << std::setw(static_cast<int>(w)) << l.name << "  " << std::setw(16) << l.kernel << std::setw(10) << l.format
            << std::setw(14) << (std::to_string(l.n) + " x " + std::to_string(l.k)) << targets << "\n";
    }
    return 0;
}

}  // namespace

int inspect(const std::string &path, bool json, std::ostream &out, std::ostream &) {
    {
        char magic[8] = {};
        std::ifstream f(path, std::ios::binary);
        if (f.read(magic, 8) && std::memcmp(magic, rt::kWeightsMagic, 8) == 0) return inspectPacked(path, json, out);
    }
    Checkpoint ck = Checkpoint::open(path);
    if (json) {
        nlohmann::json j;
        j["path"] = path;
        j["format"] = ck.format() == Format::Gguf ? "gguf" : "safetensors";
        if (ck.format() == Format::Gguf) j["gguf_version"] = ck.ggufVersion();
        j["metadata"] = ck.metadata();
        j["tensors"] = nlohmann::json::array();
        for (const auto &t : ck.tensors())
            j["tensors"].push_back({{"name", t.name}, {"type", typeName(t.type)}, {"shape", t.shape},
                                    {"bytes", t.bytes.size()}, {"loads_as", loadsAs(t)}});
        out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    uint64_t total = 0;
    for (const auto &t : ck.tensors()) total += t.bytes.size();
    out << path << ": " << (ck.format() == Format::Gguf ? "GGUF v" + std::to_string(ck.ggufVersion()) : "safetensors")
        << ", " << ck.tensors().size() << " tensors, " << total << " bytes of data\n";
    if (!ck.metadata().empty()) {
        out << "metadata:\n";
        for (auto it = ck.metadata().begin(); it != ck.metadata().end(); ++it)
            out << "  " << it.key() << " = " << scalarText(it.value()) << "\n";
    }
    std::size_t w = 4;
    for (const auto &t : ck.tensors()) w = std::max(w, t.name.size());
    out << std::left << std::setw(static_cast<int>(w)) << "name" << "  " << std::setw(8) << "type" << std::setw(20)
        << "shape" << std::setw(12) << "bytes" << "loads as\n";
    for (const auto &t : ck.tensors())
        out << std::setw(static_cast<int>(w)) << t.name << "  " << std::setw(8) << typeName(t.type) << std::setw(20)
            << shapeText(t.shape) << std::setw(12) << t.bytes.size() << loadsAs(t) << "\n";
    return 0;
}

int delta(const DeltaOptions &o, std::ostream &out, std::ostream &err) {
    Checkpoint post = Checkpoint::open(o.post);
    Checkpoint base = Checkpoint::open(o.base);
    Checkpoint newBase = Checkpoint::open(o.newBase);
    const std::size_t n = post.tensors().size();
    std::size_t done = 0;
    auto start = std::chrono::steady_clock::now();
    auto last = start;
    DeltaSummary s = paramDelta(post, base, newBase, o.out, [&](const std::string &name) {
        ++done;
        auto now = std::chrono::steady_clock::now();
        if (now - last > std::chrono::seconds(2) || done == n) {
            err << "delta: " << done << "/" << n << " tensors (" << name << ")\n";
            last = now;
        }
    });
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out << "wrote " << o.out << ": " << s.floatTensors << " tensors mixed (post - base + new base), "
        << s.copiedTensors << " non-float tensors from the new base, " << s.bytes << " bytes in " << std::fixed
        << std::setprecision(2) << secs << " s\n";
    return 0;
}

}  // namespace kf::tools
