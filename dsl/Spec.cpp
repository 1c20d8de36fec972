// Names of the Spec.h enums as they are written in kernel files, diagnostics and
// `kforge lower --emit=spec`.
#include "dsl/Spec.h"

#include "dsl/families/Family.h"

#include <sstream>

namespace kf::dsl {

int64_t Shape::operator[](std::string_view name) const {
    for (const auto &[n, size] : dims)
        if (n == name) return size;
    return 0;
}

std::string Shape::text() const {
    std::string s;
    for (const auto &d : dims) s += (s.empty() ? "" : "x") + std::to_string(d.second);
    return s;
}

std::string Shape::named() const {
    std::string s;
    for (const auto &[name, size] : dims) s += (s.empty() ? "" : " ") + name + "=" + std::to_string(size);
    return s;
}

std::optional<Shape> Shape::parseNamed(const std::string &text) {
    Shape shape;
    std::istringstream in(text);
    for (std::string word; in >> word;) {
        const auto eq = word.find('=');
        if (eq == 0 || eq == std::string::npos || eq + 1 == word.size()) return std::nullopt;
        int64_t size = 0;
        for (char c : word.substr(eq + 1)) {
            if (c < '0' || c > '9' || size > (INT64_MAX - 9) / 10) return std::nullopt;
            size = size * 10 + (c - '0');
        }
        if (size <= 0) return std::nullopt;
        shape.dims.emplace_back(word.substr(0, eq), size);
    }
    if (shape.dims.empty()) return std::nullopt;
    return shape;
}

// A family's name is its FamilyDef's (dsl/families/Registry.cpp).
const char *toString(Family f) {
    const FamilyDef *def = findFamily(f);
    return def ? def->name : "unknown";
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

const std::vector<BucketDef> &bucketDefs() {
    // Decode is memory bound (each weight read once per call); from about 32
    // rows the int8 kernels are compute bound; small batches sit between.
    static const std::vector<BucketDef> defs = {
        {Bucket::Any, "any", 1, 0, 1},
        {Bucket::Decode, "decode", 1, 8, 1},
        {Bucket::SmallBatch, "small", 9, 31, 16},
        {Bucket::Prefill, "prefill", 32, 0, 128},
    };
    return defs;
}

const BucketDef &bucketDef(Bucket b) {
    for (const BucketDef &d : bucketDefs())
        if (d.bucket == b) return d;
    return bucketDefs().front();
}

std::string describeBucket(Bucket b, const std::string &rows) {
    const BucketDef &d = bucketDef(b);
    std::string s = d.name;
    if (b == Bucket::Any) return s;  // every row count
    s += " (";
    if (d.maxRows == 0) return s + rows + " >= " + std::to_string(d.minRows) + ")";
    return s + std::to_string(d.minRows) + " <= " + rows + " <= " + std::to_string(d.maxRows) + ")";
}

Bucket bucketForRows(int64_t m) {
    for (const BucketDef &d : bucketDefs())
        if (d.bucket != Bucket::Any && m >= d.minRows && (d.maxRows == 0 || m <= d.maxRows)) return d.bucket;
    return Bucket::Decode;
}

const char *toString(Bucket b) { return bucketDef(b).name; }

const char *toString(RopeKind k) {
    switch (k) {
    case RopeKind::None: return "none";
    case RopeKind::Half: return "half";
    case RopeKind::Interleaved: return "interleaved";
    }
    return "?";
}

std::optional<Bucket> bucketNamed(const std::string &name) {
    for (const BucketDef &d : bucketDefs())
        if (name == d.name) return d.bucket;
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
    case Directive::Kind::Backend: return "backend";
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
