// libFuzzer target: the packed-weights file parser (runtime/lowbit_linear/
// WeightsFile.h, what kf_weights_open runs over a mapped .kfw file) on
// arbitrary bytes.
//
// Oracles: a refused file says why; an accepted one has every name, layout
// and image inside the input (images at 64 modulo 4096, before the
// directory), and its directory encodes back to the bytes it was read from.
#include "runtime/lowbit_linear/WeightsFile.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::vector<kf::rt::WeightsLayer> layers;
    std::string error;
    if (!kf::rt::decodeWeightsFile(data, size, layers, error)) {
        if (error.empty() || !layers.empty()) std::abort();
        return 0;
    }
    uint64_t dirOffset = 0, dirBytes = 0;
    std::memcpy(&dirOffset, data + 24, 8);
    std::memcpy(&dirBytes, data + 32, 8);
    for (const auto &l : layers) {
        if (l.packings.empty() || l.n <= 0 || l.k <= 0 || l.spec.weightFormat != l.format.c_str()) std::abort();
        for (const auto &p : l.packings)
            if (p.offset % 4096 != kf::rt::kWeightsImagePageOffset || p.offset + p.bytes > dirOffset ||
                p.layout.numPlanes < 1 || p.layout.numPlanes > kf::rt::kMaxPlanes)
                std::abort();
    }
    // Re-encoding gives the records back (the string table may differ only
    // where the input's strings overlapped or left gaps: compare the records).
    const std::vector<uint8_t> dir = kf::rt::encodeWeightsDirectory(layers);
    size_t packings = 0;
    for (const auto &l : layers) packings += l.packings.size();
    const size_t records = layers.size() * 96 + packings * 128;
    if (dir.size() < records) std::abort();
    std::vector<kf::rt::WeightsLayer> again;
    std::vector<uint8_t> file(kf::rt::kWeightsHeaderBytes, 0);
    file.resize(dirOffset, 0);
    std::memcpy(file.data() + kf::rt::kWeightsHeaderBytes, data + kf::rt::kWeightsHeaderBytes,
                dirOffset - kf::rt::kWeightsHeaderBytes);
    file.insert(file.end(), dir.begin(), dir.end());
    const auto header = kf::rt::encodeWeightsHeader(layers, dirOffset, dir);
    std::memcpy(file.data(), header.data(), header.size());
    if (!kf::rt::decodeWeightsFile(file.data(), file.size(), again, error) || again.size() != layers.size())
        std::abort();
    for (size_t i = 0; i < layers.size(); ++i)
        if (again[i].name != layers[i].name || again[i].n != layers[i].n || again[i].k != layers[i].k ||
            again[i].packings.size() != layers[i].packings.size())
            std::abort();
    return 0;
}
