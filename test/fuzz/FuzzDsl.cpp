// libFuzzer target: the DSL front end (lexer, parser, checker of every family,
// spec JSON) on arbitrary bytes. It must never crash, hang or fail a
// sanitizer, and the spec JSON of what it accepts must parse.
#include "dsl/Load.h"
#include "dsl/SpecJson.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    kf::dsl::CheckOptions options;
    options.knownTargets = {"x86-avx2", "x86-avx512", "x86-avx512vnni", "arm64-neon", "arm64-neon-dotprod", "arm64-sve", "arm64-sve2-i8mm", "cuda-sm80"};
    const kf::dsl::LoadResult result = kf::dsl::loadString(text, "fuzz.kf", options);
    for (const auto &d : result.diagnostics) {
        // Every diagnostic renders, and names a place inside the text.
        if (d.render().empty()) std::abort();
        if (d.loc.line < 0 || d.loc.col < 0) std::abort();
    }
    if (result.ok()) {
        // The spec text (what the tuning database hashes) is valid JSON
        // whatever names and paths the file holds.
        const std::string json = kf::dsl::toJson(*result.module);
        if (!nlohmann::json::accept(json)) std::abort();
    }
    return 0;
}
