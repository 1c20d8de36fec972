/* kforge runtime C ABI: Hadamard rotations (the hadamard family).
 *
 * Per row of x, y = (H_m (x) H_2^k) x / sqrt(n), n = m * 2^k, as SpinQuant
 * and QuaRot rotate activations online (R4 before down_proj, R3 per head):
 * element a * 2^k + t of a row is the product of row a of H_m and row t of
 * the Sylvester H_2^k (docs/formats.md, "Rotations (Hadamard)"). A kernel
 * declared with `output int8` also quantizes each rotated row to int8, in
 * exactly the format of a low-bit linear layer's int8 activations
 * (kforge/core.h, kf_act_type), so its output feeds kf_linear_run_q8 with no
 * f32 activations in between.
 *
 *   kf_hadamard *R;
 *   kf_hadamard_create(kf_mylib_r4(), NULL, &R);       // NULL: best variant for this CPU
 *   kf_hadamard_run(R, x, M, y, 0);                    // y[M][n] = rotated x[M][n]
 *   kf_hadamard_destroy(R);
 *
 * Rows are contiguous ([M][n], row stride n); x and y must not overlap.
 * Calls given a kernel of another family fail with KF_ERR_INVALID_ARGUMENT.
 */
#ifndef KFORGE_HADAMARD_H
#define KFORGE_HADAMARD_H

#include "kforge/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a rotation computes, as declared in its kernel file. */
typedef struct kf_hadamard_info {
    const char *kernel_name;  /* name in the kernel file */
    int64_t n;                /* transform size: m * 2^k */
    int m;                    /* order of H_m (1: n is a power of two) */
    kf_act_type output;       /* KF_ACT_F32, or KF_ACT_QINT8 (rows quantized per token) */
    int num_variants;
} kf_hadamard_info;

kf_status kf_hadamard_query(const kf_kernel_def *def, kf_hadamard_info *info);

typedef struct kf_hadamard kf_hadamard;

/* `variant` picks a variant by name (its symbol or its target's registry
 * name); NULL or "" picks the best one this CPU runs (KFORGE_VARIANT, when
 * set, overrides NULL). */
kf_status kf_hadamard_create(const kf_kernel_def *def, const char *variant, kf_hadamard **out);
void kf_hadamard_destroy(kf_hadamard *rotation);
const char *kf_hadamard_variant(const kf_hadamard *rotation);
/* The variant kf_hadamard_run uses for M rows (a kernel file may schedule
 * the decode, small-batch and prefill buckets differently). */
const char *kf_hadamard_variant_for_rows(const kf_hadamard *rotation, int64_t m);

/* f32 kernels: y[M][n] = rotated x[M][n]. num_threads 0 = all hardware
 * threads. An int8 kernel: KF_ERR_INVALID_ARGUMENT (use kf_hadamard_run_q8). */
kf_status kf_hadamard_run(kf_hadamard *rotation, const float *x, int64_t m, float *y, int num_threads);
/* `output int8` kernels: codes[M][n] and scales[M], per row r: s = max|y_r| / 127
 * (f32), codes = round(fl32(y_r / s)) half away from zero, in [-127, 127];
 * s = 0 gives all-zero codes. An f32 kernel: KF_ERR_INVALID_ARGUMENT. */
kf_status kf_hadamard_run_q8(kf_hadamard *rotation, const float *x, int64_t m, int8_t *codes, float *scales,
                             int num_threads);

#ifdef __cplusplus
}
#endif

#endif /* KFORGE_HADAMARD_H */
