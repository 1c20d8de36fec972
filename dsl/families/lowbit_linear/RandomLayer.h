// \file
// Random test data for any lowbit_linear format: a layer's tensors in the
// checkpoint layout (ReferenceWeights; the C API's kf_linear_weights has the
// same fields) and random activations. What a numeric check needs before it
// compares a kernel with referenceLinear: the autotuner's worker verifies
// every candidate on such a layer before timing it.
//
// Every value is exactly representable in the format it is stored in (codes
// within the format's range, scales whose f32 value survives the round trip
// to f16 / bf16), so a kernel and the reference see the same numbers.
// Deterministic in (params, shape, seed).
#pragma once

#include <cstdint>
#include <vector>

#include "dsl/Spec.h"
#include "dsl/families/lowbit_linear/Reference.h"

namespace kf::families::lowbit {

// Distinct codes of the format: 2 (binary), 3 (ternary, either packing),
// 4 (seq2), 2^bits otherwise (intN, uintN, codebooks).
unsigned codeCount(const dsl::WeightFormat &format);

struct RandomLayer {
    int64_t n = 0, k = 0;
    std::vector<uint8_t> codes;       // [N][K], uniform over [0, codeCount)
    std::vector<uint8_t> scales;      // [N][G] bit patterns of the scale type (4 or 2 bytes each),
                                      // +-2^-10 .. 2^-3, either sign
    std::vector<uint8_t> zeroPoints;  // [N][G], uintN only: uniform over the codes
    std::vector<float> codebook;      // [2^b] or [N][2^b], codebooks only: uniform in [-1, 1)
    std::vector<float> bias;          // [N], kernels with a bias only: uniform in [-1, 1)

    // Pointers into this layer (null for absent tensors).
    ReferenceWeights reference() const;
};

// G = ceil(K / group), or 1 for per-channel scales.
RandomLayer makeRandomLayer(const dsl::LowbitLinearParams &params, int64_t n, int64_t k, uint64_t seed);

// Activations x [M][K] uniform in [-1, 1), and for bf16 input their bf16 bit
// patterns (truncated: any pattern is valid input). data() is what a kernel
// of `params` takes (and referenceLinear): bf16 for bf16 input, else f32.
struct RandomInput {
    std::vector<float> f32;
    std::vector<uint16_t> bf16;  // bf16 input only
    const void *data() const { return bf16.empty() ? static_cast<const void *>(f32.data()) : bf16.data(); }
    std::size_t elementBytes() const { return bf16.empty() ? sizeof(float) : sizeof(uint16_t); }
};
RandomInput makeRandomInput(const dsl::LowbitLinearParams &params, int64_t m, int64_t k, uint64_t seed);

// Relative L2 error of y ([M][N], f32) against referenceLinear on `rows` of x
// ([M][K]: f32, or bf16 bit patterns for bf16 input). Output rows are checked
// in parallel blocks (TBB); the reference decodes one weight at a time.
double relativeError(const dsl::LowbitLinearParams &params, int64_t N, int64_t K, const ReferenceWeights &weights,
                     const void *x, const float *y, const std::vector<int64_t> &rows);

}  // namespace kf::families::lowbit
