#include "codegen/lowbit_linear/LowbitLinearMlir.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "codegen/CodegenError.h"
#include "codegen/backends/mlir/MlirWriter.h"

namespace kf::codegen::lowbit {

namespace {

using mlir::Writer;

// Chunks of 4*I bytes per k-block of a plane (base 3: one).
int chunksOf(const rt::PlaneLayout &p) { return p.width == 0 ? 1 : p.width; }

}  // namespace

bool usesRowPairs(const MlirLinearKernel &k) {
    const rt::LinearLayout &L = k.layout;
    const bool base3 = L.numPlanes == 1 && L.planes[0].width == 0;
    return k.isa == LinearIsa::Sve && k.i8mm && !k.floatInput && !base3 && k.mTile % 2 == 0;
}

std::string linearModule(const MlirLinearKernel &k) {
    const rt::LinearLayout &L = k.layout;
    const bool sve = k.isa == LinearIsa::Sve;
    const char *isaName = sve ? "SVE" : "AVX-512";
    const bool base3 = L.numPlanes == 1 && L.planes[0].width == 0;
    if (L.kBlock != (base3 ? 20 : 32))
        throw CodegenError(std::string("the ") + isaName +
                           " lowering of lowbit_linear needs k-blocks of 32 (20 for base-3 ternary)");
    if (k.mTile < 1 || k.mTile > 8)
        throw CodegenError(std::string("the ") + isaName + " lowering of lowbit_linear takes 1 to 8 rows of x per step");
    const int I = L.interleave;
    if (!sve && I % 16 != 0)
        throw CodegenError("the AVX-512 lowering of lowbit_linear needs tiles of a multiple of 16 rows, not " +
                           std::to_string(I));
    const bool perChannel = L.group == 0;
    const int blocksPerChunk = L.kAlign / L.kBlock;
    const int MT = k.mTile;
    // i8mm: pairs of x rows on smmla (k-blocks of 8 quads; an even mTile),
    // or 8-bit codes of one row on usdot (MlirLinearKernel::i8mm).
    const bool mmla = usesRowPairs(k);
    const bool usdot = sve && k.i8mm && !k.floatInput && !mmla && L.bits == 8;
    // sdot and smmla multiply s8 x s8: codes below 128 go in as they are;
    // 8-bit codes as c - 128 (the bytes with their top bit flipped), added
    // back through the row sum (the Halide lowering's codeOffset, with the
    // same result). vpdpbusd and usdot take the codes as unsigned bytes: no offset.
    const int codeOffset = sve && L.bits == 8 && !usdot ? 128 : 0;

    // Vector types: one register of bytes, its int32 / f32 lanes (one per
    // row of a strip), and the narrower per-row and wider per-byte forms.
    const auto vec = [&](int n, const char *elem) {
        return std::string("vector<") + (sve ? "[" : "") + std::to_string(sve ? n : 4 * n) + (sve ? "]" : "") + "x" +
               elem + ">";
    };
    const std::string kBytes = vec(16, "i8"), kWide = vec(16, "i16"), kMask16 = vec(16, "i1");
    const std::string kLanesI32 = vec(4, "i32"), kLanesF32 = vec(4, "f32"), kLanesI16 = vec(4, "i16"),
                      kLanesF16 = vec(4, "f16"), kLanesI8 = vec(4, "i8"), kMask4 = vec(4, "i1");
    const std::string kPairsI64 = vec(2, "i64");  // SVE i8mm: smmla sums as 64-bit pairs (unzipped per row of x)
    // An SVE permute of two vectors (zip1, uzp2, trn1 ...) at one element type.
    const auto permute = [&](const char *op, const std::string &a, const std::string &b, const std::string &type,
                             const char *suffix) {
        return std::string("llvm.call_intrinsic \"llvm.aarch64.sve.") + op + "." + suffix + "\"(" + a + ", " + b +
               ") : (" + type + ", " + type + ") -> " + type;
    };

    Writer w;
    w.line(std::string("// kforge lowbit_linear, ") + (k.floatInput ? "f32" : "int8") + " activations, " +
           (sve ? "scalable SVE" : "AVX-512 VNNI") + " (LowbitLinearMlir.cpp)");
    w.open("module {");
    w.open(
        "func.func @kf_kernel(%planes: !llvm.ptr, %scales: !llvm.ptr, %zp: !llvm.ptr, %bias: !llvm.ptr, "
        "%q: !llvm.ptr, %qsum: !llvm.ptr, %rowScale: !llvm.ptr, %y: !llvm.ptr, %M: i64, %kPad: i64, "
        "%numScaleCols: i64, %yStride: i64, %t0: i64, %t1: i64) {");
    const std::string c0 = w.i64(0), c1 = w.i64(1), c4 = w.i64(4), cI = w.i64(I), cMT = w.i64(MT);
    // i32 lanes per vector = rows per strip
    std::string lanes;
    if (sve) {
        const std::string vscale = w.let("vs", "vector.vscale");
        lanes = w.mul(w.let("vs", "arith.index_cast " + vscale + " : index to i64"), c4);
    } else {
        lanes = w.i64(16);
    }
    const std::string nBlocks = w.let("nb", "arith.divui %kPad, " + w.i64(L.kBlock) + " : i64");
    // int8 per-channel: one chunk (exact int32 sums); otherwise chunks of kAlign.
    const bool wholeRow = perChannel && !k.floatInput;
    const std::string nChunks = wholeRow ? c1 : w.let("nc", "arith.divui %kPad, " + w.i64(L.kAlign) + " : i64");
    const int scaleBytes = L.scaleType == KF_SCALE_F32 ? 4 : 2;

    // Per plane: its pointer and the bytes of one tile of it.
    std::vector<std::string> planePtr(L.numPlanes), planeTileBytes(L.numPlanes);
    for (int p = 0; p < L.numPlanes; ++p) {
        const std::string slot = w.gep("%planes", w.i64(8 * p));
        planePtr[p] = w.let("plane", "llvm.load " + slot + " {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr");
        planeTileBytes[p] = w.mul(nBlocks, w.i64(4 * I * chunksOf(L.planes[p])));
    }
    const std::string zeroBytes = w.let("z", "arith.constant dense<0> : " + std::string(kBytes));
    // AVX-512, int8, base 3: byte b = r + 81 t4 with r < 81, where r and the
    // top digit t4 take four byte ops (vpminub / vpsubb / vpandd), and digits
    // 0..3 of r come as four 2-bit fields of one byte from a 128-entry table
    // (one `vpermi2b`, VBMI). Five multiply-and-divide steps per byte (the SVE
    // path below) measured 0.24-0.26 of read bandwidth on Halide's kernel.
    std::vector<std::string> base3Table;  // entries 0..63, 64..127
    const bool base3Lookup = base3 && !sve && !k.floatInput;
    if (base3Lookup)
        for (int half = 0; half < 2; ++half) {
            std::string values;
            for (int b = 64 * half; b < 64 * half + 64; ++b) {
                int fields = 0;
                for (int d = 0, q = b; d < 4; ++d, q /= 3) fields |= (q % 3) << (2 * d);
                values += (values.empty() ? "" : ", ") + std::to_string(static_cast<int8_t>(fields));
            }
            base3Table.push_back(w.let("tab", "arith.constant dense<[" + values + "]> : " + std::string(kBytes)));
        }
    const std::string zeroI32 = w.let("z", "arith.constant dense<0> : " + std::string(kLanesI32));
    const std::string zeroF32 = w.let("z", "arith.constant dense<0.0> : " + std::string(kLanesF32));

    // SVE: the first quadword's predicate and the lane indices of the indexed sdot.
    std::string allBytes;
    const std::string sdotLane = std::string("llvm.call_intrinsic \"llvm.aarch64.sve.") + (usdot ? "usdot" : "sdot") +
                                 ".lane.nxv4i32\"";
    std::vector<std::string> laneIndex;
    // AVX-512: strips are whole registers; every load and store is unmasked
    // (LLVM folds the all-true masks away).
    std::string allLanes, allBytesX86;
    if (sve) {
        allBytes = w.let("mask", "vector.constant_mask [16] : " + kMask16);
        for (int l = 0; l < 4; ++l)
            laneIndex.push_back(w.let("c", "llvm.mlir.constant(" + std::to_string(l) + " : i32) : i32"));
    } else {
        allLanes = w.let("mask", "arith.constant dense<true> : " + kMask4);
        allBytesX86 = w.let("mask", "arith.constant dense<true> : " + kMask16);
    }

    auto joined = [](const std::vector<std::string> &v) {
        std::string out;
        for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
        return out;
    };
    auto types = [](size_t n, const std::string &t) {
        std::string out;
        for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + t;
        return out;
    };
    // AVX-512: acc += the byte codes (unsigned) . x's quad broadcast (signed), per int32 lane.
    auto vpdpbusd = [&](const std::string &acc, const std::string &codes, const std::string &xQuad) {
        return w.let("dot", "llvm.call_intrinsic \"llvm.x86.avx512.vpdpbusd.512\"(" + acc + ", " +
                                w.let("u", "vector.bitcast " + codes + " : " + kBytes + " to " + kLanesI32) + ", " + xQuad +
                                ") : (" + kLanesI32 + ", " + kLanesI32 + ", " + kLanesI32 + ") -> " + kLanesI32);
    };
    const bool f32x = k.floatInput;
    // int8: per-channel sums stay int32 to the end; f32 rows: f32 throughout.
    const std::string accType = perChannel && !f32x ? kLanesI32 : kLanesF32;
    const std::string accZero = perChannel && !f32x ? zeroI32 : zeroF32;
    const std::string dotType = f32x ? kLanesF32 : kLanesI32;
    const std::string dotZero = f32x ? zeroF32 : zeroI32;

    // One tile's rows in strips of one vector, S strips per pass (S vectors
    // of rows share each loaded quad of x). On SVE `S` is chosen at run time
    // from the vector length (emitTile is instantiated for 4, 2 and 1), so
    // short vectors get several strips and long ones do not run empty strips;
    // on AVX-512 it is fixed by the tile.
    auto emitTile = [&](int S) {
        const std::string step = w.mul(lanes, w.i64(S));
        // Rows of x outside the strips: a step's MT rows (a few KiB of x per
        // row) stay in L1 while every strip of the tile passes over them, and
        // the tile's weights come from L2 once per step; strips outside would
        // stream all M rows of x from L3 once per strip (prefill; in decode
        // there is one step either way).
        w.open("scf.for %m0 = " + c0 + " to %M step " + cMT + " : i64 {");
        // Rows of this step; past M they repeat row M-1 and are not stored.
        const std::string lastRow = w.let("last", "arith.subi %M, " + c1 + " : i64");
        std::vector<std::string> row(MT), qRow(MT), qsumRow(MT);
        for (int i = 0; i < MT; ++i) {
            row[i] = i ? w.let("row", "arith.minsi " + w.add("%m0", w.i64(i)) + ", " + lastRow + " : i64") : std::string("%m0");
            qRow[i] = w.gep("%q", w.mul(w.mul(row[i], "%kPad"), w.i64(f32x ? 4 : 1)));
            qsumRow[i] = w.gep("%qsum", w.mul(w.mul(row[i], nChunks), c4));
        }
        // i8mm: pair rp holds rows (row[2rp] & ~1) and the next, 2 kPad bytes.
        std::vector<std::string> pairRow(mmla ? MT / 2 : 0);
        for (int rp = 0; rp < MT / 2 && mmla; ++rp)
            pairRow[rp] = w.gep("%q", w.mul(w.let("pr", "arith.andi " + row[2 * rp] + ", " + w.i64(-2) + " : i64"), "%kPad"));
        w.open("scf.for %r0 = " + c0 + " to " + cI + " step " + step + " : i64 {");
        std::vector<std::string> laneMask(S), byteMask(S), row0(S), rowInTiles(S);
        std::vector<std::vector<std::string>> stripBase(S, std::vector<std::string>(L.numPlanes));
        for (int st = 0; st < S; ++st) {
            row0[st] = st ? w.add("%r0", w.mul(lanes, w.i64(st))) : std::string("%r0");
            if (sve) {
                const std::string left = w.let(
                    "left", "arith.maxsi " + w.let("left", "arith.subi " + cI + ", " + row0[st] + " : i64") + ", " + c0 +
                                " : i64");
                laneMask[st] = w.let("mask", "vector.create_mask " +
                                                 w.let("left", "arith.index_cast " + left + " : i64 to index") + " : " +
                                                 kMask4);
                byteMask[st] = w.let("mask", "vector.create_mask " +
                                                 w.let("left", "arith.index_cast " + w.mul(left, c4) + " : i64 to index") +
                                                 " : " + kMask16);
            } else {
                laneMask[st] = allLanes;
                byteMask[st] = allBytesX86;
            }
            rowInTiles[st] = w.add(w.mul("%t", cI), row0[st]);  // t*I + first row of the strip
            // The strip's plane data at block 0: tile base + row*4.
            for (int p = 0; p < L.numPlanes; ++p)
                stripBase[st][p] = w.gep(planePtr[p], w.add(w.mul("%t", planeTileBytes[p]), w.mul(row0[st], c4)));
        }

        // Loads of one lane per row of a strip from a [tile][col][I] table.
        auto tableOffset = [&](int st, const std::string &col) {
            return w.add(w.mul(w.add(w.mul("%t", "%numScaleCols"), col), cI), row0[st]);
        };
        auto loadScale = [&](int st, const std::string &col) {
            const std::string ptr = w.gep("%scales", w.mul(tableOffset(st, col), w.i64(scaleBytes)));
            if (L.scaleType == KF_SCALE_F32)
                return w.let("s", "llvm.intr.masked.load " + ptr + ", " + laneMask[st] + ", " + zeroF32 +
                                      " {alignment = 4 : i32} : (!llvm.ptr, " + kMask4 + ", " + kLanesF32 + ") -> " + kLanesF32);
            const std::string zero16 = w.let("z", "arith.constant dense<0> : " + kLanesI16);
            const std::string raw = w.let("s", "llvm.intr.masked.load " + ptr + ", " + laneMask[st] + ", " + zero16 +
                                                   " {alignment = 2 : i32} : (!llvm.ptr, " + kMask4 + ", " + kLanesI16 + ") -> " + kLanesI16);
            if (L.scaleType == KF_SCALE_F16) {
                const std::string h = w.let("s", "arith.bitcast " + raw + " : " + kLanesI16 + " to " + kLanesF16);
                return w.let("s", "arith.extf " + h + " : " + kLanesF16 + " to " + kLanesF32);
            }
            // bf16: the top half of an f32
            const std::string wide = w.let("s", "arith.extui " + raw + " : " + kLanesI16 + " to " + kLanesI32);
            const std::string c16 = w.let("c", "arith.constant dense<16> : " + kLanesI32);
            const std::string hi = w.let("s", "arith.shli " + wide + ", " + c16 + " : " + kLanesI32);
            return w.let("s", "arith.bitcast " + hi + " : " + kLanesI32 + " to " + kLanesF32);
        };
        auto loadZeroPoints = [&](int st, const std::string &col) {  // as i32 lanes
            const std::string ptr = w.gep("%zp", tableOffset(st, col));
            const std::string zero8 = w.let("z", "arith.constant dense<0> : " + kLanesI8);
            const std::string raw = w.let("zp", "llvm.intr.masked.load " + ptr + ", " + laneMask[st] + ", " + zero8 +
                                                    " {alignment = 1 : i32} : (!llvm.ptr, " + kMask4 + ", " + kLanesI8 + ") -> " + kLanesI8);
            return w.let("zp", "arith.extui " + raw + " : " + kLanesI8 + " to " + kLanesI32);
        };

        const size_t nAcc = static_cast<size_t>(S * MT);  // accumulator (strip st, row i) at st*MT + i
        auto iterArgs = [&](const std::string &prefix, const std::string &init, std::vector<std::string> &names) {
            std::string out = "iter_args(";
            names.resize(nAcc);
            for (size_t a = 0; a < nAcc; ++a) {
                names[a] = w.fresh(prefix);
                out += (a ? ", " : "") + names[a] + " = " + init;
            }
            return out + ")";
        };
        auto result = [&](const std::string &name, size_t a) { return nAcc > 1 ? name + "#" + std::to_string(a) : name; };
        auto resultDecl = [&](const std::string &name) { return nAcc > 1 ? name + ":" + std::to_string(nAcc) : name; };

        // Chunk loop (one chunk = the whole row for per-channel scales).
        std::vector<std::string> acc;
        const std::string accIter = iterArgs("acc", accZero, acc);
        const std::string chunkBlocks = wholeRow ? nBlocks : w.i64(blocksPerChunk);
        const std::string accOut = w.fresh("accOut");
        w.open(resultDecl(accOut) + " = scf.for %c = " + c0 + " to " + nChunks + " step " + c1 + " " + accIter + " -> (" +
               types(nAcc, accType) + ") : i64 {");
        const std::string b0 = w.mul("%c", chunkBlocks);
        const std::string b1 = w.add(b0, chunkBlocks);
        // AVX-512, int8, one plane of 1/2/4-bit codes: slot sl of a byte is
        // taken with a mask alone, as 2^(width sl) times its code, into an
        // accumulator of its own; the slots are shifted back and summed after
        // the blocks (exact: every term carries the same power of two). That
        // keeps the unpacking off the shift port, which vpdpbusd also needs
        // (bench/README.md, "x86 decode through MLIR"). Needs cpb accumulators
        // per strip and row: only where 16 registers hold them.
        const int width0 = L.planes[0].width;
        const int cpb0 = width0 > 0 ? 8 / width0 : 0;
        // Blocks summed into a slot before it is folded back: each slot term
        // is below 2^17 per block, so 1024 blocks stay inside int32.
        const int foldBlocks = 1024;
        const bool slots = !sve && !f32x && !base3 && L.numPlanes == 1 && width0 < 8 && L.planes[0].shift == 0 &&
                           static_cast<size_t>(cpb0) * nAcc <= 16 && (wholeRow || blocksPerChunk <= foldBlocks);
        // f32 rows: two FMA chains per accumulator (k of even / odd byte lane), as the Halide lowering.
        const size_t chains = f32x ? 2 : slots ? static_cast<size_t>(cpb0) : 1;
        std::vector<std::string> dot(nAcc * chains);
        std::string dotIter = "iter_args(";
        for (size_t a = 0; a < dot.size(); ++a) {
            dot[a] = w.fresh("dot");
            dotIter += (a ? ", " : "") + dot[a] + " = " + dotZero;
        }
        dotIter += ")";
        const std::string dotOut = w.fresh("dotOut");
        auto dotResult = [&](size_t a) { return dot.size() > 1 ? dotOut + "#" + std::to_string(a) : dotOut; };
        // Slots over a whole row: an outer loop folds them every foldBlocks blocks.
        std::string blockLo = b0, blockHi = b1;
        std::vector<std::string> folded;
        const std::string foldOut = w.fresh("foldOut");
        if (slots && wholeRow) {
            std::string foldIter = "iter_args(";
            folded.resize(nAcc);
            for (size_t a = 0; a < nAcc; ++a) {
                folded[a] = w.fresh("fold");
                foldIter += (a ? ", " : "") + folded[a] + " = " + dotZero;
            }
            foldIter += ")";
            w.open(resultDecl(foldOut) + " = scf.for %fb = " + b0 + " to " + b1 + " step " + w.i64(foldBlocks) + " " +
                   foldIter + " -> (" + types(nAcc, dotType) + ") : i64 {");
            blockLo = "%fb";
            blockHi = w.let("hi", "arith.minsi " + w.add("%fb", w.i64(foldBlocks)) + ", " + b1 + " : i64");
        }
        w.open((dot.size() > 1 ? dotOut + ":" + std::to_string(dot.size()) : dotOut) + " = scf.for %b = " + blockLo +
               " to " + blockHi + " step " + c1 + " " + dotIter + " -> (" + types(dot.size(), dotType) + ") : i64 {");
        const std::string kBase = w.mul("%b", w.i64(L.kBlock));
        // x of each row: a quadword (4 quads) replicated to every 128-bit
        // segment, read by the indexed sdot; a last odd quad broadcast.
        const int quads = L.kBlock / 4;
        // Blocks between a block and the one its prefetch reads (at least one).
        const int ahead = std::max(1, (k.prefetchK + L.kBlock - 1) / L.kBlock);
        std::vector<std::vector<std::string>> xQuadword(MT), xSplat(MT);
        // AVX-512: each quad of x broadcast to every int32 lane. With one or
        // two rows the block's broadcasts are made once here and shared by
        // the strips; with more (prefill) each is made where it is used:
        // MT x 8 live registers would spill (LLVM keeps them on the stack).
        auto xBroadcast = [&](int i, int quad) {
            const std::string xq = w.let("x", "llvm.load " + w.gep(qRow[i], w.add(kBase, w.i64(4 * quad))) +
                                                  " {alignment = 1 : i64} : !llvm.ptr -> i32");
            return w.let("x", "vector.broadcast " + xq + " : i32 to " + kLanesI32);
        };
        const bool xShared = MT <= 2;
        for (int i = 0; i < MT && !f32x && !sve && xShared; ++i)
            for (int quad = 0; quad < quads; ++quad) xSplat[i].push_back(xBroadcast(i, quad));
        auto xQuad = [&](int i, int quad) {
            return xShared ? xSplat[i][static_cast<size_t>(quad)] : xBroadcast(i, quad);
        };
        // i8mm: per pair of rows and 8 k, the 8 bytes of the first row then
        // the second's (the bridge's row-pair layout, usesRowPairs), in every
        // 128-bit segment: smmla's 2x8 left operand.
        std::vector<std::vector<std::string>> xPair(mmla ? MT / 2 : 0);
        for (int rp = 0; rp < MT / 2 && mmla; ++rp)
            for (int qw = 0; qw < quads / 2; ++qw)
                xPair[rp].push_back(w.let(
                    "x", "llvm.call_intrinsic \"llvm.aarch64.sve.ld1rq.nxv16i8\"(" + allBytes + ", " +
                             w.gep(pairRow[rp], w.add(w.mul(kBase, w.i64(2)), w.i64(16 * qw))) + ") : (" + kMask16 +
                             ", !llvm.ptr) -> " + kBytes));
        for (int i = 0; i < MT && !f32x && sve && !mmla; ++i) {
            for (int qw = 0; qw + 4 <= quads; qw += 4)
                xQuadword[i].push_back(w.let(
                    "x", "llvm.call_intrinsic \"llvm.aarch64.sve.ld1rq.nxv16i8\"(" + allBytes + ", " +
                             w.gep(qRow[i], w.add(kBase, w.i64(4 * qw))) + ") : (" + kMask16 + ", !llvm.ptr) -> " + kBytes));
            for (int quad = quads / 4 * 4; quad < quads; ++quad) {
                const std::string xq = w.let("x", "llvm.load " + w.gep(qRow[i], w.add(kBase, w.i64(4 * quad))) +
                                                      " {alignment = 1 : i64} : !llvm.ptr -> i32");
                const std::string xs = w.let("x", "vector.broadcast " + xq + " : i32 to " + std::string(kLanesI32));
                xSplat[i].push_back(w.let("x", "vector.bitcast " + xs + " : " + std::string(kLanesI32) + " to " + kBytes));
            }
        }
        // f32 rows: x[k] of each row broadcast to every lane.
        std::vector<std::vector<std::string>> xk(MT);
        for (int i = 0; i < MT && f32x; ++i)
            for (int kk = 0; kk < L.kBlock; ++kk) {
                const std::string v = w.let("x", "llvm.load " + w.gep(qRow[i], w.mul(w.add(kBase, w.i64(kk)), c4)) +
                                                     " {alignment = 4 : i64} : !llvm.ptr -> f32");
                xk[i].push_back(w.let("x", "vector.broadcast " + v + " : f32 to " + std::string(kLanesF32)));
            }
        std::vector<std::string> dotNow = dot;
        for (int st = 0; st < S; ++st) {
            // The block's chunks: plane p has chunksOf(p) chunks of 4*I bytes.
            std::vector<std::vector<std::string>> chunk(L.numPlanes);
            for (int p = 0; p < L.numPlanes; ++p) {
                const int chunks = chunksOf(L.planes[p]);
                const std::string blockPtr = w.gep(stripBase[st][p], w.mul("%b", w.i64(4 * I * chunks)));
                for (int u = 0; u < chunks; ++u) {
                    const std::string ptr = u ? w.gep(blockPtr, w.i64(4 * I * u)) : blockPtr;
                    if (!sve && k.prefetchK > 0)  // the same line `ahead` blocks on
                        w.line("\"llvm.intr.prefetch\"(" + w.gep(ptr, w.i64(ahead * 4 * I * chunks)) +
                               ") <{cache = 1 : i32, hint = " + std::to_string(k.prefetchLocality) +
                               " : i32, rw = 0 : i32}> : (!llvm.ptr) -> ()");
                    chunk[p].push_back(w.let("w", "llvm.intr.masked.load " + ptr + ", " + byteMask[st] + ", " + zeroBytes +
                                                      " {alignment = 1 : i32} : (!llvm.ptr, " + kMask16 + ", " + kBytes +
                                                      ") -> " + kBytes));
                }
            }
            // Base 3: the five digits of each byte (bytes, k quad s = digit s).
            std::vector<std::string> trits;
            if (base3Lookup) {  // AVX-512 int8: by table (base3Table above)
                const std::string b = chunk[0][0];
                auto bytes = [&](int v) {
                    return w.let("c", "arith.constant dense<" + std::to_string(v) + "> : " + std::string(kBytes));
                };
                // min(v, v - 81) (wrapping) is v - 81 where v >= 81, else v.
                const std::string c81 = bytes(81);
                auto less81 = [&](const std::string &v) {
                    return w.let("u", "arith.minui " + v + ", " + w.let("u", "arith.subi " + v + ", " + c81 + " : " + kBytes) +
                                          " : " + kBytes);
                };
                const std::string r = less81(less81(b));
                // b - r is 0, 81 (0x51) or 162 (0xa2): its low nibble is t4.
                const std::string top = w.let("u", "arith.andi " + w.let("u", "arith.subi " + b + ", " + r + " : " + kBytes) +
                                                       ", " + bytes(15) + " : " + kBytes);
                const std::string fields =
                    w.let("t", "llvm.call_intrinsic \"llvm.x86.avx512.vpermi2var.qi.512\"(" + base3Table[0] + ", " + r +
                                   ", " + base3Table[1] + ") : (" + kBytes + ", " + kBytes + ", " + kBytes + ") -> " + kBytes);
                const std::string three = bytes(3);
                for (int d = 0; d < 4; ++d) {
                    std::string t = fields;
                    if (d) t = w.let("u", "arith.shrui " + t + ", " + bytes(2 * d) + " : " + kBytes);
                    if (d < 3) t = w.let("u", "arith.andi " + t + ", " + three + " : " + kBytes);
                    trits.push_back(t);
                }
                trits.push_back(top);
            } else if (base3) {
                // digit s of b (<= 242) is f_s - 3 f_{s+1}, f_0 = b, f_{s+1} =
                // floor(f_s / 3) = (f_s * 171) >> 9 (exact for f_s <= 255). (MLIR
                // 19 cannot lower arith.mului_extended on scalable vectors: widen by hand.)
                const std::string c171 = w.let("c", "arith.constant dense<171> : " + kWide);
                const std::string c9 = w.let("c", "arith.constant dense<9> : " + kWide);
                const std::string c3v = w.let("c", "arith.constant dense<3> : " + std::string(kBytes));
                std::vector<std::string> f = {chunk[0][0]};
                for (int d = 1; d <= 4; ++d) {
                    const std::string wide = w.let("f", "arith.extui " + f.back() + " : " + kBytes + " to " + kWide);
                    const std::string prod = w.let("f", "arith.muli " + wide + ", " + c171 + " : " + kWide);
                    const std::string quot = w.let("f", "arith.shrui " + prod + ", " + c9 + " : " + kWide);
                    f.push_back(w.let("f", "arith.trunci " + quot + " : " + kWide + " to " + kBytes));
                }
                for (int d = 0; d < 5; ++d)
                    trits.push_back(d == 4 ? f[4]
                                           : w.let("u", "arith.subi " + f[d] + ", " +
                                                            w.let("u", "arith.muli " + f[d + 1] + ", " + c3v + " : " + kBytes) +
                                                            " : " + kBytes));
            }
            if (f32x) {
                // Each row's lane is a 32-bit word of 4 bytes (j = 0..3); the
                // code of k = kBlock b + 4 quad + j is in byte j.
                auto wordsOf = [&](const std::string &bytes) {
                    return w.let("w", "vector.bitcast " + bytes + " : " + kBytes + " to " + std::string(kLanesI32));
                };
                auto constI32 = [&](long long v) {
                    return w.let("c", "arith.constant dense<" + std::to_string(v) + "> : " + std::string(kLanesI32));
                };
                std::vector<std::vector<std::string>> words(L.numPlanes);
                for (int p = 0; p < L.numPlanes; ++p)
                    for (const std::string &ch : chunk[p]) words[p].push_back(wordsOf(ch));
                for (int quad = 0; quad < quads; ++quad)
                    for (int j = 0; j < 4; ++j) {
                        std::string code;
                        if (base3) {
                            // byte j, then its digit `quad`: floor(b / 3^quad) % 3
                            std::string b = w.let("u", "arith.andi " +
                                                           w.let("u", "arith.shrui " + words[0][0] + ", " + constI32(8 * j) +
                                                                          " : " + kLanesI32) +
                                                           ", " + constI32(255) + " : " + kLanesI32);
                            for (int d = 0; d < quad; ++d)
                                b = w.let("u", "arith.shrui " + w.mul(b, constI32(171), kLanesI32) + ", " + constI32(9) +
                                                   " : " + kLanesI32);
                            const std::string next = w.let("u", "arith.shrui " + w.mul(b, constI32(171), kLanesI32) + ", " +
                                                                    constI32(9) + " : " + kLanesI32);
                            code = w.let("u", "arith.subi " + b + ", " + w.mul(next, constI32(3), kLanesI32) + " : " +
                                                  kLanesI32);
                        }
                        for (int p = 0; p < L.numPlanes && !base3; ++p) {
                            const int width = L.planes[p].width, cpb = 8 / width;
                            const int u = quad / cpb, sl = quad % cpb;
                            const int shift = 8 * j + width * sl;
                            std::string bits = words[p][u];
                            if (shift) bits = w.let("u", "arith.shrui " + bits + ", " + constI32(shift) + " : " + kLanesI32);
                            if (shift + width < 32)
                                bits = w.let("u", "arith.andi " + bits + ", " + constI32((1 << width) - 1) + " : " + kLanesI32);
                            if (L.planes[p].shift)
                                bits = w.let("u", "arith.shli " + bits + ", " + constI32(L.planes[p].shift) + " : " + kLanesI32);
                            code = code.empty() ? bits : w.let("u", "arith.ori " + code + ", " + bits + " : " + kLanesI32);
                        }
                        const std::string cf = w.let("f", "arith.uitofp " + code + " : " + std::string(kLanesI32) + " to " +
                                                              kLanesF32);
                        for (int i = 0; i < MT; ++i) {
                            std::string &d = dotNow[static_cast<size_t>((st * MT + i) * 2 + (j % 2))];
                            d = w.let("dot", "vector.fma " + xk[i][static_cast<size_t>(4 * quad + j)] + ", " + cf + ", " + d +
                                                 " : " + kLanesF32);
                        }
                    }
                continue;
            }
            std::string prevCode;  // i8mm: the even quad, zipped with the odd one
            for (int quad = 0; quad < quads; ++quad) {
                if (slots) {  // slot sl of chunk u, in place: 2^(width sl) times the code
                    const int u = quad / cpb0, sl = quad % cpb0;
                    const std::string bits = w.let(
                        "u", "arith.andi " + chunk[0][u] + ", " +
                                 w.let("c", "arith.constant dense<" +
                                                std::to_string(static_cast<int8_t>(((1 << width0) - 1) << (width0 * sl))) +
                                                "> : " + kBytes) +
                                 " : " + kBytes);
                    for (int i = 0; i < MT; ++i) {
                        std::string &d = dotNow[static_cast<size_t>((st * MT + i) * cpb0 + sl)];
                        d = vpdpbusd(d, bits, xQuad(i, quad));
                    }
                    continue;
                }
                // Codes of k = kBlock b + 4 quad + j in the bytes of each row's lane.
                std::string code = base3 ? trits[quad] : std::string();
                for (int p = 0; p < L.numPlanes && !base3; ++p) {
                    const int width = L.planes[p].width, cpb = 8 / width;
                    const int u = quad / cpb, sl = quad % cpb;
                    std::string bits = chunk[p][u];
                    if (width < 8) {
                        if (width * sl != 0)
                            bits = w.let("u", "arith.shrui " + bits + ", " +
                                                  w.let("c", "arith.constant dense<" + std::to_string(width * sl) + "> : " + kBytes) +
                                                  " : " + kBytes);
                        if (width * sl + width < 8)
                            bits = w.let("u", "arith.andi " + bits + ", " +
                                                  w.let("c", "arith.constant dense<" + std::to_string((1 << width) - 1) +
                                                                 "> : " + kBytes) +
                                                  " : " + kBytes);
                    }
                    if (L.planes[p].shift)
                        bits = w.let("u", "arith.shli " + bits + ", " +
                                              w.let("c", "arith.constant dense<" + std::to_string(L.planes[p].shift) + "> : " +
                                                             kBytes) +
                                              " : " + kBytes);
                    code = code.empty() ? bits : w.let("u", "arith.ori " + code + ", " + bits + " : " + kBytes);
                }
                if (codeOffset)  // c - 128 as s8: flip the top bit
                    code = w.let("u", "arith.xori " + code + ", " +
                                          w.let("c", "arith.constant dense<-128> : " + std::string(kBytes)) + " : " + kBytes);
                if (mmla) {
                    // Quads 2qp and 2qp+1 zipped per row: segment s of zip1 holds
                    // rows 2s and 2s+1 of the strip with their 8 k (smmla's right
                    // operand), zip2 rows lanes/2 + 2s and + 1. Accumulator
                    // (st, 2rp + h) has, per segment, rows 2rp / 2rp+1 of x by
                    // the two weight rows of zip h.
                    if (quad % 2 == 0) {
                        prevCode = code;
                        continue;
                    }
                    auto words = [&](const std::string &v) {
                        return w.let("w", "vector.bitcast " + v + " : " + kBytes + " to " + kLanesI32);
                    };
                    const std::string a = words(prevCode), b = words(code);
                    for (int h = 0; h < 2; ++h) {
                        const std::string z = w.let("w", permute(h ? "zip2" : "zip1", a, b, kLanesI32, "nxv4i32"));
                        const std::string zb = w.let("w", "vector.bitcast " + z + " : " + kLanesI32 + " to " + kBytes);
                        for (int rp = 0; rp < MT / 2; ++rp) {
                            std::string &d = dotNow[static_cast<size_t>(st * MT + 2 * rp + h)];
                            d = w.let("dot", "arm_sve.smmla " + d + ", " + xPair[rp][quad / 2] + ", " + zb + " : " + kBytes +
                                                 " to " + kLanesI32);
                        }
                    }
                    continue;
                }
                for (int i = 0; i < MT; ++i) {
                    std::string &d = dotNow[static_cast<size_t>(st * MT + i)];
                    if (!sve)
                        d = vpdpbusd(d, code, xQuad(i, quad));
                    else if (quad < quads / 4 * 4)
                        d = w.let("dot", sdotLane + "(" + d + ", " + code + ", " + xQuadword[i][quad / 4] + ", " +
                                             laneIndex[quad % 4] + ") : (" + kLanesI32 + ", " + kBytes + ", " + kBytes +
                                             ", i32) -> " + kLanesI32);
                    else if (usdot)
                        d = w.let("dot", "llvm.call_intrinsic \"llvm.aarch64.sve.usdot.nxv4i32\"(" + d + ", " + code +
                                             ", " + xSplat[i][quad - quads / 4 * 4] + ") : (" + kLanesI32 + ", " + kBytes +
                                             ", " + kBytes + ") -> " + kLanesI32);
                    else
                        d = w.let("dot", "arm_sve.sdot " + d + ", " + code + ", " + xSplat[i][quad - quads / 4 * 4] + " : " +
                                             kBytes + " to " + kLanesI32);
                }
            }
        }
        w.line("scf.yield " + joined(dotNow) + " : " + types(dotNow.size(), dotType));
        w.close();
        // The chunk's int32 dot per (strip, row); slots folded back.
        std::vector<std::string> dotSum(nAcc);
        for (size_t a = 0; a < nAcc && !f32x; ++a) {
            if (!slots) {
                dotSum[a] = dotResult(a);
                continue;
            }
            std::string v = dotResult(a * static_cast<size_t>(cpb0));
            for (int sl = 1; sl < cpb0; ++sl)
                v = w.add(v,
                          w.let("u", "arith.shrsi " + dotResult(a * static_cast<size_t>(cpb0) + static_cast<size_t>(sl)) +
                                         ", " +
                                         w.let("c", "arith.constant dense<" + std::to_string(width0 * sl) + "> : " + kLanesI32) +
                                         " : " + kLanesI32),
                          kLanesI32);
            dotSum[a] = wholeRow ? w.add(folded[a], v, kLanesI32) : v;
        }
        // i8mm: accumulator (st, 2rp + h) holds per segment the 64-bit pairs
        // (row 2rp: two weight rows), (row 2rp+1: the same two); the even
        // pairs of zip1's then zip2's are row 2rp's sums in row order, the odd
        // ones row 2rp+1's.
        for (int st = 0; st < S && mmla; ++st)
            for (int rp = 0; rp < MT / 2; ++rp) {
                const size_t a = static_cast<size_t>(st * MT + 2 * rp);
                auto pairs = [&](const std::string &v) {
                    return w.let("p", "vector.bitcast " + v + " : " + kLanesI32 + " to " + kPairsI64);
                };
                const std::string lo = pairs(dotSum[a]), hi = pairs(dotSum[a + 1]);
                for (int h = 0; h < 2; ++h) {
                    const std::string u = w.let("p", permute(h ? "uzp2" : "uzp1", lo, hi, kPairsI64, "nxv2i64"));
                    dotSum[a + static_cast<size_t>(h)] = w.let("p", "vector.bitcast " + u + " : " + kPairsI64 + " to " + kLanesI32);
                }
            }
        if (slots && wholeRow) {
            w.line("scf.yield " + joined(dotSum) + " : " + types(nAcc, dotType));
            w.close();
            for (size_t a = 0; a < nAcc; ++a) dotSum[a] = result(foldOut, a);
        }

        // The chunk's sum a (dot + off qs) + b qs, then into the accumulator.
        // (f32 rows: (a dot + b xs) / d, dot the sum of the two chains.)
        std::vector<std::string> accNow(nAcc);
        std::vector<std::string> qsv(MT);
        for (int i = 0; i < MT; ++i) {
            const std::string qsPtr = w.gep(qsumRow[i], w.mul("%c", c4));
            const std::string elem = f32x ? "f32" : "i32";
            const std::string qs = w.let("qs", "llvm.load " + qsPtr + " {alignment = 4 : i64} : !llvm.ptr -> " + elem);
            qsv[i] = w.let("qs", "vector.broadcast " + qs + " : " + elem + " to " + (f32x ? kLanesF32 : kLanesI32));
        }
        if (f32x) {
            auto constF32 = [&](double v) {
                std::ostringstream t;
                t << "arith.constant dense<" << std::showpoint << v << "> : " << kLanesF32;
                return w.let("c", t.str());
            };
            for (int st = 0; st < S; ++st) {
                const std::string zpv = k.zeroPoints ? loadZeroPoints(st, perChannel ? c0 : std::string("%c")) : "";
                const std::string scaleNow = perChannel ? "" : loadScale(st, "%c");
                for (int i = 0; i < MT; ++i) {
                    const size_t a = static_cast<size_t>(st * MT + i);
                    std::string v = w.let("f", "arith.addf " + dotResult(2 * a) + ", " + dotResult(2 * a + 1) + " : " + kLanesF32);
                    if (k.levelA != 1) v = w.let("f", "arith.mulf " + constF32(k.levelA) + ", " + v + " : " + kLanesF32);
                    std::string b;
                    if (k.zeroPoints) {
                        const std::string neg = w.let("f", "arith.uitofp " + zpv + " : " + std::string(kLanesI32) + " to " + kLanesF32);
                        b = w.let("f", "arith.negf " + neg + " : " + kLanesF32);
                    } else if (k.levelB) {
                        b = constF32(k.levelB);
                    }
                    if (!b.empty())
                        v = w.let("f", "arith.addf " + v + ", " + w.let("f", "arith.mulf " + b + ", " + qsv[i] + " : " + kLanesF32) +
                                           " : " + kLanesF32);
                    if (k.levelD != 1) v = w.let("f", "arith.divf " + v + ", " + constF32(k.levelD) + " : " + kLanesF32);
                    if (!perChannel) v = w.let("f", "arith.mulf " + scaleNow + ", " + v + " : " + kLanesF32);
                    accNow[a] = w.let("f", "arith.addf " + acc[a] + ", " + v + " : " + kLanesF32);
                }
            }
        }
        for (int st = 0; st < S && !f32x; ++st) {
            const std::string zpv = k.zeroPoints ? loadZeroPoints(st, perChannel ? c0 : std::string("%c")) : "";
            const std::string scaleNow = perChannel ? "" : loadScale(st, "%c");
            for (int i = 0; i < MT; ++i) {
                const size_t a = static_cast<size_t>(st * MT + i);
                std::string v = dotSum[a];
                if (codeOffset) {
                    const std::string off = w.let("c", "arith.constant dense<" + std::to_string(codeOffset) + "> : " + kLanesI32);
                    v = w.add(v, w.mul(off, qsv[i], kLanesI32), kLanesI32);
                }
                if (k.levelA != 1)
                    v = w.mul(v, w.let("c", "arith.constant dense<" + std::to_string(k.levelA) + "> : " + kLanesI32), kLanesI32);
                if (k.zeroPoints)
                    v = w.let("v", "arith.subi " + v + ", " + w.mul(zpv, qsv[i], kLanesI32) + " : " + kLanesI32);
                else if (k.levelB)
                    v = w.add(v,
                              w.mul(w.let("c", "arith.constant dense<" + std::to_string(k.levelB) + "> : " + kLanesI32),
                                    qsv[i], kLanesI32),
                              kLanesI32);
                if (perChannel) {
                    accNow[a] = w.add(acc[a], v, kLanesI32);
                } else {  // acc + scale * chunk, fused as LLVM fuses the Halide lowering's
                    const std::string f = w.let("f", "arith.sitofp " + v + " : " + std::string(kLanesI32) + " to " + kLanesF32);
                    accNow[a] = w.let("f", "vector.fma " + scaleNow + ", " + f + ", " + acc[a] + " : " + kLanesF32);
                }
            }
        }
        w.line("scf.yield " + joined(accNow) + " : " + types(nAcc, accType));
        w.close();

        // Epilogue per strip and row: (per-channel) the one scale, s_x / d,
        // bias; stored where the row exists.
        std::vector<std::string> rsv(MT), exists(MT);
        for (int i = 0; i < MT; ++i) {
            if (f32x) {
                if (i) exists[i] = w.let("in", "arith.cmpi slt, " + w.add("%m0", w.i64(i)) + ", %M : i64");
                continue;
            }
            const std::string rs = w.let("rs", "llvm.load " + w.gep("%rowScale", w.mul(row[i], c4)) +
                                                   " {alignment = 4 : i64} : !llvm.ptr -> f32");
            rsv[i] = w.let("rs", "vector.broadcast " + rs + " : f32 to " + std::string(kLanesF32));
            if (i) exists[i] = w.let("in", "arith.cmpi slt, " + w.add("%m0", w.i64(i)) + ", %M : i64");
        }
        for (int st = 0; st < S; ++st) {
            const std::string scale0 = perChannel ? loadScale(st, c0) : "";
            std::string biasv;
            if (k.bias)
                biasv = w.let("bias", "llvm.intr.masked.load " + w.gep("%bias", w.mul(rowInTiles[st], c4)) + ", " +
                                          laneMask[st] + ", " + zeroF32 +
                                          " {alignment = 4 : i32} : (!llvm.ptr, " + kMask4 + ", " + kLanesF32 + ") -> " + kLanesF32);
            for (int i = 0; i < MT; ++i) {
                std::string a = result(accOut, static_cast<size_t>(st * MT + i));
                if (perChannel && !f32x) {
                    const std::string f = w.let("f", "arith.sitofp " + a + " : " + std::string(kLanesI32) + " to " + kLanesF32);
                    a = w.let("f", "arith.mulf " + f + ", " + scale0 + " : " + kLanesF32);
                } else if (perChannel) {
                    a = w.let("f", "arith.mulf " + a + ", " + scale0 + " : " + kLanesF32);
                }
                // With a bias, acc * (s_x / d) + bias is one fused multiply-add, as
                // LLVM contracts the Halide lowering's (so both backends round alike).
                std::string r;
                if (f32x)
                    r = k.bias ? w.let("f", "arith.addf " + a + ", " + biasv + " : " + kLanesF32) : a;
                else if (k.bias)
                    r = w.let("f", "vector.fma " + a + ", " + rsv[i] + ", " + biasv + " : " + kLanesF32);
                else
                    r = w.let("f", "arith.mulf " + a + ", " + rsv[i] + " : " + kLanesF32);
                const std::string yPtr = w.gep("%y", w.mul(w.add(w.mul(row[i], "%yStride"), rowInTiles[st]), c4));
                const std::string store = "llvm.intr.masked.store " + r + ", " + yPtr + ", " + laneMask[st] +
                                          " {alignment = 4 : i32} : " + kLanesF32 + ", " + kMask4 + " into !llvm.ptr";
                if (i == 0) {
                    w.line(store);
                } else {
                    w.open("scf.if " + exists[i] + " {");
                    w.line(store);
                    w.close();
                }
            }
        }
        w.close();  // r0
        w.close();  // m0
    };

    // Strips per pass: 4 while four vectors of rows fit the tile (and the
    // accumulators the registers), then 2, then 1.
    const int maxStrips = std::max(1, std::min(4, 8 / MT));
    w.open("scf.for %t = %t0 to %t1 step " + c1 + " : i64 {");
    std::vector<int> options;
    for (int S = maxStrips; S >= 1; S /= 2)
        if (sve || I % (16 * S) == 0) options.push_back(S);
    if (!sve) options.resize(1);  // fixed vectors: the most strips that divide the tile
    for (size_t o = 0; o < options.size(); ++o) {
        if (o + 1 < options.size()) {
            const std::string fits =
                w.let("fits", "arith.cmpi sle, " + w.mul(lanes, w.i64(options[o])) + ", " + cI + " : i64");
            w.open("scf.if " + fits + " {");
            emitTile(options[o]);
            w.reopen("} else {");
        } else {
            emitTile(options[o]);
        }
    }
    for (size_t o = 0; o + 1 < options.size(); ++o) w.close();
    w.close();  // t
    w.line("return");
    w.close();  // func
    w.close();  // module
    return w.str();
}

}  // namespace kf::codegen::lowbit
