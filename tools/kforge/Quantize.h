// \file
// `kforge quantize`: a checkpoint + a kernel file (one lowbit_linear kernel
// per kind of layer, with its format) -> a packed-weights file
// (runtime/lowbit_linear/WeightsFile.h) that the runtime loads with one call
// per layer, and a per-layer report: the relative error of W and, given
// sample inputs of the layers, of each layer's output, for the kernel chosen
// and for every other linear kernel of the file that fits the layer.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::tools {

struct QuantizeOptions {
    std::string checkpoint;               // safetensors or GGUF
    std::string kernelFile;               // for messages and the report
    std::string output;                   // the .kfw file
    std::vector<std::string> layers;      // "GLOB=KERNEL": tensors matching GLOB (fnmatch) use KERNEL; first match wins
    std::string samples;                  // safetensors of sample inputs, one [rows, K] tensor per layer name; optional
    std::string reportJson;               // where to write the report as JSON; optional
    bool convert = false;                 // GGML types that are no kforge format: through f32 (else refused)
    bool compare = true;                  // also report every other fitting kernel's error
    int64_t maxSamples = 128;             // sample rows per layer the output error uses
};

// Packs every matched layer for the layouts of `targets` (module's schedules,
// already tuned as emit would), writes options.output atomically, prints
// progress and the report to `out` and problems to `err`; returns the exit
// status.
int quantize(const dsl::Module &module, const std::vector<const targets::TargetInfo *> &targets,
             const QuantizeOptions &options, std::ostream &out, std::ostream &err);

// Pure parts, for tests.
// "encoder.*.weight=lin_int8" -> {glob, kernel}; throws std::runtime_error
// naming the argument when there is no '=' or a side is empty.
std::pair<std::string, std::string> parseLayerMap(const std::string &arg);

}  // namespace kf::tools
