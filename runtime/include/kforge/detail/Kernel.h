// \file
// What an emitted library's generated glue fills in for every kernel, whatever
// its family: the kernel's name and family, the family's declared spec, and
// its compiled variants (one per target and shape bucket), each with an entry
// point that takes the family's argument struct. The runtime's generic parts
// (variant queries, CPU-feature dispatch) read only this; each family's C API
// (runtime/<family>/) casts `spec`, `data` and the entry's argument to its
// own types after checking `family`. Nothing here knows a code generator:
// the glue adapts a backend's compiled function to KernelEntry.
#pragma once

#include <cstdint>
#include <cstring>

#include "kforge/core.h"

namespace kf::rt {

// A compiled kernel: returns 0, or non-zero with the error set
// (kf::rt::setError). `args` points to the family's argument struct.
using KernelEntry = int (*)(const void *args);

// Bucket ids as kf_variant_bucket reports them; the rows each serves are in
// the variant (minRows/maxRows), written by emit from the one definition of
// the buckets (dsl/Buckets.h).
enum BucketId { kBucketAny = 0, kBucketDecode = 1, kBucketSmall = 2, kBucketPrefill = 3 };

struct Variant {
    const char *symbol;   // kf_<family>_..._<tile>__<target>
    const char *target;   // target registry name
    int bucket;           // BucketId
    int64_t minRows;      // rows this variant serves: minRows <= M <= maxRows
    int64_t maxRows;      // (0 = no upper bound); the any-bucket variant serves every M
    const void *data;     // the family's per-variant data (packed layout, further entries); may be null
    KernelEntry run;
};

}  // namespace kf::rt

// A kernel as compiled into an emitted library (opaque in the C ABI).
struct kf_kernel_def {
    const char *name;     // kernel name in the kernel file
    const char *family;   // "lowbit_linear", "hadamard", ...
    const void *spec;     // the family's declared spec (e.g. kf::rt::LinearSpec)
    const kf::rt::Variant *variants;
    int numVariants;
};

namespace kf::rt {

// The family's spec of `def`, or null when def is of another family.
template <class Spec>
const Spec *specOf(const kf_kernel_def *def, const char *family) {
    return def && def->family && std::strcmp(def->family, family) == 0 ? static_cast<const Spec *>(def->spec)
                                                                         : nullptr;
}

}  // namespace kf::rt
