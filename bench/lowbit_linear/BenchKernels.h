// \file
// The kernels of lowbit_bench.kf as the benchmarks find them: the
// emitted library's kernel list (kforge_bench_lowbit.h), the parameters from
// the kernel file itself (for the reference check), and the variants to run.
// Header-only: included by the benchmarks that link kforge::bench_lowbit.
#pragma once

#include <kforge_bench_lowbit.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "LinearBench.h"

namespace kfbench {

struct Kernel {
    std::string name, format;  // "int4_int8", "int4"
    const kf_kernel_def *def = nullptr;
    dsl::LowbitLinearParams params;
};

// Whether the bench library has the kernel (the "_mlir" ones only where kforge
// was built with MLIR).
inline bool hasKernel(const std::string &name) {
    int count = 0;
    const kf_kernel_def *const *all = kf_bench_lowbit_kernels(&count);
    for (int i = 0; i < count; ++i) {
        kf_kernel_info info{};
        if (kf_kernel_query(all[i], &info) == KF_OK && name == info.name) return true;
    }
    return false;
}

inline Kernel kernelNamed(const std::string &name) {
    int count = 0;
    const kf_kernel_def *const *all = kf_bench_lowbit_kernels(&count);
    const kf_kernel_def *def = kernelDef(all, count, name);
    kf_linear_info info{};
    kf_linear_query(def, &info);
    return {name, info.weight_format, def, kernelParams(KFORGE_BENCH_KERNELS, name)};
}

// "x86_avx512vnni" of "kf_linear_..._1x64x128__x86_avx512vnni" and of a
// tuned variant's "kf_linear_..._1x64x128__x86_avx512vnni__s3a01a54a" (the
// schedule tag after the target).
inline std::string targetOf(const std::string &variant) {
    const auto at = variant.find("__");
    if (at == std::string::npos) return variant;
    const auto end = variant.find("__", at + 2);
    return variant.substr(at + 2, end == std::string::npos ? std::string::npos : end - at - 2);
}

// The variants to run: the one kf_linear_create picks for this CPU (and
// KFORGE_VARIANT), or every one this CPU supports.
inline std::vector<std::string> variantsOf(const Kernel &k, Shape s, bool all) {
    std::vector<std::string> out;
    if (all) {
        kf_linear_info info{};
        kf_linear_query(k.def, &info);
        // One per target: bucket variants are picked by M inside the layer.
        for (int v = 0; v < info.num_variants; ++v)
            if (kf_variant_supported(k.def, v) && kf_variant_bucket(k.def, v) == 0)
                out.push_back(kf_variant_name(k.def, v));
        return out;
    }
    kf_linear *layer = nullptr;
    if (kf_linear_create(k.def, s.n, s.k, nullptr, &layer) != KF_OK) {
        std::fprintf(stderr, "kf_linear_create(%s): %s\n", k.name.c_str(), kf_last_error());
        std::exit(1);
    }
    out.push_back(kf_linear_variant(layer));
    kf_linear_destroy(layer);
    return out;
}

// The flag both benchmarks take: --variants=all|best.
inline std::map<std::string, std::function<void(const std::string &)>> variantFlag(bool &allVariants) {
    return {{"--variants", [&allVariants](const std::string &v) {
                 if (v != "all" && v != "best") {
                     std::fprintf(stderr, "--variants=all|best, got '%s'\n", v.c_str());
                     std::exit(1);
                 }
                 allVariants = v == "all";
             }}};
}

}  // namespace kfbench
