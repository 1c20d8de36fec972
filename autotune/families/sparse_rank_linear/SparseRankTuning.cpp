// The sparse_rank_linear family's tuner record (autotune/Family.h): its
// default space (codegen/sparse_rank_linear/SparseRankHalide.h, tuneAxes),
// the axes that fix its packed layout, and the worker's measurement of a
// candidate: a random layer (W from the low-bit family's random layers, U
// and V normal) and inputs at the papers' operating point — half of the
// channels below the threshold, or a top-k kernel's own k — checked against
// the double-precision reference, then copies of the layer streamed from
// memory. The roofline is the bytes the call read (kf_sparse_rank_last_stats)
// at the read bandwidth, or its flops at the FMA peak.
#include <kforge/sparse_rank.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "autotune/Family.h"
#include "codegen/sparse_rank_linear/SparseRankHalide.h"
#include "dsl/families/lowbit_linear/RandomLayer.h"
#include "dsl/families/lowbit_linear/ReferenceQuantizer.h"
#include "dsl/families/sparse_rank_linear/Reference.h"
#include "perf/Ceilings.h"

namespace kf::autotune::sparse_rank_linear {

namespace {

namespace ref = kf::families::sparse_rank_linear;
namespace lowbit = kf::families::lowbit;
using worker::Stop;

constexpr float kTau = 0.5f;         // the threshold the measurement sets
constexpr double kSparsity = 0.5;    // of the measurement's inputs (threshold kernels)

dsl::TuneAxis axisOf(const codegen::sparse_rank_linear::TuneAxisSpec &spec) {
    if (spec.axis == "reorder") return makeWordAxis(dsl::Directive::Kind::Reorder, {}, spec.words);
    std::istringstream words(spec.axis);
    std::string primitive, var;
    words >> primitive >> var;
    using Kind = dsl::Directive::Kind;
    const Kind kind = primitive == "unroll" ? Kind::Unroll : primitive == "prefetch" ? Kind::Prefetch : Kind::Split;
    return makeAxis(kind, {var}, spec.values);
}

std::vector<dsl::TuneAxis> axes(const dsl::KernelSpec &kernel, const targets::TargetInfo &target, dsl::Bucket bucket) {
    std::vector<dsl::TuneAxis> out;
    for (const auto &spec :
         codegen::sparse_rank_linear::tuneAxes(std::get<dsl::SparseRankLinearParams>(kernel.params), target, bucket))
        out.push_back(axisOf(spec));
    return out;
}

bool streams(const Task &) { return true; }

struct Api {
    kf_status (*create)(const kf_kernel_def *, int64_t, int64_t, const char *, kf_sparse_rank **) = nullptr;
    void (*destroy)(kf_sparse_rank *) = nullptr;
    kf_status (*pack)(kf_sparse_rank *, const kf_sparse_rank_weights *) = nullptr;
    kf_status (*setThreshold)(kf_sparse_rank *, float) = nullptr;
    kf_status (*run)(kf_sparse_rank *, const float *, int64_t, float *, int) = nullptr;
    kf_status (*lastStats)(const kf_sparse_rank *, kf_sparse_rank_stats *) = nullptr;
    size_t (*packedBytes)(const kf_sparse_rank *) = nullptr;
    const char *(*variantForRows)(const kf_sparse_rank *, int64_t) = nullptr;

    explicit Api(const worker::Library &lib) {
        lib.bind("kf_sparse_rank_create", create);
        lib.bind("kf_sparse_rank_destroy", destroy);
        lib.bind("kf_sparse_rank_pack", pack);
        lib.bind("kf_sparse_rank_set_threshold", setThreshold);
        lib.bind("kf_sparse_rank_run", run);
        lib.bind("kf_sparse_rank_last_stats", lastStats);
        lib.bind("kf_sparse_rank_packed_bytes", packedBytes);
        lib.bind("kf_sparse_rank_variant_for_rows", variantForRows);
    }
};

// x [M][K]: per row, kSparsity of the channels at |x| <= 0.25 (below kTau),
// the rest in [1, 2); magnitudes distinct almost surely (top-k kernels).
std::vector<float> makeInput(int64_t M, int64_t K) {
    std::mt19937_64 rng(worker::kInputSeed);
    std::uniform_real_distribution<float> low(0.0f, 0.25f), high(1.0f, 2.0f);
    std::vector<float> x(static_cast<size_t>(M * K));
    std::vector<int64_t> order(static_cast<size_t>(K));
    const int64_t off = static_cast<int64_t>(kSparsity * static_cast<double>(K));
    for (int64_t m = 0; m < M; ++m) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        for (int64_t i = 0; i < K; ++i) {
            const float mag = i < off ? low(rng) : high(rng);
            x[static_cast<size_t>(m * K + order[static_cast<size_t>(i)])] = (rng() & 1) ? mag : -mag;
        }
    }
    return x;
}

Measurement measure(worker::Call &call) {
    const RunRequest &r = call.request;
    const auto &p = std::get<dsl::SparseRankLinearParams>(call.kernel.params);
    const Api api(call.library);
    const int64_t M = r.shape.rows(), N = call.dim(p.n.name, &p.n), K = call.dim(p.k.name, &p.k), R = p.rank;
    const int threads = call.threads;

    // The layer's tensors and, for int8 factors, U and V as packing quantizes them.
    std::vector<uint8_t> codes, scales;
    std::vector<float> w, u(static_cast<size_t>(N * R)), v(static_cast<size_t>(R * K));
    std::mt19937_64 rng(worker::kWeightSeed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    if (p.noWeight) {
    } else if (p.denseWeight) {
        w.resize(static_cast<size_t>(N * K));
        for (float &e : w) e = normal(rng);
    } else {
        dsl::LowbitLinearParams lp;
        lp.weight = p.weight;
        lp.group = p.group;
        lp.scaleType = p.scaleType;
        lowbit::RandomLayer layer = lowbit::makeRandomLayer(lp, N, K, worker::kWeightSeed);
        codes = std::move(layer.codes);
        scales = std::move(layer.scales);
    }
    for (float &e : u) e = normal(rng);
    for (float &e : v) e = normal(rng);
    const kf_sparse_rank_weights weights{codes.empty() ? nullptr : codes.data(), scales.empty() ? nullptr : scales.data(),
                                         w.empty() ? nullptr : w.data(), R ? u.data() : nullptr, R ? v.data() : nullptr};
    ref::ReferenceLayer rl{N, K, R, weights.codes, weights.scales, weights.w, weights.u, weights.v};
    lowbit::QuantizedWeights qu, qv;
    std::vector<float> us, vs;
    if (p.factorBits == 8 && R > 0) {
        dsl::LowbitLinearParams lp;
        lp.weight = dsl::WeightFormat{dsl::WeightKind::Int, 8, false, false};
        lp.scaleType = dsl::ScalarType::F32;
        qu = lowbit::referenceQuantize(lp, N, R, u.data());
        qv = lowbit::referenceQuantize(lp, R, K, v.data());
        us.assign(qu.scales.begin(), qu.scales.end());
        vs.assign(qv.scales.begin(), qv.scales.end());
        rl.uCodes = qu.codes.data();
        rl.uScales = us.data();
        rl.vCodes = qv.codes.data();
        rl.vScales = vs.data();
    }

    std::vector<kf_sparse_rank *> layers;
    struct Destroy {
        const Api &api;
        std::vector<kf_sparse_rank *> &all;
        ~Destroy() {
            for (kf_sparse_rank *l : all) api.destroy(l);
        }
    } destroy{api, layers};
    auto create = [&] {
        kf_sparse_rank *l = nullptr;
        if (kf_status st = api.create(call.def, N, K, nullptr, &l); st != KF_OK)
            throw Stop("error", call.library.failure("kf_sparse_rank_create", st));
        layers.push_back(l);
        if (kf_status st = api.pack(l, &weights); st != KF_OK)
            throw Stop("error", call.library.failure("kf_sparse_rank_pack", st));
        if (p.mode == dsl::SparsityMode::Threshold && !p.noWeight)
            if (kf_status st = api.setThreshold(l, kTau); st != KF_OK)
                throw Stop("error", call.library.failure("kf_sparse_rank_set_threshold", st));
        return l;
    };

    // Layer 0 against the reference at M rows before anything is timed.
    kf_sparse_rank *first = create();
    const std::vector<float> x = makeInput(M, K);
    std::vector<float> y(static_cast<size_t>(M * N), NAN);
    if (kf_status st = api.run(first, x.data(), M, y.data(), threads); st != KF_OK)
        throw Stop("error", call.library.failure("kf_sparse_rank_run", st));
    if (call.wrong) y[0] += 1.0f + std::fabs(y[0]);
    const std::vector<int64_t> rows = worker::checkedRows(M);
    std::vector<float> xr;
    for (int64_t row : rows) xr.insert(xr.end(), x.begin() + row * K, x.begin() + (row + 1) * K);
    const std::vector<double> expect = ref::referenceSparseRank(p, rl, xr.data(), static_cast<int64_t>(rows.size()), kTau);
    double num = 0, den = 0;
    for (size_t i = 0; i < rows.size(); ++i)
        for (int64_t n = 0; n < N; ++n) {
            const double d = y[static_cast<size_t>(rows[i] * N + n)] - expect[i * static_cast<size_t>(N) + static_cast<size_t>(n)];
            num += d * d;
            den += expect[i * static_cast<size_t>(N) + static_cast<size_t>(n)] * expect[i * static_cast<size_t>(N) + static_cast<size_t>(n)];
        }
    const double err = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    if (!(err <= worker::kMaxRelativeError)) {
        char msg[200];
        std::snprintf(msg, sizeof msg,
                      "result does not match the reference at %lldx%lldx%lld: relative L2 error %.3g > %g",
                      static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K), err,
                      worker::kMaxRelativeError);
        throw Stop("wrong", msg);
    }
    kf_sparse_rank_stats stats{};
    api.lastStats(first, &stats);

    // Copies until they total streamBytes, each packed from the same tensors.
    const size_t packed = api.packedBytes(first);
    const size_t count =
        std::max<size_t>(1, (static_cast<size_t>(std::max<int64_t>(0, r.streamBytes)) + packed - 1) / packed);
    while (layers.size() < count) create();
    Measurement out;
    if (const char *name = api.variantForRows(first, M)) out.variant = name;
    out.packedBytes = static_cast<int64_t>(stats.bytes_read);
    const double peak = r.computePeak > 0 ? r.computePeak : perf::fmaPeakFlops(threads);
    worker::timeCalls(r, packed * count, threads, count, [&](size_t i) {
        if (kf_status st = api.run(layers[i], x.data(), M, y.data(), threads); st != KF_OK)
            throw Stop("error", call.library.failure("kf_sparse_rank_run", st));
    }, out);
    const double flops = 2.0 * double(M) *
                         (double(N) * double(stats.active_columns) + double(R) * double(stats.inactive_columns + N));
    const double memory = out.readBandwidth > 0 ? double(stats.bytes_read) / out.readBandwidth : 0.0;
    out.rooflineSeconds = std::max(memory, peak > 0 ? flops / peak : 0.0);
    out.bytes = double(stats.bytes_read);
    out.ops = flops;
    out.computePeak = peak;
    return out;
}

}  // namespace

FamilyTuning family() {
    return FamilyTuning{
        .family = dsl::Family::SparseRankLinear,
        .axes = axes,
        .features = nullptr,
        .layoutAxes = {"split n", "split r"},
        .streams = streams,
        .int8Roofline = nullptr,
        .measure = measure,
    };
}

}  // namespace kf::autotune::sparse_rank_linear
