/* kforge runtime C ABI: low-bit linear layers (the lowbit_linear family).
 *
 * Life of a linear layer:
 *   kf_linear *L;
 *   kf_linear_create(kf_mylib_down_proj(), N, K, NULL, &L);   // NULL: best variant for this CPU
 *   kf_linear_pack(L, codes, scales);                         // codes as a QAT checkpoint stores them
 *   kf_linear_run(L, x, M, y, 0);                             // y[M,N] = x[M,K] . W^T
 *   kf_linear_destroy(L);
 *
 * Number formats follow docs/formats.md: a weight is an unsigned code c (one
 * uint8 per weight on the API, row-major [N][K]); codes index the format's
 * levels in ascending order (int4: c - 8); its value is w = s * L(c), or
 * s * (c - z) with a zero point, or s * table[c] for a codebook. Scales are
 * row-major [N][ceil(K / group)] (group = K for per-channel scales) in the
 * kernel's declared scale type (f16 and bf16 as uint16 bit patterns).
 * Calls given a kernel of another family fail with KF_ERR_INVALID_ARGUMENT.
 */
#ifndef KFORGE_LINEAR_H
#define KFORGE_LINEAR_H

#include "kforge/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Weight formats (levels L(c) of code c, ascending in c):
 *   BINARY {-1,+1}; TERNARY {-1,0,+1}; SEQ2 {-1.5,-0.5,0.5,1.5};
 *   INT (bits b) {-2^(b-1) .. 2^(b-1)-1}; UINT c - z with a zero point z per
 *   scale; CODEBOOK table[c] (2^b floats per tensor or per output channel). */
typedef enum kf_weight_kind {
    KF_WEIGHT_BINARY = 0,
    KF_WEIGHT_TERNARY = 1,
    KF_WEIGHT_SEQ2 = 2,
    KF_WEIGHT_INT = 3,
    KF_WEIGHT_UINT = 4,
    KF_WEIGHT_CODEBOOK = 5
} kf_weight_kind;

/* What a linear kernel computes, as declared in its kernel file. */
typedef struct kf_linear_info {
    const char *kernel_name;   /* name in the kernel file */
    const char *weight_format; /* "int4", ... */
    int bits;                  /* bits per stored code */
    int64_t n, k;              /* declared shape; 0 = dynamic */
    int group;                 /* K-group of a scale; 0 = per output channel */
    kf_scale_type scale_type;
    int num_variants;
    kf_weight_kind weight_kind;
    kf_act_type act_type;
    int has_bias;              /* bias [N] f32 is part of the weights */
    int codebook_per_channel;  /* CODEBOOK: table per output channel, else per tensor */
} kf_linear_info;

kf_status kf_linear_query(const kf_kernel_def *def, kf_linear_info *info);
typedef struct kf_linear kf_linear;

/* Create a layer of shape N x K (0 = the declared size). `variant` picks a
 * variant by name; NULL or "" picks the best one this CPU runs. The
 * environment variable KFORGE_VARIANT, when set, overrides a NULL variant.
 * Storage of 2 MiB or more goes on transparent huge pages where the OS grants
 * them (KFORGE_HUGE_PAGES=0: default pages; docs/c-api.md). */
kf_status kf_linear_create(const kf_kernel_def *def, int64_t n, int64_t k,
                           const char *variant, kf_linear **out);
void kf_linear_destroy(kf_linear *layer);
const char *kf_linear_variant(const kf_linear *layer);
/* The variant kf_linear_run uses for M rows: a kernel file may schedule the
 * decode (M 1..8), small-batch (9..31) and prefill (>= 32) buckets of a target
 * differently; they share the packed weights. */
const char *kf_linear_variant_for_rows(const kf_linear *layer, int64_t m);

/* Pack codes ([N][K] uint8, one code per byte) and scales ([N][ceil(K/g)] of
 * the declared scale type) into the variant's layout. Only for kernels whose
 * weights are codes and scales alone: a kernel with zero points, a codebook
 * or a bias gets KF_ERR_INVALID_ARGUMENT (use kf_linear_pack_weights). */
kf_status kf_linear_pack(kf_linear *layer, const uint8_t *codes, const void *scales);
/* Inverse of pack: writes the same codes and scale bits back. */
kf_status kf_linear_unpack(const kf_linear *layer, uint8_t *codes, void *scales);

/* Everything a layer's weights may have, as a QAT checkpoint stores it. G is
 * ceil(K / group) (1 for per-channel scales). Fields a kernel does not use
 * must be NULL; fields it uses must not be. */
typedef struct kf_linear_weights {
    const uint8_t *codes;       /* [N][K], one code per byte */
    const void *scales;         /* [N][G] of the declared scale type */
    const uint8_t *zero_points; /* [N][G], UINT kernels */
    const float *codebook;      /* [2^bits] or [N][2^bits] (per channel), CODEBOOK kernels */
    const float *bias;          /* [N], kernels declared with bias */
} kf_linear_weights;

kf_status kf_linear_pack_weights(kf_linear *layer, const kf_linear_weights *weights);
/* Inverse of kf_linear_pack_weights, bit for bit; pointers as in kf_linear_weights. */
kf_status kf_linear_unpack_weights(const kf_linear *layer, uint8_t *codes, void *scales, uint8_t *zero_points,
                                   float *codebook, float *bias);

/* Copy the packed weights of src (codes, scales, zero points, codebook, bias)
 * into dst, as they are: replicating a layer without packing it again, e.g. a
 * benchmark streaming many copies of one layer from memory. Both layers must
 * come from the same kernel def with the same shape and a variant of the same
 * packed layout (KF_ERR_INVALID_ARGUMENT otherwise); src must be packed
 * (KF_ERR_NOT_PACKED). dst is packed afterwards. */
kf_status kf_linear_copy_weights(kf_linear *dst, const kf_linear *src);

/* The paper quantizer of the kernel's format, from float weights w [N][K]
 * (FORMATS: mean-abs scale for binary / ternary, abs-max / (2^(b-1)-1) for
 * INT, abs-max / 1.5 for SEQ2, min-max with a zero point for UINT; codes
 * clamp(round(w / s)), half away from zero, with s already rounded to the
 * scale type). Writes codes, scales and (UINT) zero points in the layout of
 * kf_linear_weights. CODEBOOK kernels need a clustering: KF_ERR_INVALID_ARGUMENT. */
kf_status kf_quantize_linear(const kf_kernel_def *def, int64_t n, int64_t k, const float *w, uint8_t *codes,
                             void *scales, uint8_t *zero_points);
/* kf_quantize_linear + kf_linear_pack_weights for this layer (bias may be NULL
 * unless the kernel has one). */
kf_status kf_linear_quantize(kf_linear *layer, const float *w, const float *bias);
/* Bytes of packed weights the kernel streams per call (codes + scales). */
size_t kf_linear_packed_bytes(const kf_linear *layer);

/* y[M][N] = x[M][K] . dequant(W)^T (+ bias). x is f32, or bf16 bit patterns
 * (uint16) for KF_ACT_BF16 kernels; KF_ACT_QINT8 kernels quantize each row of
 * x to int8 first (kforge/core.h, kf_act_type). num_threads 0 = all hardware
 * threads. */
kf_status kf_linear_run(kf_linear *layer, const void *x, int64_t m, float *y, int num_threads);
/* For kernels declared with `input int8` (KF_ACT_QINT8): the same product
 * from rows already quantized to int8 — codes [M][K] and one f32 scale per
 * row, in the format of kf_act_type (what kf_hadamard_run_q8 writes for a
 * rotation fused with quantization) — so no f32 activations are written in
 * between. Equals kf_linear_run on rows that quantize to these codes and
 * scales. Other kernels: KF_ERR_INVALID_ARGUMENT. */
kf_status kf_linear_run_q8(kf_linear *layer, const int8_t *codes, const float *scales, int64_t m, float *y,
                           int num_threads);

/* Packed-weights files (.kfw), written by `kforge quantize` from a checkpoint
 * (docs/checkpoints.md): each layer's weights already in the packed layout of
 * the targets the file was written for, so loading a layer is one call and no
 * packing:
 *   kf_weights *file;
 *   kf_weights_open("model.kfw", KF_WEIGHTS_MAP, &file);
 *   kf_linear *q;
 *   kf_linear_load(kf_mylib_lin_int8(), file, "model.layers.0.self_attn.q_proj.weight", NULL, &q);
 *   kf_weights_close(file);   // loaded layers keep what they use
 * KF_WEIGHTS_MAP: layers read their weights from a read-only mapping of the
 * file (no copy; pages shared with other processes mapping it; on the OS's
 * default pages). KF_WEIGHTS_COPY: each layer copies its weights once into
 * storage of its own, on transparent huge pages where granted, which streams
 * faster on machines where huge pages pay (kforge/linear.h, kf_linear_create).
 * Opening checks the file's header and directory (not the weights' bytes);
 * a damaged or truncated file gets KF_ERR_INVALID_ARGUMENT naming the path. */
typedef struct kf_weights kf_weights;
enum { KF_WEIGHTS_MAP = 0, KF_WEIGHTS_COPY = 1 };

typedef struct kf_weights_layer_info {
    const char *name;          /* the checkpoint's tensor name */
    const char *kernel_name;   /* kernel it was quantized for */
    const char *weight_format; /* "int4", ... */
    int64_t n, k;
    int num_packings;          /* packed layouts stored (one per distinct target layout) */
} kf_weights_layer_info;

kf_status kf_weights_open(const char *path, int flags, kf_weights **out);
void kf_weights_close(kf_weights *file);
int64_t kf_weights_num_layers(const kf_weights *file);
/* Layer i (0 <= i < kf_weights_num_layers); strings live as long as the file handle. */
kf_status kf_weights_layer(const kf_weights *file, int64_t i, kf_weights_layer_info *info);
/* Creates a layer of `def` (variant as in kf_linear_create) with the file's
 * weights for tensor `name`, packed. The kernel must declare what the layer
 * was quantized for (format, group, scale type, input, bias: names may
 * differ) and the file must hold the variant's packed layout; otherwise
 * KF_ERR_INVALID_ARGUMENT says what the file has. */
kf_status kf_linear_load(const kf_kernel_def *def, const kf_weights *file, const char *name, const char *variant,
                         kf_linear **out);

#ifdef __cplusplus
}
#endif

#endif /* KFORGE_LINEAR_H */
