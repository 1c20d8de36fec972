#include "runtime/Error.h"

namespace kf::rt {
namespace {
thread_local std::string tlsLastError;
}

void setError(std::string message) { tlsLastError = std::move(message); }
void clearError() { tlsLastError.clear(); }

}  // namespace kf::rt

extern "C" const char *kf_last_error(void) { return kf::rt::tlsLastError.c_str(); }

extern "C" const char *kf_status_name(kf_status status) {
    switch (status) {
    case KF_OK: return "KF_OK";
    case KF_ERR_NULL_POINTER: return "KF_ERR_NULL_POINTER";
    case KF_ERR_SHAPE: return "KF_ERR_SHAPE";
    case KF_ERR_UNSUPPORTED_VARIANT: return "KF_ERR_UNSUPPORTED_VARIANT";
    case KF_ERR_INVALID_ARGUMENT: return "KF_ERR_INVALID_ARGUMENT";
    case KF_ERR_NOT_PACKED: return "KF_ERR_NOT_PACKED";
    case KF_ERR_OUT_OF_MEMORY: return "KF_ERR_OUT_OF_MEMORY";
    case KF_ERR_KERNEL_FAILED: return "KF_ERR_KERNEL_FAILED";
    }
    return "KF_ERR_UNKNOWN";
}
