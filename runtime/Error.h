// \file
// Per-thread error message behind kf_last_error(), and the helper every C ABI
// entry point uses to fail with a status and a message.
#pragma once

#include <string>

#include "kforge/kforge.h"

namespace kf::rt {

void setError(std::string message);
void clearError();

inline kf_status fail(kf_status status, std::string message) {
    setError(std::move(message));
    return status;
}

}  // namespace kf::rt
