#include "runtime/StreamMemory.h"

#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace kf::rt {

bool hugePagesWanted() {
    static const bool wanted = [] {
        const char *v = std::getenv("KFORGE_HUGE_PAGES");
        return !(v && std::strcmp(v, "0") == 0);
    }();
    return wanted;
}

void *allocateStreamed(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    const bool huge = bytes >= kHugePageBytes && hugePagesWanted();
    const std::size_t align = huge ? kHugePageBytes : 4096;
    const std::size_t rounded = (bytes + align - 1) / align * align;  // aligned_alloc wants a multiple
    void *block = std::aligned_alloc(align, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Advice only: without THP support it fails and the block keeps 4 KiB pages.
    if (block && huge) (void)madvise(block, rounded, MADV_HUGEPAGE);
#endif
    return block;
}

}  // namespace kf::rt
