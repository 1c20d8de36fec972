// The rotation_attention family's tuner record (autotune/Family.h): its
// default space per bucket (codegen/rotation_attention/AttentionSchedule.h
// says what each knob does) and the worker's measurement of a candidate. A
// task's shape is T (query tokens, the rows buckets select on) and ctx (the
// cached tokens they attend to, given with --shapes): the T queries sit at
// positions ctx - T .. ctx - 1 of a cache of ctx tokens (decode: one query
// at the end of the context; prefill: the last T tokens of it). Layer 0 is
// checked against the double-precision reference, then as many layers as
// make the request's stream size are timed in turn, so that a decode step's
// K and V stream from memory as in a model.
#include <kforge/attention.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "autotune/Family.h"
#include "dsl/families/rotation_attention/Reference.h"

namespace kf::autotune::rotation_attention {

namespace {

namespace ref = kf::families::rotation_attention;
using Kind = dsl::Directive::Kind;
using worker::Stop;

constexpr double kTheta = 10000.0;
// Queries up to this many stream the cache (each K and V byte serves few
// flops); more are compute bound and run cache-resident.
constexpr int64_t kStreamingQueries = 8;

// Decode: the context chunk (tokens per task: fewer chunks to combine vs
// enough tasks for the threads). Prefill: the chunk and the queries per task
// (K and V reuse vs tasks). The vector width stays at the lowering's default
// (the widest that fits half a head).
std::vector<dsl::TuneAxis> axes(const dsl::KernelSpec &, const targets::TargetInfo &, dsl::Bucket bucket) {
    std::vector<dsl::TuneAxis> out;
    if (bucket == dsl::Bucket::Prefill) {
        out.push_back(makeAxis(Kind::Split, {"t"}, {512, 256, 1024, 2048}));
        out.push_back(makeAxis(Kind::Split, {"h"}, {16, 8, 32, 64}));
    } else {
        out.push_back(makeAxis(Kind::Split, {"t"}, {1024, 256, 512, 2048, 4096}));
    }
    return out;
}

bool streams(const Task &task) { return task.shape.rows() <= kStreamingQueries; }

// ---- the worker's measurement -------------------------------------------------

struct Api {
    kf_status (*create)(const kf_kernel_def *, const char *, kf_attention **) = nullptr;
    void (*destroy)(kf_attention *) = nullptr;
    kf_status (*cacheCreate)(const kf_attention *, int, int64_t, kf_kv_cache **) = nullptr;
    void (*cacheDestroy)(kf_kv_cache *) = nullptr;
    kf_status (*append)(kf_attention *, kf_kv_cache *, int, const float *, const float *, int64_t, int64_t, double,
                        int) = nullptr;
    kf_status (*run)(kf_attention *, const kf_kv_cache *, int, const float *, int64_t, int64_t, double, float *,
                     int) = nullptr;
    kf_status (*read)(const kf_kv_cache *, int, int, int64_t, int64_t, uint8_t *, float *, float *) = nullptr;
    const char *(*variantForTokens)(const kf_attention *, int64_t) = nullptr;

    explicit Api(const worker::Library &lib) {
        lib.bind("kf_attention_create", create);
        lib.bind("kf_attention_destroy", destroy);
        lib.bind("kf_kv_cache_create", cacheCreate);
        lib.bind("kf_kv_cache_destroy", cacheDestroy);
        lib.bind("kf_kv_cache_append", append);
        lib.bind("kf_attention_run", run);
        lib.bind("kf_kv_cache_read", read);
        lib.bind("kf_attention_variant_for_tokens", variantForTokens);
    }
};

// Layer 0's K or V: the values its contents stand for, [kvHeads][len][d].
std::vector<double> cacheValues(const Api &api, const worker::Library &lib, const kf_kv_cache *cache, int which,
                                const dsl::RotationAttentionParams &p, int64_t len) {
    const int64_t tokenHeads = len * p.numKvHeads;
    std::vector<uint8_t> codes(static_cast<std::size_t>(tokenHeads * ref::referenceCodeBytes(p)));
    std::vector<float> scales(static_cast<std::size_t>(tokenHeads * ref::referenceGroups(p))), zeros(scales.size());
    if (kf_status st = api.read(cache, 0, which, 0, len, codes.data(), scales.data(), zeros.data()); st != KF_OK)
        throw Stop("error", lib.failure("kf_kv_cache_read", st));
    return ref::referenceCacheValues(p, codes.data(), scales.data(), zeros.data(), tokenHeads);
}

Measurement measure(worker::Call &call) {
    const RunRequest &r = call.request;
    const auto &p = std::get<dsl::RotationAttentionParams>(call.kernel.params);
    const Api api(call.library);
    const int64_t T = std::max<int64_t>(1, r.shape.rows());
    const int64_t ctx = std::max(T, call.dim("ctx"));
    const int threads = call.threads;
    const int64_t kvRow = int64_t{p.numKvHeads} * p.headDim, qRow = int64_t{p.numHeads} * p.headDim;

    kf_attention *a = nullptr;
    if (kf_status st = api.create(call.def, nullptr, &a); st != KF_OK)
        throw Stop("error", call.library.failure("kf_attention_create", st));
    kf_kv_cache *cache = nullptr;
    struct Destroy {
        const Api &api;
        kf_attention *&a;
        kf_kv_cache *&c;
        ~Destroy() {
            if (c) api.cacheDestroy(c);
            api.destroy(a);
        }
    } destroy{api, a, cache};

    // Enough layers of ctx tokens to make the stream size (one when resident:
    // the tuner streams only the tasks `streams` says, else streamBytes is 0).
    const int64_t bytesPerLayer =
        2 * ctx * p.numKvHeads * (ref::referenceCodeBytes(p) + (p.kvBits > 8 ? 0 : 8 * ref::referenceGroups(p)));
    const int64_t layers =
        std::clamp<int64_t>((std::max<int64_t>(0, r.streamBytes) + bytesPerLayer - 1) / bytesPerLayer, 1, 65536);
    if (kf_status st = api.cacheCreate(a, static_cast<int>(layers), ctx, &cache); st != KF_OK)
        throw Stop("error", call.library.failure("kf_kv_cache_create", st));
    const int64_t piece = std::min<int64_t>(ctx, 512);
    const std::vector<float> k = ref::randomValues(piece * kvRow, worker::kWeightSeed),
                             v = ref::randomValues(piece * kvRow, worker::kWeightSeed + 1);
    for (int64_t layer = 0; layer < layers; ++layer)
        for (int64_t pos = 0; pos < ctx; pos += piece)
            if (kf_status st = api.append(a, cache, static_cast<int>(layer), k.data(), v.data(),
                                          std::min(piece, ctx - pos), pos, kTheta, 0);
                st != KF_OK)
                throw Stop("error", call.library.failure("kf_kv_cache_append", st));

    Measurement out;
    if (const char *variant = api.variantForTokens(a, T)) out.variant = variant;
    const std::vector<float> q = ref::randomValues(T * qRow, worker::kInputSeed);
    std::vector<float> y(q.size());
    const int64_t first = ctx - T;
    auto runLayer = [&](std::size_t layer) {
        if (kf_status st = api.run(a, cache, static_cast<int>(layer), q.data(), T, first, kTheta, y.data(), threads);
            st != KF_OK)
            throw Stop("error", call.library.failure("kf_attention_run", st));
    };

    // Check layer 0 before anything is timed: the reference over the cache's
    // own values (only the kernel's arithmetic is compared).
    runLayer(0);
    if (call.wrong) y[0] += 1.0f + std::fabs(y[0]);
    const std::vector<double> keys = cacheValues(api, call.library, cache, 0, p, ctx),
                              values = cacheValues(api, call.library, cache, 1, p, ctx);
    std::vector<double> want(q.size());
    ref::referenceAttention(p, q.data(), T, first, kTheta, keys.data(), values.data(), ctx, want.data());
    if (const double err = ref::relativeError(y.data(), want.data(), static_cast<int64_t>(y.size()));
        !(err <= worker::kMaxRelativeError)) {
        char msg[200];
        std::snprintf(msg, sizeof msg, "attention does not match the reference at T %lld, ctx %lld: relative L2 error %.3g > %g",
                      static_cast<long long>(T), static_cast<long long>(ctx), err, worker::kMaxRelativeError);
        throw Stop("wrong", msg);
    }

    out.packedBytes = bytesPerLayer;
    const double peak = r.computePeak > 0 ? r.computePeak : computePeak(false, threads);
    worker::timeCalls(r, static_cast<std::size_t>(bytesPerLayer * layers), threads, static_cast<std::size_t>(layers),
                      runLayer, out);
    // The roofline: the layer's K and V at the read bandwidth, or 4 d flops
    // per (query head, visible token) at the f32 FMA peak.
    double visible = 0;
    for (int64_t t = 0; t < T; ++t) visible += double(p.causal ? first + t + 1 : ctx);
    const double memory = out.readBandwidth > 0 ? double(bytesPerLayer) / out.readBandwidth : 0.0;
    const double flops = 4.0 * p.headDim * p.numHeads * visible;
    const double compute = peak > 0 ? flops / peak : 0.0;
    out.rooflineSeconds = std::max(memory, compute);
    out.bytes = double(bytesPerLayer);
    out.ops = flops;
    out.computePeak = peak;
    return out;
}

}  // namespace

FamilyTuning family() {
    return FamilyTuning{
        .family = dsl::Family::RotationAttention,
        .axes = axes,
        .features = nullptr,
        .layoutAxes = {},
        .streams = streams,
        .int8Roofline = nullptr,
        .measure = measure,
    };
}

}  // namespace kf::autotune::rotation_attention
