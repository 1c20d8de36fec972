#include "LinearBench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include <unistd.h>

#include "dsl/families/lowbit_linear/RandomLayer.h"
#include "kforge/detail/Linear.h"
#include "runtime/lowbit_linear/WeightsFile.h"
#include "dsl/families/lowbit_linear/Reference.h"

namespace kfbench {

std::string dims(Shape s) { return std::to_string(s.n) + "x" + std::to_string(s.k); }

// ---- the kernel file -----------------------------------------------------

dsl::LowbitLinearParams kernelParams(const std::string &path, const std::string &name) {
    const dsl::KernelSpec &spec = kernelSpec(path, name);
    if (!std::holds_alternative<dsl::LowbitLinearParams>(spec.params)) {
        std::fprintf(stderr, "%s: '%s' is not a lowbit_linear kernel\n", path.c_str(), name.c_str());
        std::exit(1);
    }
    return std::get<dsl::LowbitLinearParams>(spec.params);
}

unsigned levelCount(const dsl::WeightFormat &w) {
    return w.kind == dsl::WeightKind::Binary ? 2 : w.kind == dsl::WeightKind::Ternary ? 3 : 1u << w.bits;
}

std::vector<float> levelTable(const dsl::WeightFormat &w) {
    std::vector<float> t(levelCount(w));
    for (unsigned c = 0; c < t.size(); ++c)
        t[c] = static_cast<float>(kf::families::lowbit::referenceLevel(w, c));
    return t;
}

const char *actName(dsl::ActKind a) {
    return a == dsl::ActKind::F32 ? "f32" : a == dsl::ActKind::BF16 ? "bf16" : "int8";
}

// ---- a random layer ------------------------------------------------------

Layer::Layer(const dsl::LowbitLinearParams &p, Shape s, int64_t maxM)
    : shape(s), group(p.group ? p.group : static_cast<int>(s.k)), groups((s.k + group - 1) / group) {
    std::mt19937_64 rng(0x6b666f726765ull ^ static_cast<uint64_t>(s.n * 131 + s.k) ^
                        (static_cast<uint64_t>(levelCount(p.weight)) << 40));
    const uint64_t levels = levelCount(p.weight);
    codes.resize(static_cast<std::size_t>(s.n * s.k));
    // Uniform in [0, levels) from 16 bits of a 64-bit draw at a time.
    std::size_t i = 0;
    while (i < codes.size()) {
        uint64_t r = rng();
        for (int j = 0; j < 4 && i < codes.size(); ++j, r >>= 16)
            codes[i++] = static_cast<uint8_t>(((r & 0xffffu) * levels) >> 16);
    }
    std::uniform_real_distribution<float> scale(0.005f, 0.015f), in(-1.0f, 1.0f);
    scales.resize(static_cast<std::size_t>(s.n * groups));
    for (auto &v : scales) v = floatToHalf(scale(rng));
    x.resize(static_cast<std::size_t>(maxM * s.k));
    for (auto &v : x) v = in(rng);
}

double relativeError(const dsl::LowbitLinearParams &p, const Layer &w, int64_t M, const float *y,
                     const std::vector<int64_t> &rows) {
    std::vector<int64_t> which;
    for (int64_t m : rows)
        if (m >= 0 && m < M && std::find(which.begin(), which.end(), m) == which.end()) which.push_back(m);
    if (rows.empty())
        for (int64_t m = 0; m < M; ++m) which.push_back(m);
    kf::families::lowbit::ReferenceWeights rw;
    rw.codes = w.codes.data();
    rw.scales = w.scales.data();
    return kf::families::lowbit::relativeError(p, w.shape.n, w.shape.k, rw, w.x.data(), y, which);
}

namespace {

// A packed-weights file of `count` copies of one layer's packed block (names
// "layer0", ...), written as kforge quantize writes one
// (runtime/lowbit_linear/WeightsFile.h); "" or what failed.
std::string writeWeightsFile(const std::string &path, const kf_kernel_def *def, const kf_linear *layer, Shape shape,
                             const Layer &w, std::size_t count) {
    const kf::rt::LinearSpec &spec = *kf::rt::linearSpec(def);
    const kf::rt::Variant *v = nullptr;
    for (int i = 0; i < def->numVariants; ++i)
        if (std::strcmp(def->variants[i].symbol, kf_linear_variant(layer)) == 0) v = &def->variants[i];
    if (!v) return "no variant named " + std::string(kf_linear_variant(layer));
    const kf::rt::LinearLayout &L = kf::rt::linearData(*v).layout;
    std::vector<uint8_t> image;
    const kf_linear_weights api{w.codes.data(), w.scales.data(), nullptr, nullptr, nullptr};
    if (kf::rt::packImage(spec, L, shape.n, shape.k, api, "bench", def->name, image) != KF_OK) return kf_last_error();
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) return path + ": cannot create";
    kf::rt::WeightsFileWriter writer([&](uint64_t offset, const void *bytes, std::size_t n) {
        std::fseek(f, static_cast<long>(offset), SEEK_SET);
        std::fwrite(bytes, 1, n, f);
    });
    for (std::size_t i = 0; i < count; ++i) {
        kf::rt::WeightsLayer l;
        l.name = "layer" + std::to_string(i);
        l.kernel = def->name;
        l.spec = spec;
        l.format = spec.weightFormat;
        l.n = shape.n;
        l.k = shape.k;
        writer.addLayer(std::move(l));
        writer.addImage(L, v->target, image);
    }
    writer.finish();
    return std::fclose(f) == 0 ? "" : path + ": write failed";
}

}  // namespace

LayerSet::LayerSet(const kf_kernel_def *def, const dsl::LowbitLinearParams &p, Shape shape,
                   const std::string &variant, int64_t maxM, WeightSource source)
    : params(p), w(p, shape, maxM), y(static_cast<std::size_t>(maxM * shape.n)) {
    // The first layer tells the packed size, hence how many layers to stream.
    auto create = [&]() -> kf_linear * {
        kf_linear *layer = nullptr;
        if (kf_status st = kf_linear_create(def, shape.n, shape.k, variant.c_str(), &layer); st != KF_OK) {
            error = "kf_linear_create: " + statusText(st);
            return nullptr;
        }
        layers.push_back(layer);
        return layer;
    };
    if (!create()) return;
    packedBytes = kf_linear_packed_bytes(layers[0]);
    if (packedBytes == 0) {
        error = "kf_linear_packed_bytes returned 0";
        return;
    }
    const std::size_t count = std::max<std::size_t>(1, (streamBytes() + packedBytes - 1) / packedBytes);
    while (layers.size() < count)
        if (!create()) return;
    // kf_linear_pack is a scalar loop over codes (~10 ns per code on this
    // machine): pack the first layer, copy its packed weights to the others.
    const kf_linear_weights api{w.codes.data(), w.scales.data(), nullptr, nullptr, nullptr};
    if (kf_status st = kf_linear_pack_weights(layers[0], &api); st != KF_OK) {
        error = "kf_linear_pack_weights: " + statusText(st);
        return;
    }
    if (source == WeightSource::Packed) {
        for (std::size_t i = 1; i < layers.size(); ++i)
            if (kf_status st = kf_linear_copy_weights(layers[i], layers[0]); st != KF_OK) {
                error = "kf_linear_copy_weights: " + statusText(st);
                return;
            }
        return;
    }
    // From a file: written beside the build (a disk file, as a user's is),
    // opened, removed (the mapping keeps its pages), loaded layer by layer.
    const char *dir = std::getenv("TMPDIR");
    const std::string path = std::string(dir && *dir ? dir : "/tmp") + "/kforge-bench-" + std::to_string(::getpid()) +
                             "-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".kfw";
    if (std::string e = writeWeightsFile(path, def, layers[0], shape, w, layers.size()); !e.empty()) {
        error = e;
        return;
    }
    kf_weights *file = nullptr;
    const kf_status st = kf_weights_open(path.c_str(), source == WeightSource::FileMapped ? KF_WEIGHTS_MAP : KF_WEIGHTS_COPY,
                                         &file);
    std::remove(path.c_str());
    if (st != KF_OK) {
        error = "kf_weights_open: " + statusText(st);
        return;
    }
    for (std::size_t i = 0; i < layers.size() && error.empty(); ++i) {
        kf_linear_destroy(layers[i]);
        layers[i] = nullptr;
        if (kf_status s2 = kf_linear_load(def, file, ("layer" + std::to_string(i)).c_str(), variant.c_str(), &layers[i]);
            s2 != KF_OK)
            error = "kf_linear_load: " + statusText(s2);
    }
    kf_weights_close(file);
}

LayerSet::~LayerSet() {
    for (kf_linear *l : layers) kf_linear_destroy(l);
}

const std::string &LayerSet::check(int64_t M, const std::vector<int64_t> &rows) {
    auto it = checked.find(M);
    if (it != checked.end()) return it->second;
    std::string &result = checked[M];
    std::fill(y.begin(), y.begin() + M * w.shape.n, NAN);
    if (kf_status st = kf_linear_run(layers[0], w.x.data(), M, y.data(), 0); st != KF_OK) {
        result = "kf_linear_run: " + statusText(st);
        return result;
    }
    if (double err = relativeError(params, w, M, y.data(), rows); !(err <= 1e-5)) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "result does not match the reference at M=%lld: rel err %.3g > 1e-5",
                      static_cast<long long>(M), err);
        result = msg;
    }
    return result;
}

namespace {
// Rows [lo, hi) of W; up to four rows of x per pass over a row of W.
void denseRows(const float *w, const float *x, float *y, int64_t M, Shape s, int64_t lo, int64_t hi) {
    const int64_t K = s.k, N = s.n;
    for (int64_t r = lo; r < hi; ++r) {
        const float *row = w + r * K;
        int64_t m = 0;
        for (; m + 4 <= M; m += 4) {
            const float *x0 = x + m * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
            for (int64_t c = 0; c < K; ++c) {
                const float v = row[c];
                a0 += v * x0[c];
                a1 += v * x1[c];
                a2 += v * x2[c];
                a3 += v * x3[c];
            }
            y[m * N + r] = a0;
            y[(m + 1) * N + r] = a1;
            y[(m + 2) * N + r] = a2;
            y[(m + 3) * N + r] = a3;
        }
        for (; m < M; ++m) {
            const float *xm = x + m * K;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (int64_t c = 0; c < K; ++c) acc += row[c] * xm[c];
            y[m * N + r] = acc;
        }
    }
}
}  // namespace

void denseGemm(const float *w, const float *x, float *y, int64_t M, Shape s, int threads) {
    parallelFor(threads, s.n, 64, [&](int64_t lo, int64_t hi) { denseRows(w, x, y, M, s, lo, hi); });
}

DenseSet::DenseSet(Shape s, int64_t maxM)
    : x(static_cast<std::size_t>(maxM * s.k)), y(static_cast<std::size_t>(maxM * s.n)) {
    std::size_t elems = static_cast<std::size_t>(s.n * s.k), bytes = elems * sizeof(float);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> d(-0.1f, 0.1f);
    for (auto &v : x) v = d(rng);
    StreamedFloats first = streamedFloats(elems);
    for (std::size_t i = 0; i < elems; ++i) first[i] = d(rng);
    for (std::size_t have = bytes; have < streamBytes(); have += bytes) {
        StreamedFloats m = streamedFloats(elems);
        std::memcpy(m.get(), first.get(), bytes);  // distinct memory, same values
        mats.push_back(std::move(m));
    }
    mats.insert(mats.begin(), std::move(first));
}

DequantSet::DequantSet(const dsl::LowbitLinearParams &p, Shape s, int64_t maxM)
    : shape(s), w(p, s, maxM), codeBits(levelCount(p.weight) <= 4 ? 2 : 4) {
    scales = w.scales;
    y.assign(static_cast<std::size_t>(maxM * s.n), 0.0f);
    // K is a multiple of the codes per byte for every benchmark shape.
    const int perByte = 8 / codeBits;
    std::vector<uint8_t> packed(static_cast<std::size_t>(s.n * s.k / perByte));
    for (std::size_t i = 0; i < packed.size(); ++i) {
        uint8_t b = 0;
        for (int j = 0; j < perByte; ++j) b |= static_cast<uint8_t>(w.codes[i * perByte + j] << (codeBits * j));
        packed[i] = b;
    }
    const std::vector<float> levels = levelTable(p.weight);
    lut.resize(256 * perByte);
    for (int b = 0; b < 256; ++b)
        for (int j = 0; j < perByte; ++j) {
            unsigned c = (b >> (codeBits * j)) & ((1u << codeBits) - 1);
            lut[b * perByte + j] = c < levels.size() ? levels[c] : 0.0f;
        }
    bytesPerLayer = packed.size() + scales.size() * sizeof(uint16_t);
    std::size_t want = streamBytes();
    codes.push_back(std::move(packed));
    while (bytesPerLayer * codes.size() < want) codes.push_back(codes.front());
    dense = std::make_unique<float[]>(static_cast<std::size_t>(s.n * s.k));
    std::memset(dense.get(), 0, static_cast<std::size_t>(s.n * s.k) * sizeof(float));
}

void DequantSet::dequantize(std::size_t layer, int threads) {
    const uint8_t *src = codes[layer].data();
    const int perByte = 8 / codeBits;
    const int64_t K = shape.k;
    parallelFor(threads, shape.n, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            float *out = dense.get() + r * K;
            const uint8_t *in = src + r * K / perByte;
            for (int64_t g = 0; g < w.groups; ++g) {
                const float sc = halfToFloat(scales[static_cast<std::size_t>(r * w.groups + g)]);
                const int64_t c0 = g * w.group, c1 = std::min(K, c0 + w.group);
                for (int64_t c = c0; c < c1; c += perByte) {
                    const float *l = &lut[static_cast<std::size_t>(in[c / perByte]) * perByte];
                    for (int j = 0; j < perByte; ++j) out[c + j] = sc * l[j];
                }
            }
        }
    });
}

void DequantSet::run(std::size_t layer, int64_t M, int threads) {
    dequantize(layer, threads);
    denseGemm(dense.get(), w.x.data(), y.data(), M, shape, threads);
}

}  // namespace kfbench
