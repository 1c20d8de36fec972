// \file
// Attention over a quantized KV cache (the kernels of attention_bench.kf:
// Llama-3-8B's shape, int4 and int8 caches, and an f16 cache as the
// baseline they are compared with) against what bounds it, measured in the
// same run:
//   - decode: one query token per sequence over a context of 1k .. 32k
//     tokens, batch 1 and 8, cycling through as many layers' caches as make
//     max(256 MiB, 2 x LLC), so that the cache streams from memory as in a
//     decode step: KV bytes read per second (codes, scales and zero points;
//     an f16 cache's values only)
//     over the read bandwidth measured around the timed loop
//     (roofline_ratio);
//   - prefill: T = 512 and 2048 new tokens attending causally to themselves,
//     cache-resident: flops (4 x head_dim per query head and visible token)
//     over the f32 FMA peak measured in the same run (fma_ratio);
//   - append: T tokens' K and V quantized into the cache, the f32 input
//     streamed: time of a plain copy of the same input bytes over the time of
//     the append (roofline_ratio; vs_copy is its inverse).
// Every kernel is checked against the family's double-precision reference
// (dsl/families/rotation_attention/Reference.h) before it is timed: decode
// and prefill over the cache's own dequantized values, relative L2 <= 1e-5.
#include <kforge_bench_kv_attention.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "BenchCommon.h"
#include "dsl/families/rotation_attention/Reference.h"

namespace {

using namespace kfbench;
namespace ref = kf::families::rotation_attention;

constexpr double kTheta = 500000.0;  // Llama 3's RoPE base

const kf_kernel_def *kernelNamed(const std::string &name) {
    int count = 0;
    const kf_kernel_def *const *all = kf_bench_kv_attention_kernels(&count);
    return kernelDef(all, count, name);
}

const dsl::RotationAttentionParams &paramsOf(const std::string &name) {
    return std::get<dsl::RotationAttentionParams>(kernelSpec(KFORGE_BENCH_KERNELS, name).params);
}

struct Geometry {
    int d, heads, kvHeads, groups, codeBytes;
    explicit Geometry(const dsl::RotationAttentionParams &p)
        : d(p.headDim), heads(p.numHeads), kvHeads(p.numKvHeads), groups(p.kvGroup ? p.headDim / p.kvGroup : 1),
          codeBytes(p.kvBits == 4 ? p.headDim / 2 : p.headDim * (p.kvBits / 8)), floats(p.kvBits > 8) {}
    bool floats;  // an f16 / f32 cache: values, no scales read
    int64_t kvRow() const { return int64_t{kvHeads} * d; }
    int64_t qRow() const { return int64_t{heads} * d; }
    // Bytes of K and V one token of one layer holds in the cache.
    int64_t cacheBytesPerToken() const { return 2 * int64_t{kvHeads} * (codeBytes + (floats ? 0 : 8 * groups)); }
};

// Appends `len` tokens of random K and V to `layer` in pieces.
kf_status fillLayer(kf_attention *a, kf_kv_cache *c, int layer, int64_t len, const Geometry &g) {
    const int64_t piece = std::min<int64_t>(len, 512);
    static std::map<int64_t, std::vector<float>> blocks;
    std::vector<float> &k = blocks[piece * g.kvRow()];
    if (k.empty()) k = ref::randomValues(piece * g.kvRow(), 3);
    for (int64_t pos = 0; pos < len; pos += piece) {
        const int64_t n = std::min(piece, len - pos);
        if (kf_status st = kf_kv_cache_append(a, c, layer, k.data(), k.data(), n, pos, kTheta, 0)) return st;
    }
    return KF_OK;
}

// Layer 0 of `c` ([kvHeads][len][d], double): the values its contents stand
// for, by the definition.
std::vector<double> dequantized(const kf_kv_cache *c, int which, int64_t len, const Geometry &g,
                                const dsl::RotationAttentionParams &p) {
    std::vector<uint8_t> codes(static_cast<std::size_t>(g.kvHeads * len * g.codeBytes));
    std::vector<float> scales(static_cast<std::size_t>(g.kvHeads * len * g.groups)), zeros(scales.size());
    if (kf_kv_cache_read(c, 0, which, 0, len, codes.data(), scales.data(), zeros.data()) != KF_OK) return {};
    return ref::referenceCacheValues(p, codes.data(), scales.data(), zeros.data(), g.kvHeads * len);
}

// Decode (T = 1 at the last position) and prefill (T tokens from 0) over a
// fresh cache of `len` tokens against the reference; "" when they match.
std::string checkKernel(const std::string &kernel) {
    static std::map<std::string, std::string> checked;
    if (auto it = checked.find(kernel); it != checked.end()) return it->second;
    const dsl::RotationAttentionParams &p = paramsOf(kernel);
    const Geometry g(p);
    std::string error;
    kf_attention *a = nullptr;
    kf_kv_cache *c = nullptr;
    const int64_t len = 1100;
    if (kf_status st = kf_attention_create(kernelNamed(kernel), nullptr, &a)) {
        error = "kf_attention_create: " + statusText(st);
    } else if (kf_status st2 = kf_kv_cache_create(a, 1, len, &c)) {
        error = "kf_kv_cache_create: " + statusText(st2);
    } else if (kf_status st3 = fillLayer(a, c, 0, len, g)) {
        error = "kf_kv_cache_append: " + statusText(st3);
    } else {
        const std::vector<double> keys = dequantized(c, 0, len, g, p), values = dequantized(c, 1, len, g, p);
        for (int64_t T : {int64_t{1}, int64_t{100}}) {
            const int64_t pos = T == 1 ? len - 1 : 0;
            const std::vector<float> q = ref::randomValues(T * g.qRow(), 5);
            std::vector<float> out(q.size());
            std::vector<double> want(q.size());
            if (kf_status runSt = kf_attention_run(a, c, 0, q.data(), T, pos, kTheta, out.data(), 0)) {
                error = "kf_attention_run: " + statusText(runSt);
                break;
            }
            ref::referenceAttention(p, q.data(), T, pos, kTheta, keys.data(), values.data(), len, want.data());
            if (double err = ref::relativeError(out.data(), want.data(), static_cast<int64_t>(out.size())); !(err <= 1e-5)) {
                error = kernel + " (T = " + std::to_string(T) + ") does not match the reference: relative L2 error " +
                        std::to_string(err);
                break;
            }
        }
    }
    kf_kv_cache_destroy(c);
    kf_attention_destroy(a);
    return checked[kernel] = error;
}

// ---- decode -------------------------------------------------------------------

// `batch` sequences' caches of `layers` layers of `ctx` tokens each, enough
// layers that one pass over them streams max(256 MiB, 2 x LLC).
struct DecodeSet : WorkingSet {
    std::string error;
    Geometry g;
    int64_t ctx;
    int batch, layers = 1;
    kf_attention *a = nullptr;
    std::vector<kf_kv_cache *> caches;
    std::vector<int64_t> positions;
    std::vector<float> q, out;

    DecodeSet(const std::string &kernel, int64_t context, int sequences)
        : g(paramsOf(kernel)), ctx(context), batch(sequences) {
        if (kf_status st = kf_attention_create(kernelNamed(kernel), nullptr, &a)) {
            error = "kf_attention_create: " + statusText(st);
            return;
        }
        const std::size_t perLayer = static_cast<std::size_t>(batch * ctx * g.cacheBytesPerToken());
        layers = static_cast<int>(std::max<std::size_t>(1, (streamBytes() + perLayer - 1) / perLayer));
        for (int s = 0; s < batch; ++s) {
            kf_kv_cache *c = nullptr;
            if (kf_status st = kf_kv_cache_create(a, layers, ctx, &c)) {
                error = "kf_kv_cache_create: " + statusText(st);
                return;
            }
            caches.push_back(c);
            for (int l = 0; l < layers; ++l)
                if (kf_status st = fillLayer(a, c, l, ctx, g)) {
                    error = "kf_kv_cache_append: " + statusText(st);
                    return;
                }
        }
        positions.assign(static_cast<std::size_t>(batch), ctx - 1);
        q = ref::randomValues(batch * g.qRow(), 9);
        out.resize(q.size());
    }
    ~DecodeSet() override {
        for (kf_kv_cache *c : caches) kf_kv_cache_destroy(c);
        kf_attention_destroy(a);
    }
    std::size_t bytesPerCall() const { return static_cast<std::size_t>(batch * ctx * g.cacheBytesPerToken()); }
    bool step(std::size_t i, int threads) {
        const int layer = static_cast<int>(i % static_cast<std::size_t>(layers));
        kf_status st = batch == 1 ? kf_attention_run(a, caches[0], layer, q.data(), 1, ctx - 1, kTheta, out.data(), threads)
                                  : kf_attention_decode_batch(a, caches.data(), batch, layer, q.data(), positions.data(),
                                                              kTheta, out.data(), threads);
        if (st != KF_OK) error = "decode: " + statusText(st);
        return st == KF_OK;
    }
};

void benchDecode(benchmark::State &state, const std::string &kernel, int64_t ctx, int batch, int threads) {
    if (std::string e = checkKernel(kernel); !e.empty()) return fail(state, e);
    DecodeSet &set = workingSet<DecodeSet>("decode/" + kernel + std::to_string(ctx) + "/" + std::to_string(batch),
                                           kernel, ctx, batch);
    if (!set.error.empty()) return fail(state, set.error);
    const double perCall = timeStreaming(state, threads, set.bytesPerCall(), [&](std::size_t i) {
        if (set.step(i, threads)) return true;
        fail(state, set.error);
        return false;
    });
    if (perCall > 0) state.counters["tokens/s"] = double(batch) / perCall;
    state.counters["layers"] = double(set.layers);
}

// ---- prefill ------------------------------------------------------------------

void benchPrefill(benchmark::State &state, const std::string &kernel, int64_t T, int threads) {
    if (std::string e = checkKernel(kernel); !e.empty()) return fail(state, e);
    const Geometry g(paramsOf(kernel));
    kf_attention *a = nullptr;
    kf_kv_cache *c = nullptr;
    if (kf_status st = kf_attention_create(kernelNamed(kernel), nullptr, &a)) return fail(state, statusText(st));
    if (kf_status st = kf_kv_cache_create(a, 1, T, &c)) {
        kf_attention_destroy(a);
        return fail(state, statusText(st));
    }
    const std::vector<float> q = ref::randomValues(T * g.qRow(), 13);
    std::vector<float> out(q.size());
    if (kf_status st = fillLayer(a, c, 0, T, g)) {
        fail(state, "kf_kv_cache_append: " + statusText(st));
    } else {
        const auto t0 = Clock::now();
        for (auto _ : state)
            if (kf_status st2 = kf_attention_run(a, c, 0, q.data(), T, 0, kTheta, out.data(), threads)) {
                fail(state, "kf_attention_run: " + statusText(st2));
                break;
            }
        const double perCall = secondsSince(t0) / double(std::max<benchmark::IterationCount>(1, state.iterations()));
        // Query t sees t + 1 tokens: QK and PV are 2 * d flops each per (head, visible token).
        const double flops = 4.0 * g.d * g.heads * double(T) * double(T + 1) / 2.0;
        const double peak = fmaPeakFlops(threads);
        state.counters["GFLOP/s"] = flops / perCall * 1e-9;
        state.counters["peak_GFLOP/s"] = peak * 1e-9;
        state.counters["fma_ratio"] = flops / perCall / peak;
    }
    kf_kv_cache_destroy(c);
    kf_attention_destroy(a);
}

// ---- append -------------------------------------------------------------------

// Input K and V for max(256 MiB, 2 x LLC) of tokens, appended T at a time
// into a cache that is reset when full.
struct AppendSet : WorkingSet {
    std::string error;
    Geometry g;
    int64_t T, slots, capacity;
    kf_attention *a = nullptr;
    kf_kv_cache *c = nullptr;
    StreamedFloats k, v, dst;

    AppendSet(const std::string &kernel, int64_t tokens) : g(paramsOf(kernel)), T(tokens) {
        slots = std::max<int64_t>(1, static_cast<int64_t>(streamBytes() / (2 * 4 * T * g.kvRow())));
        capacity = slots * T;
        const std::size_t values = static_cast<std::size_t>(capacity * g.kvRow());
        k = streamedFloats(values);
        v = streamedFloats(values);
        dst = streamedFloats(2 * values);
        const std::vector<float> block = ref::randomValues(std::min<int64_t>(capacity, 512) * g.kvRow(), 17);
        for (std::size_t i = 0; i < values; i += block.size()) {
            std::memcpy(&k[i], block.data(), std::min(block.size(), values - i) * sizeof(float));
            std::memcpy(&v[i], block.data(), std::min(block.size(), values - i) * sizeof(float));
        }
        if (kf_status st = kf_attention_create(kernelNamed(kernel), nullptr, &a)) {
            error = "kf_attention_create: " + statusText(st);
        } else if (kf_status st2 = kf_kv_cache_create(a, 1, capacity, &c)) {
            error = "kf_kv_cache_create: " + statusText(st2);
        }
    }
    ~AppendSet() override {
        kf_kv_cache_destroy(c);
        kf_attention_destroy(a);
    }
    std::size_t inputBytes() const { return static_cast<std::size_t>(2 * 4 * T * g.kvRow()); }
    bool append(std::size_t i, int threads) {
        const int64_t slot = static_cast<int64_t>(i % static_cast<std::size_t>(slots));
        if (slot == 0) kf_kv_cache_reset(c);
        const int64_t off = slot * T * g.kvRow();
        kf_status st = kf_kv_cache_append(a, c, 0, &k[static_cast<std::size_t>(off)], &v[static_cast<std::size_t>(off)],
                                          T, slot * T, kTheta, threads);
        if (st != KF_OK) error = "kf_kv_cache_append: " + statusText(st);
        return st == KF_OK;
    }
    // The same bytes copied: slot i's K and V into a destination of their size.
    void copy(std::size_t i, int threads) {
        const int64_t slot = static_cast<int64_t>(i % static_cast<std::size_t>(slots));
        const std::size_t off = static_cast<std::size_t>(slot * T * g.kvRow()), n = static_cast<std::size_t>(T * g.kvRow());
        auto part = [&](int64_t lo, int64_t hi) {
            for (int64_t w = lo; w < hi; ++w)
                std::memcpy(&dst[static_cast<std::size_t>(w) * n], w == 0 ? &k[off] : &v[off], n * sizeof(float));
        };
        if (threads == 1 || n * sizeof(float) < (std::size_t{256} << 10)) part(0, 2);  // too small to share
        else parallelFor(threads, 2, 1, part);
    }
};

void benchAppend(benchmark::State &state, const std::string &kernel, int64_t T, int threads) {
    AppendSet &set = workingSet<AppendSet>("append/" + kernel + "/" + std::to_string(T), kernel, T);
    if (!set.error.empty()) return fail(state, set.error);
    // The copy baseline: one pass over the same slots, before and after.
    auto copyPass = [&] {
        const auto t0 = Clock::now();
        for (int64_t s = 0; s < set.slots; ++s) set.copy(static_cast<std::size_t>(s), threads);
        benchmark::ClobberMemory();
        return secondsSince(t0) / double(set.slots);
    };
    double copy = copyPass();
    // One pass first: the runtime keeps RoPE's tables per position for the
    // process (every layer and sequence turns the same positions), so a
    // serving process pays for them once, not per append.
    std::size_t i = 0;
    for (int64_t s = 0; s < set.slots; ++s)
        if (!set.append(i++, threads)) return fail(state, set.error);
    const auto t0 = Clock::now();
    for (auto _ : state)
        if (!set.append(i++, threads)) return fail(state, set.error);
    const double perCall = secondsSince(t0) / double(state.iterations());
    copy = std::min(copy, copyPass());
    state.counters["input_GB/s"] = double(set.inputBytes()) / perCall * 1e-9;
    state.counters["copy_GB/s"] = 2.0 * double(set.inputBytes()) / copy * 1e-9;
    state.counters["vs_copy"] = perCall / copy;
    state.counters["roofline_ratio"] = copy / perCall;
}

const char *const kKernels[] = {"llama3_int4", "llama3_int8", "llama3_f16"};

std::string registerAll() {
    for (const char *k : kKernels) {
        for (int64_t ctx : {1024, 4096, 16384, 32768})
            for (int batch : {1, 8})
                for (int t : threadCounts())
                    add(std::string("decode/") + k + "/ctx:" + std::to_string(ctx) + "/batch:" + std::to_string(batch) +
                            "/threads:" + std::to_string(t),
                        benchDecode, k, ctx, batch, t);
        for (int64_t T : {512, 2048})
            for (int t : threadCounts())
                add(std::string("prefill/") + k + "/T:" + std::to_string(T) + "/threads:" + std::to_string(t),
                    benchPrefill, k, T, t);
        for (int64_t T : {1, 512})
            for (int t : threadCounts())
                add(std::string("append/") + k + "/T:" + std::to_string(T) + "/threads:" + std::to_string(t),
                    benchAppend, k, T, t);
    }
    return "";
}

}  // namespace

int main(int argc, char **argv) { return benchMain(argc, argv, "0.5", {}, registerAll); }
