#include "tools/kforge/Quantize.h"

#include <algorithm>
#include <any>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fnmatch.h>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>

#include <Eigen/Dense>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <nlohmann/json.hpp>

#include "checkpoint/Checkpoint.h"
#include "checkpoint/Write.h"
#include "codegen/Lowering.h"
#include "codegen/lowbit_linear/LowbitLinearHalide.h"
#include "runtime/lowbit_linear/Pack.h"
#include "runtime/lowbit_linear/Quantize.h"
#include "runtime/lowbit_linear/WeightsFile.h"

namespace kf::tools {

namespace fs = std::filesystem;
namespace ck = kf::checkpoint;

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A lowbit_linear kernel of the file as the runtime sees it.
struct KernelInfo {
    const dsl::KernelSpec *kernel = nullptr;
    std::string format;     // dsl::formatName: spec.weightFormat points here
    rt::LinearSpec spec{};
    std::string formatText; // "int4 g128 f16", for tables
};

// The distinct packed layouts of one kernel over the targets, with the targets each serves.
struct Packing {
    rt::LinearLayout layout{};
    std::string targets;
};

// A weight matrix as a kernel stores it: codes, scales (bit patterns of the
// scale type), zero points.
struct Quantized {
    std::vector<uint8_t> codes;
    std::vector<uint8_t> scales;
    std::vector<uint8_t> zeroPoints;
    std::string source;  // "quantized", "exact Q8_0"
};

double scaleValue(const rt::LinearSpec &s, const uint8_t *p) {
    if (s.scaleType == KF_SCALE_F32) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
    uint16_t h;
    std::memcpy(&h, p, 2);
    return s.scaleType == KF_SCALE_F16 ? ck::halfToFloat(h) : ck::bf16ToFloat(h);
}

// docs/formats.md's levels L(c), ascending in c.
double level(const rt::LinearSpec &s, unsigned c, unsigned zeroPoint) {
    switch (s.weightKind) {
    case KF_WEIGHT_BINARY: return 2.0 * c - 1.0;
    case KF_WEIGHT_TERNARY: return double(c) - 1.0;
    case KF_WEIGHT_SEQ2: return (2.0 * c - 3.0) / 2.0;
    case KF_WEIGHT_INT: return double(c) - double(1u << (s.bits - 1));
    case KF_WEIGHT_UINT: return double(c) - double(zeroPoint);
    case KF_WEIGHT_CODEBOOK: break;
    }
    throw std::runtime_error("codebook weights need a clustering; kforge quantize does not make one");
}

// The squared sums behind the relative errors ‖W − Ŵ‖ / ‖W‖ and ‖Y − Ŷ‖ / ‖Y‖.
struct ErrorSums {
    double wNum = 0, wDen = 0, yNum = 0, yDen = 0;
    ErrorSums operator+(const ErrorSums &o) const { return {wNum + o.wNum, wDen + o.wDen, yNum + o.yNum, yDen + o.yDen}; }
};

// Ŵ = s * L(c) per weight, in double from the format definition, against W,
// and (given the exact outputs y = x W^T + b of sample rows x) y against
// Ŷ = x̂ Ŵ^T + b (x̂ = x, or x quantized per row for int8-input kernels).
// Blocks of output rows in parallel: neither W nor Ŵ is ever held whole in
// double.
ErrorSums layerErrors(const rt::LinearSpec &s, int64_t n, int64_t k, const Quantized &q, const float *w,
                      const float *bias, const RowMajor *y, const RowMajor *xq) {
    const int64_t cols = s.group ? (k + s.group - 1) / s.group : 1, group = s.group ? s.group : k;
    const size_t sb = rt::scaleElemBytes(s.scaleType);
    return tbb::parallel_deterministic_reduce(
        tbb::blocked_range<int64_t>(0, n, 256), ErrorSums{},
        [&](const tbb::blocked_range<int64_t> &r, ErrorSums acc) {
            const int64_t rows = r.end() - r.begin();
            RowMajor qb(rows, k);
            for (int64_t i = 0; i < rows; ++i) {
                const int64_t row = r.begin() + i;
                for (int64_t g = 0; g < cols; ++g) {
                    const size_t cell = static_cast<size_t>(row * cols + g);
                    const double sc = scaleValue(s, &q.scales[cell * sb]);
                    const unsigned z = q.zeroPoints.empty() ? 0 : q.zeroPoints[cell];
                    for (int64_t j = g * group; j < std::min(k, (g + 1) * group); ++j) {
                        const double wv = w[row * k + j], qv = sc * level(s, q.codes[row * k + j], z);
                        qb(i, j) = qv;
                        acc.wNum += (wv - qv) * (wv - qv);
                        acc.wDen += wv * wv;
                    }
                }
            }
            if (y) {
                RowMajor yq = (*xq) * qb.transpose();
                if (bias)
                    for (int64_t i = 0; i < rows; ++i) yq.col(i).array() += bias[r.begin() + i];
                const auto yb = y->middleCols(r.begin(), rows);
                acc.yNum += (yb - yq).squaredNorm();
                acc.yDen += yb.squaredNorm();
            }
            return acc;
        },
        std::plus<ErrorSums>());
}

// y = x W^T + b in double, by blocks of output rows in parallel.
RowMajor exactOutputs(const RowMajor &x, const float *w, const float *bias, int64_t n, int64_t k) {
    RowMajor y(x.rows(), n);
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 64), [&](const tbb::blocked_range<int64_t> &r) {
        const int64_t rows = r.end() - r.begin();
        RowMajor wb(rows, k);
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < k; ++j) wb(i, j) = w[(r.begin() + i) * k + j];
        y.middleCols(r.begin(), rows) = x * wb.transpose();
        if (bias)
            for (int64_t i = 0; i < rows; ++i) y.col(r.begin() + i).array() += bias[r.begin() + i];
    });
    return y;
}

// The runtime's paper quantizer for the kernel's format.
Quantized quantizeWith(const KernelInfo &ki, const std::string &name, int64_t n, int64_t k, const float *w) {
    const int64_t cols = ki.spec.group ? (k + ki.spec.group - 1) / ki.spec.group : 1;
    Quantized q;
    q.codes.resize(static_cast<size_t>(n * k));
    q.scales.resize(static_cast<size_t>(n * cols) * rt::scaleElemBytes(ki.spec.scaleType));
    if (ki.spec.weightKind == KF_WEIGHT_UINT) q.zeroPoints.resize(static_cast<size_t>(n * cols));
    rt::LinearSpec spec = ki.spec;
    spec.n = n;
    spec.k = k;
    if (rt::quantizeLinearWeights("kforge quantize", &spec, ki.kernel->name, n, k, w, q.codes.data(), q.scales.data(),
                                  q.zeroPoints.empty() ? nullptr : q.zeroPoints.data()) != KF_OK)
        throw std::runtime_error("layer '" + name + "': " + kf_last_error());
    q.source = "quantized";
    return q;
}

// GGUF's blocks that are exactly the kernel's format: codes and f16 scales as stored.
std::optional<Quantized> exactFor(const KernelInfo &ki, const ck::TensorView &t) {
    const auto ex = ck::exactFormat(t.type);
    if (!ex || ki.format != ex->format || ki.spec.group != ex->group || ki.spec.scaleType != KF_SCALE_F16)
        return std::nullopt;
    auto lb = ck::exactLowbit(t);
    if (!lb) return std::nullopt;
    Quantized q;
    q.codes = std::move(lb->codes);
    q.scales.resize(lb->scalesF16.size() * 2);
    std::memcpy(q.scales.data(), lb->scalesF16.data(), q.scales.size());
    q.source = std::string("exact ") + ck::typeName(t.type);
    return q;
}

// Rows of x as an int8 kernel sees them (docs/formats.md, "Activations"):
// s = max|row| / 127 in f32, q = round(fl32(x / s)) half away from zero.
RowMajor quantizeRows(const RowMajor &x) {
    RowMajor out(x.rows(), x.cols());
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
        float amax = 0;
        for (Eigen::Index c = 0; c < x.cols(); ++c) amax = std::max(amax, std::fabs(static_cast<float>(x(r, c))));
        const float s = amax / 127.0f;
        for (Eigen::Index c = 0; c < x.cols(); ++c) {
            if (s == 0) {
                out(r, c) = 0;
                continue;
            }
            const float v = static_cast<float>(x(r, c)) / s;
            out(r, c) = double(std::clamp(std::round(v), -127.0f, 127.0f)) * double(s);
        }
    }
    return out;
}

struct LayerError {
    std::string kernel, format, source;
    double weightRel = 0;
    std::optional<double> outputRel;
    uint64_t bytes = 0;  // codes + scales (+ zero points) as packed, bits exact
};

uint64_t packedBytes(const rt::LinearSpec &s, int64_t n, int64_t k) {
    const int64_t cols = s.group ? (k + s.group - 1) / s.group : 1;
    const double bitsPerCode = s.ternaryBase3 ? 1.6 : s.bits;
    return static_cast<uint64_t>(std::ceil(double(n) * double(k) * bitsPerCode / 8.0)) +
           static_cast<uint64_t>(n * cols) * (rt::scaleElemBytes(s.scaleType) + (s.weightKind == KF_WEIGHT_UINT ? 1 : 0));
}

std::string fmtErr(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3e", v);
    return b;
}

bool sameFile(const std::string &a, const std::string &b) {
    std::error_code ec;
    return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

std::string baseName(const std::string &tensor) {
    const std::string suffix = ".weight";
    return tensor.size() > suffix.size() && tensor.compare(tensor.size() - suffix.size(), suffix.size(), suffix) == 0
               ? tensor.substr(0, tensor.size() - suffix.size())
               : tensor;
}

}  // namespace

std::pair<std::string, std::string> parseLayerMap(const std::string &arg) {
    const auto eq = arg.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
        throw std::runtime_error("--layer '" + arg + "': expected GLOB=KERNEL, e.g. 'encoder.*.weight=lin_int8'");
    return {arg.substr(0, eq), arg.substr(eq + 1)};
}

int quantize(const dsl::Module &module, const std::vector<const targets::TargetInfo *> &targetList,
             const QuantizeOptions &opt, std::ostream &out, std::ostream &err) {
    const auto t0 = Clock::now();
    if (opt.layers.empty()) {
        err << "kforge quantize: name the layers to quantize and their kernels: --layer 'GLOB=KERNEL' (repeatable; "
               "e.g. --layer '*.attention.*.weight=lin_int8')\n";
        return 2;
    }
    if (sameFile(opt.output, opt.checkpoint) || sameFile(opt.output, opt.samples)) {
        err << "kforge quantize: " << opt.output << ": the output is one of the inputs; write it to a new file\n";
        return 2;
    }
    if (opt.maxSamples < 1) {
        err << "kforge quantize: --max-samples must be >= 1\n";
        return 2;
    }

    // The file's linear kernels.
    std::map<std::string, KernelInfo> kernels;
    for (const auto &k : module.kernels) {
        if (k.family != dsl::Family::LowbitLinear) continue;
        KernelInfo ki;
        ki.kernel = &k;
        const auto &p = std::get<dsl::LowbitLinearParams>(k.params);
        ki.format = dsl::formatName(p.weight);
        ki.formatText = ki.format + (p.weight.ternaryBase3 ? " (base 3)" : "") + " " +
                        (p.group ? "g" + std::to_string(p.group) : std::string("per-channel")) + " " +
                        dsl::toString(p.scaleType) +
                        (p.input == dsl::ActKind::QInt8PerToken ? ", int8 input" : "");
        kernels.emplace(k.name, std::move(ki));
    }
    for (auto &[name, ki] : kernels)
        ki.spec = codegen::lowbit::linearSpecFor(std::get<dsl::LowbitLinearParams>(ki.kernel->params), ki.format);

    std::vector<std::pair<std::string, std::string>> maps;
    for (const auto &arg : opt.layers) {
        auto m = parseLayerMap(arg);
        auto it = kernels.find(m.second);
        if (it == kernels.end()) {
            std::string names;
            for (const auto &[n, ki] : kernels) names += (names.empty() ? "" : ", ") + n;
            err << "kforge quantize: --layer " << arg << ": no lowbit_linear kernel '" << m.second << "' in "
                << opt.kernelFile << " (its linear kernels: " << (names.empty() ? "none" : names) << ")\n";
            return 2;
        }
        if (it->second.spec.weightKind == KF_WEIGHT_CODEBOOK) {
            err << "kforge quantize: kernel '" << m.second
                << "' has codebook weights, which need a clustering this command does not make\n";
            return 2;
        }
        maps.push_back(std::move(m));
    }

    const ck::Checkpoint ckpt = ck::Checkpoint::open(opt.checkpoint);
    std::optional<ck::Checkpoint> samples;
    if (!opt.samples.empty()) samples = ck::Checkpoint::open(opt.samples);

    // Which tensor goes to which kernel.
    std::vector<std::pair<const ck::TensorView *, const KernelInfo *>> work;
    // Tensors of other ranks (a LayerNorm's weight under the same pattern)
    // are no linear layers: skipped, and counted in the summary.
    std::vector<int> used(maps.size(), 0);
    int notMatrices = 0;
    for (const auto &t : ckpt.tensors())
        for (size_t m = 0; m < maps.size(); ++m)
            if (fnmatch(maps[m].first.c_str(), t.name.c_str(), 0) == 0) {
                if (t.shape.size() != 2) {
                    ++notMatrices;
                    break;
                }
                ++used[m];
                work.emplace_back(&t, &kernels.at(maps[m].second));
                break;
            }
    for (size_t m = 0; m < maps.size(); ++m)
        if (!used[m]) {
            err << "kforge quantize: --layer " << maps[m].first << "=" << maps[m].second
                << " matches no matrix of " << opt.checkpoint << " (kforge inspect lists its tensors)\n";
            return 2;
        }

    // Packed layouts per kernel used, over the targets (first target first).
    std::map<std::string, std::vector<Packing>> packings;
    for (const auto &[t, ki] : work) {
        auto &list = packings[ki->kernel->name];
        if (!list.empty()) continue;
        for (const targets::TargetInfo *target : targetList) {
            const auto variants = codegen::lowerKernel(module, *ki->kernel, *target);
            const auto &layout = std::any_cast<const rt::LinearLayout &>(variants.front().layout);
            auto same = std::find_if(list.begin(), list.end(),
                                     [&](const Packing &p) { return rt::samePackedLayout(p.layout, layout); });
            if (same == list.end())
                list.push_back({layout, target->name});
            else
                same->targets += std::string(",") + target->name;
        }
    }

    ck::AtomicFile file(opt.output);
    rt::WeightsFileWriter writer([&](uint64_t offset, const void *bytes, std::size_t n) {
        if (offset == file.size())
            file.write(bytes, n);
        else
            file.writeAt(offset, bytes, n);  // the header, last
    });
    std::vector<std::string> layerNames;
    nlohmann::ordered_json report = nlohmann::ordered_json::array();
    std::vector<std::vector<LayerError>> tables;
    auto warn = [&](const std::string &w) { err << "warning: " << w << "\n"; };
    const ck::ConvertPolicy policy = opt.convert ? ck::ConvertPolicy::ThroughF32 : ck::ConvertPolicy::Refuse;
    for (size_t li = 0; li < work.size(); ++li) {
        const auto tl = Clock::now();
        const ck::TensorView &t = *work[li].first;
        const KernelInfo &ki = *work[li].second;
        const int64_t n = t.rows(), k = t.cols();
        if ((ki.spec.n && ki.spec.n != n) || (ki.spec.k && ki.spec.k != k))
            throw std::runtime_error("layer '" + t.name + "' is " + std::to_string(n) + "x" + std::to_string(k) +
                                     ", kernel '" + ki.kernel->name + "' is declared " + std::to_string(ki.spec.n) +
                                     "x" + std::to_string(ki.spec.k));

        // Float weights (for the error, and to quantize from), unless only exact codes exist.
        ck::LinearWeights lw = ck::linearWeights(t, policy, warn);
        std::vector<float> wf = lw.lowbit ? ck::toFloat(t) : std::move(lw.values);

        // Bias.
        std::vector<float> bias;
        const std::string biasName = baseName(t.name) + ".bias";
        const ck::TensorView *bt = ckpt.find(biasName);
        if (ki.spec.hasBias) {
            if (!bt)
                throw std::runtime_error("kernel '" + std::string(ki.kernel->name) + "' has a bias; " +
                                         opt.checkpoint + " has no tensor '" + biasName + "' for layer '" + t.name + "'");
            if (bt->numel() != n)
                throw std::runtime_error("bias '" + biasName + "' " + ck::shapeText(bt->shape) + " does not match " +
                                         std::to_string(n) + " output channels");
            bias = ck::toFloat(*bt);
        } else if (bt) {
            throw std::runtime_error("layer '" + t.name + "' has a bias ('" + biasName + "') but kernel '" +
                                     ki.kernel->name + "' declares none: add 'bias f32' to it");
        }

        // The chosen kernel's codes: as stored where the file holds exactly its format.
        std::optional<Quantized> exact = exactFor(ki, t);
        if (lw.lowbit && !exact)
            warn("layer '" + t.name + "': " + ck::typeName(t.type) + " is not kernel '" + ki.kernel->name +
                 "''s format (" + ki.formatText + "); dequantized and quantized again");
        const Quantized chosen = exact ? std::move(*exact) : quantizeWith(ki, t.name, n, k, wf.data());

        // Packed images, one per distinct layout.
        rt::WeightsLayer wl;
        wl.name = t.name;
        wl.kernel = ki.kernel->name;
        wl.format = ki.format;
        wl.spec = ki.spec;
        wl.n = n;
        wl.k = k;
        writer.addLayer(wl);
        layerNames.push_back(t.name);
        const kf_linear_weights w{chosen.codes.data(), chosen.scales.data(),
                                  chosen.zeroPoints.empty() ? nullptr : chosen.zeroPoints.data(), nullptr,
                                  bias.empty() ? nullptr : bias.data()};
        for (const Packing &p : packings.at(ki.kernel->name)) {
            std::vector<uint8_t> image;
            if (rt::packImage(ki.spec, p.layout, n, k, w, "kforge quantize", ki.kernel->name, image) != KF_OK)
                throw std::runtime_error("layer '" + t.name + "': " + kf_last_error());
            writer.addImage(p.layout, p.targets, image);
        }

        // Errors: the chosen kernel, then (compare) every other fitting one.
        std::optional<RowMajor> x;
        if (samples) {
            const ck::TensorView *st = samples->find(t.name);
            if (!st) st = samples->find(baseName(t.name));
            if (st) {
                if (st->shape.empty() || st->shape.back() != k)
                    throw ck::CheckpointError(opt.samples + ": tensor '" + st->name + "' " + ck::shapeText(st->shape) +
                                              " is not rows of K = " + std::to_string(k));
                const std::vector<float> xf = ck::toFloat(*st);
                const int64_t rows = std::min<int64_t>(st->numel() / k, opt.maxSamples);
                x = RowMajor(rows, k);
                for (int64_t i = 0; i < rows * k; ++i) x->data()[i] = xf[static_cast<size_t>(i)];
            }
        }
        std::optional<RowMajor> xq8;  // x as int8-input kernels see it
        std::optional<RowMajor> y;    // x W^T + b
        if (x) y = exactOutputs(*x, wf.data(), bias.empty() ? nullptr : bias.data(), n, k);
        std::vector<LayerError> row;
        auto evaluate = [&](const KernelInfo &kk, const Quantized &q) {
            LayerError e;
            e.kernel = kk.kernel->name;
            e.format = kk.formatText;
            e.source = q.source;
            e.bytes = packedBytes(kk.spec, n, k);
            const bool int8 = kk.spec.actType == KF_ACT_QINT8;
            if (x && int8 && !xq8) xq8 = quantizeRows(*x);
            const ErrorSums es = layerErrors(kk.spec, n, k, q, wf.data(), bias.empty() ? nullptr : bias.data(),
                                             y ? &*y : nullptr, x ? (int8 ? &*xq8 : &*x) : nullptr);
            e.weightRel = es.wDen == 0 ? (es.wNum == 0 ? 0 : INFINITY) : std::sqrt(es.wNum / es.wDen);
            if (x) e.outputRel = es.yDen == 0 ? (es.yNum == 0 ? 0 : INFINITY) : std::sqrt(es.yNum / es.yDen);
            row.push_back(std::move(e));
        };
        evaluate(ki, chosen);
        if (opt.compare)
            for (const auto &[name, other] : kernels) {
                if (&other == &ki || other.spec.weightKind == KF_WEIGHT_CODEBOOK) continue;
                if ((other.spec.n && other.spec.n != n) || (other.spec.k && other.spec.k != k)) continue;
                auto ex = exactFor(other, t);
                evaluate(other, ex ? *ex : quantizeWith(other, t.name, n, k, wf.data()));
            }

        out << "[" << (li + 1) << "/" << work.size() << "] " << t.name << " " << n << "x" << k << " -> "
            << ki.kernel->name << " (" << row.front().source << "): W rel err " << fmtErr(row.front().weightRel);
        if (row.front().outputRel) out << ", output rel err " << fmtErr(*row.front().outputRel) << " (" << x->rows() << " rows)";
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.2f", secondsSince(tl));
        out << ", " << secs << " s\n" << std::flush;

        nlohmann::ordered_json results = nlohmann::ordered_json::array();
        for (const auto &e : row)
            results.push_back({{"kernel", e.kernel},
                               {"format", e.format},
                               {"weight_rel_err", e.weightRel},
                               {"output_rel_err", e.outputRel ? nlohmann::ordered_json(*e.outputRel) : nullptr},
                               {"bytes", e.bytes}});
        report.push_back({{"name", t.name},
                          {"n", n},
                          {"k", k},
                          {"kernel", ki.kernel->name},
                          {"source", row.front().source},
                          {"results", results}});
        tables.push_back(std::move(row));
    }

    const uint64_t fileBytes = writer.finish();
    file.commit();
    const double seconds = secondsSince(t0);

    // The comparison table: one column per kernel, W error (and output error).
    if (opt.compare && !tables.empty()) {
        std::vector<std::string> cols;
        for (const auto &row : tables)
            for (const auto &e : row)
                if (std::find(cols.begin(), cols.end(), e.kernel) == cols.end()) cols.push_back(e.kernel);
        out << "\nrelative error per layer and kernel: W" << (samples ? " / output" : "") << " (* = chosen)\n";
        out << "layer";
        for (const auto &c : cols) out << "\t" << c;
        out << "\n";
        for (size_t li = 0; li < tables.size(); ++li) {
            out << layerNames[li];
            for (const auto &c : cols) {
                auto it = std::find_if(tables[li].begin(), tables[li].end(), [&](const LayerError &e) { return e.kernel == c; });
                out << "\t";
                if (it == tables[li].end()) {
                    out << "-";
                    continue;
                }
                out << fmtErr(it->weightRel);
                if (it->outputRel) out << " / " << fmtErr(*it->outputRel);
                if (it == tables[li].begin()) out << " *";
            }
            out << "\n";
        }
    }
    char total[64];
    std::snprintf(total, sizeof total, "%.2f", seconds);
    out << "wrote " << opt.output << ": " << layerNames.size() << " layers, " << fileBytes << " bytes, for "
        << [&] {
               std::string s;
               for (const auto *t : targetList) s += (s.empty() ? "" : ", ") + std::string(t->name);
               return s;
           }()
        << "; " << total << " s"
        << (notMatrices ? "; " + std::to_string(notMatrices) + " matching tensors that are not matrices skipped" : "")
        << "\n";

    if (!opt.reportJson.empty()) {
        nlohmann::ordered_json j;
        j["kforge_quantize_report"] = 1;
        j["checkpoint"] = opt.checkpoint;
        j["kernels"] = opt.kernelFile;
        j["output"] = opt.output;
        j["samples"] = opt.samples.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(opt.samples);
        nlohmann::ordered_json ts = nlohmann::ordered_json::array();
        for (const auto *t : targetList) ts.push_back(t->name);
        j["targets"] = ts;
        j["seconds"] = seconds;
        j["layers"] = report;
        ck::AtomicFile rj(opt.reportJson);
        const std::string text = j.dump(1) + "\n";
        rj.write(text.data(), text.size());
        rj.commit();
    }
    return 0;
}

}  // namespace kf::tools
