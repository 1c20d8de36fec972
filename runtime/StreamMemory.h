// \file
// Memory for data a kernel streams from DRAM: a layer's packed weights, and
// the buffers the benches and the tuner compare them with (their plain-read
// roofline, the dense f32 baseline), so both sides sit on the same kind of
// pages.
//
// Blocks of at least 2 MiB are 2 MiB-aligned and advised for transparent huge
// pages (Linux madvise(MADV_HUGEPAGE); the kernel grants them when THP is
// "always" or "madvise" and it has free 2 MiB pages). Measured on this
// project's machine (2-vCPU AVX-512 VM, 960 MiB streamed): a plain read at
// 1 thread 15.2-15.6 GB/s on 4 KiB pages vs 17.9-19.4 GB/s on huge pages
// (2 threads 30-31 vs 35.5); the int8 decode kernels 11.7-13.1 -> 13.6-14.9 GB/s
// (int2, ternary, int4 at 4096x11008; bench/README.md). Fewer TLB misses, and
// on a VM fewer nested page walks.
//
// KFORGE_HUGE_PAGES=0 in the environment turns the advice off (4 KiB-aligned
// blocks, the OS's default pages), e.g. where memory is tight: a huge page is
// backed whole as soon as one byte of it is touched.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>

namespace kf::rt {

constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// Whether blocks of >= kHugePageBytes get the huge-page advice
// (KFORGE_HUGE_PAGES is not "0"; read once).
bool hugePagesWanted();

// An uninitialised block of `bytes` (> 0), 4 KiB-aligned, or 2 MiB-aligned
// and advised for huge pages when bytes >= kHugePageBytes and hugePagesWanted().
// Release with std::free. nullptr when out of memory.
void *allocateStreamed(std::size_t bytes);

// Owner of an allocateStreamed block, and `count` (>= 1 allocated) elements
// of T in one: uninitialised, empty when out of memory.
struct FreeStreamed {
    void operator()(void *p) const { std::free(p); }
};
template <class T>
using StreamedArray = std::unique_ptr<T[], FreeStreamed>;
template <class T>
StreamedArray<T> allocateStreamedArray(std::size_t count) {
    return StreamedArray<T>(static_cast<T *>(allocateStreamed(std::max<std::size_t>(1, count) * sizeof(T))));
}

}  // namespace kf::rt
