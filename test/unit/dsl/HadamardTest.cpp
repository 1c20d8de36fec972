// hadamard: size / factor / matrix rules, input and fused int8 output.
#include "TestUtil.h"

#include <gtest/gtest.h>

namespace kf::dsl {
namespace {

using test::load;
using test::messages;

std::string kernel(const std::string &size, const std::string &output = "f32") {
    return "kernel h : hadamard {\n  " + size + "\n  input f32 rows=M\n  output " + output + "\n}\n";
}

const HadamardParams &params(const LoadResult &r) { return std::get<HadamardParams>(r.module->kernels.at(0).params); }

TEST(Hadamard, PowerOfTwoAndFactors) {
    auto r = load(kernel("size N=4096"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).n.size, 4096);
    EXPECT_EQ(params(r).m, 1);
    EXPECT_EQ(params(r).output, ActKind::F32);

    r = load(kernel("size N=11008 factor=172", "int8"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).m, 172);
    EXPECT_EQ(params(r).output, ActKind::QInt8PerToken);
    EXPECT_EQ(r.module->kernels[0].family, Family::Hadamard);

    r = load(kernel("size N=14336 factor=28 matrix=\"h28.txt\""));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(params(r).matrixFile, "h28.txt");

    r = load(kernel("size N"));
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_FALSE(params(r).n.size);
}

TEST(Hadamard, SizeErrors) {
    EXPECT_EQ(messages(load(kernel("size N=11008"))),
              std::vector<std::string>{"size N=11008 is not a power of two; give factor=<m> with N = m * 2^k (e.g. factor=172)"});
    EXPECT_EQ(messages(load(kernel("size N=11008 factor=12"))),
              std::vector<std::string>{"size N=11008 is not factor * 2^k for factor=12 (N / factor must be a power of two)"});
    EXPECT_EQ(messages(load(kernel("size N=96 factor=6"))),
              std::vector<std::string>{"there is no Hadamard matrix of order 6 (orders are 1, 2 or multiples of 4)"});
    EXPECT_EQ(messages(load(kernel("size N=96 factor=24"))),
              std::vector<std::string>{"no built-in Hadamard matrix of order 24; built-in orders are 1, 12, 20, 28, 36, 44, 52, 60, 108, 172 (times powers of two); give matrix=\"<file>\" for others"});
    EXPECT_TRUE(load(kernel("size N=96 factor=24 matrix=\"h24.txt\"")).ok());
    EXPECT_EQ(messages(load(kernel("size N=64 matrix=\"h.txt\""))),
              std::vector<std::string>{"matrix= needs factor=<m>, the order of the matrix in the file"});
    EXPECT_EQ(messages(load(kernel("size N=64 M=3"))),
              std::vector<std::string>{"'size' takes one dimension; usage: size N=<n> [factor=<m>] [matrix=\"<file>\"]"});
    EXPECT_EQ(messages(load(kernel("size N=0"))),
              std::vector<std::string>{"dimension N must be an integer between 1 and 2147483647, got 0"});
}

TEST(Hadamard, InputOutputErrors) {
    auto r = load("kernel h : hadamard {\n  size N=64\n  input int8\n  output bf16\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{"unknown input type 'int8'; expected f32",
                                                     "unknown output type 'bf16'; expected one of f32, int8"}));
    r = load("kernel h : hadamard {\n  input f32\n}\n");
    EXPECT_EQ(messages(r), (std::vector<std::string>{"kernel 'h' (hadamard) has no 'size' statement",
                                                     "kernel 'h' (hadamard) has no 'output' statement"}));
}

}  // namespace
}  // namespace kf::dsl
