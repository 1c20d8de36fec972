// \file
// Generated kernel symbols, one grammar for all (docs/architecture.md, "Symbols"):
//   kf_<family>_<dst>_<act>_<weight>[_<epilogue>]_<MxNxK tile>__<target>[__s<8 hex>]
// e.g. kf_linear_f32_f32_int4g128f16_1x64x128__x86_avx512,
// kf_hadamard_qd8_f32_h172_1x11008x16__x86_avx512vnni. What is computed
// comes before "__", where it runs after it; a schedule that differs from the
// target's defaults in more than the tile adds a tag (a hash of the resolved
// schedule), so two schedules never share a symbol and a tuned variant is
// recognisable by name.
#pragma once

#include <string>

namespace kf::codegen {

struct SymbolParts {
    std::string family;    // "linear", "hadamard"
    std::string dst;       // "f32"; "qd8" for rows quantized to int8 per token
    std::string act;       // "f32", "qd8", "bf16"
    std::string weight;    // lowbit_linear "int4g128f16": format, group ("g128" or "c" per channel), scale type;
                           // hadamard "h172": the H_m factor
    std::string epilogue;  // "" or e.g. "bias"
    int tileM = 1, tileN = 0, tileK = 0;
    std::string target;    // TargetInfo::symbolSuffix
    std::string scheduleTag;  // "" (defaults) or "s" + 8 hex digits
};

std::string kernelSymbol(const SymbolParts &parts);
// True if `symbol` follows the grammar above.
bool isValidKernelSymbol(const std::string &symbol);

}  // namespace kf::codegen
