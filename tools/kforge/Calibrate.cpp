#include "tools/kforge/Calibrate.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "dsl/Diagnostics.h"
#include "dsl/Load.h"
#include "dsl/Parser.h"
#include "runtime/sparse_rank_linear/LowRank.h"

namespace fs = std::filesystem;

namespace kf::tools {

namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string formatTau(float tau) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(tau));
    std::string s = buf;
    if (s.find_first_of(".e") == std::string::npos) s += ".0";  // a FLOAT token, as written
    return s;
}

// 0, r/8, r/4, r/2, r, 2r ... up to min(N, K), plus the kernel's rank.
std::vector<int64_t> defaultRanks(int64_t rank, int64_t maxRank) {
    std::vector<int64_t> out{0};
    const int64_t base = std::max<int64_t>(rank, 8);
    for (int64_t r : {base / 8, base / 4, base / 2, base, base * 2, base * 4})
        if (r > 0 && r <= maxRank) out.push_back(r);
    if (rank > 0 && rank <= maxRank) out.push_back(rank);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace

float thresholdFor(const std::vector<float> &x, double sparsity) {
    if (x.empty() || sparsity <= 0) return 0.0f;
    std::vector<float> mags(x.size());
    std::transform(x.begin(), x.end(), mags.begin(), [](float v) { return std::fabs(v); });
    const size_t need = static_cast<size_t>(std::ceil(sparsity * static_cast<double>(mags.size())));
    const size_t at = std::min(mags.size(), std::max<size_t>(need, 1)) - 1;
    std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(at), mags.end());
    return mags[at];
}

std::vector<float> readRows(const std::string &path, int64_t cols, int64_t expectedRows, int64_t *rows) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw std::runtime_error(path + ": cannot read: " + ec.message());
    const uint64_t rowBytes = static_cast<uint64_t>(cols) * 4;
    if (size == 0) throw std::runtime_error(path + ": the file is empty; expected rows of " + std::to_string(cols) + " f32 values");
    if (size % rowBytes != 0)
        throw std::runtime_error(path + ": " + std::to_string(size) + " bytes is not a whole number of rows of " +
                                 std::to_string(cols) + " f32 values (" + std::to_string(rowBytes) + " bytes each)");
    const int64_t n = static_cast<int64_t>(size / rowBytes);
    if (expectedRows > 0 && n != expectedRows)
        throw std::runtime_error(path + ": holds " + std::to_string(n) + " rows of " + std::to_string(cols) +
                                 " values; expected " + std::to_string(expectedRows));
    std::vector<float> data(static_cast<size_t>(n * cols));
    std::ifstream in(path, std::ios::binary);
    if (!in.read(reinterpret_cast<char *>(data.data()), static_cast<std::streamsize>(size)))
        throw std::runtime_error(path + ": read failed");
    for (size_t i = 0; i < data.size(); ++i)
        if (!std::isfinite(data[i]))
            throw std::runtime_error(path + ": row " + std::to_string(i / static_cast<size_t>(cols)) + ", column " +
                                     std::to_string(i % static_cast<size_t>(cols)) + " is " +
                                     (std::isnan(data[i]) ? "NaN" : "infinite"));
    if (rows) *rows = n;
    return data;
}

std::string withThreshold(const std::string &path, const std::string &text, const std::string &kernel, float tau) {
    dsl::SourceFile src(path, text);
    dsl::DiagnosticSink sink(&src);
    const dsl::FileAst ast = dsl::parse(src, sink);
    for (const dsl::KernelDecl &k : ast.kernels) {
        if (k.name != kernel) continue;
        for (const dsl::Statement &st : k.body.statements) {
            if (st.head != "sparsity" || st.args.empty()) continue;
            // The statement runs from its head to the end of its last value.
            const dsl::Value &last = st.args.back().value;
            if (last.loc.line != st.loc.line || last.kind == dsl::Value::Kind::List ||
                last.kind == dsl::Value::Kind::String)
                throw std::runtime_error(path + ":" + std::to_string(st.loc.line) + ":" + std::to_string(st.loc.col) +
                                         ": cannot rewrite this 'sparsity' statement (it spans lines); write "
                                         "'sparsity threshold tau=" + formatTau(tau) + "' by hand");
            size_t lineStart = 0;
            for (int l = 1; l < st.loc.line; ++l) lineStart = text.find('\n', lineStart) + 1;
            const size_t begin = lineStart + static_cast<size_t>(st.loc.col - 1);
            const size_t end = lineStart + static_cast<size_t>(last.loc.col - 1) + last.text.size();
            if (text.compare(begin, 8, "sparsity") != 0 || end > text.size())
                throw std::runtime_error(path + ": the 'sparsity' statement of " + kernel + " is not where the parser put it");
            return text.substr(0, begin) + "sparsity threshold tau=" + formatTau(tau) + text.substr(end);
        }
        throw std::runtime_error(path + ": kernel " + kernel + " has no 'sparsity' statement");
    }
    throw std::runtime_error(path + ": no kernel " + kernel);
}

int calibrate(const CalibrateOptions &o, std::ostream &out, std::ostream &err) {
    dsl::LoadResult loaded = dsl::loadFile(o.file, {});
    for (const auto &d : loaded.diagnostics) err << d.render() << "\n";
    if (!loaded.ok()) return 1;
    const dsl::Module &module = *loaded.module;
    const dsl::KernelSpec *spec = nullptr;
    int candidates = 0;
    for (const dsl::KernelSpec &k : module.kernels)
        if (k.family == dsl::Family::SparseRankLinear) {
            ++candidates;
            if (o.kernel.empty() || k.name == o.kernel) spec = spec ? spec : &k;
        }
    if (!spec || (o.kernel.empty() && candidates > 1)) {
        err << "kforge calibrate: " << o.file << ": "
            << (o.kernel.empty() ? (candidates ? "several sparse_rank_linear kernels; name one with --kernel"
                                               : "no sparse_rank_linear kernel")
                                 : "no sparse_rank_linear kernel '" + o.kernel + "'")
            << "\n";
        return 1;
    }
    const auto &p = std::get<dsl::SparseRankLinearParams>(spec->params);
    int64_t N = p.n.size.value_or(0), K = p.k.size.value_or(0);
    if (!o.shape.empty()) {
        long long n = 0, k = 0;
        char tail = 0;
        if (std::sscanf(o.shape.c_str(), "%lldx%lld%c", &n, &k, &tail) != 2 || n <= 0 || k <= 0 ||
            (N && n != N) || (K && k != K)) {
            err << "kforge calibrate: --shape '" << o.shape << "': expected NxK"
                << (N || K ? " matching the kernel's declared " + std::to_string(N) + "x" + std::to_string(K) : "") << "\n";
            return 1;
        }
        N = n;
        K = k;
    }
    if (!N || !K) {
        err << "kforge calibrate: kernel " << spec->name << " has dynamic dimensions; give --shape NxK\n";
        return 1;
    }
    if (p.noWeight) {
        err << "kforge calibrate: kernel " << spec->name << " has no W ('weight none'): every channel goes through "
            << "U (V x), so there is no mask to calibrate\n";
        return 1;
    }
    const bool threshold = p.mode == dsl::SparsityMode::Threshold;
    if (threshold && !(o.sparsity >= 0 && o.sparsity <= 1)) {
        err << "kforge calibrate: kernel " << spec->name << " masks by a threshold: give --sparsity <0..1>, the "
            << "fraction of channels to skip\n";
        return 1;
    }
    if (!threshold && o.write) {
        err << "kforge calibrate: kernel " << spec->name << " keeps the top " << p.topK
            << " channels of each row; it has no threshold to write\n";
        return 1;
    }

    int64_t rows = 0;
    const std::vector<float> x = readRows(o.activations, K, 0, &rows);
    out << "calibrate " << spec->name << ": " << rows << " rows of K=" << K << " from " << o.activations << "\n";
    float tau = 0;
    if (threshold) {
        tau = thresholdFor(x, o.sparsity);
        int64_t off = 0;
        for (float v : x) off += std::fabs(v) <= tau;
        out << "  threshold tau = " << formatTau(tau) << ": " << std::fixed << std::setprecision(1)
            << 100.0 * static_cast<double>(off) / static_cast<double>(x.size()) << "% of channels inactive (target "
            << 100.0 * o.sparsity << "%)\n"
            << std::defaultfloat;
    } else {
        out << "  top " << p.topK << " channels of each row: " << std::fixed << std::setprecision(1)
            << 100.0 * (1.0 - static_cast<double>(p.topK) / static_cast<double>(K)) << "% inactive\n"
            << std::defaultfloat;
    }

    if (!o.weights.empty()) {
        const std::vector<float> w = readRows(o.weights, K, N, nullptr);
        const int64_t maxRank = std::min(N, K);
        std::vector<int64_t> ranks = o.ranks.empty() ? defaultRanks(p.rank, maxRank) : o.ranks;
        for (int64_t r : ranks)
            if (r < 0 || r > maxRank) {
                err << "kforge calibrate: --ranks: " << r << " is outside 0.." << maxRank << " (min(N, K))\n";
                return 1;
            }
        const int64_t topRank = *std::max_element(ranks.begin(), ranks.end());
        const int64_t used = std::min<int64_t>(rows, std::max<int64_t>(1, o.maxRows));
        // Masks as the kernel makes them (docs/formats.md, "Sparse-rank linear").
        RowMajorF xa(used, K), xi(used, K);
        std::vector<int32_t> order(static_cast<size_t>(K));
        for (int64_t i = 0; i < used; ++i) {
            const float *row = x.data() + i * K;
            std::vector<bool> on(static_cast<size_t>(K));
            if (threshold) {
                for (int64_t c = 0; c < K; ++c) on[static_cast<size_t>(c)] = std::fabs(row[c]) > tau;
            } else {
                for (int64_t c = 0; c < K; ++c) order[static_cast<size_t>(c)] = static_cast<int32_t>(c);
                std::stable_sort(order.begin(), order.end(),
                                 [row](int32_t a, int32_t b) { return std::fabs(row[a]) > std::fabs(row[b]); });
                for (int64_t j = 0; j < p.topK; ++j) on[static_cast<size_t>(order[static_cast<size_t>(j)])] = true;
            }
            for (int64_t c = 0; c < K; ++c) {
                xa(i, c) = on[static_cast<size_t>(c)] ? row[c] : 0.0f;
                xi(i, c) = on[static_cast<size_t>(c)] ? 0.0f : row[c];
            }
        }
        const Eigen::Map<const RowMajorF> W(w.data(), N, K);
        const Eigen::Map<const RowMajorF> X(x.data(), used, K);
        const Eigen::MatrixXf dense = X * W.transpose();
        const Eigen::MatrixXf sparse = xa * W.transpose();
        const rt::LowRankFactors f = rt::truncatedSvd(w.data(), N, K, topRank);
        const Eigen::Map<const RowMajorF> U(f.u.data(), N, topRank), V(f.v.data(), topRank, K);
        const Eigen::MatrixXf t = xi * V.transpose();  // used x topRank
        const double denom = dense.norm();
        out << "  output error of W (x . m) + U_r V_r (x . (1 - m)) against W x over " << used
            << " rows (float W from " << o.weights << ", SVD "
            << (f.exact ? "exact" : "randomized") << "):\n"
            << "      rank   rel. error   f32 U+V bytes / f32 W bytes\n";
        for (int64_t r : ranks) {
            Eigen::MatrixXf y = sparse;
            if (r > 0) y.noalias() += t.leftCols(r) * U.leftCols(r).transpose();
            const double e = denom > 0 ? (y - dense).norm() / denom : (y - dense).norm();
            char line[128];
            std::snprintf(line, sizeof line, "  %8lld   %10.3e   %6.3f%s\n", static_cast<long long>(r), e,
                          static_cast<double>(r * (N + K)) / static_cast<double>(N * K),
                          r == p.rank ? "   <- the kernel's rank" : "");
            out << line;
        }
    }

    if (o.write) {
        std::ifstream in(o.file, std::ios::binary);
        std::stringstream buf;
        buf << in.rdbuf();
        const std::string text = withThreshold(o.file, buf.str(), spec->name, tau);
        // Check the new text before anything replaces the file.
        const std::string tmp = o.file + ".kforge-calibrate.tmp";
        {
            std::ofstream outFile(tmp, std::ios::binary | std::ios::trunc);
            outFile << text;
            if (!outFile.flush()) {
                err << "kforge calibrate: cannot write " << tmp << ": " << std::strerror(errno) << "\n";
                std::remove(tmp.c_str());
                return 1;
            }
        }
        dsl::LoadResult again = dsl::loadFile(tmp, {});
        const dsl::KernelSpec *k2 = again.ok() ? again.module->findKernel(spec->name) : nullptr;
        if (!k2 || static_cast<float>(std::get<dsl::SparseRankLinearParams>(k2->params).tau) != tau) {
            std::remove(tmp.c_str());
            err << "kforge calibrate: internal error: the rewritten " << o.file << " does not read back; left unchanged\n";
            return 1;
        }
        std::error_code ec;
        fs::permissions(tmp, fs::status(o.file).permissions(), ec);
        fs::rename(tmp, o.file, ec);
        if (ec) {
            std::remove(tmp.c_str());
            err << "kforge calibrate: cannot replace " << o.file << ": " << ec.message() << "\n";
            return 1;
        }
        out << "  wrote 'sparsity threshold tau=" << formatTau(tau) << "' into " << o.file << "\n";
    }
    return 0;
}

}  // namespace kf::tools
