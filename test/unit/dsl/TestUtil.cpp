#include "TestUtil.h"

namespace kf::dsl::test {

LoadResult load(const std::string &text, std::vector<std::string> targets) {
    CheckOptions opts;
    opts.knownTargets = std::move(targets);
    return loadString(text, "t.kf", opts);
}

std::string rendered(const LoadResult &r) {
    std::string out;
    for (const auto &d : r.diagnostics) out += d.render();
    return out;
}

std::vector<std::string> messages(const LoadResult &r) {
    std::vector<std::string> out;
    for (const auto &d : r.diagnostics) out.push_back(d.message);
    return out;
}

std::string lowbitKernel(const std::string &weightLine, const std::string &name) {
    return "kernel " + name + " : lowbit_linear {\n" + weightLine +
           "\n  input f32 rows=M\n  output f32\n}\n";
}

}  // namespace kf::dsl::test
