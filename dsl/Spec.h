// \file
// The typed in-memory form of a kforge kernel file: what every stage after the
// parser reads (docs/architecture.md, "The flow"). Plain value types, no
// behaviour beyond small helpers, so tests and the tuner can build them in C++
// exactly as the DSL parser does.
//
// A Module holds kernels (what is computed: family + typed parameters) and
// schedules (how one kernel runs on one target, optionally for one shape
// bucket, with an optional tune space). Schedules never change what a kernel
// computes (docs/architecture.md, "The flow").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kf::dsl {

// Where a construct came from, for diagnostics (file:line:col, 1-based).
struct SourceLoc {
    std::string file;
    int line = 0;
    int col = 0;
};

// ---------------------------------------------------------------------------
// Number formats (docs/formats.md).

// Weight formats. A weight is an unsigned code c of `bits` bits; codes index the
// format's levels in ascending order (binary {-1,+1}: c=0 -> -1; int4: c=0 -> -8,
// c=15 -> +7; seq2: c=0 -> -1.5 ... c=3 -> +1.5; uintN: value c - z).
enum class WeightKind { Binary, Ternary, Seq2, Int, Uint, Codebook };

struct WeightFormat {
    WeightKind kind = WeightKind::Int;
    int bits = 4;                 // bits per code as stored (ternary: 2)
    bool ternaryBase3 = false;    // ternary packed 5 codes per byte (base 3)
    bool perChannelCodebook = false;  // codebook: table per output channel
};

enum class ScalarType { F32, F16, BF16, Int8 };

// Activation formats: f32 / bf16 as given, or dynamic int8 per token (row of x):
// s_x = max|x_row| / 127, q = round(x / s_x)  (docs/formats.md, "Dynamic int8 per token").
enum class ActKind { F32, BF16, QInt8PerToken };

// Shape dimension: a fixed size, or symbolic (given when the kernel is created).
struct Dim {
    std::string name;            // "N", "K", ...
    std::optional<int64_t> size; // empty = dynamic
};

// A kernel's shape at one call: its named dimensions with their sizes, in the
// family's order (FamilyDef::dims), the rows first: M=1 N=4096 K=11008 for a
// linear layer, M=1 N=11008 for a rotation. What the tuner measures at, its
// database keys and the benches name their cases by.
struct Shape {
    std::vector<std::pair<std::string, int64_t>> dims;

    // Size of dimension `name`; 0 when the shape has no such dimension.
    int64_t operator[](std::string_view name) const;
    int64_t rows() const { return dims.empty() ? 0 : dims.front().second; }
    std::string text() const;   // sizes in order: "1x4096x11008"
    std::string named() const;  // "M=1 N=4096 K=11008"
    // Inverse of named(); nullopt unless every word is NAME=<positive integer>.
    static std::optional<Shape> parseNamed(const std::string &text);
    auto operator<=>(const Shape &) const = default;
};

// ---------------------------------------------------------------------------
// Family parameters.

// y[M,N] = x[M,K] . dequant(W)[N,K]^T (+ bias)
struct LowbitLinearParams {
    WeightFormat weight;
    Dim n{"N", std::nullopt};
    Dim k{"K", std::nullopt};
    ScalarType scaleType = ScalarType::F32;
    int group = 0;               // K-group of a scale; 0 = per output channel
    bool zeroPoint = false;      // uintN: one zero point per scale
    bool bias = false;
    ActKind input = ActKind::F32;
    ScalarType output = ScalarType::F32;
    std::string rows = "M";      // name of the (dynamic) row dimension
};

// Fast Walsh-Hadamard transform of size n = m * 2^k, normalised by 1/sqrt(n),
// optionally fused with per-token int8 quantisation of the result (R4).
struct HadamardParams {
    Dim n{"N", std::nullopt};
    int m = 1;                           // H_m factor (1 = pure power of two)
    std::optional<std::string> matrixFile;  // user-supplied +-1 H_m, as written in the kernel file
    std::vector<int8_t> matrix;          // H_m read from matrixFile at check time: m*m entries +-1, row-major
                                         // (empty for built-in orders)
    ActKind input = ActKind::F32;
    ActKind output = ActKind::F32;       // QInt8PerToken = fused quantize
    std::string rows = "M";              // name of the (dynamic) row dimension
};

// Attention over a quantized KV cache (SpinQuant / QuaRot R3 fused).
// RoPE pairing (docs/formats.md, "Rotary position embedding").
enum class RopeKind { None, Half, Interleaved };

struct RotationAttentionParams {
    int headDim = 128;
    int numHeads = 32;
    int numKvHeads = 32;                 // GQA when < numHeads
    int kvBits = 4;                      // 4 or 8 (int), 16 or 32 (f16, f32: unquantized)
    int kvGroup = 0;                     // 0 = one group per (token, kv-head)
    bool causal = true;
    bool rotate = true;                  // apply R3 Hadamard to Q and K
    RopeKind rope = RopeKind::Half;
    ActKind input = ActKind::F32;
};

// R-Sparse: y = W (x . m) + U (V (x . (1 - m))), m_i = |x_i| > tau.
enum class SparsityMode { Threshold, TopK };

struct SparseRankLinearParams {
    WeightFormat weight;                 // format of W (Int bits=8..., or F32)
    bool denseWeight = true;             // W stored as floats (f32 or bf16: denseBits) rather than codes
    int denseBits = 32;                  // dense W: 32 = f32, 16 = bf16 (the given f32 rounded to nearest even)
    bool noWeight = false;               // `weight none`: no sparse term, y = U (V x) (pure low rank)
    Dim n{"N", std::nullopt};
    Dim k{"K", std::nullopt};
    int rank = 0;                        // r of U [N,r], V [r,K]
    int factorBits = 32;                 // U and V: 32 = f32, 16 = bf16, 8 = int8 with a scale per row
    SparsityMode mode = SparsityMode::Threshold;
    int topK = 0;                        // for TopK
    double tau = 0;                      // Threshold: |x_k| > tau is active (the run-time default)
    ScalarType scaleType = ScalarType::F32;
    int group = 0;
    ActKind input = ActKind::F32;
};

enum class Family { LowbitLinear, Hadamard, RotationAttention, SparseRankLinear };

using FamilyParams = std::variant<LowbitLinearParams, HadamardParams,
                                  RotationAttentionParams, SparseRankLinearParams>;

struct KernelSpec {
    std::string name;
    Family family = Family::LowbitLinear;
    FamilyParams params;
    SourceLoc loc;
};

// ---------------------------------------------------------------------------
// Schedules.

// Shape buckets on the rows of a call (M: tokens, rows of x): the schedule,
// the tuner and the emitted dispatch table may differ per bucket. Their
// bounds are defined once, in bucketDefs(); emit writes them into the
// runtime's variant tables.
enum class Bucket { Any, Decode, SmallBatch, Prefill };

struct BucketDef {
    Bucket bucket;
    const char *name;     // as written after `bucket=` and in tuning records
    int64_t minRows;      // rows the bucket serves: minRows <= M <= maxRows
    int64_t maxRows;      // 0 = no upper bound
    int64_t defaultRows;  // the M the tuner measures the bucket at unless told otherwise
};

// Every bucket, Any first: any (every M), decode (1..8), small (9..31), prefill (>= 32).
const std::vector<BucketDef> &bucketDefs();
const BucketDef &bucketDef(Bucket b);
// "decode (1 <= M <= 8)" with `rows` naming the row dimension; "any" for Any.
std::string describeBucket(Bucket b, const std::string &rows = "M");
// The bucket (not Any) whose rows include m >= 1.
Bucket bucketForRows(int64_t m);

// One schedule primitive, as written. The family checker decides which
// primitives and variables are legal.
struct Directive {
    enum class Kind { Split, Vectorize, Unroll, Parallel, Reorder, Pack, Threads, Prefetch, Backend };
    Kind kind = Kind::Split;
    // split/vectorize/unroll/parallel: 1 var; reorder: many; pack, prefetch: operand ("weight");
    // backend: the code generator's name ("halide", "mlir")
    std::vector<std::string> vars;
    int64_t factor = 0;             // split/vectorize/unroll factor; threads count; prefetch distance in k
    // pack options, e.g. interleave=16, layout=nibble; prefetch: hint=t0|t1|t2|nta
    std::vector<std::pair<std::string, std::string>> options;
    SourceLoc loc;
};

// One tunable axis: the directive with its factor (or one pack option) taken
// from `values` instead of being fixed.
// A word axis (`pack weight layout in [planes, bytes]`, `prefetch weight hint
// in [t0, nta]`, `backend in [halide, mlir]`; the tuner's loop-order axis) takes its alternatives from `words`: `values` are then the
// indices 0..n-1 into it, so the tuner treats every axis alike.
struct TuneAxis {
    Directive directive;                 // factor ignored; for Pack, `option` names the tuned key
    std::string option;                  // pack / prefetch option tuned ("interleave", "hint"), empty otherwise
    std::vector<int64_t> values;
    std::vector<std::string> words;      // word axis: the alternatives (a reorder's are "k m", ...)
    SourceLoc loc;
};

struct TuneSpace {
    std::vector<TuneAxis> axes;
    SourceLoc loc;
};

struct Schedule {
    std::string kernel;                  // kernel it schedules
    std::string target;                  // target registry name, e.g. "x86-avx512"
    Bucket bucket = Bucket::Any;
    std::vector<Directive> directives;
    std::optional<TuneSpace> tune;
    SourceLoc loc;
};

struct Module {
    std::string file;
    std::vector<KernelSpec> kernels;
    std::vector<Schedule> schedules;

    const KernelSpec *findKernel(const std::string &name) const {
        for (const auto &k : kernels)
            if (k.name == name) return &k;
        return nullptr;
    }
};

// Names used in text, diagnostics and --emit=spec.
const char *toString(Family f);
const char *toString(WeightKind k);
const char *toString(ScalarType t);
const char *toString(ActKind a);
const char *toString(Bucket b);
const char *toString(RopeKind k);  // the DSL word: none, half, interleaved
// The bucket toString names ("any", "decode", "small", "prefill"); nullopt otherwise.
std::optional<Bucket> bucketNamed(const std::string &name);
const char *toString(Directive::Kind k);
std::string formatName(const WeightFormat &w);  // "int4", "ternary", "uint3", "codebook4", ...

}  // namespace kf::dsl
