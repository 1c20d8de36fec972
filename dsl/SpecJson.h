// \file
// The typed Module as JSON, for `kforge lower FILE --emit=spec` and for tests:
// every field of Spec.h, keys in declaration order, so that lit tests and
// humans can read what the front end understood.
#pragma once

#include "dsl/Spec.h"

#include <string>

namespace kf::dsl {

// Pretty-printed (2-space indent), ends without a newline.
std::string toJson(const Module &module);

}  // namespace kf::dsl
