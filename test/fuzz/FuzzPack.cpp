// libFuzzer target: the lowbit_linear packers through the C API
// (kf_linear_create / kf_linear_pack_weights / kf_linear_unpack_weights) for
// layouts of every format the code generator makes (codegen/lowbit_linear,
// layoutFor): binary, ternary (2-bit and base 3), seq2, int2-8, uint2-8 with
// zero points, codebooks per tensor and per channel; planes, bitplanes,
// nibbles and bytes; every interleave, group and scale type. The bytes choose
// the layout, the shape and the weights; codes may be out of range.
//
// Oracles: a code or zero point out of range is refused with
// KF_ERR_INVALID_ARGUMENT and nothing else is; what was packed unpacks to the
// same bytes; ASan/UBSan see every write to the packed planes and tables.
#include "kforge/detail/Linear.h"
#include "kforge/linear.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

int entry(const void *) { return 0; }  // never run: the packers do not call the kernel

struct Format {
    kf_weight_kind kind;
    int bits;
    bool base3;
    bool perChannelCodebook;
};

Format pickFormat(FuzzedDataProvider &in) {
    switch (in.ConsumeIntegralInRange(0, 7)) {
    case 0: return {KF_WEIGHT_BINARY, 1, false, false};
    case 1: return {KF_WEIGHT_TERNARY, 2, false, false};
    case 2: return {KF_WEIGHT_TERNARY, 2, true, false};
    case 3: return {KF_WEIGHT_SEQ2, 2, false, false};
    case 4: return {KF_WEIGHT_INT, in.ConsumeIntegralInRange(2, 8), false, false};
    case 5: return {KF_WEIGHT_UINT, in.ConsumeIntegralInRange(2, 8), false, false};
    case 6: return {KF_WEIGHT_CODEBOOK, in.ConsumeIntegralInRange(1, 8), false, false};
    default: return {KF_WEIGHT_CODEBOOK, in.ConsumeIntegralInRange(1, 8), false, true};
    }
}

// The layout codegen's layoutFor builds for this format and a schedule.
kf::rt::LinearLayout pickLayout(FuzzedDataProvider &in, const Format &f, int group, kf_scale_type scale, bool int8) {
    kf::rt::LinearLayout L{};
    L.bits = f.bits;
    L.interleave = 16 * in.ConsumeIntegralInRange(1, 4);
    L.group = group;
    L.scaleType = scale;
    L.codeView = int8 ? 1 : 0;
    if (f.base3) {
        L.kBlock = 20;
        L.numPlanes = 1;
        L.planes[0] = {0, 0};
    } else {
        L.kBlock = 32;
        switch (in.ConsumeIntegralInRange(0, 3)) {
        case 0:
            for (int width : {8, 4, 2, 1}) {
                const int shift = L.numPlanes ? L.planes[L.numPlanes - 1].shift + L.planes[L.numPlanes - 1].width : 0;
                if (L.bits - shift >= width) L.planes[L.numPlanes++] = {width, shift};
            }
            break;
        case 1:
            for (int b = 0; b < L.bits; ++b) L.planes[L.numPlanes++] = {1, b};
            break;
        case 2:
            if (L.bits <= 4) {
                L.planes[L.numPlanes++] = {4, 0};
                break;
            }
            [[fallthrough]];
        default: L.planes[L.numPlanes++] = {8, 0}; break;
        }
    }
    // Grouped: the group rounded up to whole k-blocks (base 3 pads each group);
    // per channel: the k-chunk.
    L.kAlign = group ? (group + L.kBlock - 1) / L.kBlock * L.kBlock : L.kBlock * in.ConsumeIntegralInRange(1, 4);
    return L;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzedDataProvider in(data, size);
    const Format f = pickFormat(in);
    const bool int8 = f.kind != KF_WEIGHT_CODEBOOK && in.ConsumeBool();
    static const int kGroups[] = {0, 32, 64, 128, 256};
    const int group = kGroups[in.ConsumeIntegralInRange(0, 4)];
    const auto scale = static_cast<kf_scale_type>(in.ConsumeIntegralInRange(0, 2));
    const kf::rt::LinearLayout layout = pickLayout(in, f, group, scale, int8);

    kf::rt::LinearSpec spec{};
    spec.weightFormat = "fuzz";
    spec.bits = f.bits;
    spec.group = group;
    spec.scaleType = scale;
    spec.weightKind = f.kind;
    spec.actType = int8 ? KF_ACT_QINT8 : KF_ACT_F32;
    spec.hasBias = in.ConsumeBool();
    spec.codebookPerChannel = f.perChannelCodebook;
    spec.ternaryBase3 = f.base3;
    const kf::rt::LinearVariantData variantData{layout, nullptr};
    // x86-avx2: a target every x86-64 machine kforge tests on runs.
    const kf::rt::Variant variant{"kf_fuzz_pack__x86_avx2", "x86-avx2", kf::rt::kBucketAny, 1, 0, &variantData, entry};
    const kf_kernel_def def{"fuzz_pack", "lowbit_linear", &spec, &variant, 1};

    const int64_t n = in.ConsumeIntegralInRange<int64_t>(1, 160), k = in.ConsumeIntegralInRange<int64_t>(1, 700);
    kf_linear *layer = nullptr;
    if (kf_linear_create(&def, n, k, nullptr, &layer) != KF_OK) return 0;  // e.g. a CPU without AVX2

    const unsigned top = f.kind == KF_WEIGHT_BINARY ? 1 : f.kind == KF_WEIGHT_TERNARY ? 2 : f.kind == KF_WEIGHT_SEQ2 ? 3
                                                                                                       : (1u << f.bits) - 1;
    const int64_t cols = group ? (k + group - 1) / group : 1;
    const size_t scaleBytes = scale == KF_SCALE_F32 ? 4 : 2;
    // Mostly valid codes; the fuzzer decides whether and where one is not.
    const bool allowBad = in.ConsumeBool();
    std::vector<uint8_t> codes(static_cast<size_t>(n * k)), zeros;
    bool bad = false;
    const std::vector<uint8_t> pool = in.ConsumeBytes<uint8_t>(4096);
    for (size_t i = 0; i < codes.size(); ++i) {
        const uint8_t b = pool.empty() ? static_cast<uint8_t>(i * 37) : pool[i % pool.size()];
        codes[i] = allowBad ? b : static_cast<uint8_t>(b % (top + 1));
        bad |= codes[i] > top;
    }
    std::vector<uint8_t> scales(static_cast<size_t>(n * cols) * scaleBytes);
    for (size_t i = 0; i < scales.size(); ++i) scales[i] = static_cast<uint8_t>(i * 131 + 7);
    if (f.kind == KF_WEIGHT_UINT) {
        zeros.resize(static_cast<size_t>(n * cols));
        for (size_t i = 0; i < zeros.size(); ++i) {
            zeros[i] = pool.empty() ? 0 : static_cast<uint8_t>(pool[(i * 7) % pool.size()] % (allowBad ? 256 : top + 1));
            bad |= zeros[i] > top;
        }
    }
    std::vector<float> codebook, bias;
    if (f.kind == KF_WEIGHT_CODEBOOK)
        codebook.resize(static_cast<size_t>((f.perChannelCodebook ? n : 1) << f.bits));
    for (size_t i = 0; i < codebook.size(); ++i) codebook[i] = static_cast<float>(i) * 0.25f - 3.0f;
    if (spec.hasBias) bias.assign(static_cast<size_t>(n), 1.5f);
    auto ptr = [](auto &v) { return v.empty() ? nullptr : v.data(); };

    const kf_linear_weights w{codes.data(), scales.data(), ptr(zeros), ptr(codebook), ptr(bias)};
    const kf_status s = kf_linear_pack_weights(layer, &w);
    if (bad != (s == KF_ERR_INVALID_ARGUMENT) || (!bad && s != KF_OK)) std::abort();
    if (s == KF_OK) {
        std::vector<uint8_t> codes2(codes.size(), 0xAB), scales2(scales.size(), 0xAB), zeros2(zeros.size(), 0xAB);
        std::vector<float> codebook2(codebook.size(), -7.0f), bias2(bias.size(), -7.0f);
        if (kf_linear_unpack_weights(layer, codes2.data(), scales2.data(), ptr(zeros2), ptr(codebook2), ptr(bias2)) !=
            KF_OK)
            std::abort();
        if (codes2 != codes || scales2 != scales || zeros2 != zeros || codebook2 != codebook || bias2 != bias)
            std::abort();
    }
    kf_linear_destroy(layer);
    return 0;
}
