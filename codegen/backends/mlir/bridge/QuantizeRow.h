// \file
// docs/formats.md's "Dynamic int8 per token" on the host side of MLIR
// kernels (their family bridges): what the Halide lowerings compute inside
// their pipelines, with the same f32 operations, so both backends' int8 rows
// are the same bytes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace kf::bridge {

// Round half away from zero of an f32 (docs/formats.md: rha).
inline float roundHalfAway(float v) {
    const float t = std::trunc(v);
    const float frac = v - t;
    return frac >= 0.5f ? t + 1.0f : frac <= -0.5f ? t - 1.0f : t;
}

// q[i] = clamp(rha(x[i] / s), -127, 127) with s = max|x| / 127 (true f32
// divisions; q = 0 for a row of zeros). Returns s.
inline float quantizeRowInt8(const float *x, int64_t n, int8_t *q) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float s = amax / 127.0f;
    for (int64_t i = 0; i < n; ++i)
        q[i] = s > 0.0f ? static_cast<int8_t>(std::clamp(roundHalfAway(x[i] / s), -127.0f, 127.0f)) : 0;
    return s;
}

}  // namespace kf::bridge
