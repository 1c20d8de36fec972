// \file
// What the low-bit linear benchmarks share (LowbitLinearBench.cpp: decode,
// LowbitPrefillBench.cpp: prefill): random layers in the checkpoint layout
// with their double-precision check, packed layer sets that stream from DRAM,
// and the dense f32 and dequantize-then-multiply baselines.
#pragma once

#include <kforge/linear.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "BenchCommon.h"

namespace kfbench {

struct Shape {
    int64_t n, k;
};
std::string dims(Shape s);  // "4096x11008"

// ---- the kernel file ------------------------------------------------------

// Parameters of kernel `name` of the kernel file at `path` (kf::dsl::loadFile);
// exits with a message when the file does not load or has no such kernel.
dsl::LowbitLinearParams kernelParams(const std::string &path, const std::string &name);
// Codes of the format: 2 (binary), 3 (ternary), 2^bits otherwise.
unsigned levelCount(const dsl::WeightFormat &w);
// L(c) for every code (docs/formats.md), as float.
std::vector<float> levelTable(const dsl::WeightFormat &w);
const char *actName(dsl::ActKind a);  // "f32", "bf16", "int8"

// ---- a random layer in the checkpoint layout ------------------------------

// Codes uniform in the format's range, f16 scales in [0.005, 0.015), x in
// [-1, 1) ([maxM][K]). Deterministic in (shape, format).
struct Layer {
    Shape shape;
    int group;
    int64_t groups;
    std::vector<uint8_t> codes;    // [N][K]
    std::vector<uint16_t> scales;  // [N][groups], f16 bits
    std::vector<float> x;          // [maxM][K]

    Layer(const dsl::LowbitLinearParams &p, Shape s, int64_t maxM);
};

// Relative L2 error of y ([M][N]) against kf::families::lowbit::referenceLinear
// (double precision) on rows `rows` of x (all rows when empty).
double relativeError(const dsl::LowbitLinearParams &p, const Layer &w, int64_t M, const float *y,
                     const std::vector<int64_t> &rows = {});


// Where a LayerSet's layers get their packed weights: packed in the process
// (kf_linear_pack_weights, then kf_linear_copy_weights), or loaded from a
// packed-weights file written for the set (kf_linear_load; mapped, or copied
// once into each layer's own storage).
enum class WeightSource { Packed, FileMapped, FileCopied };

// Enough packed layers of one kernel and variant to stream streamBytes(). The
// first layer is checked against the reference once per row count M (check).
struct LayerSet : WorkingSet {
    dsl::LowbitLinearParams params;
    Layer w;
    std::vector<kf_linear *> layers;
    std::size_t packedBytes = 0;  // per layer
    std::vector<float> y;
    std::string error;  // non-empty: creating or packing failed
    std::map<int64_t, std::string> checked;  // M -> "" or what did not match

    LayerSet(const kf_kernel_def *def, const dsl::LowbitLinearParams &p, Shape shape, const std::string &variant,
             int64_t maxM, WeightSource source = WeightSource::Packed);
    ~LayerSet() override;
    // "" when layer 0 at M rows matches the reference (rel. L2 error <= 1e-5);
    // else what failed. `rows` as for relativeError.
    const std::string &check(int64_t M, const std::vector<int64_t> &rows = {});
};

// ---- baselines -----------------------------------------------------------

// y[M][N] = x[M][K] . W^T, W row-major f32 [N][K]: the loop a user writes
// without kforge (-O3, `omp simd`), rows of W in parallel, each row of W read
// once for up to 4 rows of x at a time.
void denseGemm(const float *w, const float *x, float *y, int64_t M, Shape s, int threads);

// Dense f32 copies of one shape, as many as streamBytes() needs.
struct DenseSet : WorkingSet {
    std::vector<StreamedFloats> mats;
    std::vector<float> x, y;
    DenseSet(Shape s, int64_t maxM);
};

// "Dequantize to f32, then multiply": layers stored compactly (codes packed
// LSB first at 2 bits for <= 4 levels, 4 bits otherwise, one f16 scale per
// group), as many as streamBytes() needs; each call dequantizes one layer into
// an f32 [N][K] matrix and runs denseGemm on it.
struct DequantSet : WorkingSet {
    Shape shape;
    Layer w;  // the layer in the checkpoint layout (x: w.x), for the check
    int codeBits;
    std::vector<std::vector<uint8_t>> codes;  // per layer
    std::vector<uint16_t> scales;             // [N][groups] (the same for every layer)
    std::vector<float> lut;                   // byte -> 8 / codeBits levels
    std::unique_ptr<float[]> dense;           // [N][K] scratch
    std::vector<float> y;
    std::size_t bytesPerLayer = 0;            // codes + scales

    DequantSet(const dsl::LowbitLinearParams &p, Shape s, int64_t maxM);
    void dequantize(std::size_t layer, int threads);
    void run(std::size_t layer, int64_t M, int threads);
};

}  // namespace kfbench
