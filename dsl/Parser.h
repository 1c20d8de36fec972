// \file
// Parser of the kforge DSL into a small generic syntax tree (docs/dsl.md,
// "Grammar"). The tree knows items (kernel, schedule), blocks of statements and
// tune blocks, but nothing of families or schedule primitives: a statement is a
// head word, positional values and key=value attributes. Meaning is given by the
// checkers (Checker.h, families/).
//
// Syntax errors are reported and the parser resumes at the next statement (or,
// at top level, at the next `kernel` / `schedule`). A statement that had a syntax
// error is kept with `broken` set so that checkers neither re-report it nor claim
// it is missing.
#pragma once

#include "dsl/Diagnostics.h"
#include "dsl/Spec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kf::dsl {

struct Arg;

struct Value {
    enum class Kind { Word, Int, Float, String, List };
    Kind kind = Kind::Word;
    std::string text;        // word, string contents, or number as written
    int64_t intValue = 0;
    double floatValue = 0;
    std::vector<Arg> items;  // List
    SourceLoc loc;
};

// A positional value (`key` empty) or `key=value`.
struct Arg {
    std::string key;
    SourceLoc keyLoc;
    Value value;

    bool positional() const { return key.empty(); }
    const SourceLoc &loc() const { return key.empty() ? value.loc : keyLoc; }
};

struct Statement {
    std::string head;
    SourceLoc loc;               // of the head word
    std::vector<Arg> args;
    std::optional<Value> inList; // tune statements: the list after 'in'
    SourceLoc inLoc;
    bool broken = false;         // had a syntax error (already reported)
};

struct TuneBlock {
    SourceLoc loc;               // of the word 'tune'
    std::vector<Statement> statements;
};

struct Block {
    std::vector<Statement> statements;
    std::vector<TuneBlock> tunes;
    SourceLoc open;              // '{'
    bool closed = false;         // '}' was found
};

struct KernelDecl {
    SourceLoc loc;               // 'kernel'
    std::string name;
    SourceLoc nameLoc;
    std::string family;
    SourceLoc familyLoc;
    Block body;
};

struct ScheduleDecl {
    SourceLoc loc;               // 'schedule'
    std::string kernel;
    SourceLoc kernelLoc;
    std::string target;
    SourceLoc targetLoc;
    std::optional<std::string> bucket;
    SourceLoc bucketLoc;
    Block body;
};

struct FileAst {
    std::vector<KernelDecl> kernels;
    std::vector<ScheduleDecl> schedules;
};

// Text of a value for messages: words and numbers as written, strings quoted,
// lists as "[...]".
std::string describe(const Value &v);

FileAst parse(const SourceFile &src, DiagnosticSink &sink);

}  // namespace kf::dsl
