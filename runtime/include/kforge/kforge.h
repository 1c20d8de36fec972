/* kforge runtime C ABI: everything an emitted library offers.
 *
 * kforge/core.h      status codes, errors, kernel defs and their variants
 * kforge/linear.h    low-bit linear layers (kf_linear_*)
 * kforge/hadamard.h  Hadamard rotations (kf_hadamard_*)
 * kforge/attention.h attention over an int4/int8 KV cache (kf_attention_*, kf_kv_cache_*)
 * kforge/sparse_rank.h sparse-rank (R-Sparse) linear layers (kf_sparse_rank_*)
 */
#ifndef KFORGE_KFORGE_H
#define KFORGE_KFORGE_H

#include "kforge/core.h"
#include "kforge/linear.h"
#include "kforge/hadamard.h"
#include "kforge/attention.h"
#include "kforge/sparse_rank.h"

#endif /* KFORGE_KFORGE_H */
