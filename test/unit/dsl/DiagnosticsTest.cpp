// Diagnostic rendering: file:line:col, the source line, the caret.
#include "dsl/Diagnostics.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

namespace kf::dsl {
namespace {

TEST(Diagnostics, RendersLikeACompiler) {
    Diagnostic d{SourceLoc{"model.kf", 3, 10}, "unknown weight format 'int5'", "  weight int5 shape=[N=4096, K=4096]"};
    EXPECT_EQ(d.render(),
              "model.kf:3:10: error: unknown weight format 'int5'\n"
              "  weight int5 shape=[N=4096, K=4096]\n"
              "         ^\n");
}

TEST(Diagnostics, KeepsTabsInCaretLine) {
    Diagnostic d{SourceLoc{"a.kf", 1, 3}, "m", "\tx y"};
    EXPECT_EQ(d.render(), "a.kf:1:3: error: m\n\tx y\n\t ^\n");
}

TEST(Diagnostics, WithoutLineOnlyTheHeader) {
    Diagnostic d{SourceLoc{"a.kf", 0, 0}, "cannot open file: No such file or directory", ""};
    EXPECT_EQ(d.render(), "a.kf: error: cannot open file: No such file or directory\n");
}

TEST(Diagnostics, LongLinesAreWindowed) {
    std::string line(1000, 'a');
    Diagnostic d{SourceLoc{"a.kf", 1, 500}, "m", line};
    std::string r = d.render();
    EXPECT_LT(r.size(), 600u);
    auto nl = r.find('\n');
    auto shown = r.substr(nl + 1, r.find('\n', nl + 1) - nl - 1);
    auto caret = r.substr(r.find('\n', nl + 1) + 1);
    EXPECT_EQ(shown.substr(0, 3), "...");
    EXPECT_EQ(caret.find('^'), 3u + 100u);
}

TEST(Diagnostics, ControlBytesAreMasked) {
    Diagnostic d{SourceLoc{"a.kf", 1, 2}, "m", std::string("a\x01" "b", 3)};
    EXPECT_EQ(d.render(), "a.kf:1:2: error: m\na?b\n ^\n");
}

TEST(Diagnostics, SinkSortsAndCaps) {
    SourceFile src("a.kf", "one\ntwo\n");
    DiagnosticSink sink(&src);
    sink.error(src.loc(2, 1), "second");
    sink.error(src.loc(1, 2), "first");
    auto d = sink.take();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].message, "first");
    EXPECT_EQ(d[0].sourceLine, "one");
    EXPECT_EQ(d[1].sourceLine, "two");

    DiagnosticSink many(&src);
    for (int i = 0; i < 70; ++i) many.error(src.loc(1, 1), "x");
    auto m = many.take();
    ASSERT_EQ(m.size(), DiagnosticSink::kMaxErrors + 1);
    EXPECT_EQ(m.back().message, "too many errors (70); only the first 50 are shown");
}

TEST(Diagnostics, CrLfLinesHaveNoCarriageReturn) {
    SourceFile src("a.kf", "abc\r\ndef\r\n");
    EXPECT_EQ(src.lineText(1), "abc");
    EXPECT_EQ(src.lineText(2), "def");
    EXPECT_EQ(src.lineText(9), "");
}

TEST(Diagnostics, BriefExampleEndToEnd) {
    auto r = test::load("kernel k : lowbit_linear {\n\n  weight int5 shape=[N=4096, K=4096]\n  input f32\n  output f32\n}\n");
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(test::rendered(r),
              "t.kf:3:10: error: unknown weight format 'int5'; expected one of binary, ternary, seq2, int2, "
              "int3, int4, int8, uint2..uint8, codebook1..codebook8\n"
              "  weight int5 shape=[N=4096, K=4096]\n"
              "         ^\n");
}

}  // namespace
}  // namespace kf::dsl
