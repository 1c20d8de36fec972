#include "dsl/Parser.h"

#include "dsl/Lexer.h"

#include <utility>

namespace kf::dsl {

std::string describe(const Value &v) {
    switch (v.kind) {
    case Value::Kind::String: return "\"" + v.text + "\"";
    case Value::Kind::List: return "[...]";
    default: return v.text;
    }
}

namespace {

// Lists nest only a level or two in real files; the limit keeps recursion
// bounded on hostile input.
constexpr int kMaxListDepth = 8;
// Longer lists are not a shape or a tune axis anyone means (docs/dsl.md, "Limits").
constexpr size_t kMaxListItems = 1024;

class Parser {
public:
    Parser(const SourceFile &src, DiagnosticSink &sink)
        : src_(src), sink_(sink), toks_(lex(src, sink)) {}

    FileAst run() {
        FileAst file;
        while (!at(TokenKind::Eof)) {
            if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
                ++pos_;
            } else if (atWord("kernel")) {
                if (auto k = parseKernel()) file.kernels.push_back(std::move(*k));
            } else if (atWord("schedule")) {
                if (auto s = parseSchedule()) file.schedules.push_back(std::move(*s));
            } else {
                if (!at(TokenKind::Invalid))
                    error(cur(), "expected 'kernel' or 'schedule', found " + describe(cur()));
                skipToNextItem();
            }
        }
        return file;
    }

private:
    const SourceFile &src_;
    DiagnosticSink &sink_;
    std::vector<Token> toks_;
    size_t pos_ = 0;

    const Token &cur() const { return toks_[pos_]; }
    const Token &peekTok(size_t ahead) const {
        size_t i = pos_ + ahead;
        return i < toks_.size() ? toks_[i] : toks_.back();
    }
    bool at(TokenKind k) const { return cur().kind == k; }
    bool atWord(const char *w) const { return at(TokenKind::Word) && cur().text == w; }
    bool atStatementEnd() const {
        return at(TokenKind::Newline) || at(TokenKind::Semicolon) || at(TokenKind::RBrace) ||
               at(TokenKind::Eof);
    }
    SourceLoc loc(const Token &t) const { return src_.loc(t.line, t.col); }
    void error(const Token &t, std::string msg) { sink_.error(loc(t), std::move(msg)); }
    void advance() {
        if (!at(TokenKind::Eof)) ++pos_;
    }
    void skipNewlines() {
        while (at(TokenKind::Newline)) ++pos_;
    }

    // Whether the tokens at pos_ start a top-level item: `kernel NAME :` or
    // `schedule NAME for`. Used to stop inside a block whose '}' is missing.
    bool atItemHeader() const {
        if (!at(TokenKind::Word) || peekTok(1).kind != TokenKind::Word) return false;
        if (cur().text == "kernel") return peekTok(2).kind == TokenKind::Colon;
        if (cur().text == "schedule")
            return peekTok(2).kind == TokenKind::Word && peekTok(2).text == "for";
        return false;
    }

    // Top-level recovery: to the next `kernel` / `schedule` that starts a line.
    void skipToNextItem() {
        advance();
        while (!at(TokenKind::Eof)) {
            bool lineStart = pos_ > 0 && toks_[pos_ - 1].kind == TokenKind::Newline;
            if (lineStart && (atWord("kernel") || atWord("schedule"))) return;
            advance();
        }
    }

    // Statement recovery: past the next newline or ';' outside braces; stops
    // before a '}' that closes the enclosing block.
    void skipToStatementEnd() {
        int depth = 0;
        while (!at(TokenKind::Eof)) {
            if (at(TokenKind::LBrace)) {
                ++depth;
            } else if (at(TokenKind::RBrace)) {
                if (depth == 0) return;
                --depth;
            } else if (depth == 0 && (at(TokenKind::Newline) || at(TokenKind::Semicolon))) {
                advance();
                return;
            }
            advance();
        }
    }

    // Skips a balanced { ... } starting at the current '{'.
    void skipBracedBlock() {
        int depth = 0;
        while (!at(TokenKind::Eof)) {
            if (at(TokenKind::LBrace)) ++depth;
            if (at(TokenKind::RBrace) && --depth == 0) {
                advance();
                return;
            }
            advance();
        }
    }

    // Header recovery: find the item's '{' (same or following lines, before the
    // next item) and skip its body, so that its statements are not read as
    // top-level garbage.
    void skipBrokenItem() {
        while (!at(TokenKind::Eof) && !at(TokenKind::LBrace)) {
            bool lineStart = pos_ > 0 && toks_[pos_ - 1].kind == TokenKind::Newline;
            if (lineStart && (atWord("kernel") || atWord("schedule"))) return;
            advance();
        }
        if (at(TokenKind::LBrace)) skipBracedBlock();
    }

    bool expectWord(std::string &out, SourceLoc &outLoc, const std::string &what) {
        if (!at(TokenKind::Word)) {
            if (!at(TokenKind::Invalid)) error(cur(), "expected " + what + ", found " + describe(cur()));
            return false;
        }
        out = cur().text;
        outLoc = loc(cur());
        advance();
        return true;
    }

    bool expectOpenBrace(const std::string &what) {
        skipNewlines();
        if (at(TokenKind::LBrace)) return true;
        error(cur(), "expected '{' to open " + what + ", found " + describe(cur()));
        return false;
    }

    std::optional<KernelDecl> parseKernel() {
        KernelDecl k;
        k.loc = loc(cur());
        advance();
        if (!expectWord(k.name, k.nameLoc, "a kernel name after 'kernel'")) return skipBrokenItem(), std::nullopt;
        if (!at(TokenKind::Colon)) {
            error(cur(), "expected ':' after kernel name '" + k.name + "' (kernel " + k.name +
                             " : <family> { ... }), found " + describe(cur()));
            return skipBrokenItem(), std::nullopt;
        }
        advance();
        if (!expectWord(k.family, k.familyLoc, "a kernel family after ':'")) return skipBrokenItem(), std::nullopt;
        if (!expectOpenBrace("kernel '" + k.name + "'")) return skipBrokenItem(), std::nullopt;
        parseBlock(k.body, "kernel '" + k.name + "'");
        return k;
    }

    std::optional<ScheduleDecl> parseSchedule() {
        ScheduleDecl s;
        s.loc = loc(cur());
        advance();
        if (!expectWord(s.kernel, s.kernelLoc, "a kernel name after 'schedule'")) return skipBrokenItem(), std::nullopt;
        if (!atWord("for")) {
            error(cur(), "expected 'for' after 'schedule " + s.kernel + "' (schedule " + s.kernel +
                             " for <target> { ... }), found " + describe(cur()));
            return skipBrokenItem(), std::nullopt;
        }
        advance();
        if (!expectWord(s.target, s.targetLoc, "a target name after 'for'")) return skipBrokenItem(), std::nullopt;
        if (atWord("bucket")) {
            advance();
            if (!at(TokenKind::Equals)) {
                error(cur(), "expected '=' after 'bucket' (bucket=<any|decode|small|prefill>), found " +
                                 describe(cur()));
                return skipBrokenItem(), std::nullopt;
            }
            advance();
            std::string b;
            if (!expectWord(b, s.bucketLoc, "a bucket name after 'bucket=' (any, decode, small, prefill)"))
                return skipBrokenItem(), std::nullopt;
            s.bucket = b;
        }
        if (!expectOpenBrace("the schedule of '" + s.kernel + "'")) return skipBrokenItem(), std::nullopt;
        parseBlock(s.body, "the schedule of '" + s.kernel + "'");
        return s;
    }

    // At '{'. Reads statements and tune blocks up to the matching '}'.
    void parseBlock(Block &block, const std::string &what) {
        block.open = loc(cur());
        advance();
        while (true) {
            if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
                advance();
            } else if (at(TokenKind::RBrace)) {
                block.closed = true;
                advance();
                return;
            } else if (at(TokenKind::Eof)) {
                sink_.error(block.open, "expected '}' to close " + what + " before end of file");
                return;
            } else if (atItemHeader()) {
                sink_.error(block.open, "expected '}' to close " + what + " before '" + cur().text +
                                            "' at line " + std::to_string(cur().line));
                return;
            } else if (atWord("tune") && peekTok(1).kind == TokenKind::LBrace) {
                TuneBlock t;
                t.loc = loc(cur());
                advance();
                parseTuneBody(t);
                block.tunes.push_back(std::move(t));
            } else if (at(TokenKind::Word)) {
                block.statements.push_back(parseStatement(false));
            } else {
                if (!at(TokenKind::Invalid)) error(cur(), "expected a statement, found " + describe(cur()));
                if (at(TokenKind::LBrace)) skipBracedBlock();
                else skipToStatementEnd();
            }
        }
    }

    // At the '{' after 'tune'.
    void parseTuneBody(TuneBlock &tune) {
        SourceLoc open = loc(cur());
        advance();
        while (true) {
            if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
                advance();
            } else if (at(TokenKind::RBrace)) {
                advance();
                return;
            } else if (at(TokenKind::Eof) || atItemHeader()) {
                sink_.error(open, "expected '}' to close the tune block before " +
                                      (at(TokenKind::Eof) ? std::string("end of file")
                                                          : "'" + cur().text + "' at line " +
                                                                std::to_string(cur().line)));
                return;
            } else if (atWord("tune") && peekTok(1).kind == TokenKind::LBrace) {
                error(cur(), "'tune' blocks cannot be nested");
                advance();
                skipBracedBlock();
            } else if (at(TokenKind::Word)) {
                tune.statements.push_back(parseStatement(true));
            } else {
                if (!at(TokenKind::Invalid))
                    error(cur(), "expected a tune statement like 'split n in [16, 32]', found " + describe(cur()));
                if (at(TokenKind::LBrace)) skipBracedBlock();
                else skipToStatementEnd();
            }
        }
    }

    Statement parseStatement(bool tune) {
        Statement st;
        st.head = cur().text;
        st.loc = loc(cur());
        advance();
        auto fail = [&] {
            st.broken = true;
            skipToStatementEnd();
            return st;
        };
        while (!atStatementEnd()) {
            if (tune && atWord("in")) {
                st.inLoc = loc(cur());
                advance();
                if (!at(TokenKind::LBracket)) {
                    if (at(TokenKind::Invalid)) return fail();
                    error(cur(), "expected a list like [16, 32, 64] after 'in', found " + describe(cur()));
                    return fail();
                }
                auto list = parseValue(0);
                if (!list) return fail();
                st.inList = std::move(*list);
                if (!atStatementEnd()) {
                    error(cur(), "expected end of tune statement after the list, found " + describe(cur()));
                    return fail();
                }
                break;
            }
            auto arg = parseArg(0, "'" + st.head + "' statement");
            if (!arg) return fail();
            st.args.push_back(std::move(*arg));
        }
        if (tune && !st.inList && !st.broken) {
            error(cur(), "expected 'in [values...]' in tune statement '" + st.head +
                             "', found " + describe(cur()));
            return fail();
        }
        if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) advance();
        return st;
    }

    std::optional<Arg> parseArg(int depth, const std::string &context) {
        Arg a;
        if (at(TokenKind::Invalid)) return std::nullopt;  // reported by the lexer
        if (at(TokenKind::Word) && peekTok(1).kind == TokenKind::Equals) {
            a.key = cur().text;
            a.keyLoc = loc(cur());
            advance();
            advance();
            if (at(TokenKind::Invalid)) return std::nullopt;
            if (!startsValue()) {
                error(cur(), "expected a value after '" + a.key + "=', found " + describe(cur()));
                return std::nullopt;
            }
        } else if (!startsValue()) {
            error(cur(), "unexpected " + describe(cur()) + " in " + context);
            return std::nullopt;
        }
        auto v = parseValue(depth);
        if (!v) return std::nullopt;
        a.value = std::move(*v);
        return a;
    }

    bool startsValue() const {
        switch (cur().kind) {
        case TokenKind::Word: case TokenKind::Int: case TokenKind::Float:
        case TokenKind::String: case TokenKind::LBracket:
            return true;
        default:
            return false;
        }
    }

    std::optional<Value> parseValue(int depth) {
        Value v;
        v.loc = loc(cur());
        const Token &t = cur();
        switch (t.kind) {
        case TokenKind::Word: v.kind = Value::Kind::Word; break;
        case TokenKind::Int: v.kind = Value::Kind::Int; v.intValue = t.intValue; break;
        case TokenKind::Float: v.kind = Value::Kind::Float; v.floatValue = t.floatValue; break;
        case TokenKind::String: v.kind = Value::Kind::String; break;
        case TokenKind::LBracket: return parseList(depth + 1);
        default:
            error(t, "expected a value, found " + describe(t));
            return std::nullopt;
        }
        v.text = t.text;
        advance();
        return v;
    }

    // At '['. Newlines are allowed inside lists.
    std::optional<Value> parseList(int depth) {
        Value v;
        v.kind = Value::Kind::List;
        v.loc = loc(cur());
        const Token open = cur();
        if (depth > kMaxListDepth) {
            error(open, "lists nested more than " + std::to_string(kMaxListDepth) + " deep");
            return std::nullopt;
        }
        advance();
        auto unterminated = [&] {
            error(open, "expected ']' to close this list before " + describe(cur()));
            return std::nullopt;
        };
        while (true) {
            skipNewlines();
            if (at(TokenKind::RBracket)) break;
            if (at(TokenKind::RBrace) || at(TokenKind::Semicolon) || at(TokenKind::Eof) ||
                at(TokenKind::LBrace))
                return unterminated();
            if (v.items.size() == kMaxListItems) {
                error(cur(), "list has more than " + std::to_string(kMaxListItems) + " items");
                return std::nullopt;
            }
            auto item = parseArg(depth, "list");
            if (!item) return std::nullopt;
            v.items.push_back(std::move(*item));
            size_t lineEnd = pos_;
            skipNewlines();
            if (at(TokenKind::Comma)) {
                advance();
                continue;  // a trailing comma before ']' is accepted
            }
            if (at(TokenKind::RBracket)) break;
            if (at(TokenKind::RBrace) || at(TokenKind::Semicolon) || at(TokenKind::Eof) ||
                at(TokenKind::LBrace))
                return unterminated();
            if (pos_ != lineEnd) {
                // `[N=64, K=64` then a new statement: the ']' was forgotten.
                // Stop at the line end so that the next line is parsed normally.
                pos_ = lineEnd;
                return unterminated();
            }
            error(cur(), "expected ',' or ']' in list, found " + describe(cur()));
            return std::nullopt;
        }
        advance();  // ']'
        return v;
    }
};

}  // namespace

FileAst parse(const SourceFile &src, DiagnosticSink &sink) {
    return Parser(src, sink).run();
}

}  // namespace kf::dsl
