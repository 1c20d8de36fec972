// hadamard: size / factor / matrix rules, matrix files read at check time,
// input and fused int8 output, the spec JSON of a file's matrix, and
// hadamardProblem.
#include "TestUtil.h"

#include "dsl/SpecJson.h"
#include "dsl/families/hadamard/Hadamard.h"
#include "dsl/families/hadamard/HadamardMatrix.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace kf::dsl {
namespace {

namespace fs = std::filesystem;
namespace hm = kf::families::hadamard;

using test::load;
using test::messages;

std::string kernel(const std::string &size, const std::string &output = "f32") {
    return "kernel h : hadamard {\n  " + size + "\n  input f32 rows=M\n  output " + output + "\n}\n";
}

const HadamardParams &params(const LoadResult &r) { return std::get<HadamardParams>(r.module->kernels.at(0).params); }

std::string signText(const std::vector<int8_t> &h, int m) {
    std::string text;
    for (const auto &row : hm::signRows(h, m)) text += row + "\n";
    return text;
}

TEST(Hadamard, PowerOfTwoAndFactors) {
    auto r = load(kernel("size N=4096"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).n.size, 4096);
    EXPECT_EQ(params(r).m, 1);
    EXPECT_EQ(params(r).output, ActKind::F32);
    EXPECT_TRUE(params(r).matrix.empty());

    r = load(kernel("size N=14336 factor=28", "int8"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).m, 28);
    EXPECT_EQ(params(r).output, ActKind::QInt8PerToken);
    EXPECT_EQ(r.module->kernels[0].family, Family::Hadamard);
    EXPECT_TRUE(params(r).matrix.empty());

    for (const char *size : {"size N=96 factor=24", "size N=11008 factor=344", "size N=13824 factor=108",
                             "size N=18944 factor=148", "size N=17920 factor=140", "size N=64 factor=64"})
        EXPECT_TRUE(load(kernel(size)).ok()) << size << "\n" << test::rendered(load(kernel(size)));
}

TEST(Hadamard, SizeErrors) {
    EXPECT_EQ(messages(load(kernel("size N=11008"))),
              std::vector<std::string>{"size N=11008 is not a power of two; give factor=<m> with N = m * 2^k "
                                       "(e.g. factor=172)"});
    EXPECT_EQ(messages(load(kernel("size N=14336"))),
              std::vector<std::string>{"size N=14336 is not a power of two; give factor=<m> with N = m * 2^k (e.g. factor=28)"});
    EXPECT_EQ(messages(load(kernel("size N=172"))),
              std::vector<std::string>{"size N=172 is not a power of two; give factor=<m> with N = m * 2^k "
                                       "(e.g. factor=172)"});
    EXPECT_EQ(messages(load(kernel("size N=5888"))),
              std::vector<std::string>{"size N=5888 is not a power of two; give factor=<m> with N = m * 2^k "
                                       "(e.g. factor=368, or factor=92 with matrix=\"<file>\")"});
    EXPECT_EQ(messages(load(kernel("size N=6"))),
              std::vector<std::string>{"size N=6 is not a power of two; give factor=<m> with N = m * 2^k"});
    EXPECT_EQ(messages(load(kernel("size N=11008 factor=12"))),
              std::vector<std::string>{"size N=11008 is not factor * 2^k for factor=12 (N / factor must be a power of two)"});
    EXPECT_EQ(messages(load(kernel("size N=96 factor=6"))),
              std::vector<std::string>{"there is no Hadamard matrix of order 6 (orders are 1, 2 or multiples of 4)"});
    EXPECT_EQ(messages(load(kernel("size N=2944 factor=92"))),
              std::vector<std::string>{
                  "no built-in Hadamard matrix of order 92; built-in orders are the powers of two and 12, 20, 24, 28, "
                  "36, 40, 44, 48, 52, 56, 60, ... (every multiple of 4 up to 256 but 92, 116, 156, 184, 188, 232, "
                  "236); give matrix=\"<file>\" for others"});
    EXPECT_EQ(messages(load(kernel("size N=7424 factor=116"))).at(0).substr(0, 48),
              "no built-in Hadamard matrix of order 116; built-");
    EXPECT_EQ(messages(load(kernel("size N=4096 factor=4096"))),
              std::vector<std::string>{"factor must be an integer between 1 and 2048, got 4096"});
    EXPECT_EQ(messages(load(kernel("size N=64 matrix=\"h.txt\""))),
              std::vector<std::string>{"matrix= needs factor=<m>, the order of the matrix in the file"});
    EXPECT_EQ(messages(load(kernel("size N=96 factor=12 matrix=12"))),
              std::vector<std::string>{"matrix= takes a file name in quotes, e.g. matrix=\"h172.txt\", got 12"});
    EXPECT_EQ(messages(load(kernel("size N=64 M=3"))),
              std::vector<std::string>{"'size' takes one dimension; usage: size N=<n> [factor=<m>] [matrix=\"<file>\"]"});
    EXPECT_EQ(messages(load(kernel("size N=0"))),
              std::vector<std::string>{"dimension N must be an integer between 1 and 2147483647, got 0"});
    EXPECT_EQ(messages(load(kernel("size 64"))),
              std::vector<std::string>{"expected a dimension like N=4096, found 64; usage: size N=<n> [factor=<m>] [matrix=\"<file>\"]"});
}

TEST(Hadamard, DynamicSizeIsAnError) {
    // The transform is generated for one n: `kforge check` must not accept
    // what `kforge emit` cannot build.
    const auto r = load(kernel("size N"));
    ASSERT_EQ(r.diagnostics.size(), 1u) << test::rendered(r);
    EXPECT_EQ(r.diagnostics[0].message, "hadamard needs a fixed size: size N=<n> [factor=<m>] [matrix=\"<file>\"] "
                                        "(the transform is generated for one n)");
    EXPECT_EQ(r.diagnostics[0].loc.line, 2);
    EXPECT_EQ(r.diagnostics[0].loc.col, 8);
    // The rest of the statement is still checked.
    EXPECT_EQ(messages(load(kernel("size N factor=6"))).size(), 2u);
}

TEST(Hadamard, InputOutputErrors) {
    auto r = load("kernel h : hadamard {\n  size N=64\n  input int8\n  output bf16\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{"unknown input type 'int8'; expected f32",
                                                     "unknown output type 'bf16'; expected one of f32, int8"}));
    r = load("kernel h : hadamard {\n  input f32\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{"kernel 'h' (hadamard) has no 'size' statement",
                                                     "kernel 'h' (hadamard) has no 'output' statement"}));
}

// Kernel files and matrix files in a fresh folder.
class HadamardMatrixFile : public ::testing::Test {
protected:
    void SetUp() override {
        const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() / ("kforge-hadamard-dsl-" + std::to_string(::getpid()) + "-" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "sub");
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string &name, const std::string &text) {
        const std::string path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    // Loads `text` as if it were the file <dir>/sub/k.kf.
    LoadResult loadHere(const std::string &text) {
        CheckOptions opts;
        opts.knownTargets = {"x86-avx2"};
        return loadString(text, (dir_ / "sub" / "k.kf").string(), opts);
    }

    fs::path dir_;
};

TEST_F(HadamardMatrixFile, ReadAtCheckTime) {
    // Paley II of order 12 in a file, against the built-in Paley I.
    const auto h12 = *hm::paleyII(5);
    write("sub/h12.txt", "# Paley II, q = 5\n" + signText(h12, 12));
    auto r = loadHere(kernel("size N=24 factor=12 matrix=\"h12.txt\""));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).matrixFile, "h12.txt");
    EXPECT_EQ(params(r).matrix, h12);
    EXPECT_EQ(hadamardProblem(params(r)), std::nullopt);

    // Relative to the kernel file's folder, not to the working directory.
    r = loadHere(kernel("size N=24 factor=12 matrix=\"../sub/h12.txt\""));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).matrix, h12);
    const std::string absolute = write("abs12.txt", signText(h12, 12));
    r = load(kernel("size N=24 factor=12 matrix=\"" + absolute + "\""));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).matrix, h12);

    // A file may give an order that is also built in, or one that is not.
    write("sub/h4.txt", signText(*hm::goethalsSeidel({"+", "+", "+", "+"}), 4));
    r = loadHere(kernel("size N=64 factor=4 matrix=\"h4.txt\""));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).matrix.size(), 16u);
}

TEST_F(HadamardMatrixFile, SpecJsonCarriesTheMatrix) {
    write("sub/a.txt", signText(*hm::paleyII(5), 12));
    write("sub/b.txt", signText(*hm::paleyI(11), 12));
    auto a = loadHere(kernel("size N=24 factor=12 matrix=\"a.txt\""));
    auto b = loadHere(kernel("size N=24 factor=12 matrix=\"b.txt\""));
    auto builtin = loadHere(kernel("size N=24 factor=12"));
    ASSERT_TRUE(a.ok() && b.ok() && builtin.ok()) << test::rendered(a) << test::rendered(b) << test::rendered(builtin);
    const auto ja = nlohmann::json::parse(toJson(*a.module))["kernels"][0]["params"];
    const auto jb = nlohmann::json::parse(toJson(*b.module))["kernels"][0]["params"];
    const auto jn = nlohmann::json::parse(toJson(*builtin.module))["kernels"][0]["params"];
    EXPECT_EQ(ja["matrix"].get<std::vector<std::string>>(), hm::signRows(*hm::paleyII(5), 12));
    EXPECT_EQ(jb["matrix"].get<std::vector<std::string>>(), hm::signRows(*hm::paleyI(11), 12));
    EXPECT_TRUE(jn["matrix"].is_null());
    EXPECT_EQ(ja["matrix_file"], "a.txt");
    // What the tuning database hashes differs even with the file names made equal.
    auto ka = a.module->kernels[0], kb = b.module->kernels[0];
    std::get<HadamardParams>(ka.params).matrixFile = std::get<HadamardParams>(kb.params).matrixFile;
    Module ma, mb;
    ma.kernels.push_back(ka);
    mb.kernels.push_back(kb);
    EXPECT_NE(toJson(ma), toJson(mb));
}

TEST_F(HadamardMatrixFile, ErrorsAtTheMatrixValue) {
    const std::string base = (dir_ / "sub").string() + "/";
    write("sub/bad.txt", "++++\n+-+-\n++2-\n+--+\n");
    const std::string text = kernel("size N=64 factor=4 matrix=\"bad.txt\"");
    auto r = loadHere(text);
    ASSERT_EQ(r.diagnostics.size(), 1u) << test::rendered(r);
    EXPECT_EQ(r.diagnostics[0].message, "matrix file for factor=4: " + base + "bad.txt:3: entry '2' in '++2-' is not + or -");
    EXPECT_EQ(r.diagnostics[0].loc.line, 2);
    EXPECT_EQ(r.diagnostics[0].loc.col, static_cast<int>(text.find("\"bad") - text.find("  size") + 1));

    EXPECT_EQ(messages(loadHere(kernel("size N=64 factor=4 matrix=\"missing.txt\""))),
              std::vector<std::string>{"matrix file for factor=4: " + base + "missing.txt: cannot open file: no such file"});
    write("sub/h8.txt", signText(*hm::sylvester(8), 8));
    EXPECT_EQ(messages(loadHere(kernel("size N=96 factor=12 matrix=\"h8.txt\""))),
              std::vector<std::string>{"matrix file for factor=12: " + base +
                                       "h8.txt: the matrix has order 8 (8 rows of 8 entries), expected order 12"});
    write("sub/dup.txt", "++++\n+-+-\n++++\n+--+\n");
    EXPECT_EQ(messages(loadHere(kernel("size N=64 factor=4 matrix=\"dup.txt\""))),
              std::vector<std::string>{"matrix file for factor=4: " + base +
                                       "dup.txt:3: row 3 (line 3) is not orthogonal to row 1 (line 1): their dot "
                                       "product is 4, not 0 (a Hadamard matrix has H H^T = 4 I)"});
    // A factor that does not divide the size is reported, and the file still read.
    EXPECT_EQ(messages(loadHere(kernel("size N=96 factor=4 matrix=\"bad.txt\""))).size(), 2u);
    // No file is read when the factor is already wrong.
    EXPECT_EQ(messages(loadHere(kernel("size N=96 factor=6 matrix=\"bad.txt\""))),
              std::vector<std::string>{"there is no Hadamard matrix of order 6 (orders are 1, 2 or multiples of 4)"});
}

TEST(Hadamard, Problem) {
    HadamardParams p;
    EXPECT_EQ(hadamardProblem(p), "hadamard needs a fixed size: the transform is generated for one n");
    p.n.size = 11008;
    EXPECT_EQ(hadamardProblem(p), "size N=11008 is not factor * 2^k for factor=1");
    p.n.size = 92 * 64;
    p.m = 92;
    EXPECT_EQ(hadamardProblem(p), "no built-in Hadamard matrix of order 92 and no matrix given");
    p.n.size = 11008;
    p.m = 344;
    EXPECT_EQ(hadamardProblem(p), std::nullopt);
    p.n.size = 24;
    p.m = 12;
    p.matrix = *hm::paleyII(5);
    EXPECT_EQ(hadamardProblem(p), std::nullopt);
    p.matrix[13] = static_cast<int8_t>(-p.matrix[13]);
    EXPECT_EQ(hadamardProblem(p), "the given H_m is not a Hadamard matrix of order 12");
    p.m = 6;
    EXPECT_EQ(hadamardProblem(p), "there is no Hadamard matrix of order 6 kforge can use");
}

}  // namespace
}  // namespace kf::dsl
