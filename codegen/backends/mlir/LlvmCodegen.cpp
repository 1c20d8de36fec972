#include "codegen/backends/mlir/LlvmCodegen.h"

#include <mutex>
#include <string_view>

#include <llvm/ADT/SmallVector.h>
#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/Attributes.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PassManager.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/OptimizationLevel.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CodeGen.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>

#include "codegen/CodegenError.h"

// The initialisers of the targets kforge compiles for (libLLVM.so.19.1 has
// them all; llvm/Support/TargetSelect.h would pull in every target).
extern "C" {
void LLVMInitializeX86TargetInfo();
void LLVMInitializeX86Target();
void LLVMInitializeX86TargetMC();
void LLVMInitializeX86AsmPrinter();
void LLVMInitializeAArch64TargetInfo();
void LLVMInitializeAArch64Target();
void LLVMInitializeAArch64TargetMC();
void LLVMInitializeAArch64AsmPrinter();
void LLVMInitializeNVPTXTargetInfo();
void LLVMInitializeNVPTXTarget();
void LLVMInitializeNVPTXTargetMC();
void LLVMInitializeNVPTXAsmPrinter();
}

namespace kf::codegen::mlir::detail {

void initializeLlvmTargets() {
    static std::once_flag once;
    std::call_once(once, [] {
        LLVMInitializeX86TargetInfo();
        LLVMInitializeX86Target();
        LLVMInitializeX86TargetMC();
        LLVMInitializeX86AsmPrinter();
        LLVMInitializeAArch64TargetInfo();
        LLVMInitializeAArch64Target();
        LLVMInitializeAArch64TargetMC();
        LLVMInitializeAArch64AsmPrinter();
        LLVMInitializeNVPTXTargetInfo();
        LLVMInitializeNVPTXTarget();
        LLVMInitializeNVPTXTargetMC();
        LLVMInitializeNVPTXAsmPrinter();
    });
}

std::unique_ptr<llvm::TargetMachine> makeTargetMachine(const targets::TargetInfo &target) {
    initializeLlvmTargets();
    if (!target.llvmTriple)
        throw CodegenError(std::string("target ") + target.name + " has no LLVM triple (the mlir backend needs one)");
    std::string error;
    const llvm::Target *llvmTarget = llvm::TargetRegistry::lookupTarget(target.llvmTriple, error);
    if (!llvmTarget)
        throw CodegenError(std::string("LLVM 19 has no target for ") + target.llvmTriple + ": " + error);
    llvm::TargetOptions options;
    std::unique_ptr<llvm::TargetMachine> machine(llvmTarget->createTargetMachine(
        target.llvmTriple, target.llvmCpu ? target.llvmCpu : "generic",
        target.llvmFeatures ? target.llvmFeatures : "", options, llvm::Reloc::PIC_, std::nullopt,
        llvm::CodeGenOptLevel::Aggressive));
    if (!machine) throw CodegenError(std::string("LLVM 19 cannot make a target machine for ") + target.name);
    return machine;
}

void optimize(llvm::Module &module, llvm::TargetMachine &machine, const targets::TargetInfo &target) {
    module.setTargetTriple(machine.getTargetTriple().str());
    module.setDataLayout(machine.createDataLayout());
    // What clang puts on every function: the target's CPU and features (the
    // optimiser's cost model reads them per function), and for SVE the range
    // of vscale (128 to 2048-bit vectors), without which the vectorisers
    // assume nothing about the vector length.
    const std::string_view features = target.llvmFeatures ? target.llvmFeatures : "";
    const bool sve = features.find("+sve") != std::string_view::npos;
    for (llvm::Function &f : module) {
        if (f.isDeclaration()) continue;
        if (!f.hasFnAttribute("target-cpu")) f.addFnAttr("target-cpu", machine.getTargetCPU());
        if (!f.hasFnAttribute("target-features")) f.addFnAttr("target-features", machine.getTargetFeatureString());
        if (target.llvmTuneCpu && !f.hasFnAttribute("tune-cpu")) f.addFnAttr("tune-cpu", target.llvmTuneCpu);
        if (sve && !f.hasFnAttribute(llvm::Attribute::VScaleRange))
            f.addFnAttr(llvm::Attribute::getWithVScaleRangeArgs(module.getContext(), 1, 16));
        // The kernels are C functions that never throw.
        f.addFnAttr(llvm::Attribute::NoUnwind);
    }

    // The analysis managers are declared in this order so that they are
    // destroyed in the right one (LLVM's PassBuilder documentation).
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions tuning;
    tuning.LoopVectorization = true;
    tuning.SLPVectorization = true;
    llvm::PassBuilder builder(&machine, tuning);
    builder.registerModuleAnalyses(mam);
    builder.registerCGSCCAnalyses(cgam);
    builder.registerFunctionAnalyses(fam);
    builder.registerLoopAnalyses(lam);
    builder.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager passes = builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    passes.run(module, mam);
}

std::string emit(llvm::Module &module, llvm::TargetMachine &machine, bool assembly) {
    llvm::SmallVector<char, 0> buffer;
    {
        llvm::raw_svector_ostream out(buffer);
        llvm::legacy::PassManager passes;
        if (machine.addPassesToEmitFile(passes, out, nullptr,
                                        assembly ? llvm::CodeGenFileType::AssemblyFile
                                                 : llvm::CodeGenFileType::ObjectFile))
            throw CodegenError("LLVM 19 cannot emit " + std::string(assembly ? "assembly" : "objects") + " for " +
                               machine.getTargetTriple().str());
        passes.run(module);
    }
    return std::string(buffer.begin(), buffer.end());
}

}  // namespace kf::codegen::mlir::detail
