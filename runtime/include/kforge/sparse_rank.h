/* kforge runtime C ABI: sparse-rank linear layers (the sparse_rank_linear
 * family, R-Sparse).
 *
 *   y = W (x . m) + U (V (x . (1 - m)))          docs/formats.md, "Sparse-rank linear"
 *
 * Per row of x, m_k = 1 marks the input channels the sparse term takes:
 * |x_k| > tau with the layer's threshold (`sparsity threshold`), or the k
 * largest |x_k| of the row (`sparsity topk=<k>`; among equal magnitudes the
 * lower channel index wins). The sparse term reads only the active columns of
 * W; the low-rank term reads the inactive columns of V and all of U.
 *
 *   kf_sparse_rank *L;
 *   kf_sparse_rank_create(kf_mylib_o_proj(), 0, 0, NULL, &L);  // declared N, K; best variant
 *   kf_sparse_rank_weights w = {codes, scales, NULL, u, v};
 *   kf_sparse_rank_pack(L, &w);
 *   kf_sparse_rank_set_threshold(L, 0.05f);                    // threshold kernels
 *   kf_sparse_rank_run(L, x, M, y, 0);                         // y[M][N]
 *   kf_sparse_rank_destroy(L);
 *
 * W is given as codes and scales exactly as for kforge/linear.h (codes [N][K],
 * one per byte; scales [N][ceil(K / group)] of the declared scale type), or
 * as f32 [N][K] for `weight f32` and `weight bf16` kernels (bf16: each value
 * rounded to the nearest bf16, ties to even, when packing; a bf16 checkpoint
 * widened to f32 packs exactly). A `weight none` kernel has no W and no mask:
 * y = U (V x), the compact linear layers of Basis Selection / WeLore. U is
 * [N][r] and V [r][K], f32, row-major; a kernel declared `rank <r>
 * factors=int8` quantizes each row of U and of V to int8 with its own scale
 * when packing (the low-bit family's int8 quantizer: s = max|row| / 127,
 * codes rounded half away from zero), a quarter of the bytes a run reads from
 * them; `factors=bf16` rounds them to bf16 as above, half the bytes. A layer runs one call at a time (calls on different layers may
 * run concurrently). Calls given a kernel of another family fail with
 * KF_ERR_INVALID_ARGUMENT.
 */
#ifndef KFORGE_SPARSE_RANK_H
#define KFORGE_SPARSE_RANK_H

#include "kforge/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a sparse-rank kernel computes, as declared in its kernel file. */
typedef struct kf_sparse_rank_info {
    const char *kernel_name;   /* name in the kernel file */
    const char *weight_format; /* "f32", "bf16", "int2", "int3", "int4", "int8", or "none" (no W) */
    int bits;                  /* bits per code; 32 for f32, 16 for bf16, 0 for none */
    int64_t n, k;              /* declared shape; 0 = dynamic */
    int rank;                  /* r: U is [N][r], V [r][K]; 0 = no low-rank term */
    int group;                 /* K-group of a scale; 0 = per output channel */
    kf_scale_type scale_type;
    int topk;                  /* channels kept per row; 0 = by threshold */
    int num_variants;
    int factor_bits;           /* U and V as packed: 32 = f32, 16 = bf16, 8 = int8 with an f32 scale per row */
    float tau;                 /* threshold kernels: the declared threshold (the layer's initial one) */
} kf_sparse_rank_info;

kf_status kf_sparse_rank_query(const kf_kernel_def *def, kf_sparse_rank_info *info);

typedef struct kf_sparse_rank kf_sparse_rank;

/* A layer of shape N x K (0 = the declared size). `variant` picks a variant by
 * name (its symbol or its target's name); NULL or "" picks the best one this
 * CPU runs (KFORGE_VARIANT, when set, overrides NULL). */
kf_status kf_sparse_rank_create(const kf_kernel_def *def, int64_t n, int64_t k, const char *variant,
                                kf_sparse_rank **out);
void kf_sparse_rank_destroy(kf_sparse_rank *layer);
const char *kf_sparse_rank_variant(const kf_sparse_rank *layer);
/* The variant kf_sparse_rank_run uses for M rows (a kernel file may schedule
 * the decode, small-batch and prefill buckets differently; they share the
 * packed layout). */
const char *kf_sparse_rank_variant_for_rows(const kf_sparse_rank *layer, int64_t m);

/* A layer's tensors. Fields a kernel does not use must be NULL; the ones it
 * uses must not be (u and v: only when rank > 0). */
typedef struct kf_sparse_rank_weights {
    const uint8_t *codes; /* [N][K], quantized W */
    const void *scales;   /* [N][G] of the declared scale type, quantized W */
    const float *w;       /* [N][K], `weight f32` and `weight bf16` kernels */
    const float *u;       /* [N][r] */
    const float *v;       /* [r][K] */
} kf_sparse_rank_weights;

/* Packs W, U and V into the variant's column-blocked layout. Codes above the
 * format's largest, and non-finite scales or values in W, U, V, are refused
 * (KF_ERR_INVALID_ARGUMENT, naming the tensor, row and column); the layer is
 * unchanged then. */
kf_status kf_sparse_rank_pack(kf_sparse_rank *layer, const kf_sparse_rank_weights *weights);

/* Packs the layer from float weights w [N][K] (row-major): W quantized by the
 * low-bit family's paper quantizer for the kernel's format and scales (the
 * rule of kf_quantize_linear; a `weight f32` kernel keeps w), U and V from
 * the rank-r truncated SVD of w with the singular values folded into U: an
 * exact SVD when r + 16 >= min(N, K), else a randomized range finder (r + 16
 * Gaussian columns, 2 power iterations) and the exact SVD of its projection
 * (docs/c-api.md); a `weight none` kernel keeps only U and V.
 * `sigma`, when not NULL, receives the r singular values
 * used, largest first. Non-finite weights: KF_ERR_INVALID_ARGUMENT naming
 * the row and column. */
kf_status kf_sparse_rank_pack_float(kf_sparse_rank *layer, const float *w, double *sigma);

/* The threshold tau of a `sparsity threshold` kernel: channel k of a row is
 * active when |x_k| > tau (the kernel file's `tau=`, 0 when it has none, until
 * set; `kforge calibrate` chooses it for a target sparsity). tau must be finite and >= 0; a topk
 * kernel, and a `weight none` kernel (no mask), get KF_ERR_INVALID_ARGUMENT. */
kf_status kf_sparse_rank_set_threshold(kf_sparse_rank *layer, float tau);
float kf_sparse_rank_threshold(const kf_sparse_rank *layer);

/* y[M][N] for x[M][K] (row-major f32). A row's mask is its own; for M > 1
 * the sparse term reads the union of the rows' active columns, each row's
 * inactive channels contributing zero there (and the same for V's columns),
 * so y is what M calls of one row each compute. A variant scheduled
 * `reorder m k` (per-token masks; the tuner may pick it for a few rows) runs
 * each row on its own columns instead: the same y, fewer multiply-adds, W's
 * columns read once per row that takes them. A NaN in x is refused
 * (KF_ERR_INVALID_ARGUMENT). num_threads 0 = all hardware threads. */
kf_status kf_sparse_rank_run(kf_sparse_rank *layer, const float *x, int64_t m, float *y, int num_threads);

/* What the last successful run read: columns of W taken (the union of the
 * rows' active channels), columns of V taken, and the bytes of packed W, U
 * and V those columns hold; a per-token run adds up each row's. */
typedef struct kf_sparse_rank_stats {
    int64_t active_columns;
    int64_t inactive_columns;
    size_t bytes_read;
} kf_sparse_rank_stats;

kf_status kf_sparse_rank_last_stats(const kf_sparse_rank *layer, kf_sparse_rank_stats *stats);
/* Bytes of packed W, U and V (what a dense run of every column would read). */
size_t kf_sparse_rank_packed_bytes(const kf_sparse_rank *layer);

#ifdef __cplusplus
}
#endif

#endif /* KFORGE_SPARSE_RANK_H */
