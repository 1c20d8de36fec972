// Lexer and parser: tokens, the generic statement tree, syntax errors and
// recovery.
#include "dsl/Lexer.h"
#include "dsl/Parser.h"

#include <gtest/gtest.h>

namespace kf::dsl {
namespace {

struct Parsed {
    SourceFile src;
    DiagnosticSink sink;
    FileAst ast;
    explicit Parsed(const std::string &text) : src("t.kf", text), sink(&src), ast(parse(src, sink)) {}
    std::vector<Diagnostic> diags() { return sink.take(); }
};

TEST(Lexer, WordsWithHyphensNumbersStringsAndComments) {
    SourceFile src("t.kf", "x86-avx512 arm64-neon-dotprod -3 42 0.5 \"h 172.txt\" // c\n# c2\n[a=1,b];");
    DiagnosticSink sink(&src);
    auto toks = lex(src, sink);
    ASSERT_FALSE(sink.hasErrors());
    std::vector<TokenKind> kinds;
    for (const auto &t : toks) kinds.push_back(t.kind);
    using K = TokenKind;
    std::vector<TokenKind> want = {K::Word, K::Word, K::Int, K::Int, K::Float, K::String, K::Newline,
                                   K::LBracket, K::Word, K::Equals, K::Int, K::Comma, K::Word,
                                   K::RBracket, K::Semicolon, K::Newline, K::Eof};
    EXPECT_EQ(kinds, want);
    EXPECT_EQ(toks[0].text, "x86-avx512");
    EXPECT_EQ(toks[1].text, "arm64-neon-dotprod");
    EXPECT_EQ(toks[2].intValue, -3);
    EXPECT_EQ(toks[3].intValue, 42);
    EXPECT_DOUBLE_EQ(toks[4].floatValue, 0.5);
    EXPECT_EQ(toks[5].text, "h 172.txt");
    EXPECT_EQ(toks[7].line, 3);
    EXPECT_EQ(toks[7].col, 1);
}

TEST(Lexer, TrailingHyphenIsNotPartOfWord) {
    SourceFile src("t.kf", "abc- x");
    DiagnosticSink sink(&src);
    auto toks = lex(src, sink);
    EXPECT_EQ(toks[0].text, "abc");
    auto d = sink.take();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].message, "unexpected character '-'");
    EXPECT_EQ(d[0].loc.col, 4);
}

TEST(Lexer, BadNumbersAndHugeIntegers) {
    SourceFile src("t.kf", "128k 1.2.3 99999999999999999999999 5");
    DiagnosticSink sink(&src);
    auto toks = lex(src, sink);
    auto d = sink.take();
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0].message, "invalid number '128k'; expected an integer like 128 or a decimal like 0.5");
    EXPECT_EQ(d[1].loc.col, 6);
    EXPECT_EQ(d[2].message,
              "integer literal '99999999999999999999999' is out of range (limit 9223372036854775807)");
    // Malformed literals stay in the stream as Invalid so the parser can drop
    // their statement without a second error.
    ASSERT_GE(toks.size(), 4u);
    EXPECT_EQ(toks[0].kind, TokenKind::Invalid);
    EXPECT_EQ(toks[2].kind, TokenKind::Invalid);
    EXPECT_EQ(toks[3].intValue, 5);
}

TEST(Lexer, UnterminatedStringAndEscapes) {
    SourceFile src("t.kf", "\"a\\\"b\" \"open\n");
    DiagnosticSink sink(&src);
    auto toks = lex(src, sink);
    EXPECT_EQ(toks[0].text, "a\"b");
    auto d = sink.take();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].message, "unterminated string; expected '\"' before end of line");
    EXPECT_EQ(d[0].loc.col, 8);
}

TEST(Parser, KernelAndScheduleStructure) {
    Parsed p("kernel k : lowbit_linear {\n"
             "  weight int4 shape=[N=64, K=128] scale=f16\n"
             "  input f32; output f32\n"
             "}\n"
             "schedule k for x86-avx2 bucket=decode {\n"
             "  split n 64 ; vectorize n 16\n"
             "  tune {\n"
             "    split k in [64,\n 128]\n"
             "  }\n"
             "}\n");
    EXPECT_TRUE(p.diags().empty());
    ASSERT_EQ(p.ast.kernels.size(), 1u);
    const auto &k = p.ast.kernels[0];
    EXPECT_EQ(k.name, "k");
    EXPECT_EQ(k.family, "lowbit_linear");
    EXPECT_EQ(k.familyLoc.col, 12);
    ASSERT_EQ(k.body.statements.size(), 3u);
    const auto &w = k.body.statements[0];
    EXPECT_EQ(w.head, "weight");
    ASSERT_EQ(w.args.size(), 3u);
    EXPECT_TRUE(w.args[0].positional());
    EXPECT_EQ(w.args[0].value.text, "int4");
    EXPECT_EQ(w.args[1].key, "shape");
    ASSERT_EQ(w.args[1].value.kind, Value::Kind::List);
    ASSERT_EQ(w.args[1].value.items.size(), 2u);
    EXPECT_EQ(w.args[1].value.items[1].key, "K");
    EXPECT_EQ(w.args[1].value.items[1].value.intValue, 128);
    EXPECT_EQ(w.args[2].keyLoc.line, 2);
    EXPECT_EQ(w.args[2].keyLoc.col, 35);
    EXPECT_EQ(k.body.statements[2].head, "output");

    ASSERT_EQ(p.ast.schedules.size(), 1u);
    const auto &s = p.ast.schedules[0];
    EXPECT_EQ(s.target, "x86-avx2");
    ASSERT_TRUE(s.bucket);
    EXPECT_EQ(*s.bucket, "decode");
    EXPECT_EQ(s.body.statements.size(), 2u);
    ASSERT_EQ(s.body.tunes.size(), 1u);
    ASSERT_EQ(s.body.tunes[0].statements.size(), 1u);
    const auto &t = s.body.tunes[0].statements[0];
    ASSERT_TRUE(t.inList);
    EXPECT_EQ(t.inList->items.size(), 2u);
    EXPECT_EQ(t.args.size(), 1u);
}

TEST(Parser, TopLevelGarbageRecoversAtNextItem) {
    Parsed p("foo bar\nbaz\nkernel k : hadamard {\n size N=64\n}\n");
    auto d = p.diags();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].message, "expected 'kernel' or 'schedule', found 'foo'");
    EXPECT_EQ(p.ast.kernels.size(), 1u);
}

TEST(Parser, HeaderErrors) {
    Parsed p("kernel k lowbit_linear {\n weight int4\n}\n"
             "schedule k x86 {\n}\n"
             "kernel 5 : hadamard {}\n"
             "schedule k for x86-avx2 bucket decode {}\n");
    auto d = p.diags();
    ASSERT_EQ(d.size(), 4u);
    EXPECT_EQ(d[0].message,
              "expected ':' after kernel name 'k' (kernel k : <family> { ... }), found 'lowbit_linear'");
    EXPECT_EQ(d[1].message,
              "expected 'for' after 'schedule k' (schedule k for <target> { ... }), found 'x86'");
    EXPECT_EQ(d[2].message, "expected a kernel name after 'kernel', found integer 5");
    EXPECT_EQ(d[3].message,
              "expected '=' after 'bucket' (bucket=<any|decode|small|prefill>), found 'decode'");
    EXPECT_TRUE(p.ast.kernels.empty());
    EXPECT_TRUE(p.ast.schedules.empty());
}

TEST(Parser, UnterminatedBlockStopsAtNextItem) {
    Parsed p("kernel a : hadamard {\n size N=64\n"
             "kernel b : hadamard {\n size N=64\n}\n"
             "schedule b for x86 {\n split n 4\n");
    auto d = p.diags();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].message, "expected '}' to close kernel 'a' before 'kernel' at line 3");
    EXPECT_EQ(d[0].loc.line, 1);
    EXPECT_EQ(d[0].loc.col, 21);
    EXPECT_EQ(d[1].message, "expected '}' to close the schedule of 'b' before end of file");
    ASSERT_EQ(p.ast.kernels.size(), 2u);
    EXPECT_FALSE(p.ast.kernels[0].body.closed);
    EXPECT_TRUE(p.ast.kernels[1].body.closed);
}

TEST(Parser, UnterminatedListDoesNotSwallowNextLine) {
    Parsed p("kernel a : lowbit_linear {\n weight int4 shape=[N=4, K=4\n input f32\n}\n");
    auto d = p.diags();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].message, "expected ']' to close this list before end of line");
    EXPECT_EQ(d[0].loc.col, 20);
    const auto &st = p.ast.kernels[0].body.statements;
    ASSERT_EQ(st.size(), 2u);
    EXPECT_TRUE(st[0].broken);
    EXPECT_EQ(st[1].head, "input");
}

TEST(Parser, TuneStatementNeedsInList) {
    Parsed p("schedule k for x {\n tune {\n  split n 4\n  split k in 5\n }\n}\n");
    auto d = p.diags();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].message, "expected 'in [values...]' in tune statement 'split', found end of line");
    EXPECT_EQ(d[1].message, "expected a list like [16, 32, 64] after 'in', found integer 5");
}

TEST(Parser, NestedTuneAndMissingValue) {
    Parsed p("schedule k for x {\n tune {\n  tune { split n in [1] }\n }\n split n=\n}\n");
    auto d = p.diags();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].message, "'tune' blocks cannot be nested");
    EXPECT_EQ(d[1].message, "expected a value after 'n=', found end of line");
}

TEST(Parser, MalformedLiteralGivesOneError) {
    Parsed p("schedule k for x {\n split n 12x\n split k 99999999999999999999\n}\nkernel 3y : hadamard {}\n");
    auto d = p.diags();
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0].message, "invalid number '12x'; expected an integer like 128 or a decimal like 0.5");
    EXPECT_EQ(d[1].loc.line, 3);
    EXPECT_EQ(d[2].loc.line, 5);
    ASSERT_EQ(p.ast.schedules.size(), 1u);
    EXPECT_TRUE(p.ast.schedules[0].body.statements[0].broken);
}

TEST(Parser, DeepListsAreRefused) {
    Parsed p("kernel a : hadamard {\n size N=" + std::string(10000, '[') + "\n}\n");
    auto d = p.diags();
    ASSERT_FALSE(d.empty());
    EXPECT_EQ(d[0].message, "lists nested more than 8 deep");
}

}  // namespace
}  // namespace kf::dsl
