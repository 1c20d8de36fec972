// \file
// Prefill-time (M = 8 .. 512) low-bit GEMM of the kernels in
// lowbit_bench.kf, against the roofline that bounds it at large M: the
// CPU's int8 dot-product peak (dynamic int8 activations) or f32 FMA peak (f32
// activations), measured in the same binary (perf/Ceilings.h: register-resident
// loops of independent _mm512_dpbusd_epi32 / _mm512_fmadd_ps on the same
// number of threads).
//
// Weights stream from DRAM as in decode (distinct layers totalling
// max(256 MiB, 2 x LLC), one per iteration); the first layer is checked
// against the double-precision reference at rows 0, M/2 and M - 1 of x before
// anything is timed.
//
// Counters: GOP/s (2 M N K / time per call), peak_GOP/s (the peak loop on the
// same thread count, run right before and right after the timed loop: the
// mean), vnni_peak_ratio (int8 kernels) or fma_peak_ratio (f32 kernels) =
// GOP/s / peak_GOP/s, and the decode bench's
// GB/s, read_GB/s, roofline_ratio (packed weight bytes per second).
//
// Registered: the full matrix (2 shapes x 4 M x 5 formats x int8 / f32
// activations x threads). Without --benchmark_filter the run is limited to the
// peaks, int4, int2 and ternary with int8 activations and int4 with f32
// activations (--benchmark_filter=. runs everything). --variants=all adds
// every variant this CPU runs, forced by name.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "LinearBench.h"
#include "BenchKernels.h"

namespace {

using namespace kfbench;

constexpr Shape kShapes[] = {{4096, 4096}, {11008, 4096}};
constexpr int64_t kRows[] = {8, 32, 128, 512};
constexpr int64_t kMaxM = 512;

bool gAllVariants = false;

void benchPeak(benchmark::State &state, bool vnni, int threads) {
    double ops = 0;
    for (auto _ : state) ops = vnni ? vnniPeakOps(threads) : fmaPeakFlops(threads);
    if (ops == 0)  // not a failure: the CPU lacks the instructions
        return state.SkipWithError(vnni ? "this CPU has no AVX-512 VNNI" : "this CPU has no AVX-512");
    state.counters["GOP/s"] = ops * 1e-9;
}

void benchKernel(benchmark::State &state, const Kernel &k, Shape s, const std::string &variant, int64_t M,
                 int threads) {
    LayerSet &set = workingSet<LayerSet>(k.name + "/" + variant + "/" + dims(s), k.def, k.params, s, variant, kMaxM);
    if (!set.error.empty()) return fail(state, set.error);
    if (const std::string &err = set.check(M, {0, M / 2, M - 1}); !err.empty())
        return fail(state, err);
    const bool int8 = k.params.input == dsl::ActKind::QInt8PerToken;
    // The peak is measured right before and right after the timed loop, like
    // the read roofline (this VM's throughput drifts with its neighbours).
    double peak = computePeak(int8, threads, 1);
    double perCall = timeStreaming(state, threads, set.packedBytes, [&](std::size_t i) {
        kf_status st = kf_linear_run(set.layers[i % set.layers.size()], set.w.x.data(), M, set.y.data(), threads);
        if (st == KF_OK) return true;
        fail(state, "kf_linear_run: " + statusText(st));
        return false;
    });
    peak = 0.5 * (peak + computePeak(int8, threads, 1));
    if (perCall <= 0) return;
    const double ops = 2.0 * double(M) * double(s.n) * double(s.k) / perCall;
    state.counters["GOP/s"] = ops * 1e-9;
    state.counters["peak_GOP/s"] = peak * 1e-9;
    state.counters[int8 ? "vnni_peak_ratio" : "fma_peak_ratio"] = peak > 0 ? ops / peak : 0.0;
}

// The full matrix; returns the default filter (see the file comment).
std::string registerAll() {
    for (int t : threadCounts()) {
        benchmark::RegisterBenchmark(("peak/vnni_int8/threads:" + std::to_string(t)).c_str(), benchPeak, true, t)
            ->Iterations(1);
        benchmark::RegisterBenchmark(("peak/fma_f32/threads:" + std::to_string(t)).c_str(), benchPeak, false, t)
            ->Iterations(1);
    }
    std::string best;
    for (Shape s : kShapes)
        for (const char *fmt : {"int4", "int3", "int2", "seq2", "ternary"})
            for (const char *act : {"int8", "f32"}) {
                const Kernel k = kernelNamed(std::string(fmt) + "_" + act);
                if (best.empty()) best = targetOf(variantsOf(k, s, false)[0]);
                for (const std::string &variant : variantsOf(k, s, gAllVariants))
                    for (int64_t M : kRows)
                        for (int t : threadCounts())
                            add(k.format + "/" + act + "/M:" + std::to_string(M) + "/" + dims(s) + "/" +
                                    targetOf(variant) + "/threads:" + std::to_string(t),
                                benchKernel, k, s, variant, M, t);
                // The same format through the MLIR backend (lowbit_bench_mlir.kf's
                // prefill schedules), its variant for this CPU: "<target>+mlir".
                const std::string mlirName = std::string(fmt) + "_" + act + "_mlir";
                if (!hasKernel(mlirName)) continue;
                const Kernel km = kernelNamed(mlirName);
                const std::string variant = variantsOf(km, s, false)[0];
                for (int64_t M : kRows)
                    for (int t : threadCounts())
                        add(k.format + "/" + act + "/M:" + std::to_string(M) + "/" + dims(s) + "/" + targetOf(variant) +
                                "+mlir/threads:" + std::to_string(t),
                            benchKernel, km, s, variant, M, t);
            }
    return "^(peak/|(int4|int2|ternary)/int8/.*/" + best + "(\\+mlir)?/|int4/f32/.*/" + best + "/)";
}

}  // namespace

int main(int argc, char **argv) {
    return benchMain(argc, argv, "0.3", variantFlag(gAllVariants), registerAll);
}
