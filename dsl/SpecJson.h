// \file
// The typed Module as JSON, for `kforge lower FILE --emit=spec` and for tests:
// every field of Spec.h, keys in declaration order, so that lit tests and
// humans can read what the front end understood.
#pragma once

#include "dsl/Spec.h"

#include <nlohmann/json.hpp>

#include <string>

namespace kf::dsl {

using Json = nlohmann::ordered_json;

// Pretty-printed (2-space indent), ends without a newline. A kernel's
// "params" are its family's (FamilyDef::toJson); the tuning database hashes
// this text (autotune/Database.h, specHash), so a family's keys and their
// order are part of its records' identity.
std::string toJson(const Module &module);

// Pieces the families' toJson share.
Json dimJson(const Dim &d);
Json weightJson(const WeightFormat &w);

}  // namespace kf::dsl
