// \file
// R-Sparse decode (M = 1) against what bounds it, measured in the same run:
//   - the sparse-rank layer (kernels of sparse_rank_bench.kf) at sparsity 0,
//     25, 50, 75 and 90 %, ranks K/16 and K/8, U and V in f32 or int8, int4
//     and int2 W with f16 scales per 128, on the shapes;
//   - the dense low-bit layer of the same W (lowbit_linear, same format);
//   - the read roofline (BenchCommon.h), before and after each timed loop;
//   - prefill (M = 32, 128): the same layer with each row's own 50 % mask next
//     to the dense low-bit layer at the same M, and fma_peak_ratio (its flops
//     against the FMA peak with the same threads);
//   - pack_float: quantizing and factorizing a 4096 x 11008 layer from float
//     weights (what a user waits for once per layer), seconds per call.
// Layers stream from memory as in a decode step: each benchmark cycles
// through copies of its layer whose packed bytes total at least
// streamBytes(). The input of a benchmark has exactly the benchmark's
// sparsity (channels below the threshold at |x| <= 0.25, the rest >= 1), and
// the first layer's output is checked against the double-precision reference
// (dsl/families/sparse_rank_linear/Reference.h) before anything is timed.
//
// Counters: GB/s and roofline_ratio for the bytes the call read (W's active
// columns, V's inactive ones, all of U: kf_sparse_rank_last_stats),
// bytes_vs_dense (those bytes / the dense layer's packed bytes) and
// speedup_vs_dense (dense time per call / this one, same shape, format and
// threads, when the dense benchmark ran first in the same process).
#include <kforge_bench_rsparse.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "BenchCommon.h"
#include "dsl/families/lowbit_linear/RandomLayer.h"
#include "dsl/families/lowbit_linear/ReferenceQuantizer.h"
#include "dsl/families/sparse_rank_linear/Reference.h"

namespace {

using namespace kfbench;
namespace ref = kf::families::sparse_rank_linear;

constexpr float kTau = 0.5f;

struct Shape {
    int64_t n, k;
};
constexpr Shape kShapes[] = {{4096, 4096}, {4096, 11008}, {11008, 4096}};
const char *const kFormats[] = {"int4", "int2"};
constexpr int kSparsities[] = {0, 25, 50, 75, 90};
constexpr int kRankDivisors[] = {16, 8};

std::string dims(Shape s) { return std::to_string(s.n) + "x" + std::to_string(s.k); }

const kf_kernel_def *kernelNamed(const std::string &name) {
    int count = 0;
    const kf_kernel_def *const *all = kf_bench_rsparse_kernels(&count);
    return kernelDef(all, count, name);
}

const dsl::KernelSpec &specNamed(const std::string &name) { return kernelSpec(KFORGE_BENCH_KERNELS, name); }

// W's codes and scales (the low-bit family's random layers), U and V normal.
struct Tensors {
    std::vector<uint8_t> codes, scales;
    std::vector<float> u, v;
};

Tensors makeTensors(const std::string &format, Shape s, int64_t rank) {
    dsl::LowbitLinearParams lp = std::get<dsl::LowbitLinearParams>(specNamed(format + "_dense").params);
    auto layer = kf::families::lowbit::makeRandomLayer(lp, s.n, s.k, 3);
    Tensors t{std::move(layer.codes), std::move(layer.scales), {}, {}};
    std::mt19937_64 rng(5);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    t.u.resize(static_cast<std::size_t>(s.n * rank));
    t.v.resize(static_cast<std::size_t>(rank * s.k));
    for (float &x : t.u) x = normal(rng);
    for (float &x : t.v) x = normal(rng);
    return t;
}

// One row with round(sparsity% of K) channels below the threshold.
std::vector<float> makeInput(int64_t K, int sparsity) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<float> low(0.0f, 0.25f), high(1.0f, 2.0f);
    std::vector<int64_t> order(static_cast<std::size_t>(K));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<float> x(static_cast<std::size_t>(K));
    const int64_t off = K * sparsity / 100;
    for (int64_t i = 0; i < K; ++i) {
        const float mag = i < off ? low(rng) : high(rng);
        x[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = (rng() & 1) ? mag : -mag;
    }
    return x;
}

// Copies of one sparse-rank layer totalling >= streamBytes().
struct SparseSet : WorkingSet {
    std::string error;
    Shape shape{};
    std::vector<kf_sparse_rank *> layers;
    std::vector<float> y;
    SparseSet(const std::string &kernel, Shape s) : shape(s) {
        const auto &p = std::get<dsl::SparseRankLinearParams>(specNamed(kernel).params);
        const Tensors t = makeTensors(kernel.substr(0, kernel.find("_r")), s, p.rank);
        const kf_sparse_rank_weights w{t.codes.data(), t.scales.data(), nullptr, t.u.data(), t.v.data()};
        y.resize(static_cast<std::size_t>(s.n));
        std::size_t total = 0;
        while (total < streamBytes() || layers.empty()) {
            kf_sparse_rank *L = nullptr;
            if (kf_status st = kf_sparse_rank_create(kernelNamed(kernel), s.n, s.k, nullptr, &L); st != KF_OK) {
                error = "kf_sparse_rank_create: " + statusText(st);
                return;
            }
            layers.push_back(L);
            if (kf_status st = kf_sparse_rank_pack(L, &w); st != KF_OK) {
                error = "kf_sparse_rank_pack: " + statusText(st);
                return;
            }
            kf_sparse_rank_set_threshold(L, kTau);
            total += kf_sparse_rank_packed_bytes(L);
        }
        // The first layer against the reference at 50 % sparsity.
        const std::vector<float> x = makeInput(s.k, 50);
        if (kf_status st = kf_sparse_rank_run(layers[0], x.data(), 1, y.data(), 0); st != KF_OK) {
            error = "kf_sparse_rank_run: " + statusText(st);
            return;
        }
        ref::ReferenceLayer rl{s.n, s.k, p.rank, t.codes.data(), t.scales.data(), nullptr, t.u.data(), t.v.data()};
        // int8 factors: U and V as the reference quantizer stores them.
        kf::families::lowbit::QuantizedWeights qu, qv;
        std::vector<float> us, vs;
        if (p.factorBits == 8) {
            dsl::LowbitLinearParams lp;
            lp.weight = dsl::WeightFormat{dsl::WeightKind::Int, 8, false, false};
            lp.scaleType = dsl::ScalarType::F32;
            qu = kf::families::lowbit::referenceQuantize(lp, s.n, p.rank, t.u.data());
            qv = kf::families::lowbit::referenceQuantize(lp, p.rank, s.k, t.v.data());
            us.assign(qu.scales.begin(), qu.scales.end());
            vs.assign(qv.scales.begin(), qv.scales.end());
            rl.uCodes = qu.codes.data();
            rl.uScales = us.data();
            rl.vCodes = qv.codes.data();
            rl.vScales = vs.data();
        }
        const std::vector<double> expect = ref::referenceSparseRank(p, rl, x.data(), 1, kTau);
        double num = 0, den = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            num += (y[i] - expect[i]) * (y[i] - expect[i]);
            den += expect[i] * expect[i];
        }
        if (!(std::sqrt(num / den) <= 1e-5))
            error = kernel + " does not match the reference: relative L2 error " + std::to_string(std::sqrt(num / den));
    }
    ~SparseSet() override {
        for (kf_sparse_rank *L : layers) kf_sparse_rank_destroy(L);
    }
};

// Copies of the dense low-bit layer of the same W.
struct DenseSet : WorkingSet {
    std::string error;
    std::vector<kf_linear *> layers;
    std::vector<float> y;
    DenseSet(const std::string &format, Shape s) {
        const Tensors t = makeTensors(format, s, 0);
        y.resize(static_cast<std::size_t>(s.n));
        std::size_t total = 0;
        while (total < streamBytes() || layers.empty()) {
            kf_linear *L = nullptr;
            if (kf_status st = kf_linear_create(kernelNamed(format + "_dense"), s.n, s.k, nullptr, &L); st != KF_OK) {
                error = "kf_linear_create: " + statusText(st);
                return;
            }
            layers.push_back(L);
            if (kf_status st = kf_linear_pack(L, t.codes.data(), t.scales.data()); st != KF_OK) {
                error = "kf_linear_pack: " + statusText(st);
                return;
            }
            total += kf_linear_packed_bytes(L);
        }
    }
    ~DenseSet() override {
        for (kf_linear *L : layers) kf_linear_destroy(L);
    }
};

std::map<std::tuple<std::string, int64_t, int64_t, int>, std::pair<double, std::size_t>> gDense;  // seconds, bytes

void benchDense(benchmark::State &state, std::string format, Shape s, int threads, int64_t M) {
    DenseSet &set = workingSet<DenseSet>("dense/" + format + "/" + dims(s), format, s);
    if (!set.error.empty()) return fail(state, set.error);
    const std::vector<float> x = makeInput(s.k * M, 0);
    set.y.resize(static_cast<std::size_t>(s.n * M));
    const std::size_t bytes = kf_linear_packed_bytes(set.layers[0]);
    const double perCall = timeStreaming(state, threads, bytes, [&](std::size_t i) {
        return kf_linear_run(set.layers[i % set.layers.size()], x.data(), M, set.y.data(), threads) == KF_OK;
    });
    if (perCall > 0) gDense[{format, s.n, s.k * M, threads}] = {perCall, bytes};
}

void benchSparse(benchmark::State &state, std::string format, Shape s, int divisor, bool int8Factors, int sparsity,
                 int threads, int64_t M, std::string suffix) {
    const std::string kernel = format + "_r" + std::to_string(s.k / divisor) + (int8Factors ? "_uv8" : "") + suffix;
    SparseSet &set = workingSet<SparseSet>("sparse/" + kernel + "/" + dims(s), kernel, s);
    if (!set.error.empty()) return fail(state, set.error);
    // M rows, each with the benchmark's sparsity (its own mask).
    std::vector<float> x;
    for (int64_t m = 0; m < M; ++m) {
        std::vector<float> row = makeInput(s.k, sparsity);
        std::rotate(row.begin(), row.begin() + (m * 7919) % s.k, row.end());
        x.insert(x.end(), row.begin(), row.end());
    }
    set.y.resize(static_cast<std::size_t>(s.n * M));
    if (kf_sparse_rank_run(set.layers[0], x.data(), M, set.y.data(), threads) != KF_OK)
        return fail(state, std::string("kf_sparse_rank_run: ") + kf_last_error());
    kf_sparse_rank_stats stats{};
    kf_sparse_rank_last_stats(set.layers[0], &stats);
    const double perCall = timeStreaming(state, threads, stats.bytes_read, [&](std::size_t i) {
        return kf_sparse_rank_run(set.layers[i % set.layers.size()], x.data(), M, set.y.data(), threads) == KF_OK;
    });
    state.counters["active_columns"] = double(stats.active_columns);
    if (M > 1) {
        // Prefill is compute bound: the flops against the FMA peak of this run's threads.
        const double flops = 2.0 * double(M) *
                             (double(s.n) * double(stats.active_columns) +
                              double(s.k / divisor) * double(stats.inactive_columns + s.n));
        static std::map<int, double> peaks;
        if (!peaks.count(threads)) peaks[threads] = fmaPeakFlops(threads);
        if (perCall > 0 && peaks[threads] > 0) state.counters["fma_peak_ratio"] = flops / perCall / peaks[threads];
    }
    if (auto d = gDense.find({format, s.n, s.k * M, threads}); d != gDense.end() && perCall > 0) {
        state.counters["speedup_vs_dense"] = d->second.first / perCall;
        state.counters["bytes_vs_dense"] = double(stats.bytes_read) / double(d->second.second);
    }
}

// What a user waits for: kf_sparse_rank_pack_float on random normal weights
// (the low-bit quantizer, then the randomized SVD), one call per iteration.
void benchPackFloat(benchmark::State &state, std::string format, Shape s, int divisor) {
    const std::string kernel = format + "_r" + std::to_string(s.k / divisor);
    std::vector<float> w(static_cast<std::size_t>(s.n * s.k));
    std::mt19937_64 rng(9);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (float &v : w) v = normal(rng);
    kf_sparse_rank *L = nullptr;
    if (kf_sparse_rank_create(kernelNamed(kernel), s.n, s.k, nullptr, &L) != KF_OK)
        return fail(state, std::string("kf_sparse_rank_create: ") + kf_last_error());
    for (auto _ : state)
        if (kf_sparse_rank_pack_float(L, w.data(), nullptr) != KF_OK) {
            kf_sparse_rank_destroy(L);
            return fail(state, std::string("kf_sparse_rank_pack_float: ") + kf_last_error());
        }
    kf_sparse_rank_destroy(L);
}

std::string registerAll() {
    benchmark::RegisterBenchmark("pack_float/4096x11008/int4/r:K/16", benchPackFloat, "int4", Shape{4096, 11008}, 16)
        ->UseRealTime()
        ->Unit(benchmark::kSecond)
        ->Iterations(1);
    for (Shape s : kShapes)
        for (const char *f : kFormats) {
            const std::string base = dims(s) + "/" + f + "/";
            for (int t : threadCounts()) add(base + "dense/threads:" + std::to_string(t), benchDense, f, s, t, int64_t{1});
            for (int d : kRankDivisors)
                for (bool q8 : {false, true})
                    for (int sp : kSparsities)
                        for (int t : threadCounts())
                            add(base + "r:K/" + std::to_string(d) + (q8 ? "/uv:int8" : "/uv:f32") + "/sparsity:" +
                                    std::to_string(sp) + "/threads:" + std::to_string(t),
                                benchSparse, f, s, d, q8, sp, t, int64_t{1}, std::string());
            // Decode of 4 rows at r = K/16 (int8 factors), each row its own
            // mask: the union of the masks (columns read once) or per-token
            // masks (int4_r688_uv8_pt: each row its own columns).
            if (std::string(f) == "int4" && s.n == 4096 && s.k == 11008)
                for (int sp : {50, 90})
                    for (int t : threadCounts()) {
                        const std::string rows = base + "decode:M=4/r:K/16/uv:int8/sparsity:" + std::to_string(sp);
                        add(rows + "/dense/threads:" + std::to_string(t), benchDense, f, s, t, int64_t{4});
                        add(rows + "/union/threads:" + std::to_string(t), benchSparse, f, s, 16, true, sp, t,
                            int64_t{4}, std::string());
                        add(rows + "/per_token/threads:" + std::to_string(t), benchSparse, f, s, 16, true, sp, t,
                            int64_t{4}, std::string("_pt"));
                    }
            // The prefetch of listed columns against none (_pf0), per-channel
            // (int4c) and grouped scales.
            if (std::string(f) == "int4" && s.n == 4096 && s.k == 11008)
                for (const char *w : {"int4", "int4c"})
                    for (int t : threadCounts()) {
                        const std::string pb = dims(s) + "/prefetch/" + w + "/";
                        if (std::string(w) == "int4c")
                            add(pb + "dense/threads:" + std::to_string(t), benchDense, std::string(w), s, t, int64_t{1});
                        for (int sp : {0, 50, 90})
                            for (const char *suffix : {"", "_pf0"})
                                add(pb + "r:K/16/uv:int8/sparsity:" + std::to_string(sp) + (*suffix ? "/pf:0" : "/pf:16") +
                                        "/threads:" + std::to_string(t),
                                    benchSparse, std::string(w), s, 16, true, sp, t, int64_t{1}, std::string(suffix));
                    }
            // Prefill: M rows, each its own 50 % mask (their union is nearly every channel).
            for (int64_t M : {32, 128})
                for (int t : threadCounts()) {
                    const std::string pre = base + "prefill:M=" + std::to_string(M) + "/";
                    add(pre + "dense/threads:" + std::to_string(t), benchDense, f, s, t, M);
                    add(pre + "r:K/16/uv:int8/sparsity:50/threads:" + std::to_string(t), benchSparse, f, s, 16, true,
                        50, t, M, std::string());
                }
        }
    return "";
}

}  // namespace

int main(int argc, char **argv) { return benchMain(argc, argv, "0.5", {}, registerAll); }
