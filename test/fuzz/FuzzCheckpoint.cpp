// libFuzzer targets: the safetensors and GGUF readers (checkpoint/) on
// arbitrary bytes (kforge_fuzz_safetensors, kforge_fuzz_gguf: the same
// source, KFORGE_FUZZ_GGUF picks the format). A file is either refused with a
// CheckpointError, or every tensor's bytes lie inside the file and every
// conversion either succeeds with numel values or is refused with a
// CheckpointError; ASan catches any read outside the input.
#include "checkpoint/Checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

using namespace kf::checkpoint;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#ifdef KFORGE_FUZZ_GGUF
    const Format format = Format::Gguf;
#else
    const Format format = Format::Safetensors;
#endif
    std::optional<Checkpoint> ck;
    try {
        ck.emplace(Checkpoint::parse({data, size}, "fuzz", format));
    } catch (const CheckpointError &) {
        return 0;   // refused with a message: fine
    }
    for (const TensorView &t : ck->tensors()) {
        const TypeInfo &ti = info(t.type);
        if (t.numel() % ti.blockSize != 0) std::abort();
        if (static_cast<int64_t>(t.bytes.size()) != t.numel() / ti.blockSize * ti.blockBytes) std::abort();
        if (t.numel() > (int64_t{1} << 24)) continue;   // a valid index of a huge empty-looking tensor: skip the work
        try {
            std::vector<float> v = toFloat(t);
            if (static_cast<int64_t>(v.size()) != t.numel()) std::abort();
            if (!canConvertToFloat(t.type)) std::abort();   // converted what it says it cannot
        } catch (const CheckpointError &) {
            if (canConvertToFloat(t.type)) std::abort();    // refused what it says it converts
        }
        try {
            if (t.shape.size() >= 2) {
                auto lc = exactLowbit(t);
                if (lc && static_cast<int64_t>(lc->codes.size()) != t.numel()) std::abort();
            }
        } catch (const CheckpointError &) {
            if (t.type != Type::TQ2_0) std::abort();   // only a TQ2_0 code 3 is refused
        }
    }
    return 0;
}
