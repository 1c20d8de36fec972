// \file
// What the DSL knows about a kernel family, and the registry of families. A
// family lives in its own folder dsl/families/<family>/ whose CMakeLists.txt
// adds its sources, defining `kf::dsl::<family>::family()`; the registry
// (Registry.cpp) lists the families of KFORGE_FAMILIES that have such a folder
// (docs/adding-a-family.md). The generic checker (dsl/Checker.h), schedule
// checker (dsl/ScheduleChecker.h) and spec JSON (dsl/SpecJson.h) never name a
// family.
#pragma once

#include "dsl/Diagnostics.h"
#include "dsl/Parser.h"
#include "dsl/Spec.h"
#include "dsl/SpecJson.h"

#include <string>
#include <string_view>
#include <vector>

namespace kf::dsl {

struct FamilyDef {
    Family family;
    const char *name;                        // as written after 'kernel NAME :'
    std::vector<std::string> statements;     // legal kernel statements
    std::vector<std::string> scheduleVars;   // loop variables schedules may name
    // Translates a kernel body into the family's typed parameters, reporting
    // every problem to the sink. The result is used only if nothing was reported.
    FamilyParams (*checkKernel)(const KernelDecl &, DiagnosticSink &);
    // Whether `pack weight ...` applies to this kernel (the weight is stored in
    // a packed, re-layoutable form). nullptr = never.
    bool (*hasPackedWeights)(const FamilyParams &) = nullptr;
    // The kernel's named dimensions in order, rows first (the dimension shape
    // buckets select on; never sized), then the others with their declared
    // sizes (nullopt = given when the kernel is created): M, N, K for a
    // linear layer. Shapes (dsl::Shape) list the same names in this order.
    std::vector<Dim> (*dims)(const FamilyParams &) = nullptr;
    // The parameters as JSON (`kforge lower --emit=spec`; the tuning
    // database keys on a hash of it, dsl/SpecJson.h).
    Json (*toJson)(const FamilyParams &) = nullptr;
};

// The dimensions of `kernel` (FamilyDef::dims); empty for a family without them.
std::vector<Dim> kernelDims(const KernelSpec &kernel);

// All registered families, in registration order.
const std::vector<FamilyDef> &families();
const FamilyDef *findFamily(std::string_view name);
const FamilyDef *findFamily(Family f);
// "lowbit_linear, hadamard, ..." for messages.
std::string familyNames();

}  // namespace kf::dsl
