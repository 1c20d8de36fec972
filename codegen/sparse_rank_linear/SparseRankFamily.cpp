// The sparse_rank_linear family's code generator record (codegen/Family.h):
// its Halide lowering (SparseRankHalide.h: W's column gather plus the
// gather of U and V as the extra "_lr"; a `weight none` kernel has only the
// latter, as its main entry), its symbol, the glue (declared spec,
// each variant's layout and entries through the Halide bridge) and what "the
// same packed layout" means for it.
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <vector>

#include "codegen/CodegenError.h"
#include "codegen/Family.h"
#include "codegen/Naming.h"
#include "codegen/backends/halide/HalideBackend.h"
#include "codegen/sparse_rank_linear/SparseRankHalide.h"
#include "kforge/detail/SparseRank.h"

namespace kf::codegen::sparse_rank_linear {

namespace {

constexpr const char *kLowRankSuffix = "_lr";

const dsl::SparseRankLinearParams &paramsOf(const dsl::KernelSpec &kernel) {
    return std::get<dsl::SparseRankLinearParams>(kernel.params);
}

uint32_t fnv1a(const std::vector<int> &fields) {
    uint32_t h = 2166136261u;
    for (int f : fields)
        for (int b = 0; b < 4; ++b) h = (h ^ ((static_cast<uint32_t>(f) >> (8 * b)) & 0xffu)) * 16777619u;
    return h;
}

// "s" + 8 hex digits of the resolved schedule, "" for the target's defaults.
std::string scheduleTag(const SparseRankSchedule &s, const SparseRankSchedule &d) {
    std::vector<int> fields = {s.vector, s.tile, s.lowRankTile, s.parallel ? 1 : 0, s.registerTile, s.rowTile};
    if (fields == std::vector<int>{d.vector, d.tile, d.lowRankTile, d.parallel ? 1 : 0, d.registerTile, d.rowTile} &&
        s.perToken == d.perToken && s.prefetch == d.prefetch)
        return "";
    // Later knobs join the hash only when set, so earlier tags stay as they were.
    if (s.perToken) fields.push_back(1);
    if (s.prefetch != kDefaultPrefetch) fields.insert(fields.end(), {2, s.prefetch});
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", fnv1a(fields));
    return std::string("s") + hex;
}

const char *scaleName(dsl::ScalarType t) {
    return t == dsl::ScalarType::F16 ? "f16" : t == dsl::ScalarType::BF16 ? "bf16" : "f32";
}

const char *scaleEnum(dsl::ScalarType t) {
    return t == dsl::ScalarType::F16 ? "KF_SCALE_F16" : t == dsl::ScalarType::BF16 ? "KF_SCALE_BF16" : "KF_SCALE_F32";
}

// "none", "f32", "bf16" or "int4": the spec's weight_format.
std::string weightType(const dsl::SparseRankLinearParams &p) {
    if (p.noWeight) return "none";
    if (p.denseWeight) return p.denseBits == 16 ? "bf16" : "f32";
    return "int" + std::to_string(p.weight.bits);
}

// "int4g128f16", "int8cf32" (per channel), "f32", "bf16", "none"; U and V
// other than f32 add "uvint8" / "uvbf16".
std::string weightName(const dsl::SparseRankLinearParams &p) {
    const std::string factors = p.factorBits == 8 ? "uvint8" : p.factorBits == 16 ? "uvbf16" : "";
    if (p.denseWeight) return weightType(p) + factors;  // "f32", "bf16", "none"
    return "int" + std::to_string(p.weight.bits) + (p.group ? "g" + std::to_string(p.group) : std::string("c")) +
           scaleName(p.scaleType) + factors;
}

// What a variant's glue needs: the packed layout (the same for every bucket
// of a target) and its loop order.
struct VariantLayout {
    rt::SparseRankLayout packed;
    bool perToken = false;
};

VariantLayout layoutOf(const dsl::SparseRankLinearParams &p, const SparseRankSchedule &s) {
    return {{s.tile, s.vector, storedBits(p), s.lowRankTile, p.factorBits}, s.perToken};
}

void checkTarget(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(kernel.loc, std::string("no lowering of sparse_rank_linear for ") + target.name +
                                           " yet (CUDA lowering is planned)");
}

LoweredVariant lowerHalide(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                           const targets::TargetInfo &target) {
    checkTarget(kernel, target);
    const auto &p = paramsOf(kernel);
    const SparseRankSchedule s = resolveSchedule(p, schedule, target);
    GatherPipeline lr = buildGather(p, s, /*lowRank=*/true);

    SymbolParts parts;
    parts.family = "sparserank";
    parts.dst = "f32";
    parts.act = "f32";
    parts.weight = weightName(p);
    parts.tileM = s.rowTile;
    parts.tileN = s.tile;
    parts.tileK = s.lowRankTile;
    parts.target = target.symbolSuffix;
    parts.scheduleTag = scheduleTag(s, resolveSchedule(p, nullptr, target));
    LoweredVariant v;
    v.symbol = kernelSymbol(parts);
    v.target = &target;
    if (p.noWeight) {
        v.kernel = std::make_shared<halide::HalideKernel>(lr.pipeline, lr.args);
    } else {
        GatherPipeline w = buildGather(p, s, /*lowRank=*/false);
        v.kernel = std::make_shared<halide::HalideKernel>(w.pipeline, w.args);
        v.extras.emplace_back(kLowRankSuffix, std::make_shared<halide::HalideKernel>(lr.pipeline, lr.args));
    }
    v.layout = layoutOf(p, s);
    return v;
}

void checkHalide(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    checkTarget(kernel, target);
    resolveSchedule(paramsOf(kernel), &schedule, target);
}

GlueText glueHalide(const dsl::KernelSpec &kernel, const LoweredVariant &v, const std::string &id) {
    const auto &VL = std::any_cast<const VariantLayout &>(v.layout);
    const rt::SparseRankLayout &L = VL.packed;
    const bool noWeight = paramsOf(kernel).noWeight;
    // `weight none`: the variant's one pipeline is the gather of U and V.
    const std::string lrSymbol = noWeight ? v.symbol : v.symbol + kLowRankSuffix;
    std::ostringstream s;
    s << "extern \"C\" int " << lrSymbol << "_argv(void **);\n";
    if (!noWeight) s << "extern \"C\" int " << v.symbol << "_argv(void **);\n";
    s << "constexpr kf::rt::SparseRankLayout kLayout_" << id << "{" << L.tile << ", " << L.vector << ", "
      << L.storedBits << ", " << L.lowRankTile << ", " << L.factorBits << "};\n"
      << "int runlr_" << id << "(const void *a) { return kf::bridge::runSparseRankGather(" << lrSymbol << "_argv, "
      << L.lowRankTile << ", " << L.vector << ", " << L.factorBits
      << ", *static_cast<const kf::rt::SparseRankArgs *>(a)); }\n";
    if (noWeight)
        s << "int run_" << id << "(const void *a) { return runlr_" << id << "(a); }\n";
    else
        s << "int run_" << id << "(const void *a) { return kf::bridge::runSparseRankGather(" << v.symbol
          << "_argv, " << L.tile << ", " << L.vector << ", " << L.storedBits
          << ", *static_cast<const kf::rt::SparseRankArgs *>(a)); }\n";
    s << "constexpr kf::rt::SparseRankVariantData kData_" << id << "{kLayout_" << id << ", runlr_" << id << ", "
      << (VL.perToken ? "true" : "false") << "};\n";
    return {s.str(), "&kData_" + id, "run_" + id};
}

// tau as a C++ float literal that reads back to the same f32.
std::string tauLiteral(double tau) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9gf", static_cast<float>(tau));
    std::string s = buf;
    if (s.find_first_of(".e") == std::string::npos) s.insert(s.size() - 1, ".0");
    return s;
}

GlueText glueSpec(const dsl::KernelSpec &kernel, const std::string &id) {
    const auto &p = paramsOf(kernel);
    std::ostringstream s;
    s << "constexpr kf::rt::SparseRankSpec kSpec_" << id << "{\"" << weightType(p) << "\", "
      << (p.denseWeight ? storedBits(p) : p.weight.bits) << ", " << p.n.size.value_or(0) << ", " << p.k.size.value_or(0) << ", "
      << p.rank << ", " << p.group << ", " << scaleEnum(p.scaleType) << ", "
      << (p.mode == dsl::SparsityMode::TopK ? p.topK : 0) << ", " << p.factorBits << ", " << tauLiteral(p.tau)
      << "};\n";
    return {s.str(), "&kSpec_" + id, ""};
}

std::string describe(const dsl::KernelSpec &k) {
    const auto &p = paramsOf(k);
    auto dim = [](const dsl::Dim &d) { return d.size ? std::to_string(*d.size) : d.name + "(dynamic)"; };
    const char *factors = p.factorBits == 8 ? " (U, V int8 with a scale per row)" : p.factorBits == 16 ? " (U, V bf16)" : "";
    std::ostringstream s;
    if (p.noWeight) {
        s << k.name << ": sparse_rank_linear without W (pure low rank, y = U (V x)), N=" << dim(p.n)
          << " K=" << dim(p.k) << ", rank " << p.rank << factors << " (kf_sparse_rank_run)";
        return s.str();
    }
    s << k.name << ": sparse_rank_linear (R-Sparse), W "
      << (p.denseWeight ? weightType(p)
                        : "int" + std::to_string(p.weight.bits) + " with " + scaleName(p.scaleType) + " scales " +
                              (p.group ? "per group of " + std::to_string(p.group) : std::string("per output channel")))
      << ", N=" << dim(p.n) << " K=" << dim(p.k) << ", rank " << p.rank
      << factors << ", "
      << (p.mode == dsl::SparsityMode::TopK ? "top " + std::to_string(p.topK) + " channels per row"
                                            : "channels above a threshold (declared tau = " + std::to_string(p.tau) + ")")
      << " (kf_sparse_rank_run)";
    return s.str();
}

bool sameLayout(const std::any &a, const std::any &b) {
    const auto &x = std::any_cast<const VariantLayout &>(a).packed;
    const auto &y = std::any_cast<const VariantLayout &>(b).packed;
    return x.tile == y.tile && x.vector == y.vector && x.storedBits == y.storedBits && x.lowRankTile == y.lowRankTile &&
           x.factorBits == y.factorBits;
}

std::string layoutMismatch(const std::any &a, const std::any &b) {
    if (sameLayout(a, b)) return "";
    const auto &x = std::any_cast<const VariantLayout &>(a).packed;
    const auto &y = std::any_cast<const VariantLayout &>(b).packed;
    return "packs W in tiles of " + std::to_string(y.tile) + " rows and U, V in tiles of " +
           std::to_string(y.lowRankTile) + " (vector " + std::to_string(y.vector) + "), the target's other buckets " +
           std::to_string(x.tile) + " and " + std::to_string(x.lowRankTile) + " (vector " + std::to_string(x.vector) +
           "): the layer is packed once, so every bucket must use the same 'split n', 'split r' and 'vectorize n'";
}

}  // namespace

FamilyCodegen family() {
    return FamilyCodegen{
        .family = dsl::Family::SparseRankLinear,
        .lowerings = {{.backend = "halide",
                       .lower = lowerHalide,
                       .check = checkHalide,
                       .glueIncludes = {"codegen/sparse_rank_linear/bridge/SparseRankHalideBridge.h"},
                       .glue = glueHalide}},
        .glueSpec = glueSpec,
        .describe = describe,
        .sameLayout = sameLayout,
        .layoutMismatch = layoutMismatch,
    };
}

}  // namespace kf::codegen::sparse_rank_linear
