// Hostile input: never crash or throw, always at least one located error.
#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

namespace kf::dsl {
namespace {

TEST(Robustness, EmptyFileIsAnError) {
    auto r = test::load("");
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].render(),
              "t.kf: error: no kernels in file; expected 'kernel <name> : <family> { ... }' with <family> one of "
              "lowbit_linear, hadamard, rotation_attention, sparse_rank_linear\n");
    EXPECT_FALSE(test::load("// only a comment\n\n# and another\n").ok());
}

TEST(Robustness, MissingFile) {
    auto r = loadFile("/nonexistent/dir/x.kf", {});
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].message.rfind("cannot open file: ", 0), 0u);
    EXPECT_FALSE(r.ok());
}

TEST(Robustness, ReadsAFile) {
    std::string path = ::testing::TempDir() + "/kforge_dsl_test.kf";
    FILE *f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string text = test::lowbitKernel("  weight int4 shape=[N=8, K=8]");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    auto r = loadFile(path, {});
    ASSERT_TRUE(r.ok()) << test::rendered(r);
    EXPECT_EQ(r.module->file, path);
    std::remove(path.c_str());
}

TEST(Robustness, GarbageBytes) {
    std::string text("\x00\xff\xfe kernel \x01 { [[[ \"", 20);
    auto r = test::load(text);
    ASSERT_FALSE(r.ok());
    for (const auto &d : r.diagnostics) EXPECT_GE(d.loc.line, 1) << d.render();
}

TEST(Robustness, RandomInputsNeverCrash) {
    const std::string pieces[] = {"kernel", "schedule", "for", "tune", "in", "{", "}", "[", "]", ",", "=", ":", ";",
                                  "\n", "lowbit_linear", "hadamard", "weight", "int4", "shape", "N", "K", "64",
                                  "-1", "99999999999999999999", "\"s", "\"ok\"", "#c\n", "x86-avx2", "split",
                                  "n", "pack", "interleave", "1.5", "\x80", "size", "input", "f32", "output"};
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 3000; ++iter) {
        std::string text;
        int len = static_cast<int>(rng() % 60);
        for (int i = 0; i < len; ++i) text += pieces[rng() % std::size(pieces)] + std::string(rng() % 2 ? " " : "");
        auto r = test::load(text);
        SCOPED_TRACE("seed 12345 iteration " + std::to_string(iter) + ": " + text);
        EXPECT_EQ(r.ok(), r.diagnostics.empty());
        for (const auto &d : r.diagnostics) (void)d.render();
    }
}

TEST(Robustness, ManyErrorsAreCapped) {
    std::string text;
    for (int i = 0; i < 500; ++i) text += "bogus\n";
    auto r = test::load(text);
    EXPECT_LE(r.diagnostics.size(), DiagnosticSink::kMaxErrors + 1);
}

}  // namespace
}  // namespace kf::dsl
