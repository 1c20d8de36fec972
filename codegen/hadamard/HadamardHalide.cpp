#include "codegen/hadamard/HadamardHalide.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "codegen/CodegenError.h"

namespace kf::codegen::hadamard {

using namespace Halide;

namespace {

int log2Exact(int64_t v) {
    int r = 0;
    while ((int64_t{1} << r) < v) ++r;
    return r;
}

// Round half away from zero (docs/formats.md, "Activations"), exactly: v - trunc(v)
// is exact in f32, where floor(v + 0.5) rounds 0.49999997 up to 1.
Expr roundHalfAway(Expr v) {
    Expr t = trunc(v);
    Expr f = v - t;
    return t + select(f >= 0.5f, 1.0f, f <= -0.5f, -1.0f, 0.0f);
}

size_t slotOf(const std::vector<Var> &vars, const Var &v) {
    return std::find_if(vars.begin(), vars.end(), [&](const Var &w) { return w.same_as(v); }) - vars.begin();
}

template <typename T>
std::vector<Expr> exprs(const std::vector<T> &v) {
    return std::vector<Expr>(v.begin(), v.end());
}

// The transform of one row as Halide Funcs.
//
// Every intermediate Func is indexed by the same "canonical" coordinates of a
// row element i = a * 2^k + t:
//   e_0 .. e_{L-1}   the bits of t held in the lanes of one vector (each 0/1)
//   D_0 .. D_{q-1}   digits of t above the lanes: digit j has bits[j] bits at
//                    bit L + off[j] of t
//   a                the H_m block (0 when m == 1)
//   row
// Single-bit lane coordinates let one vector be addressed as a 2x2x..x2 box:
// Halide vectorizes the e_s together (nested vectorization, one dense vector),
// and reading at e_s -> 1 - e_s is a lane permute (FlattenNestedRamps turns it
// into a dense load + shuffle: vpermilps / vpermpd / vshuff64x2 on x86, rev /
// ext on NEON). A flat lane index would need i ^ 2^s, which Halide gathers.
//
// A pass over digit j computes its stages in Funcs where D_j is replaced by
// bits[j] single-bit coordinates: butterfly stage s reads c_s = 0 and 1 with
// constant indices, so after unrolling each stage is one add or sub per
// vector, on registers. A pass's stages are computed at the loop over the
// other coordinates: one group of radix vectors, loaded once, stored once.
//
// Passes, in order: H_m (m > 1, reads x), then digits q-1 .. 1, then digit 0
// with the lane stages and the 1/sqrt(n) scale, which writes y in contiguous
// runs of radix vectors. Measured on AVX-512: this order beats "digit 0
// first" by 1.4x-1.5x in L1-resident time (the output pass of a high digit
// stores radix streams 2^b floats apart, which alias in L1 with the loads of
// the previous pass), and as much streaming from DRAM.
class RowTransform {
public:
    RowTransform(const dsl::HadamardParams &p, const std::vector<int8_t> &hm, const HadamardSchedule &s, int64_t n)
        : hm_(hm), s_(s), n_(n), m_(std::max(1, p.m)) {
        const int64_t t = n / m_;
        k_ = log2Exact(t);
        L_ = log2Exact(std::min<int64_t>(s.vector, t));
        const int digitBitsTotal = k_ - L_;
        const int radixBits = log2Exact(s.radix);
        const int q = digitBitsTotal == 0 ? 0 : (digitBitsTotal + radixBits - 1) / radixBits;
        // Balanced digits (10 bits at radix 16: 4+3+3, not 4+4+2): a pass of
        // fewer vectors than the radix costs nothing, a pass of one stage
        // costs a whole trip through L1 for one add per vector.
        int off = 0;
        for (int j = 0; j < q; ++j) {
            const int b = digitBitsTotal / q + (j < digitBitsTotal % q ? 1 : 0);
            bits_.push_back(b);
            off_.push_back(off);
            off += b;
        }
        for (int s2 = 0; s2 < L_; ++s2) e_.emplace_back("e" + std::to_string(s2));
        for (int j = 0; j < q; ++j) D_.emplace_back("D" + std::to_string(j));
    }

    // y(i, row): an undefined pure definition and one update, which the last
    // pass writes through an RDom over its own coordinates: every coordinate
    // is then a loop variable, so the bounds of the stage Funcs are exact
    // points. (From a flat i, a digit is i / 2^b % 2^bits, and Halide bounds
    // a % over a loop to its whole range: every stage would be computed
    // 2^bits times over.)
    Func build(const ImageParam &x) {
        Func in("x_in");
        in(canon()) = x(flatIndex(exprs(canon())), row_);
        y_ = Func("y");
        y_(i_, row_) = undef<float>();
        Func cur = in;
        if (m_ > 1 && (!D_.empty() || L_ > 0)) cur = hmPass(cur, false);
        for (int j = static_cast<int>(D_.size()) - 1; j >= 1; --j) cur = digitPass(cur, j, false);
        if (!D_.empty() || L_ > 0 || m_ == 1) digitPass(cur, D_.empty() ? -1 : 0, true);
        else hmPass(cur, true);  // 2^k == 1: H_m alone
        return y_;
    }

    // Computes the row-sized passes at `rowLevel` (the loop over single rows).
    void schedule(const LoopLevel &rowLevel) {
        for (Func &f : rowBuffers_) f.compute_at(rowLevel);
    }

    Var row() const { return row_; }

private:
    const std::vector<int8_t> &hm_;
    const HadamardSchedule &s_;
    int64_t n_;
    int m_, k_ = 0, L_ = 0;
    std::vector<int> bits_, off_;
    std::vector<Var> e_, D_;
    Var a_{"a"}, row_{"row"}, i_{"i"};
    Func y_;
    std::vector<Func> rowBuffers_;                    // passes computed per row
    std::vector<std::pair<Func, int>> blockBuffers_;  // digit passes computed per block: (pass, digit)

    size_t slotD(int j) const { return e_.size() + j; }
    size_t slotA() const { return e_.size() + D_.size(); }

    std::vector<Var> canon() const {
        std::vector<Var> v(e_);
        v.insert(v.end(), D_.begin(), D_.end());
        v.push_back(a_);
        v.push_back(row_);
        return v;
    }

    // Flat index within the row of canonical coordinates (row ignored).
    Expr flatIndex(const std::vector<Expr> &c) const {
        Expr f = c[slotA()] * (1 << k_);
        for (size_t j = 0; j < D_.size(); ++j) f = f + c[slotD(static_cast<int>(j))] * (1 << (L_ + off_[j]));
        for (int s = 0; s < L_; ++s) f = f + c[s] * (1 << s);
        return f;
    }

    template <typename F>
    void vectorizeLanes(F &&f) {
        for (const Var &v : e_) f.vectorize(v);
    }

    // v / sqrt(n), the last operation of y. strict_float here makes every
    // pipeline (f32 and int8, whose quantizer must be strict) compile with
    // LLVM's per-instruction fast-math flags; with the f32 pipeline in the
    // global fast-math mode instead, LLVM reassociated some H_m sums
    // differently and the two modes' y differed in the last bit.
    Expr scaled(Expr v) const {
        return strict_float(v * static_cast<float>(1.0 / std::sqrt(static_cast<double>(n_))));
    }

    // The stage Funcs of a digit pass, on coordinates sv (canonical with D_j
    // replaced by its bits c).
    struct Body {
        std::vector<Var> sv, c;
        std::vector<Func> stages;
    };

    Body digitBody(Func in, int j, bool lanes) {
        Body b;
        if (j >= 0)
            for (int s = 0; s < bits_[j]; ++s) b.c.emplace_back("d" + std::to_string(j) + "_c" + std::to_string(s));
        for (const Var &v : canon()) {
            if (j >= 0 && v.same_as(D_[j])) b.sv.insert(b.sv.end(), b.c.begin(), b.c.end());
            else b.sv.push_back(v);
        }
        const std::string name = j >= 0 ? "d" + std::to_string(j) : std::string("lanes");
        std::vector<Expr> inArgs = exprs(canon());
        if (j >= 0) {
            Expr digit = 0;
            for (size_t s = 0; s < b.c.size(); ++s) digit = digit + b.c[s] * (1 << s);
            inArgs[slotD(j)] = digit;
        }
        Func first(name + "_in");
        first(b.sv) = in(inArgs);
        b.stages.push_back(first);
        if (lanes)
            for (int s = 0; s < L_; ++s) {
                // Lane stage s: v[e] = v[e ^ 2^s] + (e_s ? -1 : +1) v[e]: one
                // shuffle and one FMA by a constant +-1 vector (exact: it
                // equals the add or sub).
                std::vector<Expr> same = exprs(b.sv), flip = same;
                flip[s] = 1 - e_[s];
                Func f(name + "_lane" + std::to_string(s));
                f(b.sv) = b.stages.back()(flip) + select(e_[s] == 0, 1.0f, -1.0f) * b.stages.back()(same);
                b.stages.push_back(f);
            }
        for (size_t s = 0; s < b.c.size(); ++s) {
            // (u, w) -> (u + w, u - w) over bit c_s.
            std::vector<Expr> lo = exprs(b.sv), hi = lo;
            const size_t at = slotOf(b.sv, b.c[s]);
            lo[at] = 0;
            hi[at] = 1;
            Func prev = b.stages.back();
            Func f(name + "_s" + std::to_string(s));
            f(b.sv) = select(b.c[s] == 0, prev(lo) + prev(hi), prev(lo) - prev(hi));
            b.stages.push_back(f);
        }
        return b;
    }

    void scheduleStages(Body &b, const LoopLevel &at) {
        for (Func &f : b.stages) {
            f.compute_at(at);
            vectorizeLanes(f);
            for (const Var &v : b.c) f.unroll(v);
        }
    }

    // Digit j's butterfly stages (with the lane stages and the scale when
    // `last`): a whole row (or block) for the next pass, or y itself.
    Func digitPass(Func in, int j, bool last) {
        Body b = digitBody(in, j, last && L_ > 0);
        // Loops, innermost first: lanes, the digit's bits, the other digits, a.
        std::vector<Var> order(e_);
        order.insert(order.end(), b.c.begin(), b.c.end());
        for (size_t jj = 0; jj < D_.size(); ++jj)
            if (static_cast<int>(jj) != j) order.push_back(D_[jj]);
        order.push_back(a_);
        const size_t groupLoop = e_.size() + b.c.size();  // the first loop outside the registers
        if (!last) {
            Func out(name(j));
            std::vector<Expr> args = exprs(b.sv);
            for (size_t s = 0; s < b.c.size(); ++s) args[slotOf(b.sv, b.c[s])] = (D_[j] >> static_cast<int>(s)) & 1;
            out(canon()) = b.stages.back()(args);
            std::vector<VarOrRVar> loops(e_.begin(), e_.end());
            loops.push_back(D_[j]);
            for (size_t o = groupLoop; o < order.size(); ++o) loops.push_back(order[o]);
            loops.push_back(row_);
            out.reorder(loops);
            vectorizeLanes(out);
            out.unroll(D_[j]);
            scheduleStages(b, LoopLevel(out, order[groupLoop]));
            // Digits after H_m (or without one) mix only within a block of t:
            // pass j is computed per block of fixed D_{j+1}.., a, at that loop
            // of y, 2^(L + off[j+1]) floats in L1, not per row (measured: the
            // row buffers of n = 16384 live in L2 and cost 1.2x in time).
            if (j >= 1) blockBuffers_.emplace_back(out, j);
            else rowBuffers_.push_back(out);
            return out;
        }
        // y, through an RDom in the loop order above.
        Region region;
        for (const Var &v : order) region.emplace_back(0, extentOf(v, b.c));
        RDom r(region, "r");
        std::vector<Expr> at(b.sv.size()), flat = exprs(canon());
        for (size_t o = 0; o < order.size(); ++o) at[slotOf(b.sv, order[o])] = r[o];
        at.back() = row_;
        for (size_t s = 0; s < e_.size(); ++s) flat[s] = r[s];
        if (j >= 0) {
            Expr digit = 0;
            for (size_t s = 0; s < b.c.size(); ++s) digit = digit + r[e_.size() + s] * (1 << s);
            flat[slotD(j)] = digit;
        }
        for (size_t o = groupLoop; o < order.size(); ++o) flat[slotOf(canon(), order[o])] = r[o];
        y_(flatIndex(flat), row_) = scaled(b.stages.back()(at));
        Stage u = y_.update();
        // Each point of r writes its own element of y and nothing reads y: no
        // race, though Halide cannot prove it for an index over many RVars.
        u.allow_race_conditions();
        for (size_t s = 0; s < e_.size(); ++s) u.vectorize(r[s]);
        for (size_t s = 0; s < b.c.size(); ++s) u.unroll(r[e_.size() + s]);
        // (The lanes-only pass, 2^k == vector, has no digit: one vector per group.)
        scheduleStages(b, LoopLevel(y_, r[groupLoop]));
        for (auto &[f, jj] : blockBuffers_) {
            const Var &blockLoop = jj + 1 < static_cast<int>(D_.size()) ? D_[jj + 1] : a_;
            f.compute_at(y_, r[slotOf(order, blockLoop)]);
        }
        return y_;
    }

    std::string name(int j) const { return j >= 0 ? "d" + std::to_string(j) : std::string("lanes"); }

    int extentOf(const Var &v, const std::vector<Var> &c) const {
        if (slotOf(e_, v) < e_.size() || slotOf(c, v) < c.size()) return 2;
        if (v.same_as(a_)) return m_;
        return 1 << bits_[slotOf(D_, v)];
    }

    // H_m across the m blocks, per vector of t (docs/formats.md: H_m (x) H_2^k).
    //
    // Each output is a +-1 combination of the m inputs. With hmGroup = g > 1
    // the inputs are taken in groups of g (Four Russians): a group's table
    // holds its 2^(g-1) signed sums z_0 +- z_1 ... +- z_{g-1}, and an output
    // adds one entry per group, with the sign of its first input: ~m/g adds
    // per output instead of m - 1, for ~2^g adds per group (table entries
    // share prefixes). The m outputs are unrolled (a mux over a folds to one
    // sum each), so every sign and table index is a constant.
    Func hmPass(Func in, bool last) {
        const int g = std::min(s_.hmGroup, m_);
        const int groups = (m_ + g - 1) / g;
        auto h = [&](int r, int c2) { return hm_[static_cast<size_t>(r) * m_ + c2]; };
        auto zAt = [&](Expr col) {
            std::vector<Expr> args = exprs(canon());
            args[slotA()] = col;
            return in(args);
        };
        // Sum of +-terms as a balanced tree: depth log2 instead of a chain
        // (the sums are strict, see below, so LLVM cannot rebalance them).
        struct Signed {
            Expr v;
            bool plus;
        };
        auto treeSum = [](std::vector<Signed> t) {
            while (t.size() > 1) {
                std::vector<Signed> next;
                for (size_t i = 0; i + 1 < t.size(); i += 2) {
                    const Signed &a = t[i], &b = t[i + 1];
                    if (a.plus == b.plus) next.push_back({a.v + b.v, a.plus});
                    else next.push_back({a.plus ? a.v - b.v : b.v - a.v, true});
                }
                if (t.size() % 2) next.push_back(t.back());
                t = std::move(next);
            }
            return t[0].plus ? t[0].v : -t[0].v;
        };
        Func table("hm_table");
        Var pat("pat"), grp("grp");
        std::vector<Var> tv(e_);
        tv.insert(tv.end(), D_.begin(), D_.end());
        tv.push_back(pat);
        tv.push_back(grp);
        tv.push_back(row_);
        std::vector<Expr> outs;
        // The sums are strict_float: with LLVM free to reassociate them, its
        // order depended on the surrounding function (value ranks), and the
        // y of the int8 pipeline differed from the f32 one's in the last bit.
        if (g > 1) {
            // table(.., pat, grp) = z_{g grp} + sum_j (bit j-1 of pat ? -1 : +1) z_{g grp + j};
            // pat and grp are unrolled, so each select folds to one add or
            // sub; columns past m (a short last group) read as 0.
            Expr acc;
            for (int j = 0; j < g; ++j) {
                Expr col = grp * g + j;
                Expr zj = select(col < m_, zAt(min(col, m_ - 1)), 0.0f);
                acc = j == 0 ? zj : select(((pat >> (j - 1)) & 1) == 0, acc + zj, acc - zj);
            }
            table(tv) = strict_float(acc);
            for (int r = 0; r < m_; ++r) {
                std::vector<Signed> terms;
                for (int gi = 0; gi < groups; ++gi) {
                    const int c0 = gi * g;
                    int pattern = 0;
                    for (int j = 1; j < g && c0 + j < m_; ++j)
                        if (h(r, c0 + j) != h(r, c0)) pattern |= 1 << (j - 1);
                    std::vector<Expr> ta(e_.begin(), e_.end());
                    ta.insert(ta.end(), D_.begin(), D_.end());
                    ta.push_back(pattern);
                    ta.push_back(gi);
                    ta.push_back(row_);
                    terms.push_back({table(ta), h(r, c0) > 0});
                }
                outs.push_back(strict_float(treeSum(terms)));
            }
        } else {
            for (int r = 0; r < m_; ++r) {
                std::vector<Signed> terms;
                for (int c2 = 0; c2 < m_; ++c2) terms.push_back({zAt(c2), h(r, c2) > 0});
                outs.push_back(strict_float(treeSum(terms)));
            }
        }
        if (g > 1) {
            vectorizeLanes(table);
            table.unroll(pat).unroll(grp);
        }
        if (!last) {
            Func hmf("hm");
            hmf(canon()) = mux(a_, outs);
            std::vector<VarOrRVar> loops(e_.begin(), e_.end());
            loops.push_back(a_);
            loops.insert(loops.end(), D_.begin(), D_.end());
            loops.push_back(row_);
            hmf.reorder(loops);
            vectorizeLanes(hmf);
            hmf.unroll(a_);
            if (g > 1) table.compute_at(hmf, D_.empty() ? row_ : D_[0]);
            rowBuffers_.push_back(hmf);
            return hmf;
        }
        // 2^k == 1 (no lanes, no digits): y is H_m x / sqrt(m), all m outputs unrolled.
        RDom r(0, m_, "r");
        std::vector<Expr> at = exprs(canon());
        at[slotA()] = r;
        Expr value = outs[0];
        for (int a = 1; a < m_; ++a) value = select(r == a, outs[a], value);
        y_(flatIndex(at), row_) = scaled(value);
        Stage u = y_.update();
        u.allow_race_conditions();  // one element per point of r, as in digitPass
        u.unroll(r);
        if (g > 1) rowBuffers_.push_back(table);  // one table per row
        return y_;
    }
};

void checkMatrix(int m, const std::vector<int8_t> &hm) {
    if (m == 1) {
        if (!hm.empty() && !(hm.size() == 1 && hm[0] == 1))
            throw CodegenError("hadamard with m = 1 takes no H_m (got " + std::to_string(hm.size()) + " entries)");
        return;
    }
    if (hm.size() != static_cast<size_t>(m) * m)
        throw CodegenError("H_" + std::to_string(m) + " needs " + std::to_string(m * m) + " entries, got " +
                           std::to_string(hm.size()));
    for (int8_t v : hm)
        if (v != 1 && v != -1) throw CodegenError("H_m entries must be +1 or -1, got " + std::to_string(v));
}

}  // namespace

HadamardPipeline buildHadamardPipeline(const dsl::HadamardParams &p, const std::vector<int8_t> &hm,
                                       const HadamardSchedule &s, const targets::TargetInfo &target) {
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(std::string("no lowering of hadamard for ") + target.name + " yet (CPU targets only)");
    if (!p.n.size)
        throw CodegenError("hadamard needs n known when the kernel is compiled (size " + p.n.name + "=<n>)");
    const int64_t n = *p.n.size;
    const int m = std::max(1, p.m);
    if (n < 1 || n % m != 0 || ((n / m) & (n / m - 1)) != 0)
        throw CodegenError("hadamard size " + std::to_string(n) + " is not m * 2^k for m = " + std::to_string(m));
    if (n > (int64_t{1} << 24)) throw CodegenError("hadamard size " + std::to_string(n) + " is too large (> 2^24)");
    checkMatrix(m, hm);

    ImageParam x(Float(32), 2, "x");
    x.dim(0).set_bounds(0, static_cast<int>(n)).set_stride(1);

    RowTransform rt(p, hm, s, n);
    Func y = rt.build(x);
    const Var row = rt.row();
    Var task("task"), rowIn("row_in");

    if (p.output == dsl::ActKind::F32) {
        y.output_buffer().dim(0).set_bounds(0, static_cast<int>(n)).set_stride(1);
        // GuardWithIf: any row count, the last task may be short.
        y.update().split(row, task, rowIn, s.rowsPerTask, TailStrategy::GuardWithIf);
        if (s.parallel) y.update().parallel(task);
        rt.schedule(LoopLevel(y, rowIn));
        return HadamardPipeline{Pipeline(y), {x}};
    }
    if (p.output != dsl::ActKind::QInt8PerToken)
        throw CodegenError(std::string("hadamard writes f32 or int8, not ") + dsl::toString(p.output));

    // Fused per-token int8 (docs/formats.md, "Activations"): s = max|y| / 127
    // and q = round_half_away(y / s), both true f32 divisions (strict_float:
    // no reciprocal multiply), from the same y Func and schedule as the f32
    // mode, computed into a row buffer: its values are the f32 mode's.
    const int lanes = static_cast<int>(std::min<int64_t>(s.vector, n / m));
    Var l("l"), i("i");
    RDom rv(0, static_cast<int>(n / lanes), "rv");
    Func amaxLanes("amax_lanes"), amax("amax"), codes("codes"), scales("scales");
    amaxLanes(l, row) = 0.0f;
    amaxLanes(l, row) = max(amaxLanes(l, row), abs(y(l + lanes * rv, row)));
    RDom rl(0, lanes, "rl");
    amax(row) = 0.0f;
    amax(row) = max(amax(row), amaxLanes(rl, row));
    Expr sc = strict_float(amax(row) / 127.0f);
    Expr quot = strict_float(y(i, row) / sc);
    codes(i, row) = cast<int8_t>(select(sc > 0.0f, clamp(roundHalfAway(quot), -127.0f, 127.0f), 0.0f));
    scales(row) = sc;

    codes.output_buffer().dim(0).set_bounds(0, static_cast<int>(n)).set_stride(1);
    codes.split(row, task, rowIn, s.rowsPerTask, TailStrategy::GuardWithIf);
    scales.split(row, task, rowIn, s.rowsPerTask, TailStrategy::GuardWithIf);
    if (s.parallel) {
        codes.parallel(task);
        scales.parallel(task);
    }
    // One loop nest over rows for both outputs, so y and amax of a row are
    // computed once, in L1/L2, for the codes and the scale.
    scales.compute_with(codes, rowIn);
    y.compute_at(codes, rowIn);
    rt.schedule(LoopLevel(y, row));
    amaxLanes.compute_at(codes, rowIn).vectorize(l);
    amaxLanes.update().vectorize(l);
    amax.compute_at(codes, rowIn);
    codes.vectorize(i, lanes * 4, TailStrategy::GuardWithIf);
    return HadamardPipeline{Pipeline({codes, scales}), {x}};
}

}  // namespace kf::codegen::hadamard
