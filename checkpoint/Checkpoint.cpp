// Opening and checking safetensors and GGUF files (Checkpoint.h).
//
// safetensors (huggingface/safetensors, "Format"): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[b, e]},
// "__metadata__": {str: str}}, then the data; offsets count from the end of
// the header.
// GGUF (ggml/docs/gguf.md, versions 2 and 3, little-endian): magic "GGUF",
// version u32, tensor count u64, key-value count u64, the key-values (typed),
// the tensor infos (name, dims innermost first, ggml type, offset), padding
// to general.alignment (default 32), then the data; offsets count from there.
#include "checkpoint/Checkpoint.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace kf::checkpoint {
namespace {

constexpr TypeInfo kTypes[] = {
    {Type::F64, "F64", 28, 1, 8, true},
    {Type::F32, "F32", 0, 1, 4, true},
    {Type::F16, "F16", 1, 1, 2, true},
    {Type::BF16, "BF16", 30, 1, 2, true},
    {Type::I64, "I64", 27, 1, 8, false},
    {Type::I32, "I32", 26, 1, 4, false},
    {Type::I16, "I16", 25, 1, 2, false},
    {Type::I8, "I8", 24, 1, 1, false},
    {Type::U8, "U8", -1, 1, 1, false},
    {Type::Bool, "BOOL", -1, 1, 1, false},
    {Type::F8E4M3, "F8_E4M3", -1, 1, 1, false},
    {Type::F8E5M2, "F8_E5M2", -1, 1, 1, false},
    {Type::Q4_0, "Q4_0", 2, 32, 18, false},
    {Type::Q4_1, "Q4_1", 3, 32, 20, false},
    {Type::Q5_0, "Q5_0", 6, 32, 22, false},
    {Type::Q5_1, "Q5_1", 7, 32, 24, false},
    {Type::Q8_0, "Q8_0", 8, 32, 34, false},
    {Type::Q8_1, "Q8_1", 9, 32, 36, false},
    {Type::Q2_K, "Q2_K", 10, 256, 84, false},
    {Type::Q3_K, "Q3_K", 11, 256, 110, false},
    {Type::Q4_K, "Q4_K", 12, 256, 144, false},
    {Type::Q5_K, "Q5_K", 13, 256, 176, false},
    {Type::Q6_K, "Q6_K", 14, 256, 210, false},
    {Type::Q8_K, "Q8_K", 15, 256, 292, false},
    {Type::IQ2_XXS, "IQ2_XXS", 16, 256, 66, false},
    {Type::IQ2_XS, "IQ2_XS", 17, 256, 74, false},
    {Type::IQ3_XXS, "IQ3_XXS", 18, 256, 98, false},
    {Type::IQ1_S, "IQ1_S", 19, 256, 50, false},
    {Type::IQ4_NL, "IQ4_NL", 20, 32, 18, false},
    {Type::IQ3_S, "IQ3_S", 21, 256, 110, false},
    {Type::IQ2_S, "IQ2_S", 22, 256, 82, false},
    {Type::IQ4_XS, "IQ4_XS", 23, 256, 136, false},
    {Type::IQ1_M, "IQ1_M", 29, 256, 56, false},
    {Type::TQ1_0, "TQ1_0", 34, 256, 54, false},
    {Type::TQ2_0, "TQ2_0", 35, 256, 66, false},
    {Type::MXFP4, "MXFP4", 39, 32, 17, false},
    {Type::NVFP4, "NVFP4", 40, 64, 36, false},
    {Type::Q1_0, "Q1_0", 41, 128, 18, false},
};

std::string inQuotes(const std::string &s) { return "'" + s + "'"; }

// a * b for sizes, or nullopt on overflow of int64.
std::optional<int64_t> mulChecked(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}

struct Mapping {
    void *addr = nullptr;
    std::size_t size = 0;
    ~Mapping() {
        if (addr && size) munmap(addr, size);
    }
};

// Bounds-checked little-endian reader over the GGUF header.
class Cursor {
  public:
    Cursor(const uint8_t *data, std::size_t size, const std::string &origin)
        : data_(data), size_(size), origin_(origin) {}
    std::size_t pos() const { return pos_; }
    std::size_t left() const { return size_ - pos_; }
    [[noreturn]] void fail(const std::string &what) const {
        throw CheckpointError(origin_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
    }
    void need(std::size_t n, const char *what) const {
        if (n > left())
            fail(std::string("the file ends inside ") + what + ": " + std::to_string(n) + " bytes needed, " +
                 std::to_string(left()) + " left");
    }
    template <class T> T get(const char *what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string str(const char *what) {
        uint64_t n = get<uint64_t>(what);
        need(n, what);
        std::string s(reinterpret_cast<const char *>(data_ + pos_), n);
        pos_ += n;
        return s;
    }

  private:
    const uint8_t *data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    const std::string &origin_;
};

enum GgufValueType : uint32_t {
    kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
    kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// Smallest encoding of a value of this type (for checking array counts
// against the bytes left before allocating anything).
std::size_t minBytes(uint32_t t) {
    switch (t) {
    case kU8: case kI8: case kBool: return 1;
    case kU16: case kI16: return 2;
    case kU32: case kI32: case kF32: return 4;
    case kU64: case kI64: case kF64: case kString: return 8;
    case kArray: return 12;
    default: return 1;
    }
}

nlohmann::json readValue(Cursor &c, uint32_t type, int depth) {
    switch (type) {
    case kU8: return c.get<uint8_t>("a u8 value");
    case kI8: return c.get<int8_t>("an i8 value");
    case kU16: return c.get<uint16_t>("a u16 value");
    case kI16: return c.get<int16_t>("an i16 value");
    case kU32: return c.get<uint32_t>("a u32 value");
    case kI32: return c.get<int32_t>("an i32 value");
    case kF32: return c.get<float>("an f32 value");
    case kBool: {
        uint8_t b = c.get<uint8_t>("a bool value");
        if (b > 1) c.fail("a bool value is " + std::to_string(b) + ", not 0 or 1");
        return b == 1;
    }
    case kString: return c.str("a string value");
    case kU64: return c.get<uint64_t>("a u64 value");
    case kI64: return c.get<int64_t>("an i64 value");
    case kF64: return c.get<double>("an f64 value");
    case kArray: {
        if (depth >= 8) c.fail("arrays nested deeper than 8");
        uint32_t elem = c.get<uint32_t>("an array's element type");
        if (elem > kF64) c.fail("an array's element type " + std::to_string(elem) + " is not a GGUF value type");
        uint64_t n = c.get<uint64_t>("an array's length");
        if (n > c.left() / minBytes(elem))
            c.fail("an array of " + std::to_string(n) + " elements does not fit in the " + std::to_string(c.left()) +
                   " bytes left");
        nlohmann::json a = nlohmann::json::array();
        a.get_ref<nlohmann::json::array_t &>().reserve(n);
        for (uint64_t i = 0; i < n; ++i) a.push_back(readValue(c, elem, depth + 1));
        return a;
    }
    default: c.fail("value type " + std::to_string(type) + " is not a GGUF value type");
    }
}

const TypeInfo *byGgmlId(uint32_t id) {
    for (const auto &t : kTypes)
        if (t.ggmlId >= 0 && static_cast<uint32_t>(t.ggmlId) == id) return &t;
    return nullptr;
}

const TypeInfo *bySafetensorsName(const std::string &name) {
    for (const auto &t : kTypes) {
        if (t.blockSize != 1) continue;
        if (name == t.name) return &t;
    }
    return nullptr;
}

}  // namespace

const TypeInfo &info(Type t) {
    for (const auto &i : kTypes)
        if (i.type == t) return i;
    throw std::logic_error("checkpoint: type without an entry in kTypes");
}
const char *typeName(Type t) { return info(t).name; }

std::string shapeText(const std::vector<int64_t> &shape) {
    std::string t = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) t += (i ? ", " : "") + std::to_string(shape[i]);
    return t + "]";
}

int64_t TensorView::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}
int64_t TensorView::cols() const { return shape.empty() ? 1 : shape.back(); }
int64_t TensorView::rows() const {
    int64_t c = cols();
    return c == 0 ? 0 : numel() / c;
}

Checkpoint Checkpoint::open(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw CheckpointError(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        throw CheckpointError(path + ": cannot stat: " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw CheckpointError(path + ": not a regular file");
    }
    auto m = std::make_shared<Mapping>();
    m->size = static_cast<std::size_t>(st.st_size);
    if (m->size > 0) {
        m->addr = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m->addr == MAP_FAILED) {
            int e = errno;
            m->addr = nullptr;
            ::close(fd);
            throw CheckpointError(path + ": cannot map: " + std::strerror(e));
        }
    }
    ::close(fd);
    Checkpoint ck;
    ck.path_ = path;
    ck.data_ = static_cast<const uint8_t *>(m->addr);
    ck.size_ = m->size;
    ck.storage_ = m;
    if (ck.size_ >= 4 && std::memcmp(ck.data_, "GGUF", 4) == 0) {
        ck.format_ = Format::Gguf;
        ck.parseGguf();
    } else {
        ck.format_ = Format::Safetensors;
        ck.parseSafetensors();
    }
    return ck;
}

Checkpoint Checkpoint::parse(std::span<const uint8_t> bytes, const std::string &origin, Format format) {
    auto copy = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
    Checkpoint ck;
    ck.path_ = origin;
    ck.data_ = copy->data();
    ck.size_ = copy->size();
    ck.storage_ = copy;
    ck.format_ = format;
    if (format == Format::Gguf)
        ck.parseGguf();
    else
        ck.parseSafetensors();
    return ck;
}

const TensorView *Checkpoint::find(const std::string &name) const {
    for (const auto &t : tensors_)
        if (t.name == name) return &t;
    return nullptr;
}

const TensorView &Checkpoint::at(const std::string &name) const {
    if (const TensorView *t = find(name)) return *t;
    throw CheckpointError(path_ + ": no tensor named " + inQuotes(name));
}

void Checkpoint::parseSafetensors() {
    const std::string &p = path_;
    if (size_ < 8)
        throw CheckpointError(p + ": " + std::to_string(size_) +
                              " bytes is too short for a safetensors file (an 8-byte header length comes first)");
    uint64_t n;
    std::memcpy(&n, data_, 8);
    if (n > size_ - 8)
        throw CheckpointError(p + ": the header length " + std::to_string(n) + " runs past the end of the file (" +
                              std::to_string(size_) + " bytes); not a safetensors file, or a truncated one");
    const char *h = reinterpret_cast<const char *>(data_ + 8);
    if (n == 0 || h[0] != '{') throw CheckpointError(p + ": the safetensors header does not start with '{'");
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(h, h + n);
    } catch (const nlohmann::json::exception &e) {
        throw CheckpointError(p + ": the safetensors header is not valid JSON: " + e.what());
    }
    if (!header.is_object()) throw CheckpointError(p + ": the safetensors header is not a JSON object");
    std::size_t dataStart = 8 + n;
    uint64_t dataBytes = size_ - dataStart;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string &name = it.key();
        const auto &v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) throw CheckpointError(p + ": __metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m)
                if (!m.value().is_string())
                    throw CheckpointError(p + ": __metadata__ value " + inQuotes(m.key()) + " is not a string");
            metadata_ = v;
            continue;
        }
        std::string where = p + ": tensor " + inQuotes(name);
        if (!v.is_object()) throw CheckpointError(where + " is not an object");
        for (const char *key : {"dtype", "shape", "data_offsets"})
            if (!v.contains(key)) throw CheckpointError(where + " has no \"" + key + "\"");
        if (!v["dtype"].is_string()) throw CheckpointError(where + ": dtype is not a string");
        std::string dt = v["dtype"].get<std::string>();
        const TypeInfo *ti = bySafetensorsName(dt);
        if (!ti) throw CheckpointError(where + ": unknown dtype " + inQuotes(dt));
        TensorView t;
        t.name = name;
        t.type = ti->type;
        if (!v["shape"].is_array()) throw CheckpointError(where + ": shape is not an array");
        int64_t numel = 1;
        for (const auto &d : v["shape"]) {
            if (!d.is_number_unsigned()) throw CheckpointError(where + ": shape " + v["shape"].dump() +
                                                               " holds something other than a non-negative integer");
            uint64_t du = d.get<uint64_t>();
            auto m = du > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                         ? std::nullopt
                         : mulChecked(numel, static_cast<int64_t>(du));
            if (!m) throw CheckpointError(where + ": shape " + v["shape"].dump() + " has more elements than fit in 64 bits");
            numel = *m;
            t.shape.push_back(static_cast<int64_t>(du));
        }
        const auto &off = v["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            throw CheckpointError(where + ": data_offsets is not two non-negative integers");
        uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
        if (b > e) throw CheckpointError(where + ": data_offsets " + off.dump() + " end before they begin");
        if (e > dataBytes)
            throw CheckpointError(where + ": data_offsets " + off.dump() + " run past the end of the data (" +
                                  std::to_string(dataBytes) + " bytes); the file is truncated or the header is wrong");
        auto want = mulChecked(numel, ti->blockBytes);
        if (!want || static_cast<uint64_t>(*want) != e - b)
            throw CheckpointError(where + ": " + std::to_string(e - b) + " bytes for shape " + v["shape"].dump() + " of " +
                                  dt + ", which needs " + (want ? std::to_string(*want) : std::string("more")));
        t.bytes = std::span<const uint8_t>(data_ + dataStart + b, e - b);
        tensors_.push_back(std::move(t));
    }
    checkNoOverlap();
}

void Checkpoint::parseGguf() {
    Cursor c(data_, size_, path_);
    c.need(4, "the magic");
    if (size_ < 4 || std::memcmp(data_, "GGUF", 4) != 0) c.fail("not a GGUF file (no \"GGUF\" magic)");
    c.get<uint32_t>("the magic");
    uint32_t version = c.get<uint32_t>("the version");
    if (version > 0xffff && (version & 0xffff) == 0)
        c.fail("big-endian GGUF (version " + std::to_string(__builtin_bswap32(version)) +
               " byte-swapped) is not supported; convert it on a little-endian machine");
    if (version != 2 && version != 3)
        c.fail("GGUF version " + std::to_string(version) + " is not supported (kforge reads versions 2 and 3)");
    ggufVersion_ = static_cast<int>(version);
    uint64_t nTensors = c.get<uint64_t>("the tensor count");
    uint64_t nKv = c.get<uint64_t>("the key-value count");
    // Each key-value takes at least 8 (key length) + 4 (type) + 1 bytes, each
    // tensor info at least 8 + 4 + 4 + 8: counts past that are corrupt.
    if (nKv > c.left() / 13) c.fail(std::to_string(nKv) + " key-value pairs cannot fit in the file");
    if (nTensors > c.left() / 24) c.fail(std::to_string(nTensors) + " tensors cannot fit in the file");
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < nKv; ++i) {
        std::string key = c.str("a key");
        uint32_t type = c.get<uint32_t>("a value type");
        nlohmann::json value = readValue(c, type, 0);
        if (metadata_.contains(key)) c.fail("key " + inQuotes(key) + " appears twice");
        if (key == "general.alignment") {
            if (type != kU32) c.fail("general.alignment is not a u32");
            alignment = value.get<uint32_t>();
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                c.fail("general.alignment " + std::to_string(alignment) + " is not a power of two");
        }
        metadata_[key] = std::move(value);
    }
    std::unordered_set<std::string> names;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;   // (data offset, bytes) of each tensor
    for (uint64_t i = 0; i < nTensors; ++i) {
        TensorView t;
        t.name = c.str("a tensor name");
        std::string where = "tensor " + inQuotes(t.name);
        if (!names.insert(t.name).second) c.fail(where + " appears twice");
        uint32_t nDims = c.get<uint32_t>("a tensor's dimension count");
        if (nDims > 8) c.fail(where + " has " + std::to_string(nDims) + " dimensions (at most 8)");
        std::vector<int64_t> ne;
        int64_t numel = 1;
        for (uint32_t d = 0; d < nDims; ++d) {
            uint64_t v = c.get<uint64_t>("a tensor's dimensions");
            auto m = v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                         ? std::nullopt
                         : mulChecked(numel, static_cast<int64_t>(v));
            if (!m) c.fail(where + " has more elements than fit in 64 bits");
            numel = *m;
            ne.push_back(static_cast<int64_t>(v));
        }
        uint32_t type = c.get<uint32_t>("a tensor's type");
        const TypeInfo *ti = byGgmlId(type);
        if (!ti) c.fail(where + " has ggml type " + std::to_string(type) + ", which kforge does not know");
        t.type = ti->type;
        uint64_t off = c.get<uint64_t>("a tensor's offset");
        if (off % alignment != 0)
            c.fail(where + " has offset " + std::to_string(off) + ", not a multiple of the alignment " +
                   std::to_string(alignment));
        int64_t inner = ne.empty() ? 1 : ne[0];
        if (inner % ti->blockSize != 0)
            c.fail(where + " of type " + ti->name + " has rows of " + std::to_string(inner) +
                   " elements, not a multiple of its block of " + std::to_string(ti->blockSize));
        t.shape.assign(ne.rbegin(), ne.rend());   // GGUF lists dims innermost first
        auto bytes = mulChecked(numel / ti->blockSize, ti->blockBytes);
        if (!bytes) c.fail(where + " has more bytes than fit in 64 bits");
        ranges.emplace_back(off, static_cast<uint64_t>(*bytes));
        tensors_.push_back(std::move(t));
    }
    std::size_t dataStart = (c.pos() + alignment - 1) / alignment * alignment;
    if (dataStart > size_ && !tensors_.empty())
        c.fail("the tensor data would start at byte " + std::to_string(dataStart) + ", past the end of the file");
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
        TensorView &t = tensors_[i];
        const auto [off, n] = ranges[i];
        uint64_t avail = size_ - std::min<std::size_t>(dataStart, size_);
        if (off > avail || n > avail - off)
            throw CheckpointError(path_ + ": tensor " + inQuotes(t.name) + " (" + std::to_string(n) + " bytes at data offset " +
                                  std::to_string(off) + ") runs past the end of the file (" + std::to_string(avail) +
                                  " data bytes); the file is truncated");
        t.bytes = std::span<const uint8_t>(data_ + dataStart + off, n);
    }
    checkNoOverlap();
}

// No two tensors share bytes (a corrupt index could alias them).
void Checkpoint::checkNoOverlap() const {
    std::vector<const TensorView *> order;
    for (const auto &t : tensors_)
        if (!t.bytes.empty()) order.push_back(&t);
    std::sort(order.begin(), order.end(),
              [](const TensorView *a, const TensorView *b) { return a->bytes.data() < b->bytes.data(); });
    for (std::size_t i = 1; i < order.size(); ++i)
        if (order[i]->bytes.data() < order[i - 1]->bytes.data() + order[i - 1]->bytes.size())
            throw CheckpointError(path_ + ": tensors " + inQuotes(order[i - 1]->name) + " and " + inQuotes(order[i]->name) +
                                  " overlap in the file");
}

}  // namespace kf::checkpoint
