// rotation_attention: the double-precision reference
// (dsl/families/rotation_attention/Reference.h) against its definitions in
// docs/formats.md: R3, RoPE, the KV cache quantizer (cases worked out by hand
// and its error bound), attention (masks, GQA, R3's invariance), and why R3 is
// there at all (outlier channels quantize better rotated).
#include "dsl/families/rotation_attention/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <vector>

namespace kf::families::rotation_attention {
namespace {

using dsl::RopeKind;
using dsl::RotationAttentionParams;

constexpr double kTheta = 10000.0;

std::size_t idx(int64_t i) { return static_cast<std::size_t>(i); }

double dot(const std::vector<double> &a, const std::vector<double> &b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

double norm(const std::vector<double> &a) { return std::sqrt(dot(a, a)); }

std::vector<double> toDouble(const std::vector<float> &v) { return {v.begin(), v.end()}; }

std::vector<double> roped(RopeKind kind, const std::vector<float> &x, int64_t position) {
    std::vector<double> y = toDouble(x);
    referenceRope(kind, static_cast<int>(x.size()), position, kTheta, y.data());
    return y;
}

RotationAttentionParams attnParams(int d, int heads, int kvHeads, bool causal, bool rotate, RopeKind rope) {
    RotationAttentionParams p;
    p.headDim = d;
    p.numHeads = heads;
    p.numKvHeads = kvHeads;
    p.causal = causal;
    p.rotate = rotate;
    p.rope = rope;
    return p;
}

// The cache's values, unquantized: K via referenceCacheRow at position u
// (RoPE, then R3 when params.rotate), V as given. kIn/vIn [kvHeads][len][d].
std::vector<double> cacheOf(const RotationAttentionParams &p, bool isKey, const std::vector<float> &in, int64_t len) {
    const int d = p.headDim;
    std::vector<double> out(in.size());
    for (int kv = 0; kv < p.numKvHeads; ++kv)
        for (int64_t u = 0; u < len; ++u) {
            const int64_t at = (kv * len + u) * d;
            referenceCacheRow(p, isKey, in.data() + at, u, kTheta, out.data() + at);
        }
    return out;
}

// Each row of d values of `cache` (f32 as a kernel would hold it) quantized as
// one group and read back.
std::vector<double> quantizedRows(const std::vector<double> &cache, int d, int bits) {
    std::vector<double> out(cache.size());
    std::vector<float> row(idx(d));
    std::vector<uint8_t> codes(idx(d));
    for (std::size_t r = 0; r < cache.size() / idx(d); ++r) {
        for (int i = 0; i < d; ++i) row[idx(i)] = static_cast<float>(cache[r * idx(d) + idx(i)]);
        float s = 0, z = 0;
        referenceQuantizeGroup(row.data(), d, bits, codes.data(), &s, &z);
        for (int i = 0; i < d; ++i) out[r * idx(d) + idx(i)] = referenceDequantize(codes[idx(i)], s, z);
    }
    return out;
}

std::vector<double> attention(const RotationAttentionParams &p, const std::vector<float> &q, int64_t T,
                              int64_t firstPos, const std::vector<double> &keys, const std::vector<double> &values,
                              int64_t len) {
    std::vector<double> out(idx(T * p.numHeads * p.headDim));
    referenceAttention(p, q.data(), T, firstPos, kTheta, keys.data(), values.data(), len, out.data());
    return out;
}

double relative(const std::vector<double> &y, const std::vector<double> &ref) {
    double err = 0, n = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        err += (y[i] - ref[i]) * (y[i] - ref[i]);
        n += ref[i] * ref[i];
    }
    return std::sqrt(err / n);
}

// --- R3 ---------------------------------------------------------------------

TEST(RotationAttentionReference, R3Size4ByHand) {
    // H_4 rows ++++, +-+-, ++--, +--+, over sqrt(4).
    const double x[] = {1, 2, 3, 4};
    double y[4];
    referenceR3(4, x, y);
    const double expected[] = {5, -1, -2, 0};
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], expected[i], 1e-15) << i;
}

TEST(RotationAttentionReference, R3OrthogonalAndItsOwnInverse) {
    for (int d : {32, 64, 128, 256}) {
        SCOPED_TRACE(d);
        const std::vector<double> x = toDouble(randomValues(d, static_cast<uint64_t>(d)));
        std::vector<double> y(idx(d)), back(idx(d));
        referenceR3(d, x.data(), y.data());
        referenceR3(d, y.data(), back.data());
        for (int i = 0; i < d; ++i) EXPECT_NEAR(back[idx(i)], x[idx(i)], 1e-12) << i;
        EXPECT_NEAR(norm(y), norm(x), 1e-12);
        EXPECT_GT(relative(y, x), 0.5);  // it does rotate

        std::vector<double> e0(idx(d), 0.0);
        e0[0] = 1;
        referenceR3(d, e0.data(), y.data());
        for (int i = 0; i < d; ++i) EXPECT_NEAR(y[idx(i)], 1 / std::sqrt(double(d)), 1e-15) << i;
    }
}

TEST(RotationAttentionReference, R3NeedsPowerOfTwo) {
    std::vector<double> x(48, 1.0), y(48);
    EXPECT_THROW(referenceR3(48, x.data(), y.data()), std::invalid_argument);
    EXPECT_THROW(referenceR3(0, x.data(), y.data()), std::invalid_argument);
}

// --- RoPE -------------------------------------------------------------------

TEST(RotationAttentionReference, RopeTableByHand) {
    // d = 8, theta = 10000: frequency j turns by p * 10000^(-j/4) = p * 10^-j.
    float c[4], s[4];
    referenceRopeTable(8, 3, kTheta, c, s);
    for (int j = 0; j < 4; ++j) {
        const double angle = 3 * std::pow(10.0, -j);
        EXPECT_EQ(c[j], static_cast<float>(std::cos(angle))) << j;
        EXPECT_EQ(s[j], static_cast<float>(std::sin(angle))) << j;
    }
    referenceRopeTable(8, 0, kTheta, c, s);
    for (int j = 0; j < 4; ++j) {
        EXPECT_EQ(c[j], 1.0f);
        EXPECT_EQ(s[j], 0.0f);
    }
}

TEST(RotationAttentionReference, RopePairsByHand) {
    // d = 8 at position 3: frequency 1 turns by 0.3 rad. Half pairs (x1, x5),
    // interleaved pairs (x2, x3); (a, b) -> (a cos - b sin, a sin + b cos).
    const std::vector<float> x = {0.5f, 1.0f, -2.0f, 0.25f, 3.0f, -0.75f, 1.5f, 0.125f};
    const double c = std::cos(0.3), s = std::sin(0.3);
    const double tol = 1e-6;  // the table is f32

    const std::vector<double> half = roped(RopeKind::Half, x, 3);
    EXPECT_NEAR(half[1], 1.0 * c - (-0.75) * s, tol);
    EXPECT_NEAR(half[5], 1.0 * s + (-0.75) * c, tol);
    // Frequency 0 turns by 3 rad: pair (x0, x4).
    EXPECT_NEAR(half[0], 0.5 * std::cos(3.0) - 3.0 * std::sin(3.0), tol);
    EXPECT_NEAR(half[4], 0.5 * std::sin(3.0) + 3.0 * std::cos(3.0), tol);

    const std::vector<double> inter = roped(RopeKind::Interleaved, x, 3);
    EXPECT_NEAR(inter[2], -2.0 * c - 0.25 * s, tol);
    EXPECT_NEAR(inter[3], -2.0 * s + 0.25 * c, tol);
    EXPECT_NEAR(inter[0], 0.5 * std::cos(3.0) - 1.0 * std::sin(3.0), tol);
    EXPECT_NEAR(inter[1], 0.5 * std::sin(3.0) + 1.0 * std::cos(3.0), tol);
}

TEST(RotationAttentionReference, RopeIdentityAtZeroNormAndNone) {
    const std::vector<float> x = randomValues(64, 11);
    for (RopeKind kind : {RopeKind::Half, RopeKind::Interleaved}) {
        const std::vector<double> at0 = roped(kind, x, 0);
        for (int i = 0; i < 64; ++i) EXPECT_EQ(at0[idx(i)], double(x[idx(i)])) << i;
        for (int64_t p : {1, 17, 4095, 2147483647}) {
            const std::vector<double> y = roped(kind, x, p);
            // Rounded cos and sin are within 2^-24 of the unit circle.
            EXPECT_NEAR(norm(y), norm(toDouble(x)), 1e-6) << p;
            EXPECT_GT(relative(y, toDouble(x)), 1e-3) << p;
        }
    }
    const std::vector<double> none = roped(RopeKind::None, x, 12345);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(none[idx(i)], double(x[idx(i)])) << i;
}

TEST(RotationAttentionReference, RopeScoresDependOnlyOnDistance) {
    const std::vector<float> q = randomValues(64, 21), k = randomValues(64, 22);
    for (RopeKind kind : {RopeKind::Half, RopeKind::Interleaved}) {
        for (int64_t delta : {0, 3, 100}) {
            const double first = dot(roped(kind, q, delta), roped(kind, k, 0));
            for (int64_t base : {1, 57, 100000, 2000000000}) {
                const double other = dot(roped(kind, q, base + delta), roped(kind, k, base));
                EXPECT_NEAR(other, first, 1e-5) << "delta " << delta << " base " << base;
            }
        }
        // ... and does depend on it.
        EXPECT_GT(std::fabs(dot(roped(kind, q, 5), roped(kind, k, 0)) - dot(toDouble(q), toDouble(k))), 1e-3);
    }
}

TEST(RotationAttentionReference, RopeHalfAndInterleavedDiffer) {
    const std::vector<float> x = randomValues(32, 31);
    EXPECT_GT(relative(roped(RopeKind::Half, x, 9), roped(RopeKind::Interleaved, x, 9)), 1e-2);
}

// --- KV cache quantizer -----------------------------------------------------

TEST(RotationAttentionReference, QuantizeSmallGroupByHand) {
    // int4: s = fl32(3 / 15) = 0.2f, -lo / s = fl32(1 / 0.2f) = 5, z = 5;
    // x / s = -5, 0, 2.5 (0.5 / 0.2f = 2.49999996 rounds to 2.5f), 10.
    const float x[] = {-1.0f, 0.0f, 0.5f, 2.0f};
    uint8_t codes[4];
    float s = 0, z = 0;
    double margin = -1;
    referenceQuantizeGroup(x, 4, 4, codes, &s, &z, &margin);
    EXPECT_EQ(s, 0.2f);
    EXPECT_EQ(z, 5.0f);
    const uint8_t expected[] = {0, 5, 8, 15};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(codes[i], expected[i]) << i;
    // 2.5 sits on a half-integer: a kernel one bit off may round it to 7.
    EXPECT_EQ(margin, 0.0);
    EXPECT_DOUBLE_EQ(referenceDequantize(codes[2], s, z), 3 * double(0.2f));
}

TEST(RotationAttentionReference, QuantizeAllOneSignZeroOutsideCodes) {
    // docs/formats.md: values in [10, 11] give z = -150 for int4.
    const float x[] = {10.0f, 10.25f, 10.5f, 11.0f, 10.8f};
    uint8_t codes[5];
    float s = 0, z = 0;
    referenceQuantizeGroup(x, 5, 4, codes, &s, &z);
    EXPECT_EQ(s, 1.0f / 15.0f);
    EXPECT_EQ(z, -150.0f);
    EXPECT_EQ(codes[0], 0);
    EXPECT_EQ(codes[3], 15);
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(referenceDequantize(codes[i], s, z), x[i], s / 2 * (1 + 1e-4)) << i;
}

TEST(RotationAttentionReference, QuantizeClampsTheTopCode) {
    // Both ends on half-integers: -lo / s = 0.5 and hi / s = 14.5 round away
    // from zero in opposite directions, z = 1 and hi's code 15 + 1 = 16, which
    // the clamp brings back to 15: hi comes back s / 2 = 4 short.
    const float x[] = {-4.0f, 116.0f, 50.0f};
    uint8_t codes[3];
    float s = 0, z = 0;
    referenceQuantizeGroup(x, 3, 4, codes, &s, &z);
    EXPECT_EQ(s, 8.0f);
    EXPECT_EQ(z, 1.0f);
    EXPECT_EQ(codes[0], 0);
    EXPECT_EQ(codes[1], 15);
    EXPECT_EQ(codes[2], 7);  // rha(6.25) + 1
    EXPECT_EQ(referenceDequantize(codes[1], s, z), 112.0);
    // The same for int8: -4 / s and 20 / s are -42.5 and 212.5 in f32, 213 + 43 = 256.
    const float y[] = {-4.0f, 20.0f};
    referenceQuantizeGroup(y, 2, 8, codes, &s, &z);
    EXPECT_EQ(z, 43.0f);
    EXPECT_EQ(codes[0], 0);
    EXPECT_EQ(codes[1], 255);
}

TEST(RotationAttentionReference, QuantizeRoundsHalfAwayExactly) {
    // s = 1, z = 0, so the code is rha(x). rha is exact (docs/formats.md,
    // "Notation"): 0.5 - 2^-25 rounds to 0, where the f32 evaluation
    // floor(fl32(|v| + 0.5)) of "Dynamic int8 per token" gives 1; the margin
    // says a kernel may differ there.
    const float x[] = {0.0f, 15.0f, 0.5f - 0x1p-25f, 0.5f, 1.5f, 2.5f};
    uint8_t codes[6];
    float s = 0, z = 0;
    double margin = -1;
    referenceQuantizeGroup(x, 6, 4, codes, &s, &z, &margin);
    EXPECT_EQ(s, 1.0f);
    EXPECT_EQ(z, 0.0f);
    const uint8_t expected[] = {0, 15, 0, 1, 2, 3};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(codes[i], expected[i]) << i;
    EXPECT_EQ(margin, 0.0);
}

TEST(RotationAttentionReference, QuantizeConstantGroups) {
    for (int bits : {4, 8}) {
        for (float v : {2.5f, -3.0f, 0.0f, 1e-30f}) {
            SCOPED_TRACE(v);
            const std::vector<float> x(16, v);
            std::vector<uint8_t> codes(16, 7);
            float s = -1, z = -7;
            double margin = 0;
            referenceQuantizeGroup(x.data(), 16, bits, codes.data(), &s, &z, &margin);
            EXPECT_EQ(s, std::fabs(v));
            EXPECT_EQ(z, v > 0 ? -1.0f : v < 0 ? 1.0f : 0.0f);
            EXPECT_EQ(margin, std::numeric_limits<double>::infinity());
            for (int i = 0; i < 16; ++i) {
                EXPECT_EQ(codes[idx(i)], 0);
                EXPECT_EQ(referenceDequantize(codes[idx(i)], s, z), double(v));
            }
        }
    }
}

TEST(RotationAttentionReference, QuantizeRandomGroupsWithinHalfAStep) {
    for (int bits : {4, 8}) {
        const int levels = (1 << bits) - 1;
        for (uint64_t seed = 0; seed < 200; ++seed) {
            const int n = 1 + static_cast<int>(seed % 128);
            std::vector<float> x = randomValues(n, seed + 1000 * bits);
            // Vary the magnitude and the offset, so some groups have one sign.
            const float scale = std::ldexp(1.0f, static_cast<int>(seed % 21) - 10);
            const float offset = seed % 3 == 0 ? 1.5f : 0.0f;
            for (float &v : x) v = (v + offset) * scale;
            std::vector<uint8_t> codes(idx(n));
            float s = 0, z = 0;
            double margin = 0;
            referenceQuantizeGroup(x.data(), n, bits, codes.data(), &s, &z, &margin);
            const float lo = *std::min_element(x.begin(), x.end()), hi = *std::max_element(x.begin(), x.end());
            SCOPED_TRACE(testing::Message() << "bits " << bits << " seed " << seed << " n " << n);
            if (lo == hi) continue;
            EXPECT_EQ(z, std::round(z));
            EXPECT_GE(margin, 0.0);
            EXPECT_LE(margin, 0.5);
            // s is fl32 of (hi - lo) / L; the bound adds the relative error of
            // that rounding, L times, which clamping the top code can cost.
            const double bound = double(s) / 2 + double(s) * levels * 0x1p-22;
            for (int i = 0; i < n; ++i) {
                EXPECT_LE(codes[idx(i)], levels);
                EXPECT_LE(std::fabs(referenceDequantize(codes[idx(i)], s, z) - x[idx(i)]), bound) << i;
            }
            const auto lowest = std::min_element(x.begin(), x.end()) - x.begin();
            const auto highest = std::max_element(x.begin(), x.end()) - x.begin();
            EXPECT_EQ(codes[idx(lowest)], 0);  // rha(lo / s) + rha(-lo / s) = 0
            EXPECT_LE(std::fabs(referenceDequantize(codes[idx(highest)], s, z) - hi), bound);
            EXPECT_GE(codes[idx(highest)], levels - 1);
        }
    }
}

TEST(RotationAttentionReference, QuantizeMarginSeesHalfIntegers) {
    // All three groups have s = 0.2f, z = 5. x / s on a half-integer: 0.5 /
    // 0.2f rounds to exactly 2.5f (above); one bit above 0.5 it lands one f32
    // step (2^-22) above 2.5; 0.2 gives x / s = -5, 1, 10, half a step from
    // every edge.
    const float onEdge[] = {-1.0f, 0.5f, 2.0f};
    const float nearEdge[] = {-1.0f, std::nextafter(0.5f, 1.0f), 2.0f};
    const float clear[] = {-1.0f, 0.2f, 2.0f};
    uint8_t codes[3];
    float s = 0, z = 0;
    double margin = -1;
    referenceQuantizeGroup(onEdge, 3, 4, codes, &s, &z, &margin);
    EXPECT_EQ(margin, 0.0);
    referenceQuantizeGroup(nearEdge, 3, 4, codes, &s, &z, &margin);
    EXPECT_EQ(margin, 0x1p-22);
    EXPECT_EQ(codes[1], 8);
    referenceQuantizeGroup(clear, 3, 4, codes, &s, &z, &margin);
    EXPECT_GT(margin, 0.49);
    EXPECT_EQ(codes[1], 6);
}

TEST(RotationAttentionReference, QuantizeRejectsBadArguments) {
    const float x[] = {1.0f, 2.0f};
    uint8_t codes[2];
    float s = 0, z = 0;
    for (int bits : {0, 2, 3, 16})
        EXPECT_THROW(referenceQuantizeGroup(x, 2, bits, codes, &s, &z), std::invalid_argument) << bits;
    EXPECT_THROW(referenceQuantizeGroup(x, 0, 4, codes, &s, &z), std::invalid_argument);
    EXPECT_THROW(referenceQuantizeGroup(x, -1, 8, codes, &s, &z), std::invalid_argument);
    const float nan[] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
    EXPECT_THROW(referenceQuantizeGroup(nan, 2, 4, codes, &s, &z), std::invalid_argument);
}

// --- Attention --------------------------------------------------------------

TEST(RotationAttentionReference, AttentionTwoTokensByHand) {
    // d = 2, no RoPE, no R3: q = (1, 0), k0 = 0, k1 = (sqrt(2) ln 3, 0):
    // scores 0 and ln 3, weights 1/4 and 3/4.
    const auto p = attnParams(2, 1, 1, false, false, RopeKind::None);
    const std::vector<float> q = {1.0f, 0.0f};
    const std::vector<double> keys = {0, 0, std::sqrt(2.0) * std::log(3.0), 0};
    const std::vector<double> values = {4, -8, 0, 8};
    const std::vector<double> out = attention(p, q, 1, 0, keys, values, 2);
    EXPECT_NEAR(out[0], 1.0, 1e-14);
    EXPECT_NEAR(out[1], 4.0, 1e-14);
}

TEST(RotationAttentionReference, AttentionMatchesScoresWrittenOut) {
    // Query t of head h, at position firstPos + t: RoPE there, then R3, dotted
    // with the keys of kv head h / 2 as stored, over sqrt(d); softmax; values.
    const int d = 16, heads = 4, kvHeads = 2;
    const int64_t T = 2, firstPos = 3, len = 5;
    const auto p = attnParams(d, heads, kvHeads, true, true, RopeKind::Half);
    const std::vector<float> q = randomValues(T * heads * d, 44);
    const std::vector<double> keys = toDouble(randomValues(kvHeads * len * d, 45));
    const std::vector<double> values = toDouble(randomValues(kvHeads * len * d, 46));
    const std::vector<double> out = attention(p, q, T, firstPos, keys, values, len);
    for (int64_t t = 0; t < T; ++t)
        for (int h = 0; h < heads; ++h) {
            const std::vector<float> qth(q.begin() + (t * heads + h) * d, q.begin() + (t * heads + h + 1) * d);
            const std::vector<double> r = roped(RopeKind::Half, qth, firstPos + t);
            std::vector<double> qh(idx(d));
            referenceR3(d, r.data(), qh.data());
            const int64_t seen = firstPos + t + 1, base = (h / 2) * len * d;
            std::vector<double> w(idx(seen));
            double total = 0;
            for (int64_t u = 0; u < seen; ++u) {
                double score = 0;
                for (int i = 0; i < d; ++i) score += qh[idx(i)] * keys[idx(base + u * d + i)];
                w[idx(u)] = std::exp(score / 4);
                total += w[idx(u)];
            }
            for (int i = 0; i < d; ++i) {
                double expected = 0;
                for (int64_t u = 0; u < seen; ++u) expected += w[idx(u)] / total * values[idx(base + u * d + i)];
                EXPECT_NEAR(out[idx((t * heads + h) * d + i)], expected, 1e-14) << t << " " << h << " " << i;
            }
        }
}

TEST(RotationAttentionReference, AttentionEqualKeysAverageVisibleValues) {
    const int d = 32, heads = 2;
    const int64_t T = 3, firstPos = 2, len = 5;
    const std::vector<float> q = randomValues(T * heads * d, 41);
    const std::vector<float> k = randomValues(d, 42);
    std::vector<double> keys;
    for (int64_t u = 0; u < len; ++u) keys.insert(keys.end(), k.begin(), k.end());
    const std::vector<double> values = toDouble(randomValues(len * d, 43));
    for (bool causal : {true, false}) {
        SCOPED_TRACE(causal);
        const auto p = attnParams(d, heads, 1, causal, true, RopeKind::Half);
        const std::vector<double> out = attention(p, q, T, firstPos, keys, values, len);
        for (int64_t t = 0; t < T; ++t) {
            const int64_t seen = causal ? firstPos + t + 1 : len;
            for (int h = 0; h < heads; ++h)
                for (int i = 0; i < d; ++i) {
                    double mean = 0;
                    for (int64_t u = 0; u < seen; ++u) mean += values[idx(u * d + i)];
                    mean /= double(seen);
                    EXPECT_NEAR(out[idx((t * heads + h) * d + i)], mean, 1e-14) << t << " " << h << " " << i;
                }
        }
    }
}

TEST(RotationAttentionReference, AttentionOneDominantScorePicksItsValue) {
    const int d = 64;
    const int64_t len = 6, firstPos = 4, chosen = 2;
    const auto p = attnParams(d, 1, 1, true, true, RopeKind::Half);
    const std::vector<float> q = randomValues(d, 51);
    // Key `chosen` is 100 times the query as the kernel sees it (RoPE at its
    // position, then R3): its score is 100 |q|^2 / 8, about 270 above the rest.
    std::vector<double> keys = toDouble(randomValues(len * d, 52));
    std::vector<double> qh(idx(d));
    referenceCacheRow(p, true, q.data(), firstPos, kTheta, qh.data());
    for (int i = 0; i < d; ++i) keys[idx(chosen * d + i)] = 100 * qh[idx(i)];
    const std::vector<double> values = toDouble(randomValues(len * d, 53));
    const std::vector<double> out = attention(p, q, 1, firstPos, keys, values, len);
    for (int i = 0; i < d; ++i) EXPECT_NEAR(out[idx(i)], values[idx(chosen * d + i)], 1e-12) << i;
}

TEST(RotationAttentionReference, AttentionCausalIgnoresLaterTokensAndNoneSeesThem) {
    const int d = 32, heads = 2;
    const int64_t T = 4, firstPos = 3, len = 7;
    const std::vector<float> q = randomValues(T * heads * d, 61);
    const std::vector<double> keys = toDouble(randomValues(len * d, 62));
    const std::vector<double> values = toDouble(randomValues(len * d, 63));
    for (int64_t changed = firstPos; changed < len; ++changed) {
        std::vector<double> keys2 = keys, values2 = values;
        for (int i = 0; i < d; ++i) {
            keys2[idx(changed * d + i)] += 0.5;
            values2[idx(changed * d + i)] -= 0.5;
        }
        for (bool causal : {true, false}) {
            const auto p = attnParams(d, heads, 1, causal, true, RopeKind::Half);
            const std::vector<double> a = attention(p, q, T, firstPos, keys, values, len);
            const std::vector<double> b = attention(p, q, T, firstPos, keys2, values2, len);
            for (int64_t t = 0; t < T; ++t) {
                const bool sees = !causal || changed <= firstPos + t;
                const std::vector<double> rowA(a.begin() + t * heads * d, a.begin() + (t + 1) * heads * d);
                const std::vector<double> rowB(b.begin() + t * heads * d, b.begin() + (t + 1) * heads * d);
                if (sees)
                    EXPECT_GT(relative(rowB, rowA), 1e-3) << "causal " << causal << " t " << t << " token " << changed;
                else
                    EXPECT_EQ(rowB, rowA) << "t " << t << " token " << changed;
            }
        }
    }
}

TEST(RotationAttentionReference, AttentionGqaMapsHeadsToKvHeads) {
    const int d = 32, heads = 8, kvHeads = 2;
    const int64_t T = 2, firstPos = 1, len = 3;
    const auto p = attnParams(d, heads, kvHeads, true, true, RopeKind::Interleaved);
    const std::vector<float> q = randomValues(T * heads * d, 71);
    const std::vector<double> keys = toDouble(randomValues(kvHeads * len * d, 72));
    const std::vector<double> values = toDouble(randomValues(kvHeads * len * d, 73));
    const std::vector<double> base = attention(p, q, T, firstPos, keys, values, len);
    for (int kv = 0; kv < kvHeads; ++kv) {
        std::vector<double> keys2 = keys, values2 = values;
        for (int64_t i = kv * len * d; i < (kv + 1) * len * d; ++i) {
            keys2[idx(i)] *= -1;
            values2[idx(i)] += 1;
        }
        const std::vector<double> out = attention(p, q, T, firstPos, keys2, values2, len);
        for (int64_t t = 0; t < T; ++t)
            for (int h = 0; h < heads; ++h) {
                const auto at = [&](const std::vector<double> &v) {
                    return std::vector<double>(v.begin() + (t * heads + h) * d, v.begin() + (t * heads + h + 1) * d);
                };
                if (h / 4 == kv)
                    EXPECT_GT(relative(at(out), at(base)), 1e-3) << "kv " << kv << " t " << t << " head " << h;
                else
                    EXPECT_EQ(at(out), at(base)) << "kv " << kv << " t " << t << " head " << h;
            }
    }
}

TEST(RotationAttentionReference, AttentionR3LeavesUnquantizedScoresAlone) {
    // Q and K both rotated by the orthogonal R: (R q) . (R k) = q . k.
    const int d = 128, heads = 4, kvHeads = 2;
    const int64_t T = 3, firstPos = 5, len = 9;
    const std::vector<float> q = randomValues(T * heads * d, 81);
    const std::vector<float> k = randomValues(kvHeads * len * d, 82);
    const std::vector<float> v = randomValues(kvHeads * len * d, 83);
    for (RopeKind rope : {RopeKind::Half, RopeKind::Interleaved, RopeKind::None})
        for (bool causal : {true, false}) {
            const auto r3 = attnParams(d, heads, kvHeads, causal, true, rope);
            const auto plain = attnParams(d, heads, kvHeads, causal, false, rope);
            const std::vector<double> rotatedKeys = cacheOf(r3, true, k, len), plainKeys = cacheOf(plain, true, k, len);
            EXPECT_GT(relative(rotatedKeys, plainKeys), 0.5);  // the caches do differ
            const std::vector<double> a = attention(r3, q, T, firstPos, rotatedKeys, cacheOf(r3, false, v, len), len);
            const std::vector<double> b =
                attention(plain, q, T, firstPos, plainKeys, cacheOf(plain, false, v, len), len);
            for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-12) << i;
        }
}

TEST(RotationAttentionReference, CacheRowOfValuesIsTheIdentity) {
    for (bool rotate : {true, false})
        for (RopeKind rope : {RopeKind::Half, RopeKind::Interleaved, RopeKind::None}) {
            const auto p = attnParams(64, 1, 1, true, rotate, rope);
            const std::vector<float> x = randomValues(64, 91);
            std::vector<double> out(64), key(64);
            referenceCacheRow(p, false, x.data(), 77, kTheta, out.data());
            EXPECT_EQ(out, toDouble(x));
            // A key row at the same place is RoPE then R3.
            referenceCacheRow(p, true, x.data(), 77, kTheta, key.data());
            std::vector<double> expected = roped(rope, x, 77);
            if (rotate) {
                std::vector<double> r(64);
                referenceR3(64, expected.data(), r.data());
                expected = r;
            }
            EXPECT_EQ(key, expected);
        }
}

TEST(RotationAttentionReference, AttentionRejectsShapesThatDoNotFit) {
    const int d = 16;
    std::vector<float> q(idx(8 * 4 * d), 0.5f);
    std::vector<double> kv(idx(4 * 8 * d), 0.25), out(idx(8 * 4 * d));
    auto run = [&](const RotationAttentionParams &p, int64_t T, int64_t firstPos, int64_t len) {
        referenceAttention(p, q.data(), T, firstPos, kTheta, kv.data(), kv.data(), len, out.data());
    };
    const auto causal = attnParams(d, 4, 2, true, true, RopeKind::Half);
    const auto open = attnParams(d, 4, 2, false, true, RopeKind::Half);
    EXPECT_NO_THROW(run(causal, 2, 3, 5));
    EXPECT_THROW(run(causal, 0, 0, 5), std::invalid_argument);
    EXPECT_THROW(run(causal, 1, 0, 0), std::invalid_argument);
    EXPECT_THROW(run(causal, 1, -1, 5), std::invalid_argument);
    EXPECT_THROW(run(causal, 3, 3, 5), std::invalid_argument);  // positions 3..5 in a cache of 5
    EXPECT_NO_THROW(run(open, 3, 3, 5));                         // mask none: nothing to line up
    EXPECT_THROW(run(attnParams(d, 4, 3, true, true, RopeKind::Half), 1, 0, 1), std::invalid_argument);
    EXPECT_THROW(run(attnParams(d, 4, 0, true, true, RopeKind::Half), 1, 0, 1), std::invalid_argument);
    EXPECT_THROW(run(attnParams(24, 1, 1, true, true, RopeKind::Half), 1, 0, 1), std::invalid_argument);
}

// --- Why R3 -----------------------------------------------------------------

TEST(RotationAttentionReference, R3ShrinksInt4KeyErrorWithOutlierChannels) {
    // Keys whose channels 5 and 40 are 50 times the rest, as in LLM K
    // projections. Quantized per token without R3, the outliers set the step
    // and the other channels round to nearly nothing; R3 spreads them over the
    // head. V is quantized the same way under both (R3 does not touch it), so
    // it stays exact here and the difference is the keys'. (With three or more
    // such channels the outliers dominate the rotated row's range too, and R3
    // no longer wins on every draw.)
    const int d = 128, heads = 2;
    const int64_t len = 64, T = 8, firstPos = len - T;
    for (uint64_t seed = 0; seed < 4; ++seed) {
        std::vector<float> k = randomValues(len * d, 3 * seed + 101);
        for (int64_t u = 0; u < len; ++u)
            for (int c : {5, 40}) k[idx(u * d + c)] *= 50.0f;
        const std::vector<float> q = randomValues(T * heads * d, 3 * seed + 102);
        const std::vector<float> v = randomValues(len * d, 3 * seed + 103);

        double error[2] = {0, 0};
        for (bool rotate : {false, true}) {
            const auto p = attnParams(d, heads, 1, true, rotate, RopeKind::Half);
            const std::vector<double> keys = cacheOf(p, true, k, len), values = cacheOf(p, false, v, len);
            const std::vector<double> exact = attention(p, q, T, firstPos, keys, values, len);
            const std::vector<double> quant = attention(p, q, T, firstPos, quantizedRows(keys, d, 4), values, len);
            error[rotate] = relative(quant, exact);
        }
        std::printf("int4 K, two outlier channels, seed %d: attention error %.4g without R3, %.4g with R3\n",
                    static_cast<int>(seed), error[0], error[1]);
        EXPECT_LT(error[1], error[0]) << seed;
        EXPECT_GT(error[1], 0.0) << seed;
    }
}

// docs/formats.md, "Unquantized caches": rne_f16, worked by hand.
TEST(RotationAttentionReference, StoreFloatRoundsToHalf) {
    EXPECT_EQ(referenceStoreFloat(1.0f, 16), 1.0);
    EXPECT_EQ(referenceStoreFloat(1.0f + 0x1p-11f, 16), 1.0);                     // tie, to even
    EXPECT_EQ(referenceStoreFloat(1.0f + 3 * 0x1p-11f, 16), 1.0 + 0x1p-9);        // tie, to even (up)
    EXPECT_EQ(referenceStoreFloat(1.0f + 0x1p-11f + 0x1p-20f, 16), 1.0 + 0x1p-10);  // past the tie
    EXPECT_EQ(referenceStoreFloat(-3.14159265f, 16), -3.140625);
    EXPECT_EQ(referenceStoreFloat(65519.0f, 16), 65504.0);  // the largest f16
    EXPECT_EQ(referenceStoreFloat(65520.0f, 16), std::numeric_limits<double>::infinity());
    EXPECT_EQ(referenceStoreFloat(-70000.0f, 16), -std::numeric_limits<double>::infinity());
    EXPECT_EQ(referenceStoreFloat(0x1p-25f, 16), 0.0);              // half the smallest subnormal: to even (0)
    EXPECT_EQ(referenceStoreFloat(3 * 0x1p-25f, 16), 0x1p-23);      // 1.5 steps: to even (2)
    EXPECT_EQ(referenceStoreFloat(0x1p-14f + 0x1p-25f, 16), 0x1p-14);  // the smallest normal keeps the 2^-24 step
    EXPECT_EQ(referenceStoreFloat(0.1f, 32), static_cast<double>(0.1f));
    EXPECT_THROW(referenceStoreFloat(1.0f, 8), std::invalid_argument);

    EXPECT_EQ(referenceHalfValue(0x3C00), 1.0);
    EXPECT_EQ(referenceHalfValue(0xC000), -2.0);
    EXPECT_EQ(referenceHalfValue(0x7BFF), 65504.0);
    EXPECT_EQ(referenceHalfValue(0x0001), 0x1p-24);
    EXPECT_EQ(referenceHalfValue(0x0400), 0x1p-14);
    EXPECT_EQ(referenceHalfValue(0x7C00), std::numeric_limits<double>::infinity());
    EXPECT_TRUE(std::isnan(referenceHalfValue(0x7E00)));
    EXPECT_EQ(referenceHalfValue(0x4248), 3.140625);
}

TEST(RotationAttentionReference, RelativeErrorAndRandomValues) {
    const float y[] = {1.0f, 2.0f};
    const double ref[] = {1.0, 2.5};
    EXPECT_NEAR(relativeError(y, ref, 2), 0.5 / std::sqrt(7.25), 1e-15);
    const double zero[] = {0.0, 0.0};
    const float zeroF[] = {0.0f, 0.0f};
    EXPECT_EQ(relativeError(zeroF, zero, 2), 0.0);
    EXPECT_EQ(relativeError(y, zero, 2), std::numeric_limits<double>::infinity());

    // The first values of seed 1, fixed: mt19937_64's first outputs >> 40,
    // minus 2^23, over 2^23 (checked against an independent mt19937_64).
    const std::vector<float> first = randomValues(4, 1);
    const float expected[] = {-6142531 * 0x1p-23f, -6100078 * 0x1p-23f, -818479 * 0x1p-23f, -8035880 * 0x1p-23f};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(first[idx(i)], expected[i]) << i;

    const std::vector<float> a = randomValues(1000, 5), b = randomValues(1000, 5), c = randomValues(1000, 6);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    for (float x : a) {
        EXPECT_GE(x, -1.0f);
        EXPECT_LT(x, 1.0f);
        EXPECT_EQ(x * 0x1p23f, std::round(x * 0x1p23f));
    }
}

}  // namespace
}  // namespace kf::families::rotation_attention
