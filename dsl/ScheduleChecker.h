// \file
// Checks the body of one schedule against its kernel's family and translates it
// into Directives and a TuneSpace (docs/dsl.md, "Schedules"). The primitives
// (split, vectorize, unroll, parallel, reorder, threads, pack, prefetch, backend) and the rules for
// their factors are the same for every family; a family contributes its loop
// variables and whether its weights can be packed (families/Family.h).
#pragma once

#include "dsl/Diagnostics.h"
#include "dsl/Parser.h"
#include "dsl/Spec.h"
#include "dsl/families/Family.h"

#include <optional>
#include <string>
#include <vector>

namespace kf::dsl {

// Primitive names in the order diagnostics list them.
inline constexpr const char *kSchedulePrimitiveList =
    "split, vectorize, unroll, parallel, reorder, threads, pack, prefetch, backend";

std::optional<Directive::Kind> parsePrimitive(const std::string &name);

// Whether `value` is legal as the factor of `kind` (split/vectorize/unroll
// factor, threads count) or, for Pack, as the value of `option`. On failure
// returns false and, when `sink` is given, reports at `loc`.
bool checkFactor(Directive::Kind kind, const std::string &option, int64_t value, const SourceLoc &loc,
                 DiagnosticSink *sink);

// Fills out.directives and out.tune from the schedule body. `params` is the
// kernel's checked parameters when available (nullptr if the kernel had errors).
// `knownBackends`: the names `backend <name>` may give (empty: any word).
void checkScheduleBody(const ScheduleDecl &decl, const FamilyDef &family, const FamilyParams *params,
                       Schedule &out, DiagnosticSink &sink, const std::vector<std::string> &knownBackends = {});

// The locality hints `prefetch weight <k> hint=` takes, strongest first: t0, t1, t2, nta.
const std::vector<std::string> &prefetchHints();

}  // namespace kf::dsl
