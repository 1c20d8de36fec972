// \file
// Packed-weights files (.kfw): the layers of a model with their weights
// already in the packed layout of each target they were written for, so the
// runtime loads a layer with one call and no packing (kf_linear_load; a
// mapping of the file, or one copy). `kforge quantize` writes them
// (tools/kforge/Quantize.cpp); docs/checkpoints.md describes the format.
//
// Layout (little-endian; every offset from the start of the file):
//   [0, 64)   header: "KFWEIGHT", version, numbers of layers and packings,
//             where the directory is, its FNV-1a 64 checksum, the file size
//   images    one per (layer, packed layout): a layer's storage block exactly
//             as kf_linear_create lays it out (Pack.h, StoragePlan), each at
//             an offset of 64 modulo 4096, the page offset a layer's own
//             storage has (Linear.cpp says why it matters)
//   directory at the end: layer records, then packing records, then strings
// A layer record holds its name, the kernel and the declared spec it was
// quantized for (format, bits, group, scale type, ...) and N x K; a packing
// record holds a LinearLayout, where its image is, and the targets it serves.
// Loading checks the spec against the kernel def's and picks the packing
// whose layout is the variant's (samePackedLayout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kforge/detail/Linear.h"

namespace kf::rt {

constexpr char kWeightsMagic[8] = {'K', 'F', 'W', 'E', 'I', 'G', 'H', 'T'};
constexpr uint32_t kWeightsVersion = 1;
constexpr size_t kWeightsHeaderBytes = 64;
constexpr size_t kWeightsImagePageOffset = 64;  // image offset % 4096

struct WeightsPacking {
    LinearLayout layout{};
    uint64_t offset = 0;  // of the image in the file
    uint64_t bytes = 0;   // storagePlan(...).total
    std::string targets;  // "x86-avx2,x86-avx512vnni": what the writer packed it for (informational)
};

struct WeightsLayer {
    std::string name;    // the checkpoint's tensor name
    std::string kernel;  // kernel it was quantized for (informational: loading compares specs)
    LinearSpec spec{};   // spec.weightFormat points into `format`; n, k below are the layer's
    std::string format;
    int64_t n = 0, k = 0;
    std::vector<WeightsPacking> packings;
};

// The next offset >= `end` where an image may start (64 modulo 4096).
uint64_t nextImageOffset(uint64_t end);

// The directory of `layers` (records + strings), and the header that points
// at it when it is written at `directoryOffset`, for a file of
// directoryOffset + directory.size() bytes. Writers put the images first
// (nextImageOffset), then the directory, then the header at 0.
std::vector<uint8_t> encodeWeightsDirectory(const std::vector<WeightsLayer> &layers);
std::vector<uint8_t> encodeWeightsHeader(const std::vector<WeightsLayer> &layers, uint64_t directoryOffset,
                                         const std::vector<uint8_t> &directory);

// A layer's storage block for `layout` (storagePlan's total bytes, zeros
// between the arrays), packed from `w` as kf_linear_pack_weights packs it;
// on failure sets the error (messages start with `fn`, name `kernel`).
kf_status packImage(const LinearSpec &spec, const LinearLayout &layout, int64_t n, int64_t k,
                    const kf_linear_weights &w, const char *fn, const std::string &kernel, std::vector<uint8_t> &image);

// Writes a packed-weights file as its images come: `write(offset, bytes, n)`
// gets every byte at the file's current end (padding included), in order,
// and last the header at offset 0.
class WeightsFileWriter {
public:
    using Write = std::function<void(uint64_t offset, const void *bytes, std::size_t n)>;
    explicit WeightsFileWriter(Write write);
    // A layer (its packings come with addImage), then its images, one per layout.
    void addLayer(WeightsLayer layer);
    void addImage(const LinearLayout &layout, const std::string &targets, const std::vector<uint8_t> &image);
    // The directory, then the header; returns the file's size.
    uint64_t finish();

private:
    void append(const void *bytes, std::size_t n);
    Write write_;
    uint64_t end_ = 0;
    std::vector<WeightsLayer> layers_;
};

// Parses and checks a whole file's header and directory held in memory
// (`bytes`, `size`); on a problem returns false with `error` saying what
// ("layer 3: image ends past the end of the file"). The layers' spec
// weightFormat pointers point into the returned layers' `format` strings
// (stable while the vector is not copied; re-point after a copy).
bool decodeWeightsFile(const uint8_t *bytes, size_t size, std::vector<WeightsLayer> &layers, std::string &error);

// A LinearLayout in words ("int4 planes 4@0, interleave 16, k-block 32,
// k-align 128, group 128, f16 scales, f32 path"), for messages.
std::string describeLayout(const LinearLayout &layout);

}  // namespace kf::rt
