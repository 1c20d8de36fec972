// The lowbit_linear family's tuner record (autotune/Family.h): its default
// space per target and bucket, its transfer features, the axes that fix its
// packed layout, and the worker's measurement of a candidate (a random layer
// checked against referenceLinear, then copies of it streamed from memory).
#include <kforge/linear.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

#include "autotune/Family.h"
#include "codegen/Lowering.h"
#include "codegen/lowbit_linear/LinearSchedule.h"
#include "dsl/families/lowbit_linear/RandomLayer.h"
#include "dsl/families/lowbit_linear/Reference.h"

namespace kf::autotune::lowbit_linear {

namespace {

namespace lowbit = kf::families::lowbit;
using Kind = dsl::Directive::Kind;
using worker::Stop;

// A word axis (TuneAxis::words): values are the indices of the words.
float log2Feature(int64_t v) { return v > 0 ? static_cast<float>(std::log2(static_cast<double>(v))) : -1.0f; }

// The default space of the Halide lowering (codegen/lowbit_linear/LinearSchedule.h
// says what each knob does). Sized for roughly 100-200 legal decode points
// (~2 s each to build and time): the packed tile (interleave: up to four
// vectors of rows, and at least 32 so that narrow targets try two row
// groups), rows per parallel task, unrolling of the k-block loop, the
// software prefetch distance, and per-channel scales' k-chunk; for int8
// activations in buckets with several rows, rows of x per decoded weight
// vector (split m) and the loop order (reorder k m: each chunk decoded once
// for all rows) instead of prefetch. The packed layout (pack weight layout)
// is not in the default space: every decode measurement so far has the
// default planes ahead, since the others stream more bytes
// (bench/README.md, "Packed layouts"); a tune block can add it.
std::vector<dsl::TuneAxis> halideAxes(const dsl::LowbitLinearParams &p, const targets::TargetInfo &target,
                                      bool rowsTuned, int64_t kBlock) {
    const int64_t lanes = std::max(1, target.vectorBits / 32);
    std::vector<int64_t> interleaves;
    for (int64_t i : {16, 32, 64})
        if (i <= std::max<int64_t>(32, 4 * lanes)) interleaves.push_back(i);
    std::vector<dsl::TuneAxis> out;
    out.push_back(makeAxis(Kind::Pack, {"weight"}, interleaves, "interleave"));
    out.push_back(makeAxis(Kind::Split, {"n"}, {64, 128, 256, 512}));
    if (p.group == 0) {
        // The k-chunk is free only with per-channel scales; it multiplies the
        // space by three, so unroll and prefetch take fewer values here.
        out.push_back(makeAxis(Kind::Split, {"k"}, {4 * kBlock, 8 * kBlock, 16 * kBlock}));
        out.push_back(makeAxis(Kind::Unroll, {"k"}, {1, 2 * kBlock}));
        if (!rowsTuned) out.push_back(makeAxis(Kind::Prefetch, {"weight"}, {0, 64, 128}));
    } else {
        out.push_back(makeAxis(Kind::Unroll, {"k"}, {1, 2 * kBlock, 4 * kBlock}));
        if (!rowsTuned) out.push_back(makeAxis(Kind::Prefetch, {"weight"}, {0, 32, 64, 128}));
    }
    if (rowsTuned) {
        out.push_back(makeAxis(Kind::Split, {"m"}, {1, 2, 4}));
        // Decode each chunk once for all rows, or once per tile of rows.
        out.push_back(makeWordAxis(Kind::Reorder, {}, {"m k", "k m"}));
    }
    return out;
}

// The MLIR kernel's (codegen/lowbit_linear/LowbitLinearMlir.h): no unroll
// or loop-order knobs; its tile, rows per parallel task, the f32 path's
// per-channel k-chunk, and rows of x per pass over the weights. Scalable SVE
// has no prefetch (and any tile serves every vector length: the last strip
// is predicated). AVX-512 tiles are whole 512-bit strips, and in decode the
// software prefetch is tuned: distance (4-16 KiB of a 64-row int4 tile) and
// locality, the reason this kernel exists (Halide 14 has prefetchnta only).
std::vector<dsl::TuneAxis> mlirAxes(const dsl::LowbitLinearParams &p, const targets::TargetInfo &target,
                                    bool rowsTuned, int64_t kBlock) {
    const bool sve = target.caps.scalableVectors;
    std::vector<dsl::TuneAxis> out;
    out.push_back(makeAxis(Kind::Pack, {"weight"}, sve ? std::vector<int64_t>{16, 32, 64} : std::vector<int64_t>{32, 64},
                           "interleave"));
    out.push_back(makeAxis(Kind::Split, {"n"}, {64, 128, 256, 512}));
    if (p.group == 0 && p.input != dsl::ActKind::QInt8PerToken)
        out.push_back(makeAxis(Kind::Split, {"k"}, {4 * kBlock, 8 * kBlock, 16 * kBlock}));
    if (rowsTuned) out.push_back(makeAxis(Kind::Split, {"m"}, {1, 2, 4, 8}));
    if (!sve && !rowsTuned) {
        out.push_back(makeAxis(Kind::Prefetch, {"weight"}, {0, 128, 256, 512}));
        dsl::TuneAxis hint = makeWordAxis(Kind::Prefetch, {"weight"}, {"nta", "t1", "t0"});
        hint.option = "hint";
        out.push_back(hint);
    }
    return out;
}

// The same directive (and option) as a tune block would name it.
bool sameAxis(const dsl::TuneAxis &a, const dsl::TuneAxis &b) {
    return a.directive.kind == b.directive.kind && a.directive.vars == b.directive.vars && a.option == b.option;
}

// Each backend that covers the kernel on the target (the target's order),
// with its own default axes.
std::vector<std::pair<std::string, std::vector<dsl::TuneAxis>>> backendSpaces(const dsl::KernelSpec &kernel,
                                                                               const targets::TargetInfo &target,
                                                                               dsl::Bucket bucket) {
    const auto &p = std::get<dsl::LowbitLinearParams>(kernel.params);
    const bool base3 = p.weight.kind == dsl::WeightKind::Ternary && p.weight.ternaryBase3;
    const int64_t kBlock = base3 ? 20 : 32;  // packed k per block
    // int8 with several rows of x is compute-bound: the software prefetch
    // stays at the lowering's default (0; every tuned prefill schedule in
    // bench/lowbit_linear/lowbit_bench.kf chose 0), and the loop order is tuned.
    const bool rowsTuned = p.input == dsl::ActKind::QInt8PerToken && dsl::bucketDef(bucket).minRows > 1;
    std::vector<std::pair<std::string, std::vector<dsl::TuneAxis>>> out;
    for (const codegen::BackendLowering *l : codegen::coveringLowerings(kernel, target)) {
        const std::string_view name = l->backend;
        if (name == "mlir")
            out.emplace_back(name, mlirAxes(p, target, rowsTuned, kBlock));
        else if (name == "halide")
            out.emplace_back(name, halideAxes(p, target, rowsTuned, kBlock));
    }
    // None: the Halide space, which pruning then rejects with the lowering's "no lowering" error.
    if (out.empty()) out.emplace_back("halide", halideAxes(p, target, rowsTuned, kBlock));
    return out;
}

// The default space: the axes of the backend the kernel lowers through on
// the target; where several of the target's backends cover it (arm64-sve:
// MLIR and Halide for most formats; x86-avx512vnni: Halide and MLIR), the
// backend as a word axis (the target's order) and the union of their axes,
// a shared axis taking the values of both. inDefaultSpace then keeps each
// point to its backend's own values (one value of the axes it does not
// have), and the backend's check prunes what it cannot honour.
std::vector<dsl::TuneAxis> axes(const dsl::KernelSpec &kernel, const targets::TargetInfo &target, dsl::Bucket bucket) {
    const auto spaces = backendSpaces(kernel, target, bucket);
    if (spaces.size() == 1) return spaces[0].second;

    std::vector<std::string> backends;
    for (const auto &space : spaces) backends.push_back(space.first);
    std::vector<dsl::TuneAxis> out;
    out.push_back(makeWordAxis(Kind::Backend, {}, backends));
    for (const auto &space : spaces)
        for (const dsl::TuneAxis &axis : space.second) {
            auto it = std::find_if(out.begin(), out.end(), [&](const dsl::TuneAxis &o) { return sameAxis(o, axis); });
            if (it == out.end()) {
                out.push_back(axis);
                continue;
            }
            if (!it->words.empty()) {
                for (const std::string &w : axis.words)
                    if (std::find(it->words.begin(), it->words.end(), w) == it->words.end()) {
                        it->values.push_back(static_cast<int64_t>(it->words.size()));
                        it->words.push_back(w);
                    }
                continue;
            }
            for (int64_t v : axis.values)
                if (std::find(it->values.begin(), it->values.end(), v) == it->values.end()) it->values.push_back(v);
            std::sort(it->values.begin(), it->values.end());
        }
    return out;
}

// The text of an axis's value in the lowering's default schedule `d`
// ("" for an axis without one).
std::string defaultText(const dsl::TuneAxis &axis, const codegen::lowbit::LinearSchedule &d) {
    const std::string var = axis.directive.vars.empty() ? "" : axis.directive.vars[0];
    switch (axis.directive.kind) {
    case Kind::Pack: return axis.option == "interleave" ? std::to_string(d.interleave) : codegen::lowbit::toString(d.layout);
    case Kind::Split:
        return var == "n" ? std::to_string(d.nBlock) : var == "k" ? std::to_string(d.kChunk) : std::to_string(d.mTile);
    case Kind::Unroll: return std::to_string(d.unrollK);
    case Kind::Prefetch: return axis.option == "hint" ? codegen::lowbit::toString(d.prefetchHint) : std::to_string(d.prefetch);
    case Kind::Reorder: return d.chunkOuter ? "k m" : "m k";
    default: return "";
    }
}

// Whether a point of the joined space is in its backend's own space: each
// axis the backend has takes one of its own values; each axis it does not
// have, the lowering's default (so that the point is counted once and the
// backend's check, which refuses knobs it does not lower, keeps it). A hint
// with no prefetch is the same kernel as nta: kept once.
bool inDefaultSpace(const dsl::KernelSpec &kernel, const targets::TargetInfo &target, dsl::Bucket bucket,
                    const std::vector<dsl::TuneAxis> &joined, const std::vector<int64_t> &values) {
    const auto spaces = backendSpaces(kernel, target, bucket);
    if (spaces.size() < 2) return true;
    const codegen::lowbit::LinearSchedule defaults =
        codegen::lowbit::resolveSchedule(std::get<dsl::LowbitLinearParams>(kernel.params), nullptr, target);
    const std::vector<dsl::TuneAxis> *own = &spaces[0].second;
    for (std::size_t a = 0; a < joined.size(); ++a)
        if (joined[a].directive.kind == Kind::Backend)
            for (const auto &space : spaces)
                if (space.first == joined[a].words.at(static_cast<std::size_t>(values[a]))) own = &space.second;
    bool noPrefetch = false, hinted = false;
    for (std::size_t a = 0; a < joined.size(); ++a) {
        const dsl::TuneAxis &axis = joined[a];
        if (axis.directive.kind == Kind::Backend) continue;
        const auto mine = std::find_if(own->begin(), own->end(), [&](const dsl::TuneAxis &o) { return sameAxis(o, axis); });
        if (mine == own->end()) {
            const std::string text =
                axis.words.empty() ? std::to_string(values[a]) : axis.words.at(static_cast<std::size_t>(values[a]));
            if (text != defaultText(axis, defaults)) return false;
            continue;
        }
        if (!axis.words.empty()) {
            const std::string &word = axis.words.at(static_cast<std::size_t>(values[a]));
            if (std::find(mine->words.begin(), mine->words.end(), word) == mine->words.end()) return false;
            if (axis.directive.kind == Kind::Prefetch && axis.option == "hint") hinted = word != "nta";
        } else {
            if (std::find(mine->values.begin(), mine->values.end(), values[a]) == mine->values.end()) return false;
            if (axis.directive.kind == Kind::Prefetch && axis.option.empty()) noPrefetch = values[a] == 0;
        }
    }
    return !(noPrefetch && hinted);
}

// The task-independent features of a schedule (Space.h, transferFeatures):
// what the lowering will actually do (the resolved schedule, defaults filled
// in), then what the task is.
std::vector<float> features(const Task &task, const dsl::Schedule &schedule) {
    const auto &p = std::get<dsl::LowbitLinearParams>(task.kernel->params);
    const codegen::lowbit::LinearSchedule s = codegen::lowbit::resolveSchedule(p, &schedule, *task.target);
    const bool base3 = p.weight.kind == dsl::WeightKind::Ternary && p.weight.ternaryBase3;
    const int kBlock = base3 ? 20 : 32;
    const dsl::Shape &shape = task.shape;
    // The code generator, as its place in the registry (Backend.h): the same
    // numbers run differently through Halide and MLIR.
    const std::string_view backend = codegen::loweringFor(*task.kernel, *task.target, &schedule).backend;
    std::size_t backendIndex = 0;
    while (backendIndex < codegen::backends().size() && codegen::backends()[backendIndex]->name != backend) ++backendIndex;
    return {
        log2Feature(s.interleave), log2Feature(s.vector), log2Feature(s.nBlock),
        log2Feature(s.nBlock / s.interleave),  // packed tiles per parallel task
        log2Feature(s.kChunk), log2Feature(std::max(1, s.unrollK / kBlock)),  // k-blocks unrolled
        log2Feature(s.mTile), log2Feature(s.prefetch),
        log2Feature(std::max<int64_t>(1, shape.rows())), log2Feature(std::max<int64_t>(1, shape[p.n.name])),
        log2Feature(std::max<int64_t>(1, shape[p.k.name])),
        base3 ? 1.6f : static_cast<float>(p.weight.bits),  // bits per weight as stored
        static_cast<float>(p.weight.kind), static_cast<float>(p.input), log2Feature(p.group),
        log2Feature(task.target->vectorBits),
        static_cast<float>(s.layout), s.chunkOuter ? 1.0f : 0.0f,  // later additions at the end
        static_cast<float>(s.prefetchHint), static_cast<float>(backendIndex),
    };
}

// Decode and small batches read each weight once per call: memory bound.
bool streams(const Task &task) { return task.bucket != dsl::Bucket::Prefill; }

bool int8Roofline(const dsl::KernelSpec &kernel) {
    return std::get<dsl::LowbitLinearParams>(kernel.params).input == dsl::ActKind::QInt8PerToken;
}

// ---- the worker's measurement -------------------------------------------------

struct Api {
    kf_status (*create)(const kf_kernel_def *, int64_t, int64_t, const char *, kf_linear **) = nullptr;
    void (*destroy)(kf_linear *) = nullptr;
    kf_status (*packWeights)(kf_linear *, const kf_linear_weights *) = nullptr;
    kf_status (*copyWeights)(kf_linear *, const kf_linear *) = nullptr;
    size_t (*packedBytes)(const kf_linear *) = nullptr;
    kf_status (*run)(kf_linear *, const void *, int64_t, float *, int) = nullptr;
    const char *(*variantForRows)(const kf_linear *, int64_t) = nullptr;

    explicit Api(const worker::Library &lib) {
        lib.bind("kf_linear_create", create);
        lib.bind("kf_linear_destroy", destroy);
        lib.bind("kf_linear_pack_weights", packWeights);
        lib.bind("kf_linear_copy_weights", copyWeights);
        lib.bind("kf_linear_packed_bytes", packedBytes);
        lib.bind("kf_linear_run", run);
        lib.bind("kf_linear_variant_for_rows", variantForRows);
    }
};

// The layers of one measurement, destroyed with it.
struct Layers {
    const Api &api;
    std::vector<kf_linear *> all;
    explicit Layers(const Api &a) : api(a) {}
    ~Layers() {
        for (kf_linear *l : all) api.destroy(l);
    }
    Layers(const Layers &) = delete;
    Layers &operator=(const Layers &) = delete;
};

Measurement measure(worker::Call &call) {
    const RunRequest &r = call.request;
    const auto &p = std::get<dsl::LowbitLinearParams>(call.kernel.params);
    const Api api(call.library);
    const int64_t M = r.shape.rows(), N = call.dim(p.n.name, &p.n), K = call.dim(p.k.name, &p.k);
    const int threads = call.threads;

    Measurement out;
    Layers layers(api);
    auto create = [&] {
        kf_linear *l = nullptr;
        if (kf_status st = api.create(call.def, N, K, nullptr, &l); st != KF_OK)
            throw Stop("error", call.library.failure("kf_linear_create", st));
        layers.all.push_back(l);
        return l;
    };

    // Check layer 0 at M rows before anything is timed.
    kf_linear *first = create();
    const lowbit::RandomLayer w = lowbit::makeRandomLayer(p, N, K, worker::kWeightSeed);
    const lowbit::RandomInput x = lowbit::makeRandomInput(p, M, K, worker::kInputSeed);
    const lowbit::ReferenceWeights rw = w.reference();
    const kf_linear_weights weights{rw.codes, rw.scales, rw.zeroPoints, rw.codebook, rw.bias};
    if (kf_status st = api.packWeights(first, &weights); st != KF_OK)
        throw Stop("error", call.library.failure("kf_linear_pack_weights", st));
    if (const char *v = api.variantForRows(first, M)) out.variant = v;
    std::vector<float> y(static_cast<std::size_t>(M * N), NAN);
    if (kf_status st = api.run(first, x.data(), M, y.data(), threads); st != KF_OK)
        throw Stop("error", call.library.failure("kf_linear_run", st));
    if (call.wrong) y[0] += 1.0f + std::fabs(y[0]);
    const std::vector<int64_t> rows = worker::checkedRows(M);
    if (double err = lowbit::relativeError(p, w.n, w.k, w.reference(), x.data(), y.data(), rows);
        !(err <= worker::kMaxRelativeError)) {
        char msg[200];
        std::snprintf(msg, sizeof msg,
                      "result does not match the reference at %lldx%lldx%lld: relative L2 error %.3g > %g "
                      "(%zu rows checked)",
                      static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K), err,
                      worker::kMaxRelativeError, rows.size());
        throw Stop("wrong", msg);
    }

    // Copies of layer 0 until they total streamBytes (memory-bound shapes
    // then stream from DRAM, as in a model, rather than from cache).
    const std::size_t packed = api.packedBytes(first);
    if (packed == 0) throw Stop("error", "kf_linear_packed_bytes returned 0");
    const std::size_t count =
        std::max<std::size_t>(1, (static_cast<std::size_t>(std::max<int64_t>(0, r.streamBytes)) + packed - 1) / packed);
    while (layers.all.size() < count)
        if (kf_status st = api.copyWeights(create(), first); st != KF_OK)
            throw Stop("error", call.library.failure("kf_linear_copy_weights", st));
    out.packedBytes = static_cast<int64_t>(packed);
    const double peak = r.computePeak > 0 ? r.computePeak : computePeak(int8Roofline(call.kernel), threads);
    worker::timeCalls(r, packed * count, threads, count, [&](std::size_t i) {
        if (kf_status st = api.run(layers.all[i], x.data(), M, y.data(), threads); st != KF_OK)
            throw Stop("error", call.library.failure("kf_linear_run", st));
    }, out);
    // The roofline: the packed weights at the read bandwidth, or 2 M N K ops at the compute peak.
    const double memory = out.readBandwidth > 0 ? double(packed) / out.readBandwidth : 0.0;
    const double ops = 2.0 * double(M) * double(N) * double(K);
    const double compute = peak > 0 ? ops / peak : 0.0;
    out.rooflineSeconds = std::max(memory, compute);
    out.bytes = double(packed);
    out.ops = ops;
    out.computePeak = peak;
    return out;
}

}  // namespace

FamilyTuning family() {
    return FamilyTuning{
        .family = dsl::Family::LowbitLinear,
        .axes = axes,
        .inDefaultSpace = inDefaultSpace,
        .features = features,
        .layoutAxes = {"pack weight interleave", "pack weight layout", "split k"},
        .streams = streams,
        .int8Roofline = int8Roofline,
        .measure = measure,
    };
}

}  // namespace kf::autotune::lowbit_linear
