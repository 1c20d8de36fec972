// \file
// The machine's ceilings that kernel timings are taken as ratios of: the
// compute peaks (int8 dot products on AVX-512 VNNI, f32 FMAs on AVX-512) and
// the bandwidth of a plain read of a buffer. The benches (bench/) report their
// rooflines against these, and the autotuner's worker (autotune/Worker.cpp)
// reports each candidate's roofline time with them, so both agree on what
// "100% of the machine" means.
//
// Each figure is measured, not looked up: on std::threads started for the
// measurement (not a pool, so nothing stays busy afterwards), on the thread
// count given (0 = every hardware thread). Every call measures again; this
// VM's throughput drifts with its neighbours, so callers measure next to what
// they time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/StreamMemory.h"

namespace kf::perf {

// Ops/s of a register-resident loop of independent _mm512_dpbusd_epi32 (int8
// ops, 2 per multiply-add; vnni) or _mm512_fmadd_ps (f32 flops, 2 per lane)
// on `threads` threads at once, the best of `runs` runs of >= 0.05 s each
// (the loop length is calibrated once per process, on one thread). 0 when the
// CPU lacks the instructions (avx512f + avx512bw, and avx512vnni for vnni).
// Calls are serialised (a mutex): concurrent peaks would halve each other.
double computePeak(bool vnni, int threads, int runs);
double vnniPeakOps(int threads);   // computePeak(true, threads, 3)
double fmaPeakFlops(int threads);  // computePeak(false, threads, 3)

// Bytes/s of a plain read of buf[0, bytes): a sum of its uint64 words (4
// accumulators, vectorised for the widest of AVX-512 / AVX2 / SSE2 the CPU
// has), `threads` threads each on a contiguous slice, each reading
// its slice `passes` times (several passes amortise starting the threads when
// the buffer is small, i.e. cache resident; one pass for a buffer that
// streams from DRAM). buf must be 8-byte aligned; a tail of fewer than 8
// bytes is not read (nor counted). Make the pages resident (write them)
// before measuring, or the first pass measures page faults. 0 for an empty
// buffer.
double readBandwidth(const void *buf, std::size_t bytes, int threads, int passes = 1);

// The buffer a plain-read roofline reads: `bytes` on the same kind of pages as
// a layer's packed weights (kf::rt::allocateStreamed: huge pages for large
// blocks), written with distinct words so every page is resident. The page
// size alone moves this machine's plain read by ~20% (runtime/StreamMemory.h),
// so a roofline on other pages than the kernel's is not its roofline.
class ReadBuffer {
public:
    explicit ReadBuffer(std::size_t bytes);  // throws std::bad_alloc
    const void *data() const { return words_.get(); }
    std::size_t bytes() const { return bytes_; }
    double bandwidth(int threads, int passes = 1) const { return readBandwidth(data(), bytes_, threads, passes); }

private:
    std::size_t bytes_;
    rt::StreamedArray<uint64_t> words_;
};

}  // namespace kf::perf
