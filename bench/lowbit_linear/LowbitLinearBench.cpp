// \file
// Decode-time (M = 1 and 8) low-bit GEMV of the kernels in
// lowbit_bench.kf (ternary in 2 bits and in base 3, seq2, int2, int3, int4
// with f16 scales per 128 weights; f32 or dynamic int8 activations), against the roofline that
// bounds it: DRAM read bandwidth.
//
// A GEMV at M = 1 reads every weight once and does two flops per weight, so it
// is memory bound and its figure of merit is packed weight bytes per second.
// To measure that honestly (BenchCommon.h):
//   - weights stream from DRAM as in a real decode step: each benchmark cycles
//     through distinct layers whose packed bytes total at least
//     max(256 MiB, 2 x last-level cache), one layer per iteration;
//   - the roofline is measured in the same process, right before and right
//     after each timed loop, with the same thread count (a plain read pass over
//     a separate buffer of the same size), because this VM's bandwidth drifts;
//   - the first layer of each set is checked against the family's
//     double-precision reference (dsl/families/lowbit_linear/Reference.h) at
//     the benchmark's M before anything is timed; a mismatch is an error.
// Baselines in the same run: a dense f32 GEMV/GEMM of the same shape (plain
// loop, -O3) and "dequantize to f32, then the dense GEMV" of the same format.
//
// Counters: GB/s (packed bytes / s), read_GB/s (the read pass, same threads),
// roofline_ratio (= GB/s / read_GB/s), speedup_vs_dense_f32 and
// speedup_vs_dequant (time per call of the baseline with the same shape, M and
// threads / this one, when the baseline ran in the same process).
//
// Registered: the full matrix (4 shapes x M = 1, 8 x 6 formats x f32 / int8
// activations x threads). Without --benchmark_filter the run is limited to a
// default set (registerAll says which; --benchmark_filter=. runs everything).
// --variants=all adds every variant this CPU runs, forced by name (default:
// the one kf_linear_create picks). kfw_map/ and kfw_copy/ run int4 and ternary
// layers loaded from a packed-weights file (kf_linear_load, KF_WEIGHTS_MAP or
// KF_WEIGHTS_COPY) instead of packed in the process: mapped weights sit on
// the page cache's 4 KiB pages, copied ones on the layer's own (huge) pages. KFORGE_BENCH_STREAM_MIB overrides the
// streamed size (smoke tests use it).

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "LinearBench.h"
#include "BenchKernels.h"

namespace {

using namespace kfbench;

const char *const kFormats[] = {"ternary", "ternary_b3", "seq2", "int2", "int3", "int4"};
const dsl::ActKind kActs[] = {dsl::ActKind::F32, dsl::ActKind::QInt8PerToken};
constexpr Shape kShapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}, {14336, 4096}};
constexpr Shape kDefaultShape{4096, 11008};
constexpr int64_t kRows[] = {1, 8};
constexpr int64_t kMaxM = 8;

bool gAllVariants = false;

// Seconds per call of the baselines, by (n, k, M, threads) and (format, n, k, M, threads).
std::map<std::tuple<int64_t, int64_t, int64_t, int>, double> gDenseSeconds;
std::map<std::tuple<std::string, int64_t, int64_t, int64_t, int>, double> gDequantSeconds;

void benchDense(benchmark::State &state, Shape s, int64_t M, int threads) {
    DenseSet &set = workingSet<DenseSet>("dense/" + dims(s), s, kMaxM);
    std::size_t bytes = static_cast<std::size_t>(s.n * s.k) * sizeof(float);
    double perCall = timeStreaming(state, threads, bytes, [&](std::size_t i) {
        denseGemm(set.mats[i % set.mats.size()].get(), set.x.data(), set.y.data(), M, s, threads);
        benchmark::ClobberMemory();
        return true;
    });
    if (perCall > 0) gDenseSeconds[{s.n, s.k, M, threads}] = perCall;
}

void benchDequant(benchmark::State &state, const Kernel &k, Shape s, int64_t M, int threads) {
    DequantSet &set = workingSet<DequantSet>("dequant/" + k.format + "/" + dims(s), k.params, s, kMaxM);
    // Its own check: the f32-activation reference of the same layer.
    static std::map<std::string, std::string> checked;
    auto key = k.format + "/" + dims(s) + "/" + std::to_string(M);
    if (!checked.count(key)) {
        set.run(0, M, threads);
        dsl::LowbitLinearParams f32 = k.params;
        f32.input = dsl::ActKind::F32;
        double err = relativeError(f32, set.w, M, set.y.data());
        checked[key] = err <= 1e-5 ? "" : "dequant baseline does not match the reference: rel err " +
                                              std::to_string(err);
    }
    if (!checked[key].empty()) return fail(state, checked[key]);
    double perCall = timeStreaming(state, threads, set.bytesPerLayer, [&](std::size_t i) {
        set.run(i % set.codes.size(), M, threads);
        benchmark::ClobberMemory();
        return true;
    });
    if (perCall > 0) gDequantSeconds[{k.format, s.n, s.k, M, threads}] = perCall;
}

void benchKernel(benchmark::State &state, const Kernel &k, Shape s, const std::string &variant, int64_t M,
                 int threads, WeightSource source) {
    const char *from = source == WeightSource::Packed ? "" : source == WeightSource::FileMapped ? "/map" : "/copy";
    LayerSet &set = workingSet<LayerSet>(k.name + "/" + variant + "/" + dims(s) + from, k.def, k.params, s, variant,
                                         kMaxM, source);
    if (!set.error.empty()) return fail(state, set.error);
    if (const std::string &err = set.check(M); !err.empty()) return fail(state, err);
    double perCall = timeStreaming(state, threads, set.packedBytes, [&](std::size_t i) {
        kf_status st = kf_linear_run(set.layers[i % set.layers.size()], set.w.x.data(), M, set.y.data(), threads);
        if (st == KF_OK) return true;
        fail(state, "kf_linear_run: " + statusText(st));
        return false;
    });
    if (perCall <= 0) return;
    if (auto d = gDenseSeconds.find({s.n, s.k, M, threads}); d != gDenseSeconds.end())
        state.counters["speedup_vs_dense_f32"] = d->second / perCall;
    if (auto d = gDequantSeconds.find({k.format, s.n, s.k, M, threads}); d != gDequantSeconds.end())
        state.counters["speedup_vs_dequant"] = d->second / perCall;
}

// The full matrix, ordered so that each working set is built once: for each
// shape, the dense baseline at every M and thread count, then per format its
// dequant baseline and each kernel variant at every M and thread count.
// Working sets are built inside the benchmarks, so what the filter leaves out
// costs nothing. Returns the default filter.
std::string registerAll() {
    std::string best;
    for (Shape s : kShapes) {
        const std::string d = dims(s);
        for (int64_t M : kRows)
            for (int t : threadCounts())
                add("dense_f32/M:" + std::to_string(M) + "/" + d + "/threads:" + std::to_string(t), benchDense, s, M,
                    t);
        for (const char *fmt : kFormats) {
            const Kernel f32 = kernelNamed(std::string(fmt) + "_f32");
            for (int64_t M : kRows)
                for (int t : threadCounts())
                    add("dequant_f32/" + std::string(fmt) + "/M:" + std::to_string(M) + "/" + d +
                            "/threads:" + std::to_string(t),
                        benchDequant, f32, s, M, t);
            for (dsl::ActKind act : kActs) {
                const Kernel k = kernelNamed(std::string(fmt) + "_" + actName(act));
                if (best.empty()) best = targetOf(variantsOf(k, s, false)[0]);
                for (const std::string &variant : variantsOf(k, s, gAllVariants))
                    for (int64_t M : kRows)
                        for (int t : threadCounts())
                            add(std::string(fmt) + "/" + actName(act) + "/M:" + std::to_string(M) + "/" + d + "/" +
                                    targetOf(variant) + "/threads:" + std::to_string(t),
                                benchKernel, k, s, variant, M, t, WeightSource::Packed);
                // The same format through the MLIR backend (lowbit_bench_mlir.kf),
                // its variant for this CPU: "<target>+mlir".
                const std::string mlirName = std::string(fmt) + "_" + actName(act) + "_mlir";
                if (!hasKernel(mlirName)) continue;
                const Kernel km = kernelNamed(mlirName);
                const std::string variant = variantsOf(km, s, false)[0];
                for (int64_t M : kRows)
                    for (int t : threadCounts())
                        add(std::string(fmt) + "/" + actName(act) + "/M:" + std::to_string(M) + "/" + d + "/" +
                                targetOf(variant) + "+mlir/threads:" + std::to_string(t),
                            benchKernel, km, s, variant, M, t, WeightSource::Packed);
            }
        }
    }
    // Layers loaded from a packed-weights file (kf_linear_load), mapped or
    // copied, next to the same kernel packed in the process: int4 and
    // ternary at M = 1 on kDefaultShape, the default variant.
    for (const char *fmt : {"int4", "ternary"})
        for (dsl::ActKind act : kActs) {
            const Kernel k = kernelNamed(std::string(fmt) + "_" + actName(act));
            const std::string variant = variantsOf(k, kDefaultShape, false)[0];
            for (auto [source, name] : {std::pair{WeightSource::FileMapped, "kfw_map"}, {WeightSource::FileCopied, "kfw_copy"}})
                for (int t : threadCounts())
                    add(std::string(name) + "/" + fmt + "/" + actName(act) + "/M:1/" + dims(kDefaultShape) + "/" +
                            targetOf(variant) + "/threads:" + std::to_string(t),
                        benchKernel, k, kDefaultShape, variant, int64_t{1}, t, source);
        }
    // Default: kDefaultShape, every format and activation kind at M = 1 (and
    // its MLIR kernel), int4 also at M = 8, the best variant only; and the
    // baselines they compare to.
    const std::string shape = "/" + dims(kDefaultShape) + "/";
    return "^(dense_f32/M:(1|8)" + shape + "|dequant_f32/[a-z0-9_]+/M:1" + shape + "|dequant_f32/int4/M:8" + shape +
           "|[a-z0-9_]+/(f32|int8)/M:1" + shape + best + "(\\+mlir)?/|int4/(f32|int8)/M:8" + shape + best + "/)";
}

}  // namespace

int main(int argc, char **argv) {
    // Default --benchmark_min_time=0.3 and filter: the default set stays near four minutes.
    return benchMain(argc, argv, "0.3", variantFlag(gAllVariants), registerAll);
}
