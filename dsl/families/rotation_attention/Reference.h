// \file
// Double-precision reference of the rotation_attention family, written from
// docs/formats.md ("KV cache (int4, int8, f16, f32)", "Rotary position embedding",
// "Attention over the cache") and nothing else: the oracle the generated
// append and attention kernels are checked against. It shares no code with
// them: R3 is the dense Sylvester matrix built entry by entry from
// (-1)^popcount(i & j), the softmax is the textbook one over all scores.
//
// Layouts (all dense, row-major, in the order written):
//   one head          [d]                      d = head_dim
//   queries           [T][numHeads][d]         T tokens, as the caller gives them (before RoPE)
//   keys / values     [kvHeads][len][d]        the cache's dequantized values, double
//   attention output  [T][numHeads][d]
#pragma once

#include <cstdint>
#include <vector>

#include "dsl/Spec.h"

namespace kf::families::rotation_attention {

// The RoPE table of one position: cosOut[j] = fl32(cos(p * theta^(-2j/d))),
// sinOut[j] likewise, j < d/2, the angle computed in double.
void referenceRopeTable(int d, int64_t position, double theta, float *cosOut, float *sinOut);

// RoPE of one head in place (docs/formats.md): pairs (j, j + d/2) for Half,
// (2j, 2j + 1) for Interleaved, nothing for None; the table above, the
// products and sums in double.
void referenceRope(dsl::RopeKind kind, int d, int64_t position, double theta, double *x);

// y = H_d x / sqrt(d), H_d[i][j] = (-1)^popcount(i & j), d a power of two;
// O(d^2). x and y may not alias.
void referenceR3(int d, const double *x, double *y);

// What the cache holds for one head of K before quantization: RoPE at
// `position` (kind from params), then R3 (when params.rotate); for V (isKey
// false) the values unchanged. in: f32 [d], out: double [d].
void referenceCacheRow(const dsl::RotationAttentionParams &params, bool isKey, const float *in, int64_t position,
                       double theta, double *out);

// Quantizes one group of n f32 values with `bits` (4 or 8) exactly as
// docs/formats.md says, modelling every fl32 step: codes [n] in 0..2^bits-1,
// the scale s and the zero point z (an integer held in a float).
// Also returns, in margin (if not null), the smallest distance over the group
// of fl32(x / s) from a half-integer (infinity for a constant group): where it
// is below ~1e-5 a kernel whose x differs in the last bit may round the other
// way, and a code may then differ by one.
void referenceQuantizeGroup(const float *x, int n, int bits, uint8_t *codes, float *s, float *z,
                            double *margin = nullptr);

// The value of a code: s * (c - z), in double.
double referenceDequantize(uint8_t code, float s, float z);

// A token-head's bytes of codes in a cache of params' format (int4 d/2,
// int8 d, f16 2d, f32 4d) and its scale groups (one for f16 / f32).
int referenceCodeBytes(const dsl::RotationAttentionParams &params);
int referenceGroups(const dsl::RotationAttentionParams &params);

// The values `count` token-heads of a cache stand for, from its contents as
// kf_kv_cache_read gives them (codes [count][code bytes], scales and zeros
// [count][groups]): s (c - z) for int4 / int8, the values themselves for
// f16 / f32. Returns [count][d].
std::vector<double> referenceCacheValues(const dsl::RotationAttentionParams &params, const uint8_t *codes,
                                         const float *scales, const float *zeros, int64_t count);

// What an unquantized cache (bits 16: f16, 32: f32) stores for the f32 value
// x (docs/formats.md, "Unquantized caches"): rne_f16(x) (±infinity beyond
// the f16 range) or x, as a double.
double referenceStoreFloat(float x, int bits);

// The value of an IEEE binary16 bit pattern, in double (exact).
double referenceHalfValue(uint16_t bits);

// Attention (docs/formats.md, "Attention over the cache") in double:
// queries q [T][numHeads][d] at positions firstPos .. firstPos + T - 1 get
// RoPE (params.rope, theta) and R3 (params.rotate); keys/values [kvHeads][len][d]
// are the cache's values (already rotated, as stored); query t sees the
// tokens at positions <= firstPos + t when params.causal, all len
// otherwise. Needs len >= firstPos + T when causal (the queries' own tokens
// are in the cache). out [T][numHeads][d]. Throws std::invalid_argument on
// shapes that do not fit.
void referenceAttention(const dsl::RotationAttentionParams &params, const float *q, int64_t T, int64_t firstPos,
                        double theta, const double *keys, const double *values, int64_t len, double *out);

// ||y - ref||_2 / ||ref||_2; 0 when both are all zero, +infinity when only ref is.
double relativeError(const float *y, const double *ref, int64_t count);

// count values uniform in [-1, 1) (multiples of 2^-23), the same for the same
// (count, seed) on every platform.
std::vector<float> randomValues(int64_t count, uint64_t seed);

}  // namespace kf::families::rotation_attention
