// hadamard: matrix files (readHadamardFile, dsl/families/hadamard/HadamardMatrix.h):
// both notations, comments and brackets, and every error with its path:line.
#include "dsl/families/hadamard/HadamardMatrix.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace kf::families::hadamard {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class HadamardFile : public ::testing::Test {
protected:
    void SetUp() override {
        const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               ("kforge-hadamard-file-" + std::to_string(::getpid()) + "-" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string &name, const std::string &text) {
        const std::string path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    // The error of reading `text` as a matrix of order `order`.
    std::string errorOf(const std::string &text, int order) {
        const std::string path = write("h.txt", text);
        MatrixFileResult r = readHadamardFile(path, order);
        EXPECT_TRUE(r.matrix.empty());
        return r.error;
    }
    std::string path(const std::string &name) const { return (dir_ / name).string(); }

    fs::path dir_;
};

const std::vector<int8_t> kH4 = {1, 1, 1, 1, 1, -1, 1, -1, 1, 1, -1, -1, 1, -1, -1, 1};

TEST_F(HadamardFile, SignNotation) {
    const auto r = readHadamardFile(write("h4.txt", "# Sylvester, order 4\n\n++++\n+-+-\n  ++--  \n+--+\n\n"), 4);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.matrix, kH4);
}

TEST_F(HadamardFile, IntegerNotations) {
    for (const std::string text : {
             "1 1 1 1\n1 -1 1 -1\n1 1 -1 -1\n1 -1 -1 1\n",
             "1, 1, 1, 1\n1, -1, 1, -1\n1, 1, -1, -1\n1, -1, -1, 1\n",
             "+1,+1,+1,+1\n+1,-1,+1,-1\r\n1\t1\t-1\t-1\r\n1 ,-1, -1 ,1\r\n",
             "[[1, 1, 1, 1],\n [1, -1, 1, -1],\n [1, 1, -1, -1],\n [1, -1, -1, 1]]\n",
             "[\n  [1, 1, 1, 1],\n  [1, -1, 1, -1],\n  # a comment\n  [1, 1, -1, -1],\n  [1, -1, -1, 1],\n]\n",
             "+ + + +\n+ - + -\n++ --\n+--+",  // signs may be spaced too; no final newline
         }) {
        const auto r = readHadamardFile(write("h4.txt", text), 4);
        ASSERT_TRUE(r.ok()) << r.error << "\n" << text;
        EXPECT_EQ(r.matrix, kH4) << text;
    }
}

TEST_F(HadamardFile, OrderFromFirstRow) {
    const auto r = readHadamardFile(write("h.txt", "++\n+-\n"), 0);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.matrix, (std::vector<int8_t>{1, 1, 1, -1}));
    const std::string p = path("h.txt");
    EXPECT_EQ(errorOf("++\n+-+\n", 0), p + ":2: row 2 has 3 entries, expected 2 (the length of row 1)");
}

TEST_F(HadamardFile, BuiltinMatrixRoundTrips) {
    const auto h = *builtinHadamard(172 * 2);
    std::string text;
    for (const auto &row : signRows(h, 344)) text += row + "\n";
    const auto r = readHadamardFile(write("h344.txt", text), 344);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.matrix, h);
}

TEST_F(HadamardFile, Unreadable) {
    const std::string missing = path("nope.txt");
    EXPECT_EQ(readHadamardFile(missing, 4).error, missing + ": cannot open file: no such file");
    EXPECT_EQ(readHadamardFile(dir_.string(), 4).error, dir_.string() + ": cannot read: not a regular file");
}

TEST_F(HadamardFile, TooLarge) {
    const std::string big = write("big.txt", "");
    fs::resize_file(big, kMaxMatrixFileBytes + 1);
    EXPECT_EQ(readHadamardFile(big, 4).error,
              big + ": file is too large (more than 33554432 bytes, enough for order 2048 in any notation)");
}

TEST_F(HadamardFile, BadEntries) {
    const std::string p = path("h.txt");
    EXPECT_EQ(errorOf("1 1 1 1\n\n1 2 1 -1\n", 4), p + ":3: entry '2' is not 1 or -1");
    EXPECT_EQ(errorOf("1 1 1 1\n1 0 1 -1\n", 4), p + ":2: entry '0' is not 1 or -1");
    EXPECT_EQ(errorOf("1 1 1 1.0\n", 4), p + ":1: entry '1.0' is not 1 or -1");
    EXPECT_EQ(errorOf("# header\n++++\n++x-\n", 4), p + ":3: entry 'x' in '++x-' is not + or -");
    EXPECT_EQ(errorOf("++++\n+-+- 1\n", 4), p + ":2: entry '1' is not + or -");
    EXPECT_EQ(errorOf("1 1 \x01 1\n", 4), p + ":1: entry '\\x01' is not 1 or -1");
    EXPECT_EQ(errorOf("1 1 " + std::string(100, 'z') + "\n", 4),
              p + ":1: entry '" + std::string(24, 'z') + "...' is not 1 or -1");
    EXPECT_EQ(errorOf(std::string(2049, '+') + "\n", 4),
              p + ":1: row has more than 2048 entries (the largest order kforge reads)");
}

TEST_F(HadamardFile, WrongShape) {
    const std::string p = path("h.txt");
    EXPECT_EQ(errorOf("++++\n+-+\n++--\n+--+\n", 4), p + ":2: row 2 has 3 entries, expected 4");
    EXPECT_EQ(errorOf("++++\n+-+-\n\n++--\n", 4), p + ": the file has 3 rows of 4 entries, expected 4 rows");
    EXPECT_EQ(errorOf("++++\n+-+-\n++--\n+--+\n# extra\n++++\n", 4),
              p + ":6: row 5 is one too many: a matrix of order 4 has 4 rows");
    EXPECT_EQ(errorOf("# nothing\n\n[\n]\n", 4), p + ": no matrix rows (only blank lines, comments or brackets)");
    EXPECT_EQ(errorOf("", 4), p + ": no matrix rows (only blank lines, comments or brackets)");
}

TEST_F(HadamardFile, WrongOrder) {
    std::string text;
    for (const auto &row : signRows(*builtinHadamard(8), 8)) text += row + "\n";
    EXPECT_EQ(errorOf(text, 12), path("h.txt") + ": the matrix has order 8 (8 rows of 8 entries), expected order 12");
    EXPECT_EQ(errorOf("+\n", 12), path("h.txt") + ": the matrix has order 1 (1 row of 1 entry), expected order 12");
}

TEST_F(HadamardFile, NotOrthogonal) {
    const std::string p = path("h.txt");
    // Row 3 (line 5) equals row 1 but for its last entry: dot product 2.
    EXPECT_EQ(errorOf("# order 4\n++++\n+-+-\n\n+++-\n+--+\n", 4),
              p + ":5: row 3 (line 5) is not orthogonal to row 1 (line 2): their dot product is 2, not 0 "
                  "(a Hadamard matrix has H H^T = 4 I)");
    EXPECT_EQ(errorOf("++\n++\n", 2),
              p + ":2: row 2 (line 2) is not orthogonal to row 1 (line 1): their dot product is 2, not 0 "
                  "(a Hadamard matrix has H H^T = 2 I)");
}

TEST_F(HadamardFile, ParseTextNamesThePathGiven) {
    EXPECT_EQ(parseHadamardText("++\n+0\n", "some/name", 2).error, "some/name:2: entry '+0' is not 1 or -1");
    EXPECT_EQ(parseHadamardText("++\n+--x\n", "y", 2).error, "y:2: entry 'x' in '+--x' is not + or -");
    EXPECT_EQ(parseHadamardText("++\n+-\n", "x", 3000).error, "x: order 3000 is not between 1 and 2048");
}

}  // namespace
}  // namespace kf::families::hadamard
