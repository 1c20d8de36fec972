// The rotation_attention family's code generator record (codegen/Family.h):
// its Halide lowering (AttentionHalide.h over the schedule
// AttentionSchedule.h resolves): one variant = the attention pipeline (the
// variant's symbol) and the K and V append pipelines (extras "_append_k",
// "_append_v"); its symbol, and what the glue holds for it. The cache it
// reads and writes belongs to the caller (kforge/attention.h), so a variant
// has no packed weights.
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <vector>

#include "codegen/CodegenError.h"
#include "codegen/Family.h"
#include "codegen/Naming.h"
#include "codegen/backends/halide/HalideBackend.h"
#include "codegen/rotation_attention/AttentionHalide.h"
#include "codegen/rotation_attention/AttentionSchedule.h"

namespace kf::codegen::rotation_attention {

namespace {

constexpr const char *kAppendK = "_append_k";
constexpr const char *kAppendV = "_append_v";

const dsl::RotationAttentionParams &paramsOf(const dsl::KernelSpec &kernel) {
    return std::get<dsl::RotationAttentionParams>(kernel.params);
}

void checkKernel(const dsl::KernelSpec &kernel, const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(kernel.loc, std::string("no lowering of rotation_attention for ") + target.name +
                                           " yet (CUDA lowering is planned)");
}

uint32_t fnv1a(const std::vector<int> &fields) {
    uint32_t h = 2166136261u;
    for (int f : fields)
        for (int b = 0; b < 4; ++b) h = (h ^ ((static_cast<uint32_t>(f) >> (8 * b)) & 0xffu)) * 16777619u;
    return h;
}

std::string scheduleTag(const AttentionSchedule &s, const AttentionSchedule &defaults) {
    const std::vector<int> fields = {s.vector, s.chunk, s.queryTile, s.splitContext ? 1 : 0};
    const std::vector<int> base = {defaults.vector, defaults.chunk, defaults.queryTile, defaults.splitContext ? 1 : 0};
    if (fields == base) return "";
    char tag[16];
    std::snprintf(tag, sizeof tag, "s%08x", fnv1a(fields));
    return tag;
}

char ropeLetter(dsl::RopeKind k) { return k == dsl::RopeKind::Half ? 'h' : k == dsl::RopeKind::Interleaved ? 'i' : 'n'; }

LoweredVariant lowerHalide(const dsl::KernelSpec &kernel, const dsl::Schedule *schedule,
                           const targets::TargetInfo &target) {
    checkKernel(kernel, target);
    const auto &p = paramsOf(kernel);
    const AttentionSchedule s = resolveSchedule(p, schedule, target);
    AttentionPipeline attend = buildAttendPipeline(p, s, target);
    AttentionPipeline appendK = buildAppendPipeline(p, true, s, target);
    AttentionPipeline appendV = buildAppendPipeline(p, false, s, target);

    SymbolParts parts;
    parts.family = "attn";
    parts.dst = "f32";
    parts.act = "f32";
    parts.weight = "kv" + std::to_string(p.kvBits) + (p.kvGroup ? "g" + std::to_string(p.kvGroup) : "") + "q" +
                   std::to_string(p.numHeads) + "k" + std::to_string(p.numKvHeads) + "d" + std::to_string(p.headDim);
    parts.epilogue = std::string{ropeLetter(p.rope), p.rotate ? 'r' : 'n', p.causal ? 'c' : 'n'};
    parts.tileM = s.queryTile;
    parts.tileN = s.chunk;
    parts.tileK = s.vector;
    parts.target = target.symbolSuffix;
    const dsl::Bucket bucket = schedule ? schedule->bucket : dsl::Bucket::Any;
    parts.scheduleTag = scheduleTag(s, defaultSchedule(target, p, bucket));
    LoweredVariant v;
    v.symbol = kernelSymbol(parts);
    v.target = &target;
    v.kernel = std::make_shared<halide::HalideKernel>(attend.pipeline, attend.args);
    v.extras.emplace_back(kAppendK, std::make_shared<halide::HalideKernel>(appendK.pipeline, appendK.args));
    v.extras.emplace_back(kAppendV, std::make_shared<halide::HalideKernel>(appendV.pipeline, appendV.args));
    return v;
}

void checkHalide(const dsl::KernelSpec &kernel, const dsl::Schedule &schedule, const targets::TargetInfo &target) {
    checkKernel(kernel, target);
    resolveSchedule(paramsOf(kernel), &schedule, target);
}

GlueText glueHalide(const dsl::KernelSpec &, const LoweredVariant &v, const std::string &id) {
    std::ostringstream s;
    s << "extern \"C\" int " << v.symbol << "_argv(void **);\n"
      << "extern \"C\" int " << v.symbol << kAppendK << "_argv(void **);\n"
      << "extern \"C\" int " << v.symbol << kAppendV << "_argv(void **);\n"
      << "int run_" << id << "(const void *a) { return kf::bridge::runAttend(" << v.symbol
      << "_argv, *static_cast<const kf::rt::AttendArgs *>(a)); }\n"
      << "int appendk_" << id << "(const void *a) { return kf::bridge::runAppend(" << v.symbol << kAppendK
      << "_argv, *static_cast<const kf::rt::AppendArgs *>(a)); }\n"
      << "int appendv_" << id << "(const void *a) { return kf::bridge::runAppend(" << v.symbol << kAppendV
      << "_argv, *static_cast<const kf::rt::AppendArgs *>(a)); }\n"
      << "constexpr kf::rt::AttentionVariantData kData_" << id << "{appendk_" << id << ", appendv_" << id << "};\n";
    return {s.str(), "&kData_" + id, "run_" + id};
}

GlueText glueSpec(const dsl::KernelSpec &kernel, const std::string &id) {
    const auto &p = paramsOf(kernel);
    const char *rope = p.rope == dsl::RopeKind::Half ? "KF_ROPE_HALF"
                       : p.rope == dsl::RopeKind::Interleaved ? "KF_ROPE_INTERLEAVED"
                                                              : "KF_ROPE_NONE";
    std::ostringstream s;
    s << "constexpr kf::rt::AttentionSpec kSpec_" << id << "{" << p.numHeads << ", " << p.numKvHeads << ", "
      << p.headDim << ", " << p.kvBits << ", " << (p.kvGroup ? p.kvGroup : p.headDim) << ", " << p.rotate << ", "
      << rope << ", " << p.causal << "};\n";
    return {s.str(), "&kSpec_" + id, ""};
}

std::string describe(const dsl::KernelSpec &k) {
    const auto &p = paramsOf(k);
    std::ostringstream s;
    s << k.name << ": rotation_attention, " << p.numHeads << " query heads over " << p.numKvHeads
      << " kv heads of " << p.headDim << ", "
      << (p.kvBits > 8 ? "f" + std::to_string(p.kvBits) + " KV cache"
                       : "int" + std::to_string(p.kvBits) + " KV cache " +
                             (p.kvGroup ? "per group of " + std::to_string(p.kvGroup) : "per token and head"))
      << ", RoPE " << dsl::toString(p.rope)
      << (p.rotate ? ", R3 Hadamard on Q and K" : "") << (p.causal ? ", causal" : ", no mask");
    return s.str();
}

}  // namespace

FamilyCodegen family() {
    return FamilyCodegen{
        .family = dsl::Family::RotationAttention,
        .lowerings = {{.backend = "halide",
                       .lower = lowerHalide,
                       .check = checkHalide,
                       .glueIncludes = {"codegen/rotation_attention/bridge/AttentionHalideBridge.h"},
                       .glue = glueHalide}},
        .glueSpec = glueSpec,
        .describe = describe,
    };
}

}  // namespace kf::codegen::rotation_attention
