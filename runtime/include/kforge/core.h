/* kforge runtime C ABI: what every kernel family shares.
 *
 * Every library that `kforge emit` writes links this runtime and ships these
 * headers next to its own `kforge_<lib>.h`, which declares one accessor per
 * kernel (`const kf_kernel_def *kf_<lib>_<kernel>(void)`). A kernel def is
 * opaque; each family has its own header with the calls that use it:
 *   kforge/linear.h    low-bit linear layers (kf_linear_*)
 *   kforge/hadamard.h  Hadamard rotations (kf_hadamard_*)
 * and kforge/kforge.h includes them all.
 *
 * Every call returns a kf_status; on failure kf_last_error() gives a message
 * for the calling thread. Nothing here aborts on bad input.
 */
#ifndef KFORGE_CORE_H
#define KFORGE_CORE_H

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
    KF_ERR_INVALID_ARGUMENT = 4, /* any other bad argument (code out of range, a kernel of another family, ...) */
    KF_ERR_NOT_PACKED = 5,       /* run before pack */
    KF_ERR_OUT_OF_MEMORY = 6,
    KF_ERR_KERNEL_FAILED = 7     /* the generated kernel reported an error */
} kf_status;

/* Static name of a status ("KF_ERR_SHAPE"). */
const char *kf_status_name(kf_status status);
/* Message for the last failing call on this thread ("" if none). */
const char *kf_last_error(void);

/* Scale element types: f16 and bf16 travel as uint16 bit patterns. */
typedef enum kf_scale_type { KF_SCALE_F32 = 0, KF_SCALE_F16 = 1, KF_SCALE_BF16 = 2 } kf_scale_type;

/* Activations: f32 or bf16 as given, or int8 per token (row): s = max|row| / 127
 * computed in f32, q = round(fl32(x / s)) half away from zero, in [-127, 127]
 * (s = 0: every q is 0); docs/formats.md, "Activations". */
typedef enum kf_act_type { KF_ACT_F32 = 0, KF_ACT_BF16 = 1, KF_ACT_QINT8 = 2 } kf_act_type;

/* A kernel as compiled into a library: its family, its declared spec and its
 * variants (one per target and shape bucket). */
typedef struct kf_kernel_def kf_kernel_def;

typedef struct kf_kernel_info {
    const char *name;     /* kernel name in the kernel file */
    const char *family;   /* "lowbit_linear", "hadamard", ... */
    int num_variants;
} kf_kernel_info;

kf_status kf_kernel_query(const kf_kernel_def *def, kf_kernel_info *info);
/* Name of variant i (0 <= i < num_variants) and whether this CPU can run it. */
const char *kf_variant_name(const kf_kernel_def *def, int i);
int kf_variant_supported(const kf_kernel_def *def, int i);
/* Shape bucket variant i serves: 0 any M, 1 decode (1..8), 2 small (9..31), 3 prefill (>= 32). */
int kf_variant_bucket(const kf_kernel_def *def, int i);

#ifdef __cplusplus
}
#endif

#endif /* KFORGE_CORE_H */
