// kforge calibrate: the threshold for a target sparsity (exact on data whose
// order statistics are known), the activation and weight files' errors (the
// path and what is wrong), the rewrite of the kernel file (only the sparsity
// statement changes; the file reads back), and the error table (falls with
// the rank, vanishes at full rank).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "dsl/Load.h"
#include "tools/kforge/Calibrate.h"

namespace fs = std::filesystem;
using kf::tools::readRows;
using kf::tools::thresholdFor;
using kf::tools::withThreshold;

namespace {

class Scratch {
public:
    Scratch() : dir_(fs::temp_directory_path() / ("kforge_calibrate_" + std::to_string(::getpid()))) {
        fs::create_directories(dir_);
    }
    ~Scratch() { fs::remove_all(dir_); }
    std::string path(const std::string &name) const { return (dir_ / name).string(); }
    std::string write(const std::string &name, const std::string &bytes) const {
        std::ofstream(path(name), std::ios::binary) << bytes;
        return path(name);
    }
    std::string writeFloats(const std::string &name, const std::vector<float> &v) const {
        return write(name, std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float)));
    }

private:
    fs::path dir_;
};

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string throwsWith(const std::function<void()> &f) {
    try {
        f();
    } catch (const std::runtime_error &e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Calibrate, ThresholdGivesTheTargetSparsity) {
    // |x| = 1..100 in some order and sign: a fraction s leaves ceil(100 s) at or below tau.
    std::vector<float> x;
    for (int i = 1; i <= 100; ++i) x.push_back(i % 2 ? float(i) : -float(i));
    std::shuffle(x.begin(), x.end(), std::mt19937(3));
    EXPECT_EQ(thresholdFor(x, 0.5), 50.0f);
    EXPECT_EQ(thresholdFor(x, 0.9), 90.0f);
    EXPECT_EQ(thresholdFor(x, 0.255), 26.0f);
    EXPECT_EQ(thresholdFor(x, 1.0), 100.0f);
    EXPECT_EQ(thresholdFor(x, 0.0), 0.0f);
}

TEST(Calibrate, FilesAreCheckedWithThePathAndWhatIsWrong) {
    Scratch s;
    int64_t rows = 0;
    EXPECT_EQ(readRows(s.writeFloats("ok.f32", {1, 2, 3, 4, 5, 6}), 3, 0, &rows).size(), 6u);
    EXPECT_EQ(rows, 2);
    EXPECT_NE(throwsWith([&] { readRows(s.path("missing.f32"), 3, 0, nullptr); }).find("missing.f32: cannot read"),
              std::string::npos);
    EXPECT_NE(throwsWith([&] { readRows(s.write("empty.f32", ""), 3, 0, nullptr); }).find("the file is empty"),
              std::string::npos);
    EXPECT_NE(throwsWith([&] { readRows(s.writeFloats("odd.f32", {1, 2, 3, 4}), 3, 0, nullptr); })
                  .find("16 bytes is not a whole number of rows of 3 f32 values"),
              std::string::npos);
    EXPECT_NE(throwsWith([&] { readRows(s.path("ok.f32"), 3, 5, nullptr); }).find("holds 2 rows of 3 values; expected 5"),
              std::string::npos);
    EXPECT_NE(throwsWith([&] { readRows(s.writeFloats("nan.f32", {1, 2, 3, 4, NAN, 6}), 3, 0, nullptr); })
                  .find("row 1, column 1 is NaN"),
              std::string::npos);
}

const char *kFile = R"(# a layer
kernel a : lowbit_linear {
  weight int4 shape=[N=8, K=8]
  input f32
  output f32
}
kernel o : sparse_rank_linear {
  weight   f32 shape=[N=24, K=32]
  rank     4
  sparsity threshold   # set by kforge calibrate
  input    f32
  output   f32
}
)";

TEST(Calibrate, RewritesOnlyTheSparsityStatement) {
    const std::string once = withThreshold("t.kf", kFile, "o", 0.25f);
    std::string expect = kFile;
    expect.replace(expect.find("sparsity threshold"), 18, "sparsity threshold tau=0.25");
    EXPECT_EQ(once, expect);
    // Again over a tau already there, and a value that needs 9 digits.
    const std::string twice = withThreshold("t.kf", once, "o", 0.1f);
    expect = kFile;
    expect.replace(expect.find("sparsity threshold"), 18, "sparsity threshold tau=0.100000001");
    EXPECT_EQ(twice, expect);
    EXPECT_NE(throwsWith([] { withThreshold("t.kf", kFile, "b", 1.0f); }).find("no kernel b"), std::string::npos);
    EXPECT_NE(throwsWith([] { withThreshold("t.kf", kFile, "a", 1.0f); }).find("has no 'sparsity' statement"),
              std::string::npos);
}

TEST(Calibrate, EndToEndWritesTauAndTheErrorVanishesAtFullRank) {
    Scratch s;
    const int64_t N = 24, K = 32, rows = 40;
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    std::vector<float> w(static_cast<size_t>(N * K)), x(static_cast<size_t>(rows * K));
    for (float &v : w) v = normal(rng);
    for (float &v : x) v = normal(rng);
    kf::tools::CalibrateOptions o;
    o.file = s.write("l.kf", kFile);
    o.activations = s.writeFloats("x.f32", x);
    o.weights = s.writeFloats("w.f32", w);
    o.sparsity = 0.5;
    o.ranks = {0, 4, 12, 24};
    o.write = true;
    std::ostringstream out, err;
    ASSERT_EQ(kf::tools::calibrate(o, out, err), 0) << err.str();
    // The rank column and its errors, in order.
    std::vector<double> errors;
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line);) {
        long long r = 0;
        double e = 0;
        if (std::sscanf(line.c_str(), " %lld %lf", &r, &e) == 2 && line.find("rel. error") == std::string::npos)
            errors.push_back(e);
    }
    ASSERT_EQ(errors.size(), 4u) << out.str();
    EXPECT_GT(errors[0], 0.1);
    EXPECT_LT(errors[1], errors[0]);
    EXPECT_LT(errors[2], errors[1]);
    EXPECT_LT(errors[3], 1e-5) << "rank min(N, K) reconstructs W";
    // tau written, the file otherwise the same, and it loads with that tau.
    const float tau = thresholdFor(x, 0.5);
    const std::string text = slurp(o.file);
    EXPECT_EQ(text, withThreshold(o.file, kFile, "o", tau));
    auto loaded = kf::dsl::loadFile(o.file, {});
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(static_cast<float>(std::get<kf::dsl::SparseRankLinearParams>(loaded.module->findKernel("o")->params).tau),
              tau);
    // A topk kernel has no threshold to write; the file is not touched.
    const std::string topk = std::string(kFile).replace(std::string(kFile).find("sparsity threshold"), 18, "sparsity topk=8");
    o.file = s.write("k.kf", topk);
    std::ostringstream out2, err2;
    EXPECT_EQ(kf::tools::calibrate(o, out2, err2), 1);
    EXPECT_NE(err2.str().find("it has no threshold to write"), std::string::npos) << err2.str();
    EXPECT_EQ(slurp(o.file), topk);
}

}  // namespace
