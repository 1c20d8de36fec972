// \file
// docs/formats.md's "Dynamic int8 per token" on the host side of the kernels:
// the family bridges of both backends quantize f32 rows with it before the
// integer kernel runs, so every backend's int8 rows are the same bytes.
// Vectorized for the CPU it runs on (runtime/QuantizeRow.cpp): a prefill of
// 512 rows of 4096 quantizes 2 M values per call.
#pragma once

#include <cstdint>

namespace kf::rt {

// q[i] = clamp(rha(x[i] / s), -127, 127) with s = max|x| / 127 (true f32
// divisions, rha = round half away from zero; q = 0 for a row of zeros).
// Returns s. NaN values are left out of the maximum (their codes are
// unspecified).
float quantizeRowInt8(const float *x, int64_t n, int8_t *q);

}  // namespace kf::rt
