// \file
// Diagnostics of the kforge DSL front end: one error with its place in the
// source, rendered the way compilers do (file:line:col, the line as written, a
// caret under the offending token), and the sink the lexer, parser and checkers
// report into.
//
// Every stage keeps going after an error where it can (next statement, next
// item), so one run reports several independent errors; the sink stops recording
// after a fixed number so that garbage input cannot flood the terminal.
#pragma once

#include "dsl/Spec.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kf::dsl {

struct Diagnostic {
    SourceLoc loc;
    std::string message;
    std::string sourceLine;  // the line loc points into, as written (no newline)

    // "file:line:col: error: message\n<source line>\n<caret line>\n". Without a
    // line (loc.line == 0, e.g. an unreadable file) only "file: error: message\n".
    // Always ends with a newline.
    std::string render() const;
};

// The text being compiled, with line lookup for diagnostics.
class SourceFile {
public:
    SourceFile(std::string name, std::string text);

    const std::string &name() const { return name_; }
    const std::string &text() const { return text_; }
    // Line `line` (1-based) without its line terminator; empty when out of range.
    std::string_view lineText(int line) const;
    SourceLoc loc(int line, int col) const { return SourceLoc{name_, line, col}; }

private:
    std::string name_;
    std::string text_;
    std::vector<size_t> lineStarts_;
};

// `text` for a message: as is up to `max` characters, else its first and last
// characters around "...(N characters)..." so that a 1 MB name in a file
// gives a one-line message.
std::string elided(std::string_view text, std::size_t max = 64);

class DiagnosticSink {
public:
    // Errors after this many are counted but not recorded; one final diagnostic
    // says that the rest was dropped.
    static constexpr size_t kMaxErrors = 50;

    explicit DiagnosticSink(const SourceFile *source = nullptr) : source_(source) {}

    void error(const SourceLoc &loc, std::string message);
    bool hasErrors() const { return count_ > 0; }
    size_t errorCount() const { return count_; }
    // The cap is reached: further errors are only counted, so callers can skip
    // work that only improves a message (suggestions).
    bool full() const { return count_ >= kMaxErrors; }
    // The recorded diagnostics sorted by position (stable), plus the "too many
    // errors" note when some were dropped.
    std::vector<Diagnostic> take();

private:
    const SourceFile *source_;
    std::vector<Diagnostic> diags_;
    size_t count_ = 0;
};

}  // namespace kf::dsl
