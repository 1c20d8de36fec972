// Every rotation_attention kernel of an emitted library x every target's
// variant in it, against the double-precision reference written from the
// definitions (dsl/families/rotation_attention/Reference.h):
//   - append: what the cache holds (read back with kf_kv_cache_read) against
//     the reference's RoPE, R3 and quantizer (codes exact away from rounding
//     ties, scales to f32 rounding);
//   - attention: decode (T = 1) and prefill (T = 3, 64, 513) over contexts of
//     1, 17, 300 and 4097 tokens, against the reference attention over the
//     cache's own dequantized values (so only the kernel's arithmetic is
//     compared: relative L2 <= 1e-5);
//   - 1 and 2 threads bitwise equal; a batch of sequences of different
//     lengths; two threads appending to two caches at once;
//   - the C API's answers to bad calls, with the cache unchanged.
// The kernels and their parameters come from the kernel file
// (KFORGE_TEST_KERNELS); the library is KFORGE_TEST_LIB.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dsl/Load.h"
#include "dsl/families/rotation_attention/Reference.h"

#include "TestLibrary.h"

namespace {

using kf::testing::Case;
using kf::testing::defOf;
using kf::testing::kernelFile;
using kf::dsl::RotationAttentionParams;
namespace ref = kf::families::rotation_attention;

constexpr double kTheta = 10000.0;

const RotationAttentionParams &paramsOf(const std::string &kernel) {
    return std::get<RotationAttentionParams>(kernelFile().findKernel(kernel)->params);
}

// Every attention kernel x the bucket-any variant of each target (calls with
// more queries reach the target's bucket variants through it).
std::vector<Case> allCases() {
    std::vector<Case> cases;
    int count = 0;
    const kf_kernel_def *const *all = KF_TEST_KERNELS_FN(&count);
    for (int i = 0; i < count; ++i) {
        kf_attention_info info;
        if (kf_attention_query(all[i], &info) != KF_OK) continue;
        for (int v = 0; v < info.num_variants; ++v)
            if (kf_variant_bucket(all[i], v) == 0) cases.push_back({info.kernel_name, v});
    }
    return cases;
}

struct CacheContents {
    std::vector<uint8_t> codes;
    std::vector<float> scales, zeros;
};

class AttentionKernels : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        def_ = defOf(GetParam().kernel);
        ASSERT_NE(def_, nullptr);
        if (!kf_variant_supported(def_, GetParam().variant))
            GTEST_SKIP() << kf_variant_name(def_, GetParam().variant) << " does not run on this CPU";
        ASSERT_EQ(kf_attention_create(def_, kf_variant_name(def_, GetParam().variant), &a_), KF_OK) << kf_last_error();
        p_ = paramsOf(GetParam().kernel);
        d_ = p_.headDim;
        group_ = p_.kvGroup ? p_.kvGroup : d_;
        codeBytes_ = p_.kvBits == 4 ? d_ / 2 : d_ * (p_.kvBits / 8);
    }
    void TearDown() override { kf_attention_destroy(a_); }

    int64_t kvRow() const { return int64_t{p_.numKvHeads} * d_; }
    int64_t qRow() const { return int64_t{p_.numHeads} * d_; }
    int groups() const { return d_ / group_; }

    // Random K and V for `tokens` tokens, with a few outlier channels in K.
    std::vector<float> tokens(int64_t count, uint64_t seed, bool outliers) const {
        std::vector<float> x = ref::randomValues(count * kvRow(), seed);
        if (outliers)
            for (int64_t r = 0; r < count * p_.numKvHeads; ++r) x[r * d_ + 3] *= 20.0f;
        return x;
    }

    // Appends `len` random tokens to layer 0 in pieces of `piece`; returns K and V as given.
    void fill(kf_kv_cache *c, int64_t len, int64_t piece, std::vector<float> &k, std::vector<float> &v,
              uint64_t seed = 7) {
        k = tokens(len, seed, true);
        v = tokens(len, seed + 1, false);
        for (int64_t pos = 0; pos < len; pos += piece) {
            const int64_t n = std::min(piece, len - pos);
            ASSERT_EQ(kf_kv_cache_append(a_, c, 0, k.data() + pos * kvRow(), v.data() + pos * kvRow(), n, pos, kTheta,
                                         0),
                      KF_OK)
                << kf_last_error();
        }
    }

    CacheContents read(const kf_kv_cache *c, int which, int64_t len) const {
        CacheContents out;
        out.codes.resize(static_cast<size_t>(p_.numKvHeads * len * codeBytes_));
        out.scales.resize(static_cast<size_t>(p_.numKvHeads * len * groups()));
        out.zeros.resize(out.scales.size());
        EXPECT_EQ(kf_kv_cache_read(c, 0, which, 0, len, out.codes.data(), out.scales.data(), out.zeros.data()), KF_OK)
            << kf_last_error();
        return out;
    }

    // Code of element i of token-head r (docs/formats.md, "KV cache": int4
    // element j + d/2 in the high nibble of byte j).
    int codeAt(const CacheContents &c, int64_t r, int i) const {
        if (p_.kvBits == 8) return c.codes[r * d_ + i];
        const uint8_t b = c.codes[r * codeBytes_ + i % (d_ / 2)];
        return i < d_ / 2 ? b & 15 : b >> 4;
    }

    // The cache's values [kvHeads][len][d] in double, by the definition.
    std::vector<double> dequantized(const CacheContents &c, int64_t len) const {
        return ref::referenceCacheValues(p_, c.codes.data(), c.scales.data(), c.zeros.data(), p_.numKvHeads * len);
    }

    // An f16 / f32 cache's token-head r against the reference row (RoPE, R3
    // in double): s = 1, z = 0; f32 values to f32 rounding of the rotation,
    // f16 values rne_f16 of them, or the f16 neighbour where the f32 value
    // is within its rounding of an f16 tie.
    void checkFloatRow(const CacheContents &got, int64_t r, const std::vector<double> &row) const {
        ASSERT_EQ(got.scales[r], 1.0f);
        ASSERT_EQ(got.zeros[r], 0.0f);
        const std::vector<double> values =
            ref::referenceCacheValues(p_, got.codes.data() + r * codeBytes_, &got.scales[r], &got.zeros[r], 1);
        double norm = 0;
        for (double x : row) norm += x * x;
        norm = std::sqrt(norm);
        for (int i = 0; i < d_; ++i) {
            const double have = values[i];
            if (p_.kvBits == 32) {
                ASSERT_NEAR(have, row[i], 1e-6 * norm) << "element " << i;
            } else {
                const double want = ref::referenceStoreFloat(static_cast<float>(row[i]), 16);
                if (have != want) {
                    // One f16 step off at most, and only where the kernel's f32
                    // value may lie across the tie: within the rotation's f32
                    // rounding (relative to the row's norm) of it.
                    const double step = std::ldexp(1.0, std::max(std::ilogb(row[i]), -14) - 10);
                    const double tie = (std::floor(std::fabs(row[i]) / step) + 0.5) * step;
                    ASSERT_LE(std::fabs(std::fabs(row[i]) - tie), 1e-6 * norm)
                        << "element " << i << ": " << have << " for " << row[i];
                    ASSERT_NEAR(have, want, step * 1.0001) << "element " << i;
                }
            }
        }
    }

    // The cache's K (which 0) or V rows of tokens from .. len-1 against the
    // reference's quantization of x (the f32 inputs appended).
    void checkAppended(const kf_kv_cache *c, const std::vector<float> &k, const std::vector<float> &v, int64_t len,
                       int64_t from) {
        for (int which : {0, 1}) {
            SCOPED_TRACE(which == 0 ? "K" : "V");
            const CacheContents got = read(c, which, len);
            const std::vector<float> &x = which == 0 ? k : v;
            int looseGroups = 0;
            for (int h = 0; h < p_.numKvHeads; ++h)
                for (int64_t t = from; t < len; ++t) {
                    std::vector<double> row(d_);
                    ref::referenceCacheRow(p_, which == 0, x.data() + (t * p_.numKvHeads + h) * d_, t, kTheta,
                                           row.data());
                    std::vector<float> row32(row.begin(), row.end());
                    const int64_t r = h * len + t;
                    if (p_.kvBits > 8) {
                        checkFloatRow(got, r, row);
                        continue;
                    }
                    for (int g = 0; g < groups(); ++g) {
                        std::vector<uint8_t> codes(group_);
                        float s = 0, z = 0;
                        double margin = 0;
                        ref::referenceQuantizeGroup(row32.data() + g * group_, group_, p_.kvBits, codes.data(), &s, &z,
                                                    &margin);
                        const float gs = got.scales[r * groups() + g], gz = got.zeros[r * groups() + g];
                        ASSERT_NEAR(gs, s, 1e-5 * std::abs(s) + 1e-30) << "head " << h << " token " << t;
                        // The kernel's rotated values differ from the reference's in the last bits:
                        // near a rounding tie a code (or z) may be one step off.
                        const bool exact = margin > 1e-5;  // f32 rounding moves x / s by ~1e-6 at most
                        looseGroups += !exact;
                        EXPECT_LE(std::abs(gz - z), exact ? 0.0f : 1.0f) << "head " << h << " token " << t;
                        for (int i = 0; i < group_; ++i) {
                            const int want = codes[i], have = codeAt(got, r, g * group_ + i);
                            if (exact) {
                                ASSERT_EQ(have, want) << "head " << h << " token " << t << " element " << g * group_ + i;
                            } else {
                                ASSERT_LE(std::abs(have - want), 1) << "head " << h << " token " << t;
                            }
                        }
                    }
                }
            EXPECT_LT(looseGroups, std::max<int64_t>(2, p_.numKvHeads * (len - from) * groups() / 10))
                << "too many groups near a rounding tie";
        }
    }

    // Attention of T queries at pos over a cache of len tokens, against the reference.
    void checkAttention(int64_t len, int64_t T, int64_t pos, int threads = 0) {
        SCOPED_TRACE("len " + std::to_string(len) + " T " + std::to_string(T) + " pos " + std::to_string(pos));
        kf_kv_cache *c = nullptr;
        ASSERT_EQ(kf_kv_cache_create(a_, 1, len, &c), KF_OK) << kf_last_error();
        std::vector<float> k, v;
        fill(c, len, std::max<int64_t>(1, len / 3 + 1), k, v);
        const std::vector<double> keys = dequantized(read(c, 0, len), len);
        const std::vector<double> values = dequantized(read(c, 1, len), len);
        const std::vector<float> q = ref::randomValues(T * qRow(), 99 + T);
        std::vector<float> out(q.size(), NAN);
        ASSERT_EQ(kf_attention_run(a_, c, 0, q.data(), T, pos, kTheta, out.data(), threads), KF_OK) << kf_last_error();
        std::vector<double> want(q.size());
        ref::referenceAttention(p_, q.data(), T, pos, kTheta, keys.data(), values.data(), len, want.data());
        EXPECT_LE(ref::relativeError(out.data(), want.data(), static_cast<int64_t>(out.size())), 1e-5)
            << kf_attention_variant_for_tokens(a_, T);
        kf_kv_cache_destroy(c);
    }

    const kf_kernel_def *def_ = nullptr;
    kf_attention *a_ = nullptr;
    RotationAttentionParams p_;
    int d_ = 0, group_ = 0, codeBytes_ = 0;
};

TEST_P(AttentionKernels, AppendWritesTheReferenceCache) {
    for (int64_t piece : {int64_t{1}, int64_t{3}, int64_t{70}}) {
        SCOPED_TRACE("pieces of " + std::to_string(piece));
        const int64_t len = 140;
        kf_kv_cache *c = nullptr;
        ASSERT_EQ(kf_kv_cache_create(a_, 1, len, &c), KF_OK) << kf_last_error();
        std::vector<float> k, v;
        fill(c, len, piece, k, v);
        EXPECT_EQ(kf_kv_cache_length(c, 0), len);
        checkAppended(c, k, v, len, 0);
        kf_kv_cache_destroy(c);
    }
}

// The runtime keeps RoPE's tables for positions below 32768 and computes the
// rest per call: keys appended on both sides of that line, and (where the
// kernel lets queries sit past the cache: mask none) queries across it.
TEST_P(AttentionKernels, PositionsPastTheKeptRopeTables) {
    // 32768 tokens are appended first: the smaller kernels (every RoPE
    // pairing, a cache of each kind) in their first variant are enough.
    if (p_.numKvHeads * d_ > 256 || GetParam().variant != 0)
        GTEST_SKIP() << "covered by the first variant of the kernels with <= 256 values per token";
    const int64_t len = 32776;
    kf_kv_cache *c = nullptr;
    ASSERT_EQ(kf_kv_cache_create(a_, 1, len, &c), KF_OK) << kf_last_error();
    std::vector<float> k, v;
    fill(c, len, 8192, k, v);
    checkAppended(c, k, v, len, 32760);
    kf_kv_cache_destroy(c);
    if (!p_.causal) checkAttention(40, 3, 32767);
}

TEST_P(AttentionKernels, DecodeMatchesReference) {
    for (int64_t len : {int64_t{1}, int64_t{17}, int64_t{300}}) checkAttention(len, 1, len - 1);
}

TEST_P(AttentionKernels, PrefillMatchesReference) {
    checkAttention(20, 3, 17);
    checkAttention(64, 64, 0);
    checkAttention(300, 64, 236);
}

TEST_P(AttentionKernels, LongContextAndLongPrefill) {
    checkAttention(4097, 1, 4096);
    checkAttention(600, 513, 87);
}

TEST_P(AttentionKernels, OneAndTwoThreadsAgreeBitwise) {
    const int64_t len = 777;
    kf_kv_cache *c = nullptr;
    ASSERT_EQ(kf_kv_cache_create(a_, 1, len, &c), KF_OK) << kf_last_error();
    std::vector<float> k, v;
    fill(c, len, 100, k, v);
    for (int64_t T : {int64_t{1}, int64_t{40}}) {
        const std::vector<float> q = ref::randomValues(T * qRow(), 5);
        std::vector<float> one(q.size()), two(q.size());
        ASSERT_EQ(kf_attention_run(a_, c, 0, q.data(), T, len - T, kTheta, one.data(), 1), KF_OK) << kf_last_error();
        ASSERT_EQ(kf_attention_run(a_, c, 0, q.data(), T, len - T, kTheta, two.data(), 2), KF_OK) << kf_last_error();
        EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * 4), 0) << "T " << T;
    }
    kf_kv_cache_destroy(c);
}

TEST_P(AttentionKernels, DecodeBatchOfDifferentLengths) {
    const std::vector<int64_t> lens = {5, 260, 1};
    std::vector<kf_kv_cache *> caches;
    for (size_t s = 0; s < lens.size(); ++s) {
        kf_kv_cache *c = nullptr;
        ASSERT_EQ(kf_kv_cache_create(a_, 2, 300, &c), KF_OK) << kf_last_error();
        std::vector<float> k = tokens(lens[s], 40 + s, true), v = tokens(lens[s], 50 + s, false);
        for (int layer = 0; layer < 2; ++layer)
            ASSERT_EQ(kf_kv_cache_append(a_, c, layer, k.data(), v.data(), lens[s], 0, kTheta, 0), KF_OK)
                << kf_last_error();
        caches.push_back(c);
    }
    const int n = static_cast<int>(lens.size());
    const std::vector<float> q = ref::randomValues(n * qRow(), 3);
    std::vector<int64_t> positions;
    for (int64_t l : lens) positions.push_back(l - 1);
    std::vector<float> batch(q.size(), NAN), single(q.size(), NAN);
    ASSERT_EQ(kf_attention_decode_batch(a_, caches.data(), n, 1, q.data(), positions.data(), kTheta, batch.data(), 0),
              KF_OK)
        << kf_last_error();
    for (int s = 0; s < n; ++s)
        ASSERT_EQ(kf_attention_run(a_, caches[s], 1, q.data() + s * qRow(), 1, positions[s], kTheta,
                                   single.data() + s * qRow(), 0),
                  KF_OK)
            << kf_last_error();
    EXPECT_EQ(std::memcmp(batch.data(), single.data(), batch.size() * 4), 0);
    for (kf_kv_cache *c : caches) kf_kv_cache_destroy(c);
}

TEST_P(AttentionKernels, TwoThreadsAppendToTwoCaches) {
    const int64_t len = 200;
    kf_kv_cache *serial = nullptr;
    ASSERT_EQ(kf_kv_cache_create(a_, 1, len, &serial), KF_OK);
    std::vector<float> k, v;
    fill(serial, len, 1, k, v);
    const CacheContents want = read(serial, 0, len);
    kf_kv_cache *c[2] = {};
    for (auto &cache : c) ASSERT_EQ(kf_kv_cache_create(a_, 1, len, &cache), KF_OK);
    std::vector<std::thread> threads;
    int failures[2] = {0, 0};
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            for (int64_t pos = 0; pos < len; ++pos)
                failures[t] += kf_kv_cache_append(a_, c[t], 0, k.data() + pos * kvRow(), v.data() + pos * kvRow(), 1,
                                                  pos, kTheta, 1) != KF_OK;
        });
    for (auto &th : threads) th.join();
    for (int t = 0; t < 2; ++t) {
        EXPECT_EQ(failures[t], 0);
        const CacheContents got = read(c[t], 0, len);
        EXPECT_EQ(got.codes, want.codes);
        EXPECT_EQ(got.scales, want.scales);
        kf_kv_cache_destroy(c[t]);
    }
    kf_kv_cache_destroy(serial);
}

TEST_P(AttentionKernels, BadCallsLeaveTheCacheAlone) {
    kf_kv_cache *c = nullptr;
    ASSERT_EQ(kf_kv_cache_create(a_, 2, 8, &c), KF_OK);
    std::vector<float> k = tokens(9, 1, false), v = tokens(9, 2, false), q = ref::randomValues(qRow() * 2, 3);
    std::vector<float> out(q.size());
    ASSERT_EQ(kf_kv_cache_append(a_, c, 0, k.data(), v.data(), 5, 0, kTheta, 0), KF_OK);
    const CacheContents before = read(c, 0, 5);
    auto expectError = [&](kf_status got, kf_status want, const char *text) {
        EXPECT_EQ(got, want) << kf_last_error();
        EXPECT_NE(std::string(kf_last_error()).find(text), std::string::npos) << kf_last_error();
    };
    expectError(kf_kv_cache_append(a_, c, 0, k.data(), v.data(), 4, 5, kTheta, 0), KF_ERR_SHAPE, "past the capacity");
    expectError(kf_kv_cache_append(a_, c, 0, k.data(), v.data(), 1, 7, kTheta, 0), KF_ERR_SHAPE, "out of order");
    expectError(kf_kv_cache_append(a_, c, 0, k.data(), v.data(), 1, 4, kTheta, 0), KF_ERR_SHAPE, "out of order");
    expectError(kf_kv_cache_append(a_, c, 2, k.data(), v.data(), 1, 0, kTheta, 0), KF_ERR_SHAPE, "layer 2");
    expectError(kf_kv_cache_append(a_, c, 0, nullptr, v.data(), 1, 5, kTheta, 0), KF_ERR_NULL_POINTER, "NULL");
    expectError(kf_kv_cache_append(a_, c, 0, k.data(), v.data(), 0, 5, kTheta, 0), KF_ERR_SHAPE, "num_tokens");
    if (p_.rope != kf::dsl::RopeKind::None)
        expectError(kf_kv_cache_append(a_, c, 0, k.data(), v.data(), 1, 5, -1.0, 0), KF_ERR_INVALID_ARGUMENT,
                    "rope_theta");
    expectError(kf_attention_run(a_, c, 1, q.data(), 1, 0, kTheta, out.data(), 0), KF_ERR_SHAPE, "empty");
    if (p_.causal)
        expectError(kf_attention_run(a_, c, 0, q.data(), 2, 4, kTheta, out.data(), 0), KF_ERR_SHAPE,
                    "need their tokens");
    expectError(kf_attention_run(a_, c, 0, q.data(), 1, 0, kTheta, q.data(), 0), KF_ERR_INVALID_ARGUMENT, "overlap");
    expectError(kf_attention_run(a_, c, 0, q.data(), 1, 0, kTheta, out.data(), -1), KF_ERR_INVALID_ARGUMENT,
                "num_threads");
    // A cache made for another kernel's format.
    for (const auto &kernel : kernelFile().kernels) {
        const auto *other = std::get_if<RotationAttentionParams>(&kernel.params);
        if (!other || (other->numKvHeads == p_.numKvHeads && other->headDim == p_.headDim &&
                       other->kvBits == p_.kvBits && other->kvGroup == p_.kvGroup))
            continue;
        kf_attention *b = nullptr;
        ASSERT_EQ(kf_attention_create(defOf(kernel.name), nullptr, &b), KF_OK);
        expectError(kf_kv_cache_append(b, c, 0, k.data(), v.data(), 1, 5, kTheta, 0), KF_ERR_SHAPE, "the cache holds");
        kf_attention_destroy(b);
        break;
    }
    EXPECT_EQ(kf_kv_cache_length(c, 0), 5);
    EXPECT_EQ(kf_kv_cache_length(c, 1), 0);
    const CacheContents after = read(c, 0, 5);
    EXPECT_EQ(after.codes, before.codes);
    EXPECT_EQ(after.scales, before.scales);
    EXPECT_EQ(after.zeros, before.zeros);
    ASSERT_EQ(kf_kv_cache_reset(c), KF_OK);
    EXPECT_EQ(kf_kv_cache_length(c, 0), 0);
    kf_kv_cache_destroy(c);
}

INSTANTIATE_TEST_SUITE_P(Library, AttentionKernels, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<Case> &i) {
                             return i.param.kernel + "_v" + std::to_string(i.param.variant);
                         });

TEST(AttentionApi, NullAndWrongFamily) {
    kf_attention *a = nullptr;
    EXPECT_EQ(kf_attention_create(nullptr, nullptr, &a), KF_ERR_NULL_POINTER);
    kf_kv_cache *c = nullptr;
    EXPECT_EQ(kf_kv_cache_create(nullptr, 1, 1, &c), KF_ERR_NULL_POINTER);
    EXPECT_EQ(kf_kv_cache_length(nullptr, 0), -1);
    const kf_kernel_def *def = defOf(kernelFile().kernels.front().name);
    ASSERT_NE(def, nullptr);
    ASSERT_EQ(kf_attention_create(def, nullptr, &a), KF_OK) << kf_last_error();
    EXPECT_EQ(kf_kv_cache_create(a, 0, 16, &c), KF_ERR_SHAPE);
    EXPECT_EQ(kf_kv_cache_create(a, 1, 0, &c), KF_ERR_SHAPE);
    EXPECT_EQ(kf_kv_cache_create(a, 1, int64_t{1} << 40, &c), KF_ERR_SHAPE);
    EXPECT_EQ(c, nullptr);
    kf_attention_destroy(a);
}

}  // namespace

// What R3 does to attention, through the kernels: the same K, V and queries
// into caches of the gqa4_d64 family (test/kernels/attention.kf), each on
// its default variant. Keys have outlier channels, as SpinQuant and QuaRot
// find in real models.
class RotationEffect : public ::testing::Test {
protected:
    static constexpr int64_t kLen = 300, kKvRow = 2 * 64, kQRow = 8 * 64;

    static std::vector<float> keys() {
        std::vector<float> k = ref::randomValues(kLen * kKvRow, 11);
        for (int64_t r = 0; r < kLen * 2; ++r) {
            k[r * 64 + 3] *= 20.0f;
            k[r * 64 + 40] *= 12.0f;
        }
        return k;
    }

    // Attention of T queries at the end of the context, through `kernel`.
    static std::vector<float> attend(const std::string &kernel, int64_t T) {
        const kf_kernel_def *def = defOf(kernel);
        EXPECT_NE(def, nullptr) << kernel << " is not in the library";
        if (!def) return {};
        kf_attention *a = nullptr;
        kf_kv_cache *c = nullptr;
        EXPECT_EQ(kf_attention_create(def, nullptr, &a), KF_OK) << kf_last_error();
        EXPECT_EQ(kf_kv_cache_create(a, 1, kLen, &c), KF_OK) << kf_last_error();
        const std::vector<float> k = keys(), v = ref::randomValues(kLen * kKvRow, 12);
        EXPECT_EQ(kf_kv_cache_append(a, c, 0, k.data(), v.data(), kLen, 0, kTheta, 0), KF_OK) << kf_last_error();
        const std::vector<float> q = ref::randomValues(T * kQRow, 13);
        std::vector<float> out(q.size(), NAN);
        EXPECT_EQ(kf_attention_run(a, c, 0, q.data(), T, kLen - T, kTheta, out.data(), 0), KF_OK) << kf_last_error();
        kf_kv_cache_destroy(c);
        kf_attention_destroy(a);
        return out;
    }

    static double relative(const std::vector<float> &y, const std::vector<float> &want) {
        const std::vector<double> w(want.begin(), want.end());
        return ref::relativeError(y.data(), w.data(), static_cast<int64_t>(y.size()));
    }
};

// H_d / sqrt(d) is orthogonal: over an unquantized (f32) cache, rotating Q
// and K changes the scores only by rounding.
TEST_F(RotationEffect, R3OverAnF32CacheChangesNothing) {
    for (int64_t T : {int64_t{1}, int64_t{7}}) {
        const std::vector<float> rotated = attend("gqa4_d64_f32", T), plain = attend("gqa4_d64_f32_norot", T);
        ASSERT_EQ(rotated.size(), plain.size());
        EXPECT_LE(relative(rotated, plain), 1e-5) << "T " << T;
    }
}

// The reason R3 exists: with an int4 cache, keys with outlier channels lose
// less when rotated (the outliers spread over all channels, so the
// per-token range shrinks). Both against the f32 cache's attention.
TEST_F(RotationEffect, R3ShrinksInt4ErrorOnOutlierKeys) {
    for (int64_t T : {int64_t{1}, int64_t{7}}) {
        const std::vector<float> exact = attend("gqa4_d64_f32_norot", T);
        const double rotated = relative(attend("gqa4_d64_int4", T), exact);
        const double plain = relative(attend("gqa4_d64_int4_norot", T), exact);
        std::printf("T %lld: int4 KV relative error vs the f32 cache: with R3 %.4f, without %.4f\n",
                    static_cast<long long>(T), rotated, plain);
        RecordProperty("int4_error_r3_T" + std::to_string(T), std::to_string(rotated));
        RecordProperty("int4_error_none_T" + std::to_string(T), std::to_string(plain));
        EXPECT_LT(rotated, plain) << "T " << T;
    }
}
