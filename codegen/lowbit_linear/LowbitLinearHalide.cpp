#include "codegen/lowbit_linear/LowbitLinearHalide.h"

#include "codegen/CodegenError.h"

namespace kf::codegen::lowbit {

using namespace Halide;

namespace {

Type halideScaleType(dsl::ScalarType t) {
    switch (t) {
    case dsl::ScalarType::F32: return Float(32);
    case dsl::ScalarType::F16: return Float(16);
    case dsl::ScalarType::BF16: return BFloat(16);
    default: throw CodegenError("lowbit_linear scales must be f32, f16 or bf16");
    }
}

kf_scale_type runtimeScaleType(dsl::ScalarType t) {
    return t == dsl::ScalarType::F16 ? KF_SCALE_F16 : t == dsl::ScalarType::BF16 ? KF_SCALE_BF16 : KF_SCALE_F32;
}

void checkSupported(const dsl::KernelSpec &kernel, const dsl::LowbitLinearParams &p,
                    const targets::TargetInfo &target) {
    const std::string where = " for " + std::string(target.name);
    if (target.arch == targets::Arch::Cuda)
        throw CodegenError(kernel.loc, "no lowering of lowbit_linear" + where + " yet (CUDA lowering is planned)");
    if (!(p.weight.kind == dsl::WeightKind::Int && p.weight.bits == 4))
        throw CodegenError(kernel.loc, "no lowering of lowbit_linear with " + dsl::formatName(p.weight) +
                                           " weights" + where + " yet (int4 is supported)");
    if (p.input != dsl::ActKind::F32)
        throw CodegenError(kernel.loc, std::string("no lowering of lowbit_linear with ") + dsl::toString(p.input) +
                                           " activations" + where + " yet (f32 is supported)");
    if (p.bias) throw CodegenError(kernel.loc, "no lowering of lowbit_linear with bias" + where + " yet");
    if (p.output != dsl::ScalarType::F32)
        throw CodegenError(kernel.loc, "no lowering of lowbit_linear with a non-f32 output" + where + " yet");
}

}  // namespace

LinearPipeline buildLinearPipeline(const dsl::KernelSpec &kernel, const LinearSchedule &s,
                                   const targets::TargetInfo &target) {
    const auto &p = std::get<dsl::LowbitLinearParams>(kernel.params);
    checkSupported(kernel, p, target);

    const int I = s.interleave;
    const int levelOffset = 1 << (p.weight.bits - 1);  // int4: level = code - 8 (FORMATS.md)
    const int pairsPerChunk = kAlign(p, s) / 2;

    ImageParam packed(UInt(8), 3, "packed");             // (i, pair, tile)
    ImageParam scales(halideScaleType(p.scaleType), 3, "scales");  // (i, group, tile)
    ImageParam x(Float(32), 2, "x");                     // (k, m)

    Var i("i"), h("h"), c("c"), t("t"), m("m");
    Func part("part"), acc("acc"), out("out");

    // part(i, h, c, t, m): f32 dot of chunk c (a scale group, or kChunk k for
    // per-channel scales) for row t*I+i over the k of nibble h (k = 2*pair + h).
    RDom rp(0, pairsPerChunk, "rp");
    Expr pair = c * pairsPerChunk + rp;
    // Widen the byte once; the high nibble of a zero-extended byte is a shift.
    Expr byte = cast<int32_t>(packed(i, pair, t));
    Expr code = select(h == 0, byte & 0x0F, byte >> 4);
    part(i, h, c, t, m) = 0.0f;
    part(i, h, c, t, m) += x(2 * pair + h, m) * cast<float>(code);

    // sum_k x * (c - offset) = sum_k x * c - offset * sum_k x: the level offset
    // is applied once per chunk, not once per weight.
    Func xsum("xsum");
    xsum(c, m) = 0.0f;
    xsum(c, m) += x(2 * pair, m) + x(2 * pair + 1, m);

    Expr numChunks = packed.dim(1).extent() / pairsPerChunk;
    RDom rc(0, numChunks, "rc");
    Expr chunkSum = part(i, 0, rc, t, m) + part(i, 1, rc, t, m) - static_cast<float>(levelOffset) * xsum(rc, m);
    acc(i, t, m) = 0.0f;
    if (p.group) {
        acc(i, t, m) += cast<float>(scales(i, rc, t)) * chunkSum;
        out(i, t, m) = acc(i, t, m);
    } else {
        acc(i, t, m) += chunkSum;
        out(i, t, m) = acc(i, t, m) * cast<float>(scales(i, 0, t));
    }

    // Constant tile geometry: the kernel's contract with the runtime's packing.
    packed.dim(0).set_bounds(0, I).set_stride(1);
    packed.dim(1).set_stride(I);
    scales.dim(0).set_bounds(0, I).set_stride(1);
    scales.dim(1).set_stride(I);
    x.dim(0).set_stride(1);
    out.output_buffer().dim(0).set_bounds(0, I).set_stride(1);
    out.output_buffer().dim(1).set_stride(I);

    // Schedule: tiles of I rows (blocks of them in parallel), then rows m, so
    // the accumulators have constant size (I x 2 floats) and live in
    // registers, and a tile's weights stay in L1/L2 across the rows of x.
    Var tb("tb"), io("io"), ii("ii");
    out.split(i, io, ii, s.vector).vectorize(ii).unroll(io).reorder(ii, io, m, t);
    if (s.parallel) out.split(t, tb, t, s.nBlock / I, TailStrategy::GuardWithIf).parallel(tb);
    acc.compute_at(out, m);
    acc.split(i, io, ii, s.vector).vectorize(ii).unroll(io);
    // Group loop outside the vector lanes (HALIDE-NOTES.md: without this
    // reorder the chunk loop sits inside the vector loop and spills).
    acc.update().reorder(i, rc).split(i, io, ii, s.vector).vectorize(ii).unroll(io);
    part.compute_at(acc, rc);
    xsum.compute_at(acc, rc);
    part.split(i, io, ii, s.vector).vectorize(ii).unroll(io).unroll(h);
    // Software prefetch of the weights `prefetch` k-pairs ahead. Measured on
    // this project's CI machine (Sapphire Rapids class VM): without it the
    // hardware prefetcher leaves the f32 kernel latency-bound at ~0.15 of read
    // bandwidth; with 32 pairs ahead it runs near its hot-cache speed. The
    // prefetch hangs on the outermost k-pair loop that is still a loop.
    auto upd = part.update().reorder(i, h, rp);
    if (s.unrollK > 1) {
        RVar rpo("rpo"), rpi("rpi");
        upd.split(rp, rpo, rpi, s.unrollK).unroll(rpi);
        if (s.prefetch > 0)
            upd.prefetch(packed, rpo, rpo, std::max(1, s.prefetch / s.unrollK), PrefetchBoundStrategy::NonFaulting);
    } else if (s.prefetch > 0) {
        upd.prefetch(packed, rp, rp, s.prefetch, PrefetchBoundStrategy::NonFaulting);
    }
    upd.split(i, io, ii, s.vector).vectorize(ii).unroll(io).unroll(h);

    LinearPipeline result{Pipeline(out), {packed, scales, x}, {}};
    result.layout = rt::LinearLayout{p.weight.bits, I, kAlign(p, s), p.group, levelOffset, runtimeScaleType(p.scaleType)};
    return result;
}

}  // namespace kf::codegen::lowbit
