#include "codegen/lowbit_linear/LowbitLinearMlir.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "codegen/CodegenError.h"

namespace kf::codegen::lowbit {

namespace {

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

constexpr const char *kBytes = "vector<[16]xi8>";
constexpr const char *kLanesI32 = "vector<[4]xi32>";
constexpr const char *kLanesF32 = "vector<[4]xf32>";

// Chunks of 4*I bytes per k-block of a plane (base 3: one).
int chunksOf(const rt::PlaneLayout &p) { return p.width == 0 ? 1 : p.width; }

}  // namespace

std::string sveLinearModule(const SveLinearKernel &k) {
    const rt::LinearLayout &L = k.layout;
    const bool base3 = L.numPlanes == 1 && L.planes[0].width == 0;
    if (L.kBlock != (base3 ? 20 : 32))
        throw CodegenError("the SVE lowering of lowbit_linear needs k-blocks of 32 (20 for base-3 ternary)");
    if (k.mTile < 1 || k.mTile > 8) throw CodegenError("the SVE lowering of lowbit_linear takes 1 to 8 rows of x per step");
    const int I = L.interleave;
    const bool perChannel = L.group == 0;
    const int blocksPerChunk = L.kAlign / L.kBlock;
    const int MT = k.mTile;
    // sdot multiplies s8 x s8: codes below 128 go in as they are; 8-bit codes
    // as c - 128 (the bytes with their top bit flipped), added back through
    // the row sum (the Halide lowering's codeOffset, with the same result).
    const int codeOffset = L.bits == 8 ? 128 : 0;

    Writer w;
    w.line("// kforge lowbit_linear, int8 activations, scalable SVE (LowbitLinearMlir.cpp)");
    w.open("module {");
    w.open(
        "func.func @kf_kernel(%planes: !llvm.ptr, %scales: !llvm.ptr, %zp: !llvm.ptr, %bias: !llvm.ptr, "
        "%q: !llvm.ptr, %qsum: !llvm.ptr, %rowScale: !llvm.ptr, %y: !llvm.ptr, %M: i64, %kPad: i64, "
        "%numScaleCols: i64, %yStride: i64, %t0: i64, %t1: i64) {");
    const std::string c0 = w.i64(0), c1 = w.i64(1), c4 = w.i64(4), cI = w.i64(I), cMT = w.i64(MT);
    const std::string vscale = w.let("vs", "vector.vscale");
    const std::string vsI = w.let("vs", "arith.index_cast " + vscale + " : index to i64");
    const std::string lanes = w.mul(vsI, c4);  // i32 lanes per vector = rows per strip
    const std::string nBlocks = w.let("nb", "arith.divui %kPad, " + w.i64(L.kBlock) + " : i64");
    const std::string nChunks = perChannel ? c1 : w.let("nc", "arith.divui %kPad, " + w.i64(L.kAlign) + " : i64");
    const int scaleBytes = L.scaleType == KF_SCALE_F32 ? 4 : 2;

    // Per plane: its pointer and the bytes of one tile of it.
    std::vector<std::string> planePtr(L.numPlanes), planeTileBytes(L.numPlanes);
    for (int p = 0; p < L.numPlanes; ++p) {
        const std::string slot = w.gep("%planes", w.i64(8 * p));
        planePtr[p] = w.let("plane", "llvm.load " + slot + " {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr");
        planeTileBytes[p] = w.mul(nBlocks, w.i64(4 * I * chunksOf(L.planes[p])));
    }
    const std::string zeroBytes = w.let("z", "arith.constant dense<0> : " + std::string(kBytes));
    const std::string zeroI32 = w.let("z", "arith.constant dense<0> : " + std::string(kLanesI32));
    const std::string zeroF32 = w.let("z", "arith.constant dense<0.0> : " + std::string(kLanesF32));

    const std::string allBytes = w.let("mask", "vector.constant_mask [16] : vector<[16]xi1>");  // one quadword
    const std::string sdotLane = "llvm.call_intrinsic \"llvm.aarch64.sve.sdot.lane.nxv4i32\"";
    std::vector<std::string> laneIndex;
    for (int l = 0; l < 4; ++l) laneIndex.push_back(w.let("c", "llvm.mlir.constant(" + std::to_string(l) + " : i32) : i32"));

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
    const std::string accType = perChannel ? kLanesI32 : kLanesF32;
    const std::string accZero = perChannel ? zeroI32 : zeroF32;

    // One tile's rows in strips of one vector, S strips per pass (S vectors
    // of rows share each loaded quad of x). `S` is chosen at run time from
    // the vector length (emitTile is instantiated for 4, 2 and 1), so short
    // vectors get several strips and long ones do not run empty strips.
    auto emitTile = [&](int S) {
        const std::string step = w.mul(lanes, w.i64(S));
        w.open("scf.for %r0 = " + c0 + " to " + cI + " step " + step + " : i64 {");
        std::vector<std::string> laneMask(S), byteMask(S), row0(S), rowInTiles(S);
        std::vector<std::vector<std::string>> stripBase(S, std::vector<std::string>(L.numPlanes));
        for (int st = 0; st < S; ++st) {
            row0[st] = st ? w.add("%r0", w.mul(lanes, w.i64(st))) : std::string("%r0");
            const std::string left = w.let("left", "arith.maxsi " + w.let("left", "arith.subi " + cI + ", " + row0[st] + " : i64") +
                                                       ", " + c0 + " : i64");
            laneMask[st] = w.let("mask", "vector.create_mask " + w.let("left", "arith.index_cast " + left + " : i64 to index") +
                                             " : vector<[4]xi1>");
            byteMask[st] = w.let("mask", "vector.create_mask " +
                                             w.let("left", "arith.index_cast " + w.mul(left, c4) + " : i64 to index") +
                                             " : vector<[16]xi1>");
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
                                      " {alignment = 4 : i32} : (!llvm.ptr, vector<[4]xi1>, vector<[4]xf32>) -> vector<[4]xf32>");
            const std::string zero16 = w.let("z", "arith.constant dense<0> : vector<[4]xi16>");
            const std::string raw = w.let("s", "llvm.intr.masked.load " + ptr + ", " + laneMask[st] + ", " + zero16 +
                                                   " {alignment = 2 : i32} : (!llvm.ptr, vector<[4]xi1>, vector<[4]xi16>) -> vector<[4]xi16>");
            if (L.scaleType == KF_SCALE_F16) {
                const std::string h = w.let("s", "arith.bitcast " + raw + " : vector<[4]xi16> to vector<[4]xf16>");
                return w.let("s", "arith.extf " + h + " : vector<[4]xf16> to vector<[4]xf32>");
            }
            // bf16: the top half of an f32
            const std::string wide = w.let("s", "arith.extui " + raw + " : vector<[4]xi16> to vector<[4]xi32>");
            const std::string c16 = w.let("c", "arith.constant dense<16> : vector<[4]xi32>");
            const std::string hi = w.let("s", "arith.shli " + wide + ", " + c16 + " : vector<[4]xi32>");
            return w.let("s", "arith.bitcast " + hi + " : vector<[4]xi32> to vector<[4]xf32>");
        };
        auto loadZeroPoints = [&](int st, const std::string &col) {  // as i32 lanes
            const std::string ptr = w.gep("%zp", tableOffset(st, col));
            const std::string zero8 = w.let("z", "arith.constant dense<0> : vector<[4]xi8>");
            const std::string raw = w.let("zp", "llvm.intr.masked.load " + ptr + ", " + laneMask[st] + ", " + zero8 +
                                                    " {alignment = 1 : i32} : (!llvm.ptr, vector<[4]xi1>, vector<[4]xi8>) -> vector<[4]xi8>");
            return w.let("zp", "arith.extui " + raw + " : vector<[4]xi8> to vector<[4]xi32>");
        };

        w.open("scf.for %m0 = " + c0 + " to %M step " + cMT + " : i64 {");
        // Rows of this step; past M they repeat row M-1 and are not stored.
        const std::string lastRow = w.let("last", "arith.subi %M, " + c1 + " : i64");
        std::vector<std::string> row(MT), qRow(MT), qsumRow(MT);
        for (int i = 0; i < MT; ++i) {
            row[i] = i ? w.let("row", "arith.minsi " + w.add("%m0", w.i64(i)) + ", " + lastRow + " : i64") : std::string("%m0");
            qRow[i] = w.gep("%q", w.mul(row[i], "%kPad"));
            qsumRow[i] = w.gep("%qsum", w.mul(w.mul(row[i], nChunks), c4));
        }
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
        const std::string chunkBlocks = perChannel ? nBlocks : w.i64(blocksPerChunk);
        const std::string accOut = w.fresh("accOut");
        w.open(resultDecl(accOut) + " = scf.for %c = " + c0 + " to " + nChunks + " step " + c1 + " " + accIter + " -> (" +
               types(nAcc, accType) + ") : i64 {");
        const std::string b0 = w.mul("%c", chunkBlocks);
        const std::string b1 = w.add(b0, chunkBlocks);
        std::vector<std::string> dot;
        const std::string dotIter = iterArgs("dot", zeroI32, dot);
        const std::string dotOut = w.fresh("dotOut");
        w.open(resultDecl(dotOut) + " = scf.for %b = " + b0 + " to " + b1 + " step " + c1 + " " + dotIter + " -> (" +
               types(nAcc, kLanesI32) + ") : i64 {");
        const std::string kBase = w.mul("%b", w.i64(L.kBlock));
        // x of each row: a quadword (4 quads) replicated to every 128-bit
        // segment, read by the indexed sdot; a last odd quad broadcast.
        const int quads = L.kBlock / 4;
        std::vector<std::vector<std::string>> xQuadword(MT), xSplat(MT);
        for (int i = 0; i < MT; ++i) {
            for (int qw = 0; qw + 4 <= quads; qw += 4)
                xQuadword[i].push_back(w.let(
                    "x", "llvm.call_intrinsic \"llvm.aarch64.sve.ld1rq.nxv16i8\"(" + allBytes + ", " +
                             w.gep(qRow[i], w.add(kBase, w.i64(4 * qw))) + ") : (vector<[16]xi1>, !llvm.ptr) -> " + kBytes));
            for (int quad = quads / 4 * 4; quad < quads; ++quad) {
                const std::string xq = w.let("x", "llvm.load " + w.gep(qRow[i], w.add(kBase, w.i64(4 * quad))) +
                                                      " {alignment = 1 : i64} : !llvm.ptr -> i32");
                const std::string xs = w.let("x", "vector.broadcast " + xq + " : i32 to " + std::string(kLanesI32));
                xSplat[i].push_back(w.let("x", "vector.bitcast " + xs + " : " + std::string(kLanesI32) + " to " + kBytes));
            }
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
                    chunk[p].push_back(w.let("w", "llvm.intr.masked.load " + ptr + ", " + byteMask[st] + ", " + zeroBytes +
                                                      " {alignment = 1 : i32} : (!llvm.ptr, vector<[16]xi1>, " + kBytes +
                                                      ") -> " + kBytes));
                }
            }
            // Base 3: digit s of a byte b (<= 242) is f_s - 3 f_{s+1}, f_0 = b,
            // f_{s+1} = floor(f_s / 3) = (f_s * 171) >> 9 (exact for f_s <= 255).
            // (MLIR 19 cannot lower arith.mului_extended on scalable vectors: widen by hand.)
            std::vector<std::string> trits;
            if (base3) {
                const std::string kWide = "vector<[16]xi16>";
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
            for (int quad = 0; quad < quads; ++quad) {
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
                for (int i = 0; i < MT; ++i) {
                    std::string &d = dotNow[static_cast<size_t>(st * MT + i)];
                    if (quad < quads / 4 * 4)
                        d = w.let("dot", sdotLane + "(" + d + ", " + code + ", " + xQuadword[i][quad / 4] + ", " +
                                             laneIndex[quad % 4] + ") : (" + kLanesI32 + ", " + kBytes + ", " + kBytes +
                                             ", i32) -> " + kLanesI32);
                    else
                        d = w.let("dot", "arm_sve.sdot " + d + ", " + code + ", " + xSplat[i][quad - quads / 4 * 4] + " : " +
                                             kBytes + " to " + kLanesI32);
                }
            }
        }
        w.line("scf.yield " + joined(dotNow) + " : " + types(nAcc, kLanesI32));
        w.close();

        // The chunk's sum a (dot + off qs) + b qs, then into the accumulator.
        std::vector<std::string> accNow(nAcc);
        std::vector<std::string> qsv(MT);
        for (int i = 0; i < MT; ++i) {
            const std::string qsPtr = w.gep(qsumRow[i], w.mul("%c", c4));
            const std::string qs = w.let("qs", "llvm.load " + qsPtr + " {alignment = 4 : i64} : !llvm.ptr -> i32");
            qsv[i] = w.let("qs", "vector.broadcast " + qs + " : i32 to " + std::string(kLanesI32));
        }
        for (int st = 0; st < S; ++st) {
            const std::string zpv = k.zeroPoints ? loadZeroPoints(st, perChannel ? c0 : std::string("%c")) : "";
            const std::string scaleNow = perChannel ? "" : loadScale(st, "%c");
            for (int i = 0; i < MT; ++i) {
                const size_t a = static_cast<size_t>(st * MT + i);
                std::string v = result(dotOut, a);
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
                } else {
                    const std::string f = w.let("f", "arith.sitofp " + v + " : " + std::string(kLanesI32) + " to " + kLanesF32);
                    const std::string prod = w.let("f", "arith.mulf " + scaleNow + ", " + f + " : " + kLanesF32);
                    accNow[a] = w.let("f", "arith.addf " + acc[a] + ", " + prod + " : " + kLanesF32);
                }
            }
        }
        w.line("scf.yield " + joined(accNow) + " : " + types(nAcc, accType));
        w.close();

        // Epilogue per strip and row: (per-channel) the one scale, s_x / d,
        // bias; stored where the row exists.
        std::vector<std::string> rsv(MT), exists(MT);
        for (int i = 0; i < MT; ++i) {
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
                                          " {alignment = 4 : i32} : (!llvm.ptr, vector<[4]xi1>, vector<[4]xf32>) -> vector<[4]xf32>");
            for (int i = 0; i < MT; ++i) {
                std::string a = result(accOut, static_cast<size_t>(st * MT + i));
                if (perChannel) {
                    const std::string f = w.let("f", "arith.sitofp " + a + " : " + std::string(kLanesI32) + " to " + kLanesF32);
                    a = w.let("f", "arith.mulf " + f + ", " + scale0 + " : " + kLanesF32);
                }
                std::string r = w.let("f", "arith.mulf " + a + ", " + rsv[i] + " : " + kLanesF32);
                if (k.bias) r = w.let("f", "arith.addf " + r + ", " + biasv + " : " + kLanesF32);
                const std::string yPtr = w.gep("%y", w.mul(w.add(w.mul(row[i], "%yStride"), rowInTiles[st]), c4));
                const std::string store = "llvm.intr.masked.store " + r + ", " + yPtr + ", " + laneMask[st] +
                                          " {alignment = 4 : i32} : vector<[4]xf32>, vector<[4]xi1> into !llvm.ptr";
                if (i == 0) {
                    w.line(store);
                } else {
                    w.open("scf.if " + exists[i] + " {");
                    w.line(store);
                    w.close();
                }
            }
        }
        w.close();  // m0
        w.close();  // r0
    };

    // Strips per pass: 4 while four vectors of rows fit the tile (and the
    // accumulators the registers), then 2, then 1.
    const int maxStrips = std::max(1, std::min(4, 8 / MT));
    w.open("scf.for %t = %t0 to %t1 step " + c1 + " : i64 {");
    std::vector<int> options;
    for (int S = maxStrips; S >= 1; S /= 2) options.push_back(S);
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
