// The rotation_attention C ABI (kforge/attention.h): the kernel handle, the
// KV cache object, append and attention. The cache's memory and lengths live
// here; the generated kernels only read and write views of it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "kforge/detail/Attention.h"
#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/Threads.h"

using kf::rt::fail;

struct kf_attention {
    const kf_kernel_def *def = nullptr;
    const kf::rt::AttentionSpec *spec = nullptr;
    const kf::rt::Variant *variant = nullptr;  // the target's bucket-any variant
    kf::rt::ArenaCache arenas;
};

namespace {

// Queries per kernel call: bounds the per-call scratch of a context-split
// variant (its chunk results grow with queries x chunks).
constexpr int64_t kQueriesPerCall = 64;
// Positions are int32 in the kernels.
constexpr int64_t kMaxPosition = (int64_t{1} << 31) - 1;

struct LayerStore {
    std::vector<uint8_t> codes;
    std::vector<float> scales, zeros;
};

}  // namespace

struct kf_kv_cache {
    kf::rt::AttentionSpec spec{};  // the format it was created for
    int64_t capacity = 0;
    std::vector<LayerStore> k, v;
    std::vector<int64_t> lengths;
};

namespace {

using kf::rt::codeBytesOf;
using kf::rt::groupsOf;
using kf::rt::kKeyBlock;

// Where token t of kv head h lives in a blocked K store (kforge/detail/Attention.h):
// element offsets of its code element e and of its group g.
struct KeyLayout {
    int64_t elems, groups, blocks;  // code elements and groups per token-head; blocks per head
    KeyLayout(const kf::rt::AttentionSpec &s, int64_t capacity)
        : elems(kf::rt::codeElemsOf(s)), groups(groupsOf(s)), blocks(kf::rt::keyBlocks(capacity)) {}
    int64_t code(int64_t h, int64_t t, int64_t e) const {
        return ((h * blocks + t / kKeyBlock) * elems + e) * kKeyBlock + t % kKeyBlock;
    }
    int64_t group(int64_t h, int64_t t, int64_t g) const {
        return ((h * blocks + t / kKeyBlock) * groups + g) * kKeyBlock + t % kKeyBlock;
    }
};

// Copies `count` token-heads between a token-major K ([kvHeads][count][...],
// as the append kernel writes it and kf_kv_cache_read returns it) and the
// blocked store's tokens first .. first+count-1. Elem: one code element.
template <typename Elem>
void moveKeys(const kf::rt::AttentionSpec &s, const KeyLayout &at, int64_t first, int64_t count, Elem *flatCodes,
              float *flatScales, float *flatZeros, LayerStore &store, bool toStore) {
    Elem *codes = reinterpret_cast<Elem *>(store.codes.data());
    for (int64_t h = 0; h < s.numKvHeads; ++h)
        // A block's tokens at a time, element by element: the blocked side
        // is written (read) in whole runs of up to kKeyBlock tokens.
        for (int64_t t0 = 0; t0 < count;) {
            const int64_t run = std::min(count - t0, kKeyBlock - (first + t0) % kKeyBlock);
            for (int64_t e = 0; e < at.elems; ++e) {
                Elem *blocked = &codes[at.code(h, first + t0, e)], *flat = &flatCodes[(h * count + t0) * at.elems + e];
                for (int64_t t = 0; t < run; ++t) {
                    if (toStore) std::memcpy(&blocked[t], &flat[t * at.elems], sizeof(Elem));
                    else std::memcpy(&flat[t * at.elems], &blocked[t], sizeof(Elem));
                }
            }
            t0 += run;
        }
    for (int64_t h = 0; h < s.numKvHeads; ++h)
        for (int64_t t = 0; t < count; ++t) {
            const int64_t row = h * count + t;
            for (int64_t g = 0; g < at.groups; ++g) {
                const int64_t b = at.group(h, first + t, g), f = row * at.groups + g;
                if (toStore) {
                    store.scales[b] = flatScales[f];
                    store.zeros[b] = flatZeros[f];
                } else {
                    flatScales[f] = store.scales[b];
                    flatZeros[f] = store.zeros[b];
                }
            }
        }
}

void moveKeys(const kf::rt::AttentionSpec &s, int64_t capacity, int64_t first, int64_t count, uint8_t *flatCodes,
              float *flatScales, float *flatZeros, const LayerStore &store, bool toStore) {
    const KeyLayout at(s, capacity);
    auto &st = const_cast<LayerStore &>(store);
    switch (codeBytesOf(s) / at.elems) {
    case 4: moveKeys(s, at, first, count, reinterpret_cast<uint32_t *>(flatCodes), flatScales, flatZeros, st, toStore); break;
    case 2: moveKeys(s, at, first, count, reinterpret_cast<uint16_t *>(flatCodes), flatScales, flatZeros, st, toStore); break;
    default: moveKeys(s, at, first, count, flatCodes, flatScales, flatZeros, st, toStore); break;
    }
}

kf::rt::KvView viewOf(const LayerStore &store, int64_t capacity) {
    auto &s = const_cast<LayerStore &>(store);
    return {s.codes.data(), s.scales.data(), s.zeros.data(), capacity};
}

bool sameFormat(const kf::rt::AttentionSpec &a, const kf::rt::AttentionSpec &b) {
    return a.numKvHeads == b.numKvHeads && a.headDim == b.headDim && a.kvBits == b.kvBits && a.kvGroup == b.kvGroup;
}

std::string formatOf(const kf::rt::AttentionSpec &s) {
    const std::string heads = std::to_string(s.numKvHeads) + " kv heads of " + std::to_string(s.headDim);
    if (s.kvBits > 8) return heads + ", f" + std::to_string(s.kvBits);
    return heads + ", int" + std::to_string(s.kvBits) + " per group of " + std::to_string(s.kvGroup);
}

// The RoPE table of positions pos .. pos+T-1: [T][d/2], angles in double
// (docs/formats.md, "Rotary position embedding").
// RoPE's c_j and s_j (docs/formats.md: in double, then rounded), kept per
// process for each (theta, head_dim) in blocks of positions: every layer and
// every sequence turns the same positions, and 64 cos/sin pairs per token
// cost more than the rest of a token's append. Positions past
// kKeptPositions are computed per call instead (the tables of 32768
// positions of head_dim 128 take 16 MiB).
class RopeTables {
public:
    static RopeTables &instance() {
        static RopeTables tables;
        return tables;
    }
    void fill(double theta, int d, int64_t pos, int64_t T, float *cosT, float *sinT) {
        const int half = d / 2;
        for (int64_t t = 0; t < T;) {
            const int64_t p = pos + t, first = p - p % kBlock;
            if (p >= kKeptPositions) {
                compute(theta, d, p, 1, cosT + t * half, sinT + t * half);
                ++t;
                continue;
            }
            const Block &b = block(theta, d, first / kBlock);
            const int64_t n = std::min(T - t, first + kBlock - p);
            std::memcpy(cosT + t * half, b.cos.data() + (p - first) * half, static_cast<size_t>(n * half) * sizeof(float));
            std::memcpy(sinT + t * half, b.sin.data() + (p - first) * half, static_cast<size_t>(n * half) * sizeof(float));
            t += n;
        }
    }

private:
    static constexpr int64_t kBlock = 64, kKeptPositions = 32768;
    struct Block {
        std::vector<float> cos, sin;
    };
    static void compute(double theta, int d, int64_t pos, int64_t T, float *cosT, float *sinT) {
        const int half = d / 2;
        for (int j = 0; j < half; ++j) {
            const double freq = std::pow(theta, -2.0 * j / d);
            for (int64_t t = 0; t < T; ++t) {
                const double angle = static_cast<double>(pos + t) * freq;
                cosT[t * half + j] = static_cast<float>(std::cos(angle));
                sinT[t * half + j] = static_cast<float>(std::sin(angle));
            }
        }
    }
    // Blocks are made once and never freed or moved: the reference outlives the lock.
    const Block &block(double theta, int d, int64_t index) {
        std::lock_guard<std::mutex> lock(mu_);
        auto &blocks = blocks_[{theta, d}];
        if (blocks.size() <= static_cast<size_t>(index)) blocks.resize(static_cast<size_t>(index) + 1);
        if (!blocks[index]) {
            auto b = std::make_unique<Block>();
            b->cos.resize(static_cast<size_t>(kBlock * d / 2));
            b->sin.resize(b->cos.size());
            compute(theta, d, index * kBlock, kBlock, b->cos.data(), b->sin.data());
            blocks[index] = std::move(b);
        }
        return *blocks[index];
    }
    std::mutex mu_;
    std::map<std::pair<double, int>, std::vector<std::unique_ptr<Block>>> blocks_;
};

void ropeTables(const kf::rt::AttentionSpec &s, int64_t pos, int64_t T, double theta, std::vector<float> &cosT,
                std::vector<float> &sinT) {
    const int half = s.headDim / 2;
    if (s.rope == KF_ROPE_NONE) {
        cosT.assign(static_cast<size_t>(T * half), 1.0f);
        sinT.assign(static_cast<size_t>(T * half), 0.0f);
        return;
    }
    cosT.resize(static_cast<size_t>(T * half));
    sinT.resize(static_cast<size_t>(T * half));
    RopeTables::instance().fill(theta, s.headDim, pos, T, cosT.data(), sinT.data());
}

kf_status checkTheta(const kf::rt::AttentionSpec &s, double theta, const std::string &fn) {
    if (s.rope != KF_ROPE_NONE && !(theta > 0.0 && std::isfinite(theta)))
        return fail(KF_ERR_INVALID_ARGUMENT, fn + ": rope_theta must be a finite number > 0, got " + std::to_string(theta));
    return KF_OK;
}

// What every call on (attention, cache, layer) checks first.
kf_status checkCall(const kf_attention *a, const kf_kv_cache *c, int layer, int threads, const std::string &fn) {
    if (!sameFormat(*a->spec, c->spec))
        return fail(KF_ERR_SHAPE, fn + ": the cache holds " + formatOf(c->spec) + ", kernel '" + a->def->name +
                                      "' uses " + formatOf(*a->spec));
    if (layer < 0 || layer >= static_cast<int>(c->lengths.size()))
        return fail(KF_ERR_SHAPE, fn + ": layer " + std::to_string(layer) + " is out of range (the cache has " +
                                      std::to_string(c->lengths.size()) + " layers)");
    if (threads < 0) return fail(KF_ERR_INVALID_ARGUMENT, fn + ": num_threads must be >= 0, got " + std::to_string(threads));
    return KF_OK;
}

kf_status attend(kf_attention *a, const kf_kv_cache *c, int layer, const float *q, int64_t T, int64_t pos,
                 double theta, float *out, int threads, const std::string &fn) {
    if (kf_status st = checkCall(a, c, layer, threads, fn)) return st;
    const kf::rt::AttentionSpec &s = *a->spec;
    const int64_t len = c->lengths[layer];
    if (T <= 0 || T > kMaxPosition)
        return fail(KF_ERR_SHAPE, fn + ": num_tokens must be >= 1, got " + std::to_string(T));
    if (pos < 0 || pos > kMaxPosition - T)
        return fail(KF_ERR_SHAPE, fn + ": position " + std::to_string(pos) + " is out of range");
    if (len == 0) return fail(KF_ERR_SHAPE, fn + ": layer " + std::to_string(layer) + " of the cache is empty");
    if (s.causal && pos + T > len)
        return fail(KF_ERR_SHAPE, fn + ": queries at positions " + std::to_string(pos) + ".." +
                                      std::to_string(pos + T - 1) + " need their tokens in the cache first (layer " +
                                      std::to_string(layer) + " holds " + std::to_string(len) + ")");
    if (kf_status st = checkTheta(s, theta, fn)) return st;
    const int64_t rowFloats = static_cast<int64_t>(s.numHeads) * s.headDim;
    const auto qa = reinterpret_cast<uintptr_t>(q), oa = reinterpret_cast<uintptr_t>(out);
    const auto bytes = static_cast<uintptr_t>(T * rowFloats * 4);
    if (qa < oa + bytes && oa < qa + bytes) return fail(KF_ERR_INVALID_ARGUMENT, fn + ": q and out overlap");
    const kf::rt::Variant *v = kf::rt::variantForRows(*a->def, *a->variant, T);
    std::vector<float> cosT, sinT;
    for (int64_t t0 = 0; t0 < T; t0 += kQueriesPerCall) {
        const int64_t n = std::min(kQueriesPerCall, T - t0);
        ropeTables(s, pos + t0, n, theta, cosT, sinT);
        // Causal: these queries see no token past the last one's position.
        const int64_t seen = s.causal ? std::min(len, pos + t0 + n) : len;
        kf::rt::AttendArgs args{&s,
                                q + t0 * rowFloats,
                                cosT.data(),
                                sinT.data(),
                                viewOf(c->k[layer], kf::rt::blockedTokens(c->capacity)),
                                viewOf(c->v[layer], kf::rt::blockedTokens(c->capacity)),
                                seen,
                                pos + t0,
                                n,
                                out + t0 * rowFloats};
        const int rc = a->arenas.run(threads, [&] { return v->run(&args); });
        if (rc != 0) return fail(KF_ERR_KERNEL_FAILED, fn + ": kernel " + v->symbol + " failed: " + kf_last_error());
    }
    return KF_OK;
}

}  // namespace

extern "C" {

kf_status kf_attention_query(const kf_kernel_def *def, kf_attention_info *info) {
    kf::rt::clearError();
    if (!def || !info) return fail(KF_ERR_NULL_POINTER, "kf_attention_query: def and info must not be NULL");
    const auto *s = kf::rt::familySpecOf<kf::rt::AttentionSpec>(def, "rotation_attention", "kf_attention_query");
    if (!s) return KF_ERR_INVALID_ARGUMENT;
    *info = kf_attention_info{def->name, s->numHeads, s->numKvHeads, s->headDim, s->kvBits, s->kvGroup,
                              s->rotate, s->rope,    s->causal,      def->numVariants};
    return KF_OK;
}

kf_status kf_attention_create(const kf_kernel_def *def, const char *variant, kf_attention **out) {
    kf::rt::clearError();
    if (!def || !out) return fail(KF_ERR_NULL_POINTER, "kf_attention_create: def and out must not be NULL");
    *out = nullptr;
    const auto *s = kf::rt::familySpecOf<kf::rt::AttentionSpec>(def, "rotation_attention", "kf_attention_create");
    if (!s) return KF_ERR_INVALID_ARGUMENT;
    kf_status status = KF_OK;
    const kf::rt::Variant *v = kf::rt::selectVariant(*def, variant, &status);
    if (!v) return status;
    auto a = std::unique_ptr<kf_attention>(new (std::nothrow) kf_attention);
    if (!a) return fail(KF_ERR_OUT_OF_MEMORY, "kf_attention_create: out of memory");
    a->def = def;
    a->spec = s;
    a->variant = v;
    *out = a.release();
    return KF_OK;
}

void kf_attention_destroy(kf_attention *attention) { delete attention; }

const char *kf_attention_variant(const kf_attention *attention) {
    return attention ? attention->variant->symbol : nullptr;
}

const char *kf_attention_variant_for_tokens(const kf_attention *attention, int64_t num_tokens) {
    if (!attention || num_tokens <= 0) return nullptr;
    return kf::rt::variantForRows(*attention->def, *attention->variant, num_tokens)->symbol;
}

kf_status kf_kv_cache_create(const kf_attention *attention, int num_layers, int64_t capacity, kf_kv_cache **out) {
    kf::rt::clearError();
    if (!attention || !out) return fail(KF_ERR_NULL_POINTER, "kf_kv_cache_create: attention and out must not be NULL");
    *out = nullptr;
    if (num_layers < 1 || num_layers > 65536)
        return fail(KF_ERR_SHAPE, "kf_kv_cache_create: num_layers must be in 1..65536, got " + std::to_string(num_layers));
    if (capacity < 1 || capacity > kMaxPosition)
        return fail(KF_ERR_SHAPE, "kf_kv_cache_create: capacity must be in 1..2^31-1 tokens, got " +
                                      std::to_string(capacity));
    const kf::rt::AttentionSpec &s = *attention->spec;
    const int64_t tokenHeads = kf::rt::blockedTokens(capacity) * s.numKvHeads;  // whole blocks
    try {
        auto c = std::make_unique<kf_kv_cache>();
        c->spec = s;
        c->capacity = capacity;
        c->lengths.assign(static_cast<size_t>(num_layers), 0);
        for (auto *stores : {&c->k, &c->v}) {
            stores->resize(static_cast<size_t>(num_layers));
            for (LayerStore &l : *stores) {
                l.codes.resize(static_cast<size_t>(tokenHeads * codeBytesOf(s)));
                l.scales.resize(static_cast<size_t>(tokenHeads * groupsOf(s)));
                l.zeros.resize(static_cast<size_t>(tokenHeads * groupsOf(s)));
            }
        }
        *out = c.release();
    } catch (const std::bad_alloc &) {
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_kv_cache_create: out of memory for " + std::to_string(num_layers) +
                                              " layers of " + std::to_string(capacity) + " tokens");
    } catch (const std::length_error &) {
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_kv_cache_create: " + std::to_string(num_layers) + " layers of " +
                                              std::to_string(capacity) + " tokens do not fit in memory");
    }
    return KF_OK;
}

void kf_kv_cache_destroy(kf_kv_cache *cache) { delete cache; }

int64_t kf_kv_cache_length(const kf_kv_cache *cache, int layer) {
    if (!cache || layer < 0 || layer >= static_cast<int>(cache->lengths.size())) return -1;
    return cache->lengths[layer];
}

int64_t kf_kv_cache_capacity(const kf_kv_cache *cache) { return cache ? cache->capacity : -1; }

kf_status kf_kv_cache_reset(kf_kv_cache *cache) {
    kf::rt::clearError();
    if (!cache) return fail(KF_ERR_NULL_POINTER, "kf_kv_cache_reset: cache must not be NULL");
    std::fill(cache->lengths.begin(), cache->lengths.end(), 0);
    return KF_OK;
}

kf_status kf_kv_cache_append(kf_attention *attention, kf_kv_cache *cache, int layer, const float *k, const float *v,
                             int64_t num_tokens, int64_t pos, double rope_theta, int num_threads) {
    kf::rt::clearError();
    const std::string fn = "kf_kv_cache_append";
    if (!attention || !cache || !k || !v) return fail(KF_ERR_NULL_POINTER, fn + ": attention, cache, k and v must not be NULL");
    if (kf_status st = checkCall(attention, cache, layer, num_threads, fn)) return st;
    const kf::rt::AttentionSpec &s = *attention->spec;
    const int64_t len = cache->lengths[layer];
    if (num_tokens < 1) return fail(KF_ERR_SHAPE, fn + ": num_tokens must be >= 1, got " + std::to_string(num_tokens));
    if (pos != len)
        return fail(KF_ERR_SHAPE, fn + ": position " + std::to_string(pos) + " is out of order: layer " +
                                      std::to_string(layer) + " holds positions 0.." + std::to_string(len - 1) +
                                      ", so the next token is at " + std::to_string(len));
    if (num_tokens > cache->capacity - len)
        return fail(KF_ERR_SHAPE, fn + ": " + std::to_string(num_tokens) + " tokens at position " + std::to_string(pos) +
                                      " go past the capacity of " + std::to_string(cache->capacity) + " tokens");
    if (kf_status st = checkTheta(s, rope_theta, fn)) return st;
    std::vector<float> cosT, sinT;
    ropeTables(s, pos, num_tokens, rope_theta, cosT, sinT);
    const kf::rt::Variant *variant = kf::rt::variantForRows(*attention->def, *attention->variant, num_tokens);
    const kf::rt::AttentionVariantData &entries = kf::rt::attentionData(*variant);
    // K goes through a token-major scratch into its blocks.
    LayerStore newKeys;
    try {
        newKeys.codes.resize(static_cast<size_t>(num_tokens * s.numKvHeads * codeBytesOf(s)));
        newKeys.scales.resize(static_cast<size_t>(num_tokens * s.numKvHeads * groupsOf(s)));
        newKeys.zeros.resize(newKeys.scales.size());
    } catch (const std::bad_alloc &) {
        return fail(KF_ERR_OUT_OF_MEMORY, fn + ": out of memory for " + std::to_string(num_tokens) + " tokens' keys");
    }
    kf::rt::AppendArgs kArgs{&s, k, cosT.data(), sinT.data(), viewOf(newKeys, num_tokens), 0, num_tokens};
    kf::rt::AppendArgs vArgs{&s, v, cosT.data(), sinT.data(), viewOf(cache->v[layer], kf::rt::blockedTokens(cache->capacity)), pos,
                             num_tokens};
    const int rc = attention->arenas.run(num_threads, [&] {
        const int r = entries.appendK(&kArgs);
        return r != 0 ? r : entries.appendV(&vArgs);
    });
    if (rc != 0) return fail(KF_ERR_KERNEL_FAILED, fn + ": kernel " + variant->symbol + " failed: " + kf_last_error());
    moveKeys(s, cache->capacity, pos, num_tokens, newKeys.codes.data(), newKeys.scales.data(), newKeys.zeros.data(),
             cache->k[layer], true);
    cache->lengths[layer] = len + num_tokens;
    return KF_OK;
}

kf_status kf_attention_run(kf_attention *attention, const kf_kv_cache *cache, int layer, const float *q,
                           int64_t num_tokens, int64_t pos, double rope_theta, float *out, int num_threads) {
    kf::rt::clearError();
    if (!attention || !cache || !q || !out)
        return fail(KF_ERR_NULL_POINTER, "kf_attention_run: attention, cache, q and out must not be NULL");
    return attend(attention, cache, layer, q, num_tokens, pos, rope_theta, out, num_threads, "kf_attention_run");
}

kf_status kf_attention_decode_batch(kf_attention *attention, const kf_kv_cache *const *caches, int num_seqs,
                                    int layer, const float *q, const int64_t *positions, double rope_theta,
                                    float *out, int num_threads) {
    kf::rt::clearError();
    const std::string fn = "kf_attention_decode_batch";
    if (!attention || !caches || !q || !positions || !out)
        return fail(KF_ERR_NULL_POINTER, fn + ": attention, caches, q, positions and out must not be NULL");
    if (num_seqs < 1) return fail(KF_ERR_SHAPE, fn + ": num_seqs must be >= 1, got " + std::to_string(num_seqs));
    const int64_t rowFloats = static_cast<int64_t>(attention->spec->numHeads) * attention->spec->headDim;
    for (int s = 0; s < num_seqs; ++s)
        if (!caches[s]) return fail(KF_ERR_NULL_POINTER, fn + ": caches[" + std::to_string(s) + "] is NULL");
    for (int s = 0; s < num_seqs; ++s) {
        const std::string what = fn + " (sequence " + std::to_string(s) + ")";
        if (kf_status st = attend(attention, caches[s], layer, q + s * rowFloats, 1, positions[s], rope_theta,
                                  out + s * rowFloats, num_threads, what))
            return st;
    }
    return KF_OK;
}

kf_status kf_kv_cache_read(const kf_kv_cache *cache, int layer, int which, int64_t first, int64_t count,
                           uint8_t *codes, float *scales, float *zeros) {
    kf::rt::clearError();
    const std::string fn = "kf_kv_cache_read";
    if (!cache || !codes || !scales || !zeros)
        return fail(KF_ERR_NULL_POINTER, fn + ": cache, codes, scales and zeros must not be NULL");
    if (layer < 0 || layer >= static_cast<int>(cache->lengths.size()))
        return fail(KF_ERR_SHAPE, fn + ": layer " + std::to_string(layer) + " is out of range");
    if (which != 0 && which != 1) return fail(KF_ERR_INVALID_ARGUMENT, fn + ": which must be 0 (K) or 1 (V)");
    const int64_t len = cache->lengths[layer];
    if (first < 0 || count < 0 || first > len || count > len - first)
        return fail(KF_ERR_SHAPE, fn + ": tokens " + std::to_string(first) + "..+" + std::to_string(count) +
                                      " are not all in layer " + std::to_string(layer) + " (it holds " +
                                      std::to_string(len) + ")");
    if (which == 0) {
        moveKeys(cache->spec, cache->capacity, first, count, codes, scales, zeros, cache->k[layer], false);
        return KF_OK;
    }
    const LayerStore &l = cache->v[layer];
    const int64_t cb = codeBytesOf(cache->spec), g = groupsOf(cache->spec);
    for (int64_t h = 0; h < cache->spec.numKvHeads; ++h) {
        const int64_t src = h * kf::rt::blockedTokens(cache->capacity) + first, dst = h * count;
        std::memcpy(codes + dst * cb, l.codes.data() + src * cb, static_cast<size_t>(count * cb));
        std::memcpy(scales + dst * g, l.scales.data() + src * g, static_cast<size_t>(count * g) * 4);
        std::memcpy(zeros + dst * g, l.zeros.data() + src * g, static_cast<size_t>(count * g) * 4);
    }
    return KF_OK;
}

}  // extern "C"
