/* kforge runtime C ABI: everything an emitted library offers.
 *
 * kforge/core.h      status codes, errors, kernel defs and their variants
 * kforge/linear.h    low-bit linear layers (kf_linear_*)
 * kforge/hadamard.h  Hadamard rotations (kf_hadamard_*)
 */
#ifndef KFORGE_KFORGE_H
#define KFORGE_KFORGE_H

#include "kforge/core.h"
#include "kforge/linear.h"
#include "kforge/hadamard.h"

#endif /* KFORGE_KFORGE_H */
