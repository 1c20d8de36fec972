// Names of the Spec.h enums as they are written in kernel files, diagnostics and
// `kforge lower --emit=spec`.
#include "dsl/Spec.h"

namespace kf::dsl {

const char *toString(Family f) {
    switch (f) {
    case Family::LowbitLinear: return "lowbit_linear";
    case Family::Hadamard: return "hadamard";
    case Family::RotationAttention: return "rotation_attention";
    case Family::SparseRankLinear: return "sparse_rank_linear";
    }
    return "unknown";
}

const char *toString(WeightKind k) {
    switch (k) {
    case WeightKind::Binary: return "binary";
    case WeightKind::Ternary: return "ternary";
    case WeightKind::Seq2: return "seq2";
    case WeightKind::Int: return "int";
    case WeightKind::Uint: return "uint";
    case WeightKind::Codebook: return "codebook";
    }
    return "unknown";
}

const char *toString(ScalarType t) {
    switch (t) {
    case ScalarType::F32: return "f32";
    case ScalarType::F16: return "f16";
    case ScalarType::BF16: return "bf16";
    case ScalarType::Int8: return "int8";
    }
    return "unknown";
}

// QInt8PerToken is spelled `int8` in kernel text (`input int8`).
const char *toString(ActKind a) {
    switch (a) {
    case ActKind::F32: return "f32";
    case ActKind::BF16: return "bf16";
    case ActKind::QInt8PerToken: return "int8";
    }
    return "unknown";
}

const char *toString(Bucket b) {
    switch (b) {
    case Bucket::Any: return "any";
    case Bucket::Decode: return "decode";
    case Bucket::SmallBatch: return "small";
    case Bucket::Prefill: return "prefill";
    }
    return "unknown";
}

std::optional<Bucket> bucketNamed(const std::string &name) {
    for (Bucket b : {Bucket::Any, Bucket::Decode, Bucket::SmallBatch, Bucket::Prefill})
        if (name == toString(b)) return b;
    return std::nullopt;
}

const char *toString(Directive::Kind k) {
    switch (k) {
    case Directive::Kind::Split: return "split";
    case Directive::Kind::Vectorize: return "vectorize";
    case Directive::Kind::Unroll: return "unroll";
    case Directive::Kind::Parallel: return "parallel";
    case Directive::Kind::Reorder: return "reorder";
    case Directive::Kind::Pack: return "pack";
    case Directive::Kind::Threads: return "threads";
    case Directive::Kind::Prefetch: return "prefetch";
    }
    return "unknown";
}

std::string formatName(const WeightFormat &w) {
    switch (w.kind) {
    case WeightKind::Binary: return "binary";
    case WeightKind::Ternary: return "ternary";
    case WeightKind::Seq2: return "seq2";
    case WeightKind::Int: return "int" + std::to_string(w.bits);
    case WeightKind::Uint: return "uint" + std::to_string(w.bits);
    case WeightKind::Codebook: return "codebook" + std::to_string(w.bits);
    }
    return "unknown";
}

}  // namespace kf::dsl
