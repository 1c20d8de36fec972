// The hadamard family's tuner record (autotune/Family.h): its default space
// (the axes the lowering says are worth searching: codegen/hadamard/
// HadamardSchedule.h, tuneAxes), and the worker's measurement of a candidate:
// random rows checked against the dense double-precision reference, then
// blocks of rows streamed from memory (a rotation reads and writes every
// element once: memory bound at any row count).
#include <kforge/hadamard.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include "autotune/Family.h"
#include "codegen/hadamard/HadamardSchedule.h"
#include "dsl/families/hadamard/Reference.h"
#include "runtime/StreamMemory.h"

namespace kf::autotune::hadamard {

namespace {

namespace ref = kf::families::hadamard;
using worker::Stop;

// "split n" -> split on n, as a tune block writes it.
dsl::TuneAxis axisOf(const codegen::hadamard::TuneAxisSpec &spec) {
    std::istringstream words(spec.axis);
    std::string primitive, var;
    words >> primitive >> var;
    dsl::TuneAxis a;
    a.directive.kind = primitive == "vectorize" ? dsl::Directive::Kind::Vectorize
                       : primitive == "unroll"  ? dsl::Directive::Kind::Unroll
                                                : dsl::Directive::Kind::Split;
    a.directive.vars = {var};
    a.values = spec.values;
    return a;
}

std::vector<dsl::TuneAxis> axes(const dsl::KernelSpec &kernel, const targets::TargetInfo &target, dsl::Bucket) {
    std::vector<dsl::TuneAxis> out;
    for (const auto &spec : codegen::hadamard::tuneAxes(std::get<dsl::HadamardParams>(kernel.params), target))
        out.push_back(axisOf(spec));
    return out;
}

bool streams(const Task &) { return true; }

// ---- the worker's measurement -------------------------------------------------

struct Api {
    kf_status (*create)(const kf_kernel_def *, const char *, kf_hadamard **) = nullptr;
    void (*destroy)(kf_hadamard *) = nullptr;
    kf_status (*run)(kf_hadamard *, const float *, int64_t, float *, int) = nullptr;
    kf_status (*runQ8)(kf_hadamard *, const float *, int64_t, int8_t *, float *, int) = nullptr;
    const char *(*variantForRows)(const kf_hadamard *, int64_t) = nullptr;

    explicit Api(const worker::Library &lib) {
        lib.bind("kf_hadamard_create", create);
        lib.bind("kf_hadamard_destroy", destroy);
        lib.bind("kf_hadamard_run", run);
        lib.bind("kf_hadamard_run_q8", runQ8);
        lib.bind("kf_hadamard_variant_for_rows", variantForRows);
    }
};

// Rotations and int8 output agree with the reference to this (docs/formats.md,
// "Tolerances"): f32 butterflies over log2(n) stages.
constexpr double kMaxRotationError = 1e-6;

Measurement measure(worker::Call &call) {
    const RunRequest &r = call.request;
    const auto &p = std::get<dsl::HadamardParams>(call.kernel.params);
    const Api api(call.library);
    const bool int8 = p.output == dsl::ActKind::QInt8PerToken;
    const int64_t M = r.shape.rows(), n = call.dim(p.n.name, &p.n);
    const int threads = call.threads;

    kf_hadamard *h = nullptr;
    if (kf_status st = api.create(call.def, nullptr, &h); st != KF_OK)
        throw Stop("error", call.library.failure("kf_hadamard_create", st));
    struct Destroy {
        const Api &api;
        kf_hadamard *h;
        ~Destroy() { api.destroy(h); }
    } destroy{api, h};

    Measurement out;
    if (const char *v = api.variantForRows(h, M)) out.variant = v;
    // Blocks of M rows until input + output total streamBytes.
    const std::size_t outBytes = int8 ? 1 : 4;
    const std::size_t blockBytes = static_cast<std::size_t>(M * n) * (4 + outBytes);
    const std::size_t blocks =
        std::max<std::size_t>(1, (static_cast<std::size_t>(std::max<int64_t>(0, r.streamBytes)) + blockBytes - 1) / blockBytes);
    const std::size_t values = blocks * static_cast<std::size_t>(M * n);
    rt::StreamedArray<float> x = rt::allocateStreamedArray<float>(values);
    rt::StreamedArray<float> y = rt::allocateStreamedArray<float>(int8 ? 1 : values);
    rt::StreamedArray<int8_t> codes = rt::allocateStreamedArray<int8_t>(int8 ? values : 1);
    std::vector<float> scales(blocks * static_cast<std::size_t>(M));
    if (!x || !y || !codes) throw Stop("error", "cannot allocate " + std::to_string(values) + " rows' values");
    const std::vector<float> first = ref::randomRows(M, n, worker::kInputSeed);
    for (std::size_t b = 0; b < blocks; ++b) std::memcpy(&x[b * M * n], first.data(), first.size() * sizeof(float));
    auto runBlock = [&](std::size_t b) {
        const std::size_t at = b * static_cast<std::size_t>(M * n);
        const kf_status st = int8 ? api.runQ8(h, &x[at], M, &codes[at], &scales[b * M], threads)
                                  : api.run(h, &x[at], M, &y[at], threads);
        if (st != KF_OK) throw Stop("error", call.library.failure(int8 ? "kf_hadamard_run_q8" : "kf_hadamard_run", st));
    };

    // Check block 0 before anything is timed.
    runBlock(0);
    if (call.wrong) {
        if (int8)
            codes[0] = static_cast<int8_t>(codes[0] > 0 ? -127 : 127);
        else
            y[0] += 1.0f + std::fabs(y[0]);
    }
    const std::vector<int64_t> rows = worker::checkedRows(M);
    std::vector<float> xr;
    for (int64_t row : rows) xr.insert(xr.end(), first.begin() + row * n, first.begin() + (row + 1) * n);
    std::vector<double> expect(xr.size());
    ref::referenceHadamard(p, static_cast<int64_t>(rows.size()), xr.data(), expect.data());
    char msg[240] = "";
    if (!int8) {
        std::vector<float> got;
        for (int64_t row : rows) got.insert(got.end(), &y[row * n], &y[row * n] + n);
        if (double err = ref::relativeError(got.data(), expect.data(), static_cast<int64_t>(got.size()));
            !(err <= kMaxRotationError))
            std::snprintf(msg, sizeof msg, "result does not match the reference at %lldx%lld: relative L2 error %.3g > %g",
                          static_cast<long long>(M), static_cast<long long>(n), err, kMaxRotationError);
    } else {
        // The codes of the reference rotation, quantized: equal but where the
        // f32 rotation lands on the other side of a rounding boundary (one step).
        std::vector<int8_t> want(expect.size());
        std::vector<float> wantScales(rows.size());
        ref::referenceQuantizeRows(expect.data(), static_cast<int64_t>(rows.size()), n, want.data(), wantScales.data());
        int64_t off = 0, far = 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const int8_t *got = &codes[rows[i] * n];
            for (int64_t j = 0; j < n; ++j) {
                const int d = std::abs(int(got[j]) - int(want[i * n + j]));
                off += d != 0;
                far += d > 1;
            }
            if (!(std::fabs(scales[rows[i]] - wantScales[i]) <= kMaxRotationError * wantScales[i]))
                far += 1;
        }
        if (far || off > static_cast<int64_t>(expect.size() / 1000) + 1)
            std::snprintf(msg, sizeof msg,
                          "int8 rows do not match the quantized reference at %lldx%lld: %lld codes differ, %lld by "
                          "more than one step or in the scale",
                          static_cast<long long>(M), static_cast<long long>(n), static_cast<long long>(off),
                          static_cast<long long>(far));
    }
    if (*msg) throw Stop("wrong", msg);

    out.packedBytes = static_cast<int64_t>(blockBytes);
    worker::timeCalls(r, blockBytes * blocks, threads, blocks, runBlock, out);
    // The roofline: every element read once and written once, at the read bandwidth.
    out.rooflineSeconds = out.readBandwidth > 0 ? double(blockBytes) / out.readBandwidth : 0.0;
    out.bytes = double(blockBytes);  // no compute term: ops and computePeak stay 0
    return out;
}

}  // namespace

FamilyTuning family() {
    return FamilyTuning{
        .family = dsl::Family::Hadamard,
        .axes = axes,
        .features = nullptr,
        .layoutAxes = {},
        .streams = streams,
        .int8Roofline = nullptr,
        .measure = measure,
    };
}

}  // namespace kf::autotune::hadamard
