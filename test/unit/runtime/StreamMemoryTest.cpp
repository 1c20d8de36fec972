// kf::rt::allocateStreamed: the alignment it promises, and the huge-page
// advice on the mapping (what the kernel reports in /proc/self/smaps).
#include "runtime/StreamMemory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace {

bool aligned(const void *p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a == 0; }

// The VmFlags line of the mapping that contains p ("" when not found).
std::string vmFlagsOf(const void *p) {
    std::ifstream smaps("/proc/self/smaps");
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        std::uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
            inside = lo <= addr && addr < hi;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line;
    }
    return "";
}

// THP as the kernel offers it: "" when the kernel has none.
std::string thpMode() {
    std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string mode;
    std::getline(f, mode);
    return mode;
}

TEST(StreamMemory, SmallBlocksArePageAlignedAndLargeOnesHugePageAligned) {
    ASSERT_EQ(kf::rt::allocateStreamed(0), nullptr);
    void *small = kf::rt::allocateStreamed(100 * 1024 + 3);
    ASSERT_NE(small, nullptr);
    EXPECT_TRUE(aligned(small, 4096));
    std::memset(small, 1, 100 * 1024 + 3);  // all of it is usable
    std::free(small);

    const std::size_t bytes = 3 * kf::rt::kHugePageBytes + 5;
    void *large = kf::rt::allocateStreamed(bytes);
    ASSERT_NE(large, nullptr);
    EXPECT_TRUE(aligned(large, kf::rt::hugePagesWanted() ? kf::rt::kHugePageBytes : 4096));
    std::memset(large, 1, bytes);
    std::free(large);
}

TEST(StreamMemory, LargeBlocksCarryTheHugePageAdvice) {
    const std::string mode = thpMode();
    if (mode.empty()) GTEST_SKIP() << "this kernel has no transparent huge pages (no /sys/kernel/mm/transparent_hugepage)";
    if (!kf::rt::hugePagesWanted()) GTEST_SKIP() << "KFORGE_HUGE_PAGES=0 in the environment";
    const std::size_t bytes = 4 * kf::rt::kHugePageBytes;
    auto *large = static_cast<unsigned char *>(kf::rt::allocateStreamed(bytes));
    ASSERT_NE(large, nullptr);
    std::memset(large, 1, bytes);
    // "hg": VM_HUGEPAGE, set by madvise(MADV_HUGEPAGE) whatever the THP mode
    // ("always", "madvise" or "never" — under "never" it is advice unused).
    EXPECT_NE(vmFlagsOf(large).find(" hg"), std::string::npos) << vmFlagsOf(large) << " (THP: " << mode << ")";
    EXPECT_NE(vmFlagsOf(large + bytes - 1).find(" hg"), std::string::npos);
    std::free(large);

    // A small block keeps the default pages: no advice on its mapping.
    auto *small = static_cast<unsigned char *>(kf::rt::allocateStreamed(64 * 1024));
    ASSERT_NE(small, nullptr);
    std::memset(small, 1, 64 * 1024);
    ASSERT_NE(vmFlagsOf(small), "");
    EXPECT_EQ(vmFlagsOf(small).find(" hg"), std::string::npos) << vmFlagsOf(small);
    std::free(small);
}

}  // namespace
