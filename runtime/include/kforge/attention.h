/* kforge runtime C ABI: attention over a quantized KV cache (the
 * rotation_attention family).
 *
 * SpinQuant and QuaRot rotate queries and keys by a Hadamard matrix after
 * RoPE (R3) so that a 4-bit KV cache keeps its accuracy. A kernel of this
 * family appends tokens to a cache (K: RoPE, R3, then int4/int8 asymmetric
 * quantization per token and kv head or per group; V: quantization only) and
 * attends over it, reading the quantized cache directly (docs/formats.md,
 * "KV cache", "Rotary position embedding", "Attention over the cache").
 *
 *   kf_attention *A;   kf_kv_cache *C;
 *   kf_attention_create(kf_mylib_attn(), NULL, &A);      // NULL: best variant for this CPU
 *   kf_kv_cache_create(A, num_layers, 4096, &C);         // one cache per sequence
 *   // each layer of each step:
 *   kf_kv_cache_append(A, C, layer, k, v, T, pos, 500000.0, 0);
 *   kf_attention_run(A, C, layer, q, T, pos, 500000.0, out, 0);
 *   kf_kv_cache_destroy(C);  kf_attention_destroy(A);
 *
 * Layouts: k, v [T][kv_heads][head_dim]; q, out [T][heads][head_dim]
 * (what a QKV projection writes, token after token). Token t of a call is
 * at position pos + t. A cache holds positions 0 .. length-1 of each layer
 * in order: an append must start at the layer's length. Query head h uses
 * kv head h / (heads / kv_heads) (GQA).
 *
 * A failed call leaves the cache as it was (its length and every token
 * appended before). One kf_attention may serve many caches and threads at
 * once; one cache must not be appended to by two threads at once.
 */
#ifndef KFORGE_ATTENTION_H
#define KFORGE_ATTENTION_H

#include "kforge/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kf_rope_kind {
    KF_ROPE_NONE = 0,
    KF_ROPE_HALF = 1,        /* Llama's rotate-half pairing: (j, j + d/2) */
    KF_ROPE_INTERLEAVED = 2  /* GPT-J's pairing: (2j, 2j + 1) */
} kf_rope_kind;

/* What an attention kernel computes, as declared in its kernel file. */
typedef struct kf_attention_info {
    const char *kernel_name;
    int num_heads;      /* query heads */
    int num_kv_heads;   /* key/value heads (GQA when fewer) */
    int head_dim;
    int kv_bits;        /* 4 or 8 (int4, int8); 16 or 32 (f16, f32: unquantized) */
    int kv_group;       /* values per scale and zero point (head_dim: one per token and head) */
    int rotate;         /* 1: R3 Hadamard on Q and K */
    kf_rope_kind rope;
    int causal;         /* 1: a query sees positions <= its own; 0: every cached token */
    int num_variants;
} kf_attention_info;

kf_status kf_attention_query(const kf_kernel_def *def, kf_attention_info *info);

typedef struct kf_attention kf_attention;

/* `variant` picks a variant by name (its symbol or its target's registry
 * name); NULL or "" picks the best one this CPU runs (KFORGE_VARIANT, when
 * set, overrides NULL). */
kf_status kf_attention_create(const kf_kernel_def *def, const char *variant, kf_attention **out);
void kf_attention_destroy(kf_attention *attention);
const char *kf_attention_variant(const kf_attention *attention);
/* The variant kf_attention_run uses for T query tokens (decode and prefill
 * may be scheduled differently). */
const char *kf_attention_variant_for_tokens(const kf_attention *attention, int64_t num_tokens);

typedef struct kf_kv_cache kf_kv_cache;

/* A cache for one sequence: num_layers layers of `capacity` tokens each, in
 * the format of `attention`'s kernel (heads, head_dim, bits, group). Its
 * memory is allocated here, once: per layer, K and V each take
 * capacity * kv_heads * (code bytes + 8 * groups) bytes. */
kf_status kf_kv_cache_create(const kf_attention *attention, int num_layers, int64_t capacity, kf_kv_cache **out);
void kf_kv_cache_destroy(kf_kv_cache *cache);
/* Tokens in `layer` (-1 when the cache is NULL or the layer out of range). */
int64_t kf_kv_cache_length(const kf_kv_cache *cache, int layer);
int64_t kf_kv_cache_capacity(const kf_kv_cache *cache);
/* Every layer back to length 0 (the memory is kept). */
kf_status kf_kv_cache_reset(kf_kv_cache *cache);

/* Appends T tokens at positions pos .. pos+T-1 to `layer`: pos must be the
 * layer's length and pos + T at most the capacity. k and v are
 * [T][kv_heads][head_dim] f32; K gets RoPE with base `rope_theta` (> 0;
 * ignored under rope none) and R3 as the kernel declares, then both are
 * quantized into the cache. */
kf_status kf_kv_cache_append(kf_attention *attention, kf_kv_cache *cache, int layer, const float *k, const float *v,
                             int64_t num_tokens, int64_t pos, double rope_theta, int num_threads);

/* Attention of T queries at positions pos .. pos+T-1 (q [T][heads][head_dim]
 * f32, before RoPE) over `layer` of the cache; out [T][heads][head_dim].
 * Causal kernels need the queries' own tokens appended first (pos + T <=
 * length); query t sees positions <= pos + t. Kernels with `mask none` see
 * every cached token. Decode is T = 1; the context is split across the
 * threads, so one sequence uses them all. num_threads 0 = all hardware threads. */
kf_status kf_attention_run(kf_attention *attention, const kf_kv_cache *cache, int layer, const float *q,
                           int64_t num_tokens, int64_t pos, double rope_theta, float *out, int num_threads);

/* One decode step for a batch of sequences of any lengths: query s (q
 * [num_seqs][heads][head_dim]) at position positions[s] over caches[s]. */
kf_status kf_attention_decode_batch(kf_attention *attention, const kf_kv_cache *const *caches, int num_seqs,
                                    int layer, const float *q, const int64_t *positions, double rope_theta,
                                    float *out, int num_threads);

/* Copies tokens first .. first+count-1 of K (which = 0) or V (which = 1) of
 * `layer` out of the cache, in the cache's layout (docs/formats.md, "KV
 * cache"): codes [kv_heads][count][code bytes] (int4: head_dim/2 bytes,
 * element j in the low nibble of byte j, element j + head_dim/2 in its high
 * nibble; int8: head_dim bytes; f16 / f32: the values, head_dim * 2 or
 * head_dim * 4 bytes), scales and zeros [kv_heads][count][groups] (f16 / f32:
 * one group, s = 1, z = 0). */
kf_status kf_kv_cache_read(const kf_kv_cache *cache, int layer, int which, int64_t first, int64_t count,
                           uint8_t *codes, float *scales, float *zeros);

#ifdef __cplusplus
}
#endif

#endif /* KFORGE_ATTENTION_H */
