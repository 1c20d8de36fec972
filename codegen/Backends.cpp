// The backends kforge lowers through. Adding one: a folder
// codegen/backends/<backend>/ defining its Backend record, and one line here
// (docs/adding-a-backend.md).
#include "codegen/Backend.h"

#include "codegen/backends/halide/HalideBackend.h"
#if KFORGE_HAVE_MLIR
#include "codegen/backends/mlir/MlirBackend.h"
#endif

namespace kf::codegen {

const std::vector<const Backend *> &backends() {
    static const std::vector<const Backend *> all = {
        &halide::backend(),
#if KFORGE_HAVE_MLIR
        &mlir::backend(),
#endif
    };
    return all;
}

const Backend *findBackend(std::string_view name) {
    for (const Backend *b : backends())
        if (name == b->name) return b;
    return nullptr;
}

}  // namespace kf::codegen
