#include "tools/kforge/CheckpointCommands.h"

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

int inspect(const std::string &path, bool json, std::ostream &out, std::ostream &) {
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
