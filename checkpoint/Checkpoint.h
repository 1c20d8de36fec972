// Checkpoints in: safetensors and GGUF files, memory-mapped and checked.
//
//   Checkpoint ck = Checkpoint::open("model.safetensors");     // or a .gguf
//   const TensorView &w = ck.at("encoder.layer.0.attention.self.query.weight");
//   std::vector<float> f = toFloat(w);                           // any float type, or a dequantized GGML type
//   LinearWeights lw = linearWeights(w, ConvertPolicy::Refuse);  // codes + scales where the type is a kforge format
//
// Opening checks the whole index up front: the header's length, every
// tensor's type, shape and byte range (inside the file, of the size its shape
// and type give, not overlapping another), and reports the first problem as a
// CheckpointError "PATH: what is wrong". Tensor bytes are read only when asked
// for, from the mapping; a view stays valid while any copy of its Checkpoint
// lives. Formats: docs/checkpoints.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kf::checkpoint {

// Every problem with a file or a tensor: the message names the path (and the
// tensor) and says what is wrong.
class CheckpointError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Element types of both formats. Plain types hold one element per `bytes`;
// GGML block types hold `blockSize` elements in `blockBytes` (docs/checkpoints.md).
enum class Type : uint8_t {
    F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, F8E4M3, F8E5M2,
    // GGML quantized blocks.
    Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
    IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, IQ1_M,
    TQ1_0, TQ2_0, MXFP4, NVFP4, Q1_0,
};

struct TypeInfo {
    Type type;
    const char *name;        // as the file format spells it: "F32", "BF16", "Q4_0"
    int ggmlId;              // GGUF's ggml_type number; -1 where GGUF has none
    int64_t blockSize;       // elements per block (1 for plain types)
    int64_t blockBytes;      // bytes per block
    bool isFloat;            // F64 / F32 / F16 / BF16
};

const TypeInfo &info(Type t);
const char *typeName(Type t);
std::string shapeText(const std::vector<int64_t> &shape);   // "[4, 6]"

enum class Format { Safetensors, Gguf };

struct TensorView {
    std::string name;
    std::vector<int64_t> shape;         // outermost first, as numpy and PyTorch show it
    Type type = Type::F32;
    std::span<const uint8_t> bytes;     // inside the mapping
    int64_t numel() const;
    // Rows and columns of the 2-D matrix this tensor is read as (a weight
    // [N, K]): the last dimension is K, the others multiply into N.
    int64_t rows() const;
    int64_t cols() const;
};

class Checkpoint {
  public:
    // Maps PATH read-only and checks it. The format is told by its first bytes
    // ("GGUF" or a safetensors header), not by the file name.
    static Checkpoint open(const std::string &path);
    // The same checks over bytes in memory (copied); `origin` names them in errors.
    static Checkpoint parse(std::span<const uint8_t> bytes, const std::string &origin, Format format);

    Format format() const { return format_; }
    const std::string &path() const { return path_; }
    const std::vector<TensorView> &tensors() const { return tensors_; }
    const TensorView *find(const std::string &name) const;
    const TensorView &at(const std::string &name) const;   // throws naming the tensor
    // safetensors: the "__metadata__" object (string values); GGUF: every
    // key-value pair, arrays as JSON arrays (long arrays, such as a tokenizer's
    // vocabulary, are kept whole).
    const nlohmann::json &metadata() const { return metadata_; }
    int ggufVersion() const { return ggufVersion_; }
    std::size_t fileBytes() const { return size_; }

  private:
    Checkpoint() = default;
    void parseSafetensors();
    void parseGguf();
    void checkNoOverlap() const;

    Format format_ = Format::Safetensors;
    std::string path_;
    std::shared_ptr<const void> storage_;   // the mapping or the copied bytes
    const uint8_t *data_ = nullptr;
    std::size_t size_ = 0;
    std::vector<TensorView> tensors_;
    nlohmann::json metadata_ = nlohmann::json::object();
    int ggufVersion_ = 0;
};

// Every element as f32: float types converted (f64 rounded to nearest), GGML
// block types dequantized exactly as ggml does (f32 operations in its order).
// Integer, bool, fp8 and the IQ*/MXFP4/NVFP4/Q1_0/Q8_K types are refused with
// a CheckpointError naming the tensor and its type.
std::vector<float> toFloat(const TensorView &t);
bool canConvertToFloat(Type t);

// A weight matrix [N, K] as a kforge lowbit_linear kernel takes it
// (runtime/include/kforge/linear.h): one code per weight, indexing the
// format's levels in ascending order, and a scale per (row, K-group).
struct LowbitCodes {
    std::string format;              // "int8", "int4", "ternary"
    int group = 0;                   // K-group of a scale
    int64_t n = 0, k = 0;
    std::vector<uint8_t> codes;      // [N][K]
    std::vector<uint16_t> scalesF16; // [N][K / group], f16 bit patterns
};

// The GGML types that are exactly a kforge format: Q8_0 (int8, group 32),
// Q4_0 (int4, group 32), TQ1_0 and TQ2_0 (ternary, group 256), each with f16
// scales. exactFormat says which without reading a tensor; exactLowbit gives
// the codes and scales: empty for any other type, a CheckpointError for a
// TQ2_0 code that is not a ternary level (3), which ggml decodes as +2.
struct ExactFormat {
    const char *format;   // "int8", "int4", "ternary"
    int group;
};
std::optional<ExactFormat> exactFormat(Type t);
std::optional<LowbitCodes> exactLowbit(const TensorView &t);

enum class ConvertPolicy { Refuse, ThroughF32 };

// What a linear layer's weight loads as: codes + scales where the tensor's
// type is a kforge format, else f32 values (float types always; other types
// only with ConvertPolicy::ThroughF32, after `warn` is told, and otherwise a
// CheckpointError naming the tensor and the type).
struct LinearWeights {
    std::optional<LowbitCodes> lowbit;
    std::vector<float> values;       // [N][K] when !lowbit
    int64_t n = 0, k = 0;
};
LinearWeights linearWeights(const TensorView &t, ConvertPolicy policy,
                            const std::function<void(const std::string &)> &warn = {});

// f16 / bf16 bit patterns <-> f32, round to nearest even (NaN stays NaN).
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bf16ToFloat(uint16_t b);
uint16_t floatToBf16(float f);

}  // namespace kf::checkpoint
