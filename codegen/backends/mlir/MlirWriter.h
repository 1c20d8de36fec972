// \file
// MLIR text for the MLIR backend's lowerings (codegen/<family>/*Mlir.cpp):
// lines with fresh SSA names and the indentation of their regions. Text
// only: no MLIR header, so family code never sees LLVM 19's types (the
// backend parses the text, MlirBackend.h).
#pragma once

#include <sstream>
#include <string>

namespace kf::codegen::mlir {

// A few lines of MLIR text with fresh SSA names.
class Writer {
public:
    std::string fresh(const std::string &hint) { return "%" + hint + std::to_string(next_++); }
    // Emits "%name = rhs" and returns %name.
    std::string let(const std::string &hint, const std::string &rhs) {
        std::string name = fresh(hint);
        line(name + " = " + rhs);
        return name;
    }
    void line(const std::string &text) { out_ << std::string(2 * indent_, ' ') << text << "\n"; }
    void open(const std::string &text) {
        line(text);
        ++indent_;
    }
    void close(const std::string &text = "}") {
        --indent_;
        line(text);
    }
    // "} else {": closes a region and opens the next at the same depth.
    void reopen(const std::string &text) {
        close(text);
        ++indent_;
    }
    std::string str() const { return out_.str(); }

    std::string i64(long long v) { return let("c", "arith.constant " + std::to_string(v) + " : i64"); }
    std::string add(const std::string &a, const std::string &b, const std::string &ty = "i64") {
        return let("a", "arith.addi " + a + ", " + b + " : " + ty);
    }
    std::string mul(const std::string &a, const std::string &b, const std::string &ty = "i64") {
        return let("m", "arith.muli " + a + ", " + b + " : " + ty);
    }
    // ptr + byte offset
    std::string gep(const std::string &ptr, const std::string &bytes) {
        return let("p", "llvm.getelementptr " + ptr + "[" + bytes + "] : (!llvm.ptr, i64) -> !llvm.ptr, i8");
    }

private:
    std::ostringstream out_;
    int next_ = 0;
    int indent_ = 0;
};

}  // namespace kf::codegen::mlir
