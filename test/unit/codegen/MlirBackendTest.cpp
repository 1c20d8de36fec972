// The MLIR / LLVM 19 backend (codegen/backends/mlir): hand-written MLIR
// kernels compiled to x86-64 objects, linked into a shared library and run
// against scalar loops; the assembly of the AVX-512 target; parse errors
// with their line:col; Halide (LLVM 14) and MLIR (LLVM 19) compiling and
// running in one process; an SVE kernel's arm64 assembly; and kernels
// compiled from several threads at once.
#include <gtest/gtest.h>

#include <Halide.h>
#include <HalideBuffer.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <unistd.h>

#include "codegen/Backend.h"
#include "codegen/CodegenError.h"
#include "codegen/backends/halide/HalideBackend.h"
#include "codegen/backends/mlir/MlirBackend.h"
#include "targets/Target.h"

namespace {

namespace fs = std::filesystem;
using kf::codegen::CodegenError;
using kf::codegen::mlir::MlirKernel;

// sum(a[i] * b[i]) over int8 a, b into *out (int32): 16 lanes at a time
// (vector<16xi32>, one zmm), then a scalar tail.
const char *kDotI8 = R"mlir(
module {
  func.func @kf_kernel(%a: !llvm.ptr, %b: !llvm.ptr, %out: !llvm.ptr, %n: i64) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %nidx = arith.index_cast %n : i64 to index
    %rem = arith.remui %nidx, %c16 : index
    %nmain = arith.subi %nidx, %rem : index
    %zero = arith.constant dense<0> : vector<16xi32>
    %acc = scf.for %i = %c0 to %nmain step %c16 iter_args(%s = %zero) -> (vector<16xi32>) {
      %i64 = arith.index_cast %i : index to i64
      %pa = llvm.getelementptr %a[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, i8
      %pb = llvm.getelementptr %b[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, i8
      %va = llvm.load %pa {alignment = 1 : i64} : !llvm.ptr -> vector<16xi8>
      %vb = llvm.load %pb {alignment = 1 : i64} : !llvm.ptr -> vector<16xi8>
      %wa = arith.extsi %va : vector<16xi8> to vector<16xi32>
      %wb = arith.extsi %vb : vector<16xi8> to vector<16xi32>
      %p = arith.muli %wa, %wb : vector<16xi32>
      %s2 = arith.addi %s, %p : vector<16xi32>
      scf.yield %s2 : vector<16xi32>
    }
    %sum = vector.reduction <add>, %acc : vector<16xi32> into i32
    %total = scf.for %i = %nmain to %nidx step %c1 iter_args(%t = %sum) -> (i32) {
      %i64 = arith.index_cast %i : index to i64
      %pa = llvm.getelementptr %a[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, i8
      %pb = llvm.getelementptr %b[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, i8
      %xa = llvm.load %pa : !llvm.ptr -> i8
      %xb = llvm.load %pb : !llvm.ptr -> i8
      %wa = arith.extsi %xa : i8 to i32
      %wb = arith.extsi %xb : i8 to i32
      %p = arith.muli %wa, %wb : i32
      %t2 = arith.addi %t, %p : i32
      scf.yield %t2 : i32
    }
    llvm.store %total, %out : i32, !llvm.ptr
    return
  }
}
)mlir";

// y[i] += *alpha * x[i] (f32): vector.fma on vector<16xf32>, scalar math.fma tail.
const char *kAxpyF32 = R"mlir(
module {
  func.func @kf_kernel(%alpha: !llvm.ptr, %x: !llvm.ptr, %y: !llvm.ptr, %n: i64) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %nidx = arith.index_cast %n : i64 to index
    %rem = arith.remui %nidx, %c16 : index
    %nmain = arith.subi %nidx, %rem : index
    %a = llvm.load %alpha : !llvm.ptr -> f32
    %va = vector.broadcast %a : f32 to vector<16xf32>
    scf.for %i = %c0 to %nmain step %c16 {
      %i64 = arith.index_cast %i : index to i64
      %px = llvm.getelementptr %x[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %py = llvm.getelementptr %y[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %vx = llvm.load %px {alignment = 4 : i64} : !llvm.ptr -> vector<16xf32>
      %vy = llvm.load %py {alignment = 4 : i64} : !llvm.ptr -> vector<16xf32>
      %r = vector.fma %va, %vx, %vy : vector<16xf32>
      llvm.store %r, %py {alignment = 4 : i64} : vector<16xf32>, !llvm.ptr
    }
    scf.for %i = %nmain to %nidx step %c1 {
      %i64 = arith.index_cast %i : index to i64
      %px = llvm.getelementptr %x[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %py = llvm.getelementptr %y[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %sx = llvm.load %px : !llvm.ptr -> f32
      %sy = llvm.load %py : !llvm.ptr -> f32
      %r = math.fma %a, %sx, %sy : f32
      llvm.store %r, %py : f32, !llvm.ptr
    }
    return
  }
}
)mlir";

// The int8 dot product for SVE at any vector length: K stepped by
// vscale * 16 with a create_mask'ed tail, arm_sve.sdot into vector<[4]xi32>.
const char *kDotI8Sve = R"mlir(
module {
  func.func @kf_kernel(%a: !llvm.ptr, %b: !llvm.ptr, %out: !llvm.ptr, %n: i64) {
    %c0 = arith.constant 0 : index
    %c16 = arith.constant 16 : index
    %vs = vector.vscale
    %step = arith.muli %vs, %c16 : index
    %nidx = arith.index_cast %n : i64 to index
    %zero = arith.constant dense<0> : vector<[4]xi32>
    %pad = arith.constant dense<0> : vector<[16]xi8>
    %acc = scf.for %i = %c0 to %nidx step %step iter_args(%s = %zero) -> (vector<[4]xi32>) {
      %left = arith.subi %nidx, %i : index
      %mask = vector.create_mask %left : vector<[16]xi1>
      %i64 = arith.index_cast %i : index to i64
      %pa = llvm.getelementptr %a[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, i8
      %pb = llvm.getelementptr %b[%i64] : (!llvm.ptr, i64) -> !llvm.ptr, i8
      %va = llvm.intr.masked.load %pa, %mask, %pad {alignment = 1 : i32} : (!llvm.ptr, vector<[16]xi1>, vector<[16]xi8>) -> vector<[16]xi8>
      %vb = llvm.intr.masked.load %pb, %mask, %pad {alignment = 1 : i32} : (!llvm.ptr, vector<[16]xi1>, vector<[16]xi8>) -> vector<[16]xi8>
      %d = arm_sve.sdot %s, %va, %vb : vector<[16]xi8> to vector<[4]xi32>
      scf.yield %d : vector<[4]xi32>
    }
    %sum = vector.reduction <add>, %acc : vector<[4]xi32> into i32
    llvm.store %sum, %out : i32, !llvm.ptr
    return
  }
}
)mlir";

using DotFn = void (*)(const int8_t *, const int8_t *, int32_t *, int64_t);
using AxpyFn = void (*)(const float *, const float *, float *, int64_t);

// A directory of the test's own, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string p = (fs::temp_directory_path() / "kforge-mlir-test-XXXXXX").string();
        if (!mkdtemp(p.data())) throw std::runtime_error("mkdtemp");
        path = p;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// Links objects into a shared library with the system C++ compiler
// (-Bsymbolic: each library calls its own copies, e.g. a Halide runtime)
// and dlopens it. The handle stays open for the process.
void *linkAndOpen(const std::vector<fs::path> &objects, const fs::path &so) {
    std::string cmd = "c++ -shared -Wl,-Bsymbolic -o '" + so.string() + "'";
    for (const fs::path &o : objects) cmd += " '" + o.string() + "'";
    if (std::system(cmd.c_str()) != 0) {
        ADD_FAILURE() << "link failed: " << cmd;
        return nullptr;
    }
    void *h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) ADD_FAILURE() << "dlopen: " << dlerror();
    return h;
}

const kf::targets::TargetInfo &avx512vnni() {
    const kf::targets::TargetInfo *t = kf::targets::find("x86-avx512vnni");
    if (!t) throw std::runtime_error("no x86-avx512vnni in the registry");
    return *t;
}

// The target to run on this machine: AVX-512 VNNI when the CPU has it,
// else AVX2 (same kernels, 512-bit vectors split by LLVM).
const kf::targets::TargetInfo &runnableX86() {
    const kf::targets::TargetInfo &t = avx512vnni();
    if (t.hostSupports && t.hostSupports()) return t;
    return *kf::targets::find("x86-avx2");
}

std::vector<int8_t> randomInt8(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(-128, 127);
    std::vector<int8_t> v(n);
    for (auto &x : v) x = static_cast<int8_t>(d(rng));
    return v;
}

int32_t scalarDot(const std::vector<int8_t> &a, const std::vector<int8_t> &b, size_t n) {
    int32_t s = 0;
    for (size_t i = 0; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
    return s;
}

// Compiles kDotI8 under `symbol` and checks it on lengths around the
// vector width (tails of 0..15) against the scalar loop.
void compileAndCheckDot(const TempDir &dir, const std::string &symbol) {
    const fs::path obj = dir.path / (symbol + ".o");
    MlirKernel(kDotI8).compileToObject(obj.string(), symbol, runnableX86());
    ASSERT_TRUE(fs::exists(obj));
    void *h = linkAndOpen({obj}, dir.path / ("lib" + symbol + ".so"));
    ASSERT_NE(h, nullptr);
    auto fn = reinterpret_cast<DotFn>(dlsym(h, symbol.c_str()));
    ASSERT_NE(fn, nullptr) << symbol << " not defined";
    const auto a = randomInt8(1000, 1), b = randomInt8(1000, 2);
    for (size_t n : {0, 1, 15, 16, 17, 31, 64, 100, 999, 1000}) {
        int32_t out = 12345;
        fn(a.data(), b.data(), &out, static_cast<int64_t>(n));
        EXPECT_EQ(out, scalarDot(a, b, n)) << "n = " << n;
    }
}

TEST(MlirBackend, IsRegistered) {
    const kf::codegen::Backend *b = kf::codegen::findBackend("mlir");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->dumpKinds, (std::vector<std::string>{"mlir", "mlir-passes", "llvm", "asm"}));
    EXPECT_TRUE(b->runtimeObjects({&avx512vnni()}, "/nonexistent", "").empty());
}

TEST(MlirBackend, Int8DotRunsAndMatchesScalar) {
    TempDir dir;
    compileAndCheckDot(dir, "kf_test_dot_i8__x86");
}

TEST(MlirBackend, F32AxpyRunsAndMatchesScalar) {
    TempDir dir;
    const std::string symbol = "kf_test_axpy_f32__x86";
    const fs::path obj = dir.path / "axpy.o";
    MlirKernel(kAxpyF32).compileToObject(obj.string(), symbol, runnableX86());
    void *h = linkAndOpen({obj}, dir.path / "libaxpy.so");
    ASSERT_NE(h, nullptr);
    auto fn = reinterpret_cast<AxpyFn>(dlsym(h, symbol.c_str()));
    ASSERT_NE(fn, nullptr);
    for (int64_t n : {0, 5, 16, 37, 1024, 1029}) {
        std::vector<float> x(n), y(n), want(n);
        for (int64_t i = 0; i < n; ++i) {
            x[i] = 0.25f * float(i % 13) - 1.0f;
            y[i] = 0.5f * float(i % 7);
            want[i] = std::fma(1.75f, x[i], y[i]);
        }
        const float alpha = 1.75f;
        fn(&alpha, x.data(), y.data(), n);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], want[i]) << "n = " << n << ", i = " << i;
    }
}

TEST(MlirBackend, Avx512AssemblyUsesZmm) {
    const auto &t = avx512vnni();
    const std::string dot = MlirKernel(kDotI8).dump("asm", "kf_dot_asm", t);
    EXPECT_NE(dot.find("kf_dot_asm:"), std::string::npos) << "the symbol is renamed";
    EXPECT_NE(dot.find("%zmm"), std::string::npos) << dot;
    const std::string axpy = MlirKernel(kAxpyF32).dump("asm", "kf_axpy_asm", t);
    EXPECT_TRUE(std::regex_search(axpy, std::regex(R"(vfmadd\w+\s+.*%zmm)"))) << axpy;
}

TEST(MlirBackend, Dumps) {
    const auto &t = avx512vnni();
    MlirKernel k(kDotI8);
    const std::string mlir = k.dump("mlir", "kf_dumped", t);
    EXPECT_NE(mlir.find("func.func @kf_dumped("), std::string::npos) << mlir;
    EXPECT_EQ(mlir.find("@kf_kernel"), std::string::npos);

    const std::string passes = k.dump("mlir-passes", "kf_dumped", t);
    for (const char *pass : {"convert-vector-to-scf", "convert-scf-to-cf", "convert-vector-to-llvm",
                             "convert-func-to-llvm", "reconcile-unrealized-casts"})
        EXPECT_TRUE(std::regex_search(passes, std::regex(std::string("// ----- ") + pass + R"( \([0-9.]+ ms\) -----)")))
            << pass;
    EXPECT_NE(passes.find("llvm.func @kf_dumped("), std::string::npos);

    const std::string ir = k.dump("llvm", "kf_dumped", t);
    EXPECT_NE(ir.find("define void @kf_dumped(ptr"), std::string::npos) << ir;
    EXPECT_NE(ir.find("target triple = \"x86_64-unknown-linux-gnu\""), std::string::npos);
    // ISA from the x86-64-v4 level plus the target's VNNI features; scheduling tuned
    // for Sapphire Rapids without taking its extra ISA (GFNI would change codegen).
    EXPECT_NE(ir.find("\"target-cpu\"=\"x86-64-v4\""), std::string::npos) << ir;
    EXPECT_NE(ir.find("\"tune-cpu\"=\"sapphirerapids\""), std::string::npos) << ir;

    EXPECT_THROW(k.dump("stmt", "kf_dumped", t), CodegenError);
}

TEST(MlirBackend, ParseErrorHasLineAndColumn) {
    // Line 3 uses an undefined value.
    const std::string text = "module {\n"
                             "  func.func @kf_kernel(%p: !llvm.ptr) {\n"
                             "    llvm.store %nope, %p : i32, !llvm.ptr\n"
                             "    return\n"
                             "  }\n"
                             "}\n";
    try {
        MlirKernel(text).compileToObject("/nonexistent/never.o", "kf_bad", avx512vnni());
        FAIL() << "no CodegenError";
    } catch (const CodegenError &e) {
        const std::string msg = e.what();
        EXPECT_TRUE(std::regex_search(msg, std::regex(R"(kf_bad\.mlir:3:\d+: error: )"))) << msg;
        EXPECT_NE(msg.find("nope"), std::string::npos) << msg;
    }
    // A syntax error.
    try {
        MlirKernel("module {\n  func.func @kf_kernel( {\n}\n").dump("mlir", "kf_bad2", avx512vnni());
        FAIL() << "no CodegenError";
    } catch (const CodegenError &e) {
        EXPECT_TRUE(std::regex_search(std::string(e.what()), std::regex(R"(kf_bad2\.mlir:2:\d+: error: )")))
            << e.what();
    }
}

TEST(MlirBackend, MissingEntryAndVerifierErrors) {
    EXPECT_THROW(MlirKernel("func.func @other() { return }").dump("mlir", "kf_x", avx512vnni()), CodegenError);
    // Parses, fails the verifier: arith.addi of mismatched types.
    const std::string bad = "func.func @kf_kernel(%a: i64, %b: i32) {\n"
                            "  %c = \"arith.addi\"(%a, %b) : (i64, i32) -> i64\n"
                            "  return\n"
                            "}\n";
    try {
        MlirKernel(bad).dump("llvm", "kf_y", avx512vnni());
        FAIL() << "no CodegenError";
    } catch (const CodegenError &e) {
        EXPECT_TRUE(std::regex_search(std::string(e.what()), std::regex(R"(kf_y\.mlir:2:\d+: error: )"))) << e.what();
    }
}

// The tuner compiles candidates from several threads at once.
TEST(MlirBackend, CompilesConcurrently) {
    TempDir dir;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&, i] {
            try {
                const fs::path obj = dir.path / ("c" + std::to_string(i) + ".o");
                MlirKernel(i % 2 ? kDotI8 : kAxpyF32).compileToObject(obj.string(), "kf_c" + std::to_string(i),
                                                                    avx512vnni());
                if (!fs::exists(obj) || fs::file_size(obj) == 0) ++failures;
                (void)MlirKernel(kDotI8).dump("asm", "kf_d" + std::to_string(i), avx512vnni());
            } catch (const std::exception &e) {
                ++failures;
            }
        });
    for (auto &t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    compileAndCheckDot(dir, "kf_after_threads");
}

// Halide 14 (LLVM 14) and MLIR (LLVM 19) in one process: each compiles an
// object through its backend, in turn and again, and both objects run. If
// the two LLVMs' symbols collided this would crash or miscompile.
TEST(MlirBackend, HalideAndMlirInOneProcess) {
    TempDir dir;
    const auto &t = runnableX86();

    Halide::ImageParam in(Halide::Int(32), 1, "in");
    Halide::Var x("x");
    Halide::Func f("f");
    f(x) = in(x) * 3 + 7;
    f.vectorize(x, 16, Halide::TailStrategy::GuardWithIf);
    kf::codegen::halide::HalideKernel hk(Halide::Pipeline(f), {in});

    const fs::path hobj = dir.path / "halide_kernel.o";
    hk.compileToObject(hobj.string(), "kf_test_halide", t);  // LLVM 14
    compileAndCheckDot(dir, "kf_between");                    // LLVM 19
    const fs::path hobj2 = dir.path / "halide_kernel2.o";
    hk.compileToObject(hobj2.string(), "kf_test_halide2", t);  // LLVM 14 again
    ASSERT_TRUE(fs::exists(hobj) && fs::exists(hobj2));

    // Halide's object with its runtime, run.
    const std::vector<std::string> runtime =
        kf::codegen::halide::backend().runtimeObjects({&t}, dir.path.string(), "");
    ASSERT_EQ(runtime.size(), 1u);
    void *h = linkAndOpen({hobj2, runtime[0]}, dir.path / "libhalide_kernel.so");
    ASSERT_NE(h, nullptr);
    using HalideFn = int (*)(halide_buffer_t *, halide_buffer_t *);
    auto hfn = reinterpret_cast<HalideFn>(dlsym(h, "kf_test_halide2"));
    ASSERT_NE(hfn, nullptr);
    Halide::Runtime::Buffer<int32_t> input(37), output(37);
    for (int i = 0; i < 37; ++i) input(i) = i - 5;
    ASSERT_EQ(hfn(input.raw_buffer(), output.raw_buffer()), 0);
    for (int i = 0; i < 37; ++i) EXPECT_EQ(output(i), (i - 5) * 3 + 7) << i;

    // Halide's JIT (LLVM 14 again, after LLVM 19 has run).
    Halide::Buffer<int32_t> jin(20);
    for (int i = 0; i < 20; ++i) jin(i) = i;
    in.set(jin);
    Halide::Buffer<int32_t> jout = f.realize({20});
    for (int i = 0; i < 20; ++i) EXPECT_EQ(jout(i), i * 3 + 7);

    // And MLIR once more after Halide's JIT.
    compileAndCheckDot(dir, "kf_after_jit");
}

// An SVE kernel for a hand-made arm64 target: the assembly has sdot on z
// registers and a while-predicated loop (it is not run here).
TEST(MlirBackend, SveAssembly) {
    kf::targets::TargetInfo sve{};
    sve.name = "arm64-sve-test";
    sve.symbolSuffix = "arm64_sve_test";
    sve.arch = kf::targets::Arch::Arm64;
    sve.backends = {"mlir"};
    sve.llvmTriple = "aarch64-unknown-linux-gnu";
    sve.llvmCpu = "generic";
    sve.llvmFeatures = "+sve,+neon,+dotprod";
    sve.caps.scalableVectors = true;
    const std::string s = MlirKernel(kDotI8Sve).dump("asm", "kf_sve_dot", sve);
    EXPECT_TRUE(std::regex_search(s, std::regex(R"(sdot\s+z\d+\.s,\s*z\d+\.b,\s*z\d+\.b)"))) << s;
    EXPECT_TRUE(std::regex_search(s, std::regex(R"(while(lo|lt)\s+p\d+\.b)"))) << s;
    EXPECT_TRUE(std::regex_search(s, std::regex(R"(ld1b\s+\{\s*z\d+\.b\s*\})"))) << s;

    // The object is a valid arm64 object: the cross toolchain links it.
    TempDir dir;
    const fs::path obj = dir.path / "sve.o";
    MlirKernel(kDotI8Sve).compileToObject(obj.string(), "kf_sve_dot", sve);
    ASSERT_TRUE(fs::exists(obj));
    if (std::system("command -v aarch64-linux-gnu-g++ >/dev/null 2>&1") == 0) {
        const std::string cmd = "aarch64-linux-gnu-g++ -shared -o '" + (dir.path / "libsve.so").string() + "' '" +
                                obj.string() + "'";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
}

}  // namespace
