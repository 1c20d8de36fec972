#include "dsl/Diagnostics.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace kf::dsl {

namespace {

// Very long lines (minified or binary input) are shown as a window around the
// column so that one diagnostic stays one screen line.
constexpr size_t kMaxShownLine = 200;

bool isContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string elided(std::string_view text, std::size_t max) {
    if (text.size() <= max) return std::string(text);
    const std::size_t keep = std::max<std::size_t>(max / 2, 4);
    return std::string(text.substr(0, keep)) + "...(" + std::to_string(text.size()) + " characters)..." +
           std::string(text.substr(text.size() - 4));
}

std::string Diagnostic::render() const {
    std::string out = loc.file;
    if (loc.line > 0) {
        out += ':' + std::to_string(loc.line);
        if (loc.col > 0) out += ':' + std::to_string(loc.col);
    }
    out += ": error: " + message + '\n';
    if (loc.line <= 0) return out;

    size_t caretAt = loc.col > 0 ? static_cast<size_t>(loc.col - 1) : 0;
    size_t begin = 0, end = sourceLine.size();
    if (end > kMaxShownLine) {
        begin = caretAt > kMaxShownLine / 2 ? caretAt - kMaxShownLine / 2 : 0;
        while (begin > 0 && isContinuationByte(sourceLine[begin])) --begin;
        end = std::min(sourceLine.size(), begin + kMaxShownLine);
        while (end < sourceLine.size() && isContinuationByte(sourceLine[end])) ++end;
    }
    std::string shown = begin > 0 ? "..." : "";
    std::string caret = begin > 0 ? "   " : "";
    for (size_t i = begin; i < end; ++i) {
        char c = sourceLine[i];
        unsigned char u = static_cast<unsigned char>(c);
        // Control bytes would corrupt the terminal; show them as '?'.
        shown += (u < 0x20 && c != '\t') || u == 0x7f ? '?' : c;
        if (i < caretAt) {
            // Tabs are kept so the caret lines up however a terminal expands
            // them; a multi-byte UTF-8 character takes one column.
            if (c == '\t') caret += '\t';
            else if (!isContinuationByte(c)) caret += ' ';
        }
    }
    if (end < sourceLine.size()) shown += "...";
    for (size_t i = std::max(begin, end); i < caretAt; ++i) caret += ' ';
    out += shown + '\n' + caret + "^\n";
    return out;
}

SourceFile::SourceFile(std::string name, std::string text)
    : name_(std::move(name)), text_(std::move(text)) {
    lineStarts_.push_back(0);
    for (size_t i = 0; i < text_.size(); ++i)
        if (text_[i] == '\n') lineStarts_.push_back(i + 1);
}

std::string_view SourceFile::lineText(int line) const {
    if (line < 1 || static_cast<size_t>(line) > lineStarts_.size()) return {};
    size_t begin = lineStarts_[static_cast<size_t>(line) - 1];
    size_t end = text_.find('\n', begin);
    if (end == std::string::npos) end = text_.size();
    if (end > begin && text_[end - 1] == '\r') --end;
    return std::string_view(text_).substr(begin, end - begin);
}

void DiagnosticSink::error(const SourceLoc &loc, std::string message) {
    ++count_;
    if (count_ > kMaxErrors) return;
    Diagnostic d;
    d.loc = loc;
    d.message = std::move(message);
    if (source_ && loc.line > 0) d.sourceLine = std::string(source_->lineText(loc.line));
    diags_.push_back(std::move(d));
}

std::vector<Diagnostic> DiagnosticSink::take() {
    std::vector<Diagnostic> out = std::move(diags_);
    diags_.clear();
    // Stages report in their own order (the checker after the parser); users
    // read top to bottom. File-level diagnostics (no line) come first.
    std::stable_sort(out.begin(), out.end(), [](const Diagnostic &a, const Diagnostic &b) {
        return std::tie(a.loc.line, a.loc.col) < std::tie(b.loc.line, b.loc.col);
    });
    if (count_ > kMaxErrors) {
        Diagnostic d;
        d.loc.file = source_ ? source_->name() : std::string();
        d.message = "too many errors (" + std::to_string(count_) + "); only the first " +
                    std::to_string(kMaxErrors) + " are shown";
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace kf::dsl
