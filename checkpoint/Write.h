// Writing safetensors files, and ParamΔ (`kforge delta`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "checkpoint/Checkpoint.h"

namespace kf::checkpoint {

// A file written in full or not at all: the bytes go to a temporary file
// beside `path` (given the mode of the file it replaces, or 0666 & ~umask),
// which commit() flushes and renames over `path`; destroyed uncommitted, it
// is removed and `path` is untouched. Errors throw CheckpointError "PATH: what".
class AtomicFile {
  public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile &) = delete;
    AtomicFile &operator=(const AtomicFile &) = delete;

    void write(const void *bytes, std::size_t n);    // appends
    void writeAt(uint64_t offset, const void *bytes, std::size_t n);  // anywhere (not moving the append position)
    uint64_t size() const { return size_; }          // bytes appended so far
    void padTo(uint64_t offset);                     // appends zeros up to offset
    void commit();
    [[noreturn]] void fail(const std::string &what) const;
    const std::string &path() const { return path_; }

  private:
    std::string path_, tmp_;
    int fd_ = -1;
    uint64_t size_ = 0;
    bool committed_ = false;
};

struct TensorDecl {
    std::string name;
    Type type = Type::F32;           // a plain type (safetensors has no GGML blocks)
    std::vector<int64_t> shape;
};

// Writes a safetensors file tensor by tensor without holding it in memory:
// the header first (tensors in the order declared, data contiguous, header
// padded with spaces to 8 bytes as the reference library does), then each
// tensor's bytes through write(), in order. The file appears at `path` only
// on commit() (written to a temporary file beside it, flushed, renamed), so
// an error or a crash never leaves a half-written file or damages one there.
class SafetensorsWriter {
  public:
    SafetensorsWriter(std::string path, std::vector<TensorDecl> tensors,
                      const nlohmann::json &metadata = nlohmann::json::object());
    ~SafetensorsWriter();
    SafetensorsWriter(const SafetensorsWriter &) = delete;
    SafetensorsWriter &operator=(const SafetensorsWriter &) = delete;

    // The declared tensors' bytes, in order, in pieces of any size.
    void write(const void *bytes, std::size_t n);
    void commit();

  private:
    void skipEmpty();
    AtomicFile file_;
    std::vector<TensorDecl> tensors_;
    std::vector<uint64_t> sizes_;
    std::size_t next_ = 0;
    uint64_t writtenOfNext_ = 0;
};

// ParamΔ (Cao et al., "ParamΔ for direct weight mixing", ICLR 2025):
// Θ = Θpost − Θbase + Θ'base, tensor by tensor, into a new safetensors file.
// The three checkpoints must hold the same tensor names with the same shape
// and type. Float tensors are computed in double (F64) or in double from
// their f32 values, rounded to f32 and then to F16 / BF16 (round to nearest
// even at each step); any other tensor (an int64 buffer such as
// position_ids) must be equal in post and base and is taken from the new base.
// The output's metadata is the new base's. Refuses an output path that is one
// of the inputs. `progress` (optional) hears each tensor's name as it is done.
struct DeltaSummary {
    int floatTensors = 0;
    int copiedTensors = 0;
    uint64_t bytes = 0;
};
DeltaSummary paramDelta(const Checkpoint &post, const Checkpoint &base, const Checkpoint &newBase,
                        const std::string &outPath,
                        const std::function<void(const std::string &)> &progress = {});

}  // namespace kf::checkpoint
