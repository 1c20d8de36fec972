// The backends kforge lowers through. Adding one: a folder
// codegen/backends/<backend>/ defining its Backend record, and one line here
// (docs/adding-a-backend.md).
#include "codegen/Backend.h"

#include "codegen/backends/halide/HalideBackend.h"

namespace kf::codegen {

const std::vector<const Backend *> &backends() {
    static const std::vector<const Backend *> all = {
        &halide::backend(),
    };
    return all;
}

const Backend *findBackend(std::string_view name) {
    for (const Backend *b : backends())
        if (name == b->name) return b;
    return nullptr;
}

}  // namespace kf::codegen
