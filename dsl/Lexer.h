// \file
// Tokenizer of the kforge DSL (docs/dsl.md, "Lexical structure").
//
// Newlines are tokens: a statement ends at a newline or ';'. Comments run from
// `//` or `#` to the end of the line. Words may contain inner hyphens
// (x86-avx512, arm64-neon-dotprod) but not start or end with one. Bad bytes,
// malformed numbers and unterminated strings are reported to the sink and
// skipped, so the parser always sees a well-formed token stream ending in Eof.
#pragma once

#include "dsl/Diagnostics.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kf::dsl {

enum class TokenKind {
    Word,       // [A-Za-z_][A-Za-z0-9_]* ('-' [A-Za-z0-9_]+)*
    Int,        // -?[0-9]+           (intValue set; text as written)
    Float,      // -?[0-9]+ '.' [0-9]+ ([eE] [+-]? [0-9]+)?
    String,     // "..." with \" \\ \n \t escapes (text = contents, unescaped)
    LBrace, RBrace, LBracket, RBracket,
    Comma, Equals, Colon, Semicolon,
    Newline,
    Eof,
    Invalid,    // a malformed literal, already reported; the parser drops its statement
};

const char *toString(TokenKind k);

// Limits on one token (docs/dsl.md, "Limits"): longer ones are an error, so no
// message or table downstream ever holds a megabyte name.
inline constexpr std::size_t kMaxWordLength = 256;
inline constexpr std::size_t kMaxStringLength = 4096;

struct Token {
    TokenKind kind = TokenKind::Eof;
    std::string text;
    int64_t intValue = 0;
    double floatValue = 0;
    int line = 1;
    int col = 1;
};

// How a token reads in "expected X, found Y" messages: "word 'foo'",
// "integer 12", "'{'", "end of line", "end of file".
std::string describe(const Token &t);

// Tokenizes the whole file. Always ends with one Eof token. Consecutive
// newlines are collapsed into one Newline token.
std::vector<Token> lex(const SourceFile &src, DiagnosticSink &sink);

}  // namespace kf::dsl
