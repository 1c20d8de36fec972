#include "codegen/Naming.h"

#include <regex>

namespace kf::codegen {

std::string kernelSymbol(const SymbolParts &p) {
    std::string s = "kf_" + p.family + "_" + p.dst + "_" + p.act + "_" + p.weight;
    if (!p.epilogue.empty()) s += "_" + p.epilogue;
    s += "_" + std::to_string(p.tileM) + "x" + std::to_string(p.tileN) + "x" + std::to_string(p.tileK);
    s += "__" + p.target;
    if (!p.scheduleTag.empty()) s += "__" + p.scheduleTag;
    return s;
}

bool isValidKernelSymbol(const std::string &symbol) {
    // <weight> is the family's: "int4g128f16" (format, group, scale type) for
    // lowbit_linear, "h172" (H_m; "h12f<8 hex>" from a file) for hadamard.
    static const std::regex grammar(
        "kf_[a-z]+_(f32|f16|bf16|s8|qd8)_(f32|bf16|qd8)_[a-z][a-z0-9]*(_[a-z]+)?_"
        "[0-9]+x[0-9]+x[0-9]+__[a-z0-9]+(_[a-z0-9]+)*(__s[0-9a-f]{8})?");
    return std::regex_match(symbol, grammar);
}

}  // namespace kf::codegen
