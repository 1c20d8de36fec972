#include "dsl/Lexer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace kf::dsl {

const char *toString(TokenKind k) {
    switch (k) {
    case TokenKind::Word: return "word";
    case TokenKind::Int: return "integer";
    case TokenKind::Float: return "number";
    case TokenKind::String: return "string";
    case TokenKind::LBrace: return "'{'";
    case TokenKind::RBrace: return "'}'";
    case TokenKind::LBracket: return "'['";
    case TokenKind::RBracket: return "']'";
    case TokenKind::Comma: return "','";
    case TokenKind::Equals: return "'='";
    case TokenKind::Colon: return "':'";
    case TokenKind::Semicolon: return "';'";
    case TokenKind::Newline: return "end of line";
    case TokenKind::Eof: return "end of file";
    case TokenKind::Invalid: return "invalid literal";
    }
    return "token";
}

std::string describe(const Token &t) {
    switch (t.kind) {
    case TokenKind::Word: return "'" + t.text + "'";
    case TokenKind::Int: return "integer " + t.text;
    case TokenKind::Float: return "number " + t.text;
    case TokenKind::String: return "string \"" + t.text + "\"";
    default: return toString(t.kind);
    }
}

namespace {

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isWordChar(char c) { return isAlpha(c) || isDigit(c); }

class Lexer {
public:
    Lexer(const SourceFile &src, DiagnosticSink &sink) : src_(src), text_(src.text()), sink_(sink) {}

    std::vector<Token> run() {
        while (pos_ < text_.size()) step();
        Token eof = make(TokenKind::Eof, line_, col_);
        if (!tokens_.empty() && tokens_.back().kind != TokenKind::Newline) {
            Token nl = make(TokenKind::Newline, line_, col_);
            tokens_.push_back(nl);
        }
        tokens_.push_back(eof);
        return std::move(tokens_);
    }

private:
    const SourceFile &src_;
    const std::string &text_;
    DiagnosticSink &sink_;
    std::vector<Token> tokens_;
    size_t pos_ = 0;
    int line_ = 1;
    int col_ = 1;

    char peek(size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }
    void advance() {
        if (text_[pos_] == '\n') {
            ++line_;
            col_ = 1;
        } else {
            ++col_;
        }
        ++pos_;
    }
    Token make(TokenKind k, int line, int col) const {
        Token t;
        t.kind = k;
        t.line = line;
        t.col = col;
        return t;
    }
    void push(Token t) {
        // A statement list does not care how many blank lines separate
        // statements, and neither does the parser.
        if (t.kind == TokenKind::Newline &&
            (tokens_.empty() || tokens_.back().kind == TokenKind::Newline))
            return;
        tokens_.push_back(std::move(t));
    }
    // Keeps the place of a reported malformed literal so that the parser drops
    // the statement instead of reporting a second, derived error.
    void pushInvalid(int line, int col, std::string text) {
        Token t = make(TokenKind::Invalid, line, col);
        t.text = std::move(text);
        push(std::move(t));
    }
    void error(int line, int col, std::string msg) { sink_.error(src_.loc(line, col), std::move(msg)); }

    void skipToEndOfLine() {
        while (pos_ < text_.size() && text_[pos_] != '\n') advance();
    }

    void step() {
        char c = peek();
        int line = line_, col = col_;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            advance();
            return;
        }
        if (c == '#' || (c == '/' && peek(1) == '/')) {
            skipToEndOfLine();
            return;
        }
        if (c == '\n') {
            advance();
            push(make(TokenKind::Newline, line, col));
            return;
        }
        if (isAlpha(c)) return lexWord();
        if (isDigit(c) || (c == '-' && isDigit(peek(1)))) return lexNumber();
        if (c == '"') return lexString();
        TokenKind k;
        switch (c) {
        case '{': k = TokenKind::LBrace; break;
        case '}': k = TokenKind::RBrace; break;
        case '[': k = TokenKind::LBracket; break;
        case ']': k = TokenKind::RBracket; break;
        case ',': k = TokenKind::Comma; break;
        case '=': k = TokenKind::Equals; break;
        case ':': k = TokenKind::Colon; break;
        case ';': k = TokenKind::Semicolon; break;
        default: return badCharacters();
        }
        advance();
        Token t = make(k, line, col);
        t.text = std::string(1, c);
        push(std::move(t));
    }

    void lexWord() {
        Token t = make(TokenKind::Word, line_, col_);
        size_t begin = pos_;
        while (isWordChar(peek())) advance();
        // Inner hyphens: x86-avx512, arm64-neon-dotprod.
        while (peek() == '-' && isWordChar(peek(1))) {
            advance();
            while (isWordChar(peek())) advance();
        }
        t.text = text_.substr(begin, pos_ - begin);
        if (t.text.size() > kMaxWordLength) {
            error(t.line, t.col, "name '" + elided(t.text) + "' is too long (limit " +
                                     std::to_string(kMaxWordLength) + " characters)");
            return pushInvalid(t.line, t.col, elided(t.text));
        }
        push(std::move(t));
    }

    void lexNumber() {
        int line = line_, col = col_;
        size_t begin = pos_;
        advance();  // digit or '-'
        // Take everything that could belong to the literal, then validate, so
        // that "128k" or "1.2.3" is one error rather than a number and a word.
        while (isWordChar(peek()) || peek() == '.' ||
               ((peek() == '+' || peek() == '-') && (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))
            advance();
        std::string lit = text_.substr(begin, pos_ - begin);
        size_t i = lit[0] == '-' ? 1 : 0;
        size_t digits = i;
        while (digits < lit.size() && isDigit(lit[digits])) ++digits;
        Token t = make(TokenKind::Int, line, col);
        t.text = lit;
        if (digits == lit.size()) {
            errno = 0;
            char *end = nullptr;
            long long v = std::strtoll(lit.c_str(), &end, 10);
            if (errno == ERANGE) {
                error(line, col, "integer literal '" + elided(lit) + "' is out of range (limit " +
                                     std::to_string(std::numeric_limits<int64_t>::max()) + ")");
                return pushInvalid(line, col, lit);
            }
            t.intValue = v;
            push(std::move(t));
            return;
        }
        // Float: digits '.' digits [e[+-]digits]
        size_t j = digits;
        bool valid = j > i && j < lit.size() && lit[j] == '.';
        if (valid) {
            size_t frac = ++j;
            while (j < lit.size() && isDigit(lit[j])) ++j;
            valid = j > frac;
            if (valid && j < lit.size() && (lit[j] == 'e' || lit[j] == 'E')) {
                ++j;
                if (j < lit.size() && (lit[j] == '+' || lit[j] == '-')) ++j;
                size_t expBegin = j;
                while (j < lit.size() && isDigit(lit[j])) ++j;
                valid = j > expBegin;
            }
            valid = valid && j == lit.size();
        }
        if (!valid) {
            error(line, col, "invalid number '" + elided(lit) + "'; expected an integer like 128 or a decimal like 0.5");
            return pushInvalid(line, col, lit);
        }
        t.kind = TokenKind::Float;
        errno = 0;
        t.floatValue = std::strtod(lit.c_str(), nullptr);
        if (errno == ERANGE) {
            error(line, col, "number '" + elided(lit) + "' is out of range");
            return pushInvalid(line, col, lit);
        }
        push(std::move(t));
    }

    void lexString() {
        int line = line_, col = col_;
        advance();  // opening quote
        std::string value;
        while (true) {
            char c = peek();
            if (pos_ >= text_.size() || c == '\n') {
                error(line, col, "unterminated string; expected '\"' before end of line");
                return pushInvalid(line, col, value);
            }
            advance();
            if (c == '"') break;
            if (c == '\\') {
                char e = peek();
                if (pos_ >= text_.size() || e == '\n') continue;  // reported above on next turn
                advance();
                switch (e) {
                case 'n': value += '\n'; break;
                case 't': value += '\t'; break;
                case '"': value += '"'; break;
                case '\\': value += '\\'; break;
                default:
                    error(line_, col_ - 2, std::string("unknown escape '\\") + e +
                                               "' in string; expected \\\", \\\\, \\n or \\t");
                    value += e;
                }
                continue;
            }
            value += c;
        }
        if (value.size() > kMaxStringLength) {
            error(line, col, "string \"" + elided(value) + "\" is too long (limit " +
                                 std::to_string(kMaxStringLength) + " characters)");
            return pushInvalid(line, col, elided(value));
        }
        Token t = make(TokenKind::String, line, col);
        t.text = std::move(value);
        push(std::move(t));
    }

    // One error for a run of bytes that cannot start a token (binary garbage
    // gives one line per run, not one per byte).
    void badCharacters() {
        int line = line_, col = col_;
        unsigned char c = static_cast<unsigned char>(peek());
        std::string shown;
        if (c >= 0x20 && c < 0x7f) {
            shown = std::string("'") + static_cast<char>(c) + "'";
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "0x%02x", c);
            shown = std::string("byte ") + buf;
        }
        auto starts = [&](char ch) {
            return ch == '\n' || ch == ' ' || ch == '\t' || ch == '\r' || isWordChar(ch) || ch == '"' ||
                   ch == '{' || ch == '}' || ch == '[' || ch == ']' || ch == ',' || ch == '=' ||
                   ch == ':' || ch == ';' || ch == '#' || ch == '-';
        };
        advance();
        while (pos_ < text_.size() && !starts(peek())) advance();
        error(line, col, "unexpected character " + shown);
    }
};

}  // namespace

std::vector<Token> lex(const SourceFile &src, DiagnosticSink &sink) {
    return Lexer(src, sink).run();
}

}  // namespace kf::dsl
