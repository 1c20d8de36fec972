// \file
// What code generation knows of a kernel family: how it lowers through each
// backend, what the generated glue holds for it, and what "the same packed
// weights" means for it. A family is one folder codegen/<family>/ whose
// CMakeLists.txt adds its sources, defining
// `kf::codegen::<family>::family()`; the registry (Families.cpp) lists the
// families of KFORGE_FAMILIES that have such a folder
// (docs/adding-a-family.md). Generic code (Lowering.cpp, emit, the tuner)
// never names a family.
#pragma once

#include <any>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codegen/Backend.h"
#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen {

// One kernel lowered for one target and shape bucket: what emit compiles and
// the glue describes.
struct LoweredVariant {
    std::string symbol;                      // kernelSymbol(...) (Naming.h)
    const targets::TargetInfo *target = nullptr;
    const Backend *backend = nullptr;
    std::shared_ptr<const BackendKernel> kernel;  // compiled as `symbol`
    // Further functions of the variant, compiled as symbol + suffix (e.g.
    // lowbit_linear's "_q8": the same product from rows already quantized).
    std::vector<std::pair<std::string, std::shared_ptr<const BackendKernel>>> extras;
    std::any layout;                         // the family's packed-weight layout; empty without packed weights
    std::any glueData;                       // what the lowering's glue needs besides the layout (optional)
    dsl::Bucket bucket = dsl::Bucket::Any;
};

// C++ the generated glue holds for one variant or one kernel (emit writes
// the rest: variant tables, the kernel def, the accessors).
struct GlueText {
    std::string definitions;  // namespace-scope C++ (functions, constants)
    std::string expression;   // variant: its Variant::data ("nullptr" when none); kernel: kf_kernel_def::spec
    std::string entry;        // variant: the name of its KernelEntry function
};

// How a family lowers through one backend.
struct BackendLowering {
    const char *backend;  // Backend::name
    // Whether this lowering takes the kernel on the target (null: every kernel
    // of the family). A kernel lowers through the first of the target's
    // backends whose lowering covers it.
    bool (*covers)(const dsl::KernelSpec &, const targets::TargetInfo &) = nullptr;
    // The kernel with `schedule` (null: the target's defaults) for `target`.
    // Throws CodegenError for what cannot be honoured.
    LoweredVariant (*lower)(const dsl::KernelSpec &, const dsl::Schedule *, const targets::TargetInfo &);
    // Throws CodegenError where `lower` would reject the schedule, without
    // building anything (the tuner prunes its space with it).
    void (*check)(const dsl::KernelSpec &, const dsl::Schedule &, const targets::TargetInfo &);
    // Headers the glue of these variants includes, and the glue of one
    // variant; `id` is unique in the library and a C++ identifier.
    std::vector<std::string> glueIncludes;
    GlueText (*glue)(const dsl::KernelSpec &, const LoweredVariant &, const std::string &id);
};

struct FamilyCodegen {
    dsl::Family family;
    std::vector<BackendLowering> lowerings;  // one per backend the family lowers through
    // The kernel's declared spec in the glue (GlueText::expression = the
    // kf_kernel_def::spec initializer).
    GlueText (*glueSpec)(const dsl::KernelSpec &, const std::string &id);
    // One line for the emitted header: what the kernel computes, in words.
    std::string (*describe)(const dsl::KernelSpec &);
    // Families with packed weights (null otherwise): whether two variants
    // pack the same bytes — the buckets of a target must (emit checks it with
    // `layoutMismatch`), and emit --db pairs tuning records by it.
    bool (*sameLayout)(const std::any &, const std::any &) = nullptr;
    // Why `b` does not pack like `a`, in words for an error after
    // "bucket=<name> " ("" when it does).
    std::string (*layoutMismatch)(const std::any &a, const std::any &b) = nullptr;
};

// All registered families with a code generator, in KFORGE_FAMILIES order.
const std::vector<FamilyCodegen> &families();
// nullptr when the family has no code generator.
const FamilyCodegen *familyCodegen(dsl::Family family);

}  // namespace kf::codegen
