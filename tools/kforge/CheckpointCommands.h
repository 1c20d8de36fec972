// `kforge inspect` and `kforge delta`: checkpoints (checkpoint/Checkpoint.h) from the command line.
#pragma once

#include <iosfwd>
#include <string>

namespace kf::tools {

// Lists a safetensors or GGUF file's tensors (type, shape, bytes) and what
// each loads as in kforge: a lowbit format exactly, float, converted through
// f32, or not at all. `json` prints the whole index and metadata as JSON.
int inspect(const std::string &path, bool json, std::ostream &out, std::ostream &err);

struct DeltaOptions {
    std::string post, base, newBase, out;
};
// ParamΔ: out = post − base + new base, tensor by tensor (checkpoint/Write.h).
int delta(const DeltaOptions &o, std::ostream &out, std::ostream &err);

}  // namespace kf::tools
