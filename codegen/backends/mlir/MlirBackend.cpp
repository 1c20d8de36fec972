// MLIR's half of the MLIR backend: parse, rename, lower to the LLVM dialect
// with the C++ pass manager, translate to LLVM IR; LlvmCodegen.cpp does the
// rest. Inside namespace kf::codegen::mlir, MLIR's own namespace is spelled
// ::mlir (aliased M below).
#include "codegen/backends/mlir/MlirBackend.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include <unistd.h>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <mlir/Conversion/AffineToStandard/AffineToStandard.h>
#include <mlir/Conversion/ArithToLLVM/ArithToLLVM.h>
#include <mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h>
#include <mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h>
#include <mlir/Conversion/IndexToLLVM/IndexToLLVM.h>
#include <mlir/Conversion/MathToLLVM/MathToLLVM.h>
#include <mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h>
#include <mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h>
#include <mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h>
#include <mlir/Conversion/UBToLLVM/UBToLLVM.h>
#include <mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h>
#include <mlir/Conversion/VectorToSCF/VectorToSCF.h>
#include <mlir/Dialect/Affine/IR/AffineOps.h>
#include <mlir/Dialect/Arith/IR/Arith.h>
#include <mlir/Dialect/ArmSVE/IR/ArmSVEDialect.h>
#include <mlir/Dialect/ControlFlow/IR/ControlFlow.h>
#include <mlir/Dialect/Func/IR/FuncOps.h>
#include <mlir/Dialect/Index/IR/IndexDialect.h>
#include <mlir/Dialect/LLVMIR/LLVMDialect.h>
#include <mlir/Dialect/Math/IR/Math.h>
#include <mlir/Dialect/MemRef/IR/MemRef.h>
#include <mlir/Dialect/MemRef/Transforms/Passes.h>
#include <mlir/Dialect/SCF/IR/SCF.h>
#include <mlir/Dialect/UB/IR/UBOps.h>
#include <mlir/Dialect/Vector/IR/VectorOps.h>
#include <mlir/Dialect/X86Vector/X86VectorDialect.h>
#include <mlir/IR/BuiltinOps.h>
#include <mlir/IR/Diagnostics.h>
#include <mlir/IR/MLIRContext.h>
#include <mlir/IR/SymbolTable.h>
#include <mlir/Parser/Parser.h>
#include <mlir/Pass/PassInstrumentation.h>
#include <mlir/Pass/PassManager.h>
#include <mlir/Target/LLVMIR/Dialect/ArmSVE/ArmSVEToLLVMIRTranslation.h>
#include <mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h>
#include <mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h>
#include <mlir/Target/LLVMIR/Dialect/X86Vector/X86VectorToLLVMIRTranslation.h>
#include <mlir/Target/LLVMIR/Export.h>

#include "codegen/CodegenError.h"
#include "codegen/backends/mlir/LlvmCodegen.h"

namespace kf::codegen::mlir {

namespace M = ::mlir;
namespace fs = std::filesystem;

namespace {

constexpr const char *kEntry = "kf_kernel";

// The dialects a kernel may use, those the lowering produces on the way
// (affine from expand-strided-metadata, ub from the vector lowerings), and
// the translations to LLVM IR of what is left after the lowering.
M::DialectRegistry dialects() {
    M::DialectRegistry registry;
    registry.insert<M::func::FuncDialect, M::arith::ArithDialect, M::scf::SCFDialect, M::cf::ControlFlowDialect,
                    M::vector::VectorDialect, M::arm_sve::ArmSVEDialect, M::x86vector::X86VectorDialect,
                    M::math::MathDialect, M::memref::MemRefDialect, M::LLVM::LLVMDialect, M::index::IndexDialect,
                    M::affine::AffineDialect, M::ub::UBDialect>();
    M::registerBuiltinDialectTranslation(registry);
    M::registerLLVMDialectTranslation(registry);
    M::registerArmSVEDialectTranslation(registry);
    M::registerX86VectorDialectTranslation(registry);
    return registry;
}

// "mlir-passes": the module after each pass, headed by the pass's name and
// wall time. The pass manager runs the passes one after the other on the
// module (no nested pipelines), so a stack of start times suffices.
class PassLog final : public M::PassInstrumentation {
public:
    explicit PassLog(std::string &out) : out_(out) {}
    void runBeforePass(M::Pass *, M::Operation *) override { starts_.push_back(Clock::now()); }
    void runAfterPass(M::Pass *pass, M::Operation *op) override { record(pass, op, ""); }
    void runAfterPassFailed(M::Pass *pass, M::Operation *op) override { record(pass, op, ", FAILED"); }

private:
    using Clock = std::chrono::steady_clock;
    void record(M::Pass *pass, M::Operation *op, const char *note) {
        double ms = 0;
        if (!starts_.empty()) {
            ms = std::chrono::duration<double, std::milli>(Clock::now() - starts_.back()).count();
            starts_.pop_back();
        }
        char time[32];
        std::snprintf(time, sizeof time, "%.3f ms", ms);
        llvm::raw_string_ostream os(out_);
        os << "// ----- " << pass->getArgument() << " (" << time << note << ") -----\n";
        op->print(os, M::OpPrintingFlags().enableDebugInfo(false));
        os << "\n\n";
    }
    std::string &out_;
    std::vector<Clock::time_point> starts_;
};

// One compilation: its own MLIRContext (kernels compile in parallel threads;
// no thread pool of its own either), and MLIR's diagnostics collected as
// text ("<symbol>.mlir:line:col: error: ...", with the source line) for the
// CodegenErrors thrown.
class Compilation {
public:
    Compilation(const std::string &text, const std::string &symbol)
        : registry_(dialects()),
          context_(registry_, M::MLIRContext::Threading::DISABLED),
          diagStream_(diagnostics_),
          handler_(sourceMgr_, &context_, diagStream_) {
        sourceMgr_.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, symbol + ".mlir"), llvm::SMLoc());
        M::ParserConfig config(&context_);
        module_ = M::parseSourceFile<M::ModuleOp>(sourceMgr_, config);
        if (!module_) fail("the MLIR of " + symbol + " does not parse");
        rename(symbol);
    }

    M::ModuleOp module() { return *module_; }

    std::string print() {
        std::string s;
        llvm::raw_string_ostream os(s);
        module_->print(os, M::OpPrintingFlags().enableDebugInfo(false));
        return s;
    }

    // Lowers the module to the LLVM dialect; `log` collects the "mlir-passes"
    // dump when given.
    void lower(const targets::TargetInfo &target, const std::string &symbol, std::string *log) {
        M::PassManager pm(&context_, M::ModuleOp::getOperationName());
        if (log) {
            *log += "// ----- input -----\n" + print() + "\n";
            pm.addInstrumentation(std::make_unique<PassLog>(*log));
        }
        // MLIR-NOTES.md: lower-affine after expand-strided-metadata (which
        // makes affine.apply); vector-to-llvm with the target's vector
        // dialects (MLIR 19 has no separate arm-sve-to-llvm pass).
        pm.addPass(M::createConvertVectorToSCFPass());
        pm.addPass(M::memref::createExpandStridedMetadataPass());
        pm.addPass(M::createLowerAffinePass());
        pm.addPass(M::createConvertSCFToCFPass());
        M::ConvertVectorToLLVMPassOptions vectorOptions;
        vectorOptions.armSVE = target.arch == targets::Arch::Arm64;
        vectorOptions.armNeon = target.arch == targets::Arch::Arm64;
        vectorOptions.x86Vector = target.arch == targets::Arch::X86_64;
        pm.addPass(M::createConvertVectorToLLVMPass(vectorOptions));
        pm.addPass(M::createFinalizeMemRefToLLVMConversionPass());
        pm.addPass(M::createArithToLLVMConversionPass());
        pm.addPass(M::createConvertMathToLLVMPass());
        pm.addPass(M::createConvertIndexToLLVMPass());
        pm.addPass(M::createConvertControlFlowToLLVMPass());
        pm.addPass(M::createConvertFuncToLLVMPass());
        pm.addPass(M::createUBToLLVMConversionPass());
        pm.addPass(M::createReconcileUnrealizedCastsPass());
        if (M::failed(pm.run(*module_))) fail("lowering the MLIR of " + symbol + " to the LLVM dialect failed");
    }

    // The lowered module as LLVM IR in `llvmContext`.
    std::unique_ptr<llvm::Module> translate(llvm::LLVMContext &llvmContext, const std::string &symbol) {
        std::unique_ptr<llvm::Module> m = M::translateModuleToLLVMIR(*module_, llvmContext, symbol);
        if (!m) fail("translating " + symbol + " to LLVM IR failed");
        return m;
    }

private:
    // @kf_kernel becomes @<symbol>, uses included.
    void rename(const std::string &symbol) {
        auto entry = module_->lookupSymbol<M::func::FuncOp>(kEntry);
        if (!entry) fail(std::string("the MLIR module defines no func.func @") + kEntry);
        if (symbol != kEntry && module_->lookupSymbol(symbol))
            fail("the MLIR module already defines @" + symbol);
        if (entry.isPrivate()) fail(std::string("@") + kEntry + " must be public");
        const auto name = M::StringAttr::get(&context_, symbol);
        if (M::failed(M::SymbolTable::replaceAllSymbolUses(entry.getOperation(), name, *module_)))
            fail("cannot rename @" + std::string(kEntry) + " to @" + symbol);
        M::SymbolTable::setSymbolName(entry, name);
    }

    [[noreturn]] void fail(const std::string &what) {
        diagStream_.flush();
        std::string message = what;
        if (!diagnostics_.empty()) message += ":\n" + diagnostics_;
        while (!message.empty() && message.back() == '\n') message.pop_back();
        throw CodegenError(message);
    }

    M::DialectRegistry registry_;
    M::MLIRContext context_;
    llvm::SourceMgr sourceMgr_;
    std::string diagnostics_;
    llvm::raw_string_ostream diagStream_;
    M::SourceMgrDiagnosticHandler handler_;
    M::OwningOpRef<M::ModuleOp> module_;
};

// Lowered to optimised LLVM IR for the target (its own LLVMContext).
struct Optimized {
    std::unique_ptr<llvm::LLVMContext> context = std::make_unique<llvm::LLVMContext>();
    std::unique_ptr<llvm::TargetMachine> machine;
    std::unique_ptr<llvm::Module> module;
};

Optimized optimized(const std::string &text, const std::string &symbol, const targets::TargetInfo &target) {
    Optimized out;
    out.machine = detail::makeTargetMachine(target);
    {
        Compilation c(text, symbol);
        c.lower(target, symbol, nullptr);
        out.module = c.translate(*out.context, symbol);
    }
    detail::optimize(*out.module, *out.machine, target);
    return out;
}

std::vector<std::string> noRuntimeObjects(const std::vector<const targets::TargetInfo *> &, const std::string &,
                                          const std::string &) {
    return {};
}

}  // namespace

MlirKernel::MlirKernel(std::string moduleText) : text_(std::move(moduleText)) {}

void MlirKernel::compileToObject(const std::string &path, const std::string &symbol,
                                 const targets::TargetInfo &target) const {
    Optimized o = optimized(text_, symbol, target);
    const std::string object = detail::emit(*o.module, *o.machine, /*assembly=*/false);
    // Written beside and renamed: a reader never sees half an object, and
    // parallel builds may write the same path.
    static std::atomic<unsigned> serial{0};
    const std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(serial++);
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(object.data(), static_cast<std::streamsize>(object.size()));
        out.close();
        if (!out) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw CodegenError("cannot write " + tmp);
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw CodegenError("cannot rename " + tmp + " to " + path);
    }
}

std::string MlirKernel::dump(const std::string &kind, const std::string &symbol,
                             const targets::TargetInfo &target) const {
    if (kind == "mlir") return Compilation(text_, symbol).print();
    if (kind == "mlir-passes") {
        std::string log;
        Compilation c(text_, symbol);
        c.lower(target, symbol, &log);
        return log;
    }
    if (kind == "llvm") {
        Optimized o = optimized(text_, symbol, target);
        std::string s;
        llvm::raw_string_ostream os(s);
        o.module->print(os, nullptr);
        return s;
    }
    if (kind == "asm") {
        Optimized o = optimized(text_, symbol, target);
        return detail::emit(*o.module, *o.machine, /*assembly=*/true);
    }
    throw CodegenError("the mlir backend dumps mlir, mlir-passes, llvm or asm, not '" + kind + "'");
}

const Backend &backend() {
    static const Backend b{"mlir", {"mlir", "mlir-passes", "llvm", "asm"}, noRuntimeObjects, "libkforge_mlir_bridge.a"};
    return b;
}

}  // namespace kf::codegen::mlir
