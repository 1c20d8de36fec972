#include "codegen/hadamard/HadamardMlir.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>

#include "codegen/CodegenError.h"
#include "codegen/backends/mlir/MlirWriter.h"

namespace kf::codegen::hadamard {

namespace {

int log2Of(int64_t v) {
    int b = 0;
    while ((int64_t{1} << b) < v) ++b;
    return b;
}

// An f32 as MLIR's exact hexadecimal literal.
std::string f32Hex(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    char s[16];
    std::snprintf(s, sizeof s, "0x%08X", bits);
    return s;
}

}  // namespace

std::string hadamardModule(const MlirHadamardKernel &k) {
    const int64_t n = k.n, m = k.m, B = m > 0 ? n / m : 0;
    if (m < 1 || n < 1 || B * m != n || (B & (B - 1)) != 0)
        throw CodegenError("the SVE lowering of hadamard needs n = m * 2^k, got n = " + std::to_string(n) +
                           ", m = " + std::to_string(m));
    if (m > 1 && k.hm.size() != static_cast<size_t>(m * m))
        throw CodegenError("the SVE lowering of hadamard needs the " + std::to_string(m) + " x " + std::to_string(m) +
                           " matrix H_m");
    if (k.radix < 2 || (k.radix & (k.radix - 1)) != 0)
        throw CodegenError("the SVE lowering of hadamard needs a radix that is a power of two >= 2");
    const int bits = log2Of(B), radixBits = log2Of(k.radix);

    const std::string vF32 = "vector<[4]xf32>", vI32 = "vector<[4]xi32>", vMask = "vector<[4]xi1>";
    mlir::Writer w;
    w.line("// kforge hadamard, n = " + std::to_string(n) + " = " + std::to_string(m) + " x 2^" +
           std::to_string(bits) + ", scalable SVE (HadamardMlir.cpp)");
    w.open("module {");
    if (m > 1) {  // H_m as f32 +-1, row-major
        std::string values;
        for (size_t i = 0; i < k.hm.size(); ++i) values += std::string(i ? ", " : "") + (k.hm[i] > 0 ? "1.0" : "-1.0");
        w.line("llvm.mlir.global internal constant @kf_hm_signs(dense<[" + values + "]> : tensor<" +
               std::to_string(m * m) + "xf32>) {addr_space = 0 : i32} : !llvm.array<" + std::to_string(m * m) +
               " x f32>");
    }
    w.open("func.func @kf_kernel(%x: !llvm.ptr, %y: !llvm.ptr, %xStride: i64, %yStride: i64, %r0: i64, %r1: i64) {");
    const std::string c0 = w.i64(0), c1 = w.i64(1), c4 = w.i64(4);
    const std::string lanes =
        w.mul(w.let("vs", "arith.index_cast " + w.let("vs", "vector.vscale") + " : index to i64"), c4);
    const std::string zero = w.let("z", "arith.constant dense<0.0> : " + vF32);

    // Predicate of the first `count` lanes (all when count >= lanes).
    auto maskOf = [&](const std::string &count) {
        return w.let("mask", "vector.create_mask " + w.let("i", "arith.index_cast " + count + " : i64 to index") +
                                 " : " + vMask);
    };
    // Element `index` (i64, in floats) of a row.
    auto at = [&](const std::string &row, const std::string &index) { return w.gep(row, w.mul(index, c4)); };
    auto load = [&](const std::string &ptr, const std::string &mask) {
        return w.let("v", "llvm.intr.masked.load " + ptr + ", " + mask + ", " + zero + " {alignment = 4 : i32} : (!llvm.ptr, " +
                              vMask + ", " + vF32 + ") -> " + vF32);
    };
    auto store = [&](const std::string &value, const std::string &ptr, const std::string &mask) {
        w.line("llvm.intr.masked.store " + value + ", " + ptr + ", " + mask + " {alignment = 4 : i32} : " + vF32 + ", " +
               vMask + " into !llvm.ptr");
    };
    auto splat = [&](const std::string &scalar) { return w.let("s", "vector.broadcast " + scalar + " : f32 to " + vF32); };

    // In-vector stages (bits 0 and 1): lane indices, each lane's partner
    // (lane ^ h) and the sign that makes partner + sign * v the butterfly.
    struct LaneStage {
        std::string partner, sign;
    };
    std::vector<LaneStage> laneStages;
    if (bits >= 1) {
        const std::string idx = w.let("idx", "llvm.intr.experimental.stepvector : " + vI32);
        const std::string one = w.let("c", "arith.constant 1.0 : f32"), minusOne = w.let("c", "arith.constant -1.0 : f32");
        const std::string plus = splat(one), minus = splat(minusOne);
        for (int b = 0; b < std::min(bits, 2); ++b) {
            const std::string h = w.let("h", "arith.constant dense<" + std::to_string(1 << b) + "> : " + vI32);
            const std::string partner = w.let("idx", "arith.xori " + idx + ", " + h + " : " + vI32);
            const std::string high = w.let("hi", "arith.cmpi ne, " + w.let("bit", "arith.andi " + idx + ", " + h + " : " + vI32) +
                                                      ", " + w.let("z", "arith.constant dense<0> : " + vI32) + " : " + vI32);
            laneStages.push_back({partner, w.let("sign", "arith.select " + high + ", " + minus + ", " + plus + " : " +
                                                              vMask + ", " + vF32)});
        }
    }
    const std::string scale = splat(w.let("c", "arith.constant " + f32Hex(static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)))) + " : f32"));
    const std::string signs = m > 1 ? w.let("hm", "llvm.mlir.addressof @kf_hm_signs : !llvm.ptr") : "";

    w.open("scf.for %r = %r0 to %r1 step " + c1 + " : i64 {");
    const std::string xRow = at("%x", w.mul("%r", "%xStride")), yRow = at("%y", w.mul("%r", "%yStride"));
    std::string src = xRow;  // what the next pass reads: x first, then y in place

    if (m > 1) {
        // out block a = sum_b H_m[a][b] * block b, one vector of each block at a time.
        const std::string cB = w.i64(B), cM = w.i64(m);
        w.open("scf.for %a = " + c0 + " to " + cM + " step " + c1 + " : i64 {");
        w.open("scf.for %j = " + c0 + " to " + cB + " step " + lanes + " : i64 {");
        const std::string mask = maskOf(w.let("left", "arith.subi " + cB + ", %j : i64"));
        const std::string signRow = w.mul("%a", cM);
        const std::string acc = w.fresh("acc");
        w.open(acc + " = scf.for %b = " + c0 + " to " + cM + " step " + c1 + " iter_args(%sum = " + zero + ") -> (" +
               vF32 + ") : i64 {");
        const std::string s = w.let("s", "llvm.load " + at(signs, w.add(signRow, "%b")) + " {alignment = 4 : i64} : !llvm.ptr -> f32");
        const std::string v = load(at(xRow, w.add(w.mul("%b", cB), "%j")), mask);
        w.line("scf.yield " + w.let("sum", "vector.fma " + splat(s) + ", " + v + ", %sum : " + vF32) + " : " + vF32);
        w.close();
        store(acc, at(yRow, w.add(w.mul("%a", cB), "%j")), mask);
        w.close();
        w.close();
        src = yRow;
    }

    // Bits 2..bits-1, log2(radix) per pass: vectors h apart, all stages of
    // the digit in registers.
    for (int lo = 2; lo < bits; lo += radixBits) {
        const int r = std::min(radixBits, bits - lo), count = 1 << r;
        const int64_t h = int64_t{1} << lo, span = h << r;
        const std::string cH = w.i64(h);
        w.open("scf.for %blk = " + c0 + " to " + w.i64(n) + " step " + w.i64(span) + " : i64 {");
        w.open("scf.for %j = " + c0 + " to " + cH + " step " + lanes + " : i64 {");
        const std::string mask = maskOf(w.let("left", "arith.subi " + cH + ", %j : i64"));
        const std::string first = w.add("%blk", "%j");
        std::vector<std::string> v(count), offset(count);
        for (int t = 0; t < count; ++t) {
            offset[t] = t ? w.add(first, w.i64(t * h)) : first;
            v[t] = load(at(src, offset[t]), mask);
        }
        for (int s = 0; s < r; ++s)
            for (int t = 0; t < count; ++t)
                if (!(t & (1 << s))) {
                    const int u = t | (1 << s);
                    const std::string sum = w.let("v", "arith.addf " + v[t] + ", " + v[u] + " : " + vF32);
                    const std::string diff = w.let("v", "arith.subf " + v[t] + ", " + v[u] + " : " + vF32);
                    v[t] = sum, v[u] = diff;
                }
        for (int t = 0; t < count; ++t) store(v[t], at(yRow, offset[t]), mask);
        w.close();
        w.close();
        src = yRow;
    }

    // Bits 0 and 1 inside each vector, then 1/sqrt(n).
    w.open("scf.for %i = " + c0 + " to " + w.i64(n) + " step " + lanes + " : i64 {");
    const std::string mask = maskOf(w.let("left", "arith.subi " + w.i64(n) + ", %i : i64"));
    std::string v = load(at(src, "%i"), mask);
    for (const LaneStage &st : laneStages) {
        const std::string partner =
            w.let("p", "llvm.call_intrinsic \"llvm.aarch64.sve.tbl.nxv4f32\"(" + v + ", " + st.partner + ") : (" + vF32 +
                           ", " + vI32 + ") -> " + vF32);
        v = w.let("v", "vector.fma " + st.sign + ", " + v + ", " + partner + " : " + vF32);
    }
    v = w.let("v", "arith.mulf " + v + ", " + scale + " : " + vF32);
    store(v, at(yRow, "%i"), mask);
    w.close();

    w.close();  // r
    w.line("return");
    w.close();  // func
    w.close();  // module
    return w.str();
}

}  // namespace kf::codegen::hadamard
