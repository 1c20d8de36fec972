/* kforge runtime C ABI.
 *
 * Every library that `kforge emit` writes links this runtime and ships this
 * header next to its own `kforge_<lib>.h`, which declares one accessor per
 * kernel (`const kf_kernel_def *kf_<lib>_<kernel>(void)`).
 *
 * Life of a linear layer:
 *   kf_linear *L;
 *   kf_linear_create(kf_mylib_down_proj(), N, K, NULL, &L);   // NULL: best variant for this CPU
 *   kf_linear_pack(L, codes, scales);                         // codes as a QAT checkpoint stores them
 *   kf_linear_run(L, x, M, y, 0);                             // y[M,N] = x[M,K] . W^T
 *   kf_linear_destroy(L);
 *
 * Every call returns a kf_status; on failure kf_last_error() gives a message
 * for the calling thread. Nothing here aborts on bad input.
 *
 * Number formats follow kforge's FORMATS definition: a weight is an unsigned
 * code c (one uint8 per weight on the API, row-major [N][K]); codes index the
 * format's levels in ascending order (int4: c - 8). Scales are row-major
 * [N][ceil(K / group)] (group = K for per-channel scales) in the kernel's
 * declared scale type (f16 and bf16 as uint16 bit patterns).
 */
#ifndef KFORGE_KFORGE_H
#define KFORGE_KFORGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kf_status {
    KF_OK = 0,
    KF_ERR_NULL_POINTER = 1,     /* a required pointer argument was NULL */
    KF_ERR_SHAPE = 2,            /* a dimension is out of range or mismatches the kernel */
    KF_ERR_UNSUPPORTED_VARIANT = 3, /* unknown variant, or this CPU cannot run it */
    KF_ERR_INVALID_ARGUMENT = 4, /* any other bad argument (code out of range, ...) */
    KF_ERR_NOT_PACKED = 5,       /* run before pack */
    KF_ERR_OUT_OF_MEMORY = 6,
    KF_ERR_KERNEL_FAILED = 7     /* the generated kernel reported an error */
} kf_status;

/* Static name of a status ("KF_ERR_SHAPE"). */
const char *kf_status_name(kf_status status);
/* Message for the last failing call on this thread ("" if none). */
const char *kf_last_error(void);

typedef enum kf_scale_type { KF_SCALE_F32 = 0, KF_SCALE_F16 = 1, KF_SCALE_BF16 = 2 } kf_scale_type;

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

/* Activations: f32 or bf16 as given (weight-only quantization), or f32
 * quantized inside the kernel to int8 per token (row of x):
 * s_x = max|x_row| / 127, q = round(x / s_x), integer dot products. */
typedef enum kf_act_type { KF_ACT_F32 = 0, KF_ACT_BF16 = 1, KF_ACT_QINT8 = 2 } kf_act_type;

/* A kernel as compiled into a library: its spec and its variants. */
typedef struct kf_kernel_def kf_kernel_def;

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
/* Name of variant i (0 <= i < num_variants) and whether this CPU can run it. */
const char *kf_variant_name(const kf_kernel_def *def, int i);
int kf_variant_supported(const kf_kernel_def *def, int i);
/* Shape bucket variant i serves: 0 any M, 1 decode (1..8), 2 small (9..31), 3 prefill (>= 32). */
int kf_variant_bucket(const kf_kernel_def *def, int i);

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
 * the declared scale type) into the variant's layout. */
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
 * (uint16) for KF_ACT_BF16 kernels. num_threads 0 = all hardware threads. */
kf_status kf_linear_run(kf_linear *layer, const void *x, int64_t m, float *y, int num_threads);

#ifdef __cplusplus
}
#endif

#endif /* KFORGE_KFORGE_H */
