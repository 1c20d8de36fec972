// \file
// The emitted library a numeric test runs and the kernel file it came from:
// KFORGE_TEST_LIB (the library's name), KFORGE_TEST_HEADER ("kforge_<lib>.h")
// and KFORGE_TEST_KERNELS (the kernel file), set by the test's CMake.
#pragma once

#include <atomic>
#include <cmath>
#include <cstring>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dsl/Load.h"

#include KFORGE_TEST_HEADER  // "kforge_<lib>.h"
#define KF_CAT2(a, b, c) a##b##c
#define KF_CAT(a, b, c) KF_CAT2(a, b, c)
#define KF_TEST_KERNELS_FN KF_CAT(kf_, KFORGE_TEST_LIB, _kernels)

namespace kf::testing {

// The kernel file, checked once.
inline const dsl::Module &kernelFile() {
    static const dsl::Module module = [] {
        auto r = dsl::loadFile(KFORGE_TEST_KERNELS, {});
        if (!r.ok()) throw std::runtime_error("cannot load " KFORGE_TEST_KERNELS);
        return *r.module;
    }();
    return module;
}

// The library's kernel `name` (any family), or null.
inline const kf_kernel_def *defOf(const std::string &name) {
    int count = 0;
    const kf_kernel_def *const *all = KF_TEST_KERNELS_FN(&count);
    for (int i = 0; i < count; ++i) {
        kf_kernel_info info;
        if (kf_kernel_query(all[i], &info) == KF_OK && name == info.name) return all[i];
    }
    return nullptr;
}

// One parameterized case: a kernel of the library and one of its variants
// (printed "kernel variant v" in test names and failures).
struct Case {
    std::string kernel;
    int variant;
};
inline void PrintTo(const Case &c, std::ostream *os) { *os << c.kernel << " variant " << c.variant; }

// One handle shared by expected.size() threads at once: thread t calls
// run(t, y) `repeats` times, each time into a NaN-filled y of
// expected[t].size() floats. Returns {calls that did not return KF_OK,
// results that differ from expected[t] bitwise}.
template <class Run>
std::pair<int, int> runConcurrently(const std::vector<std::vector<float>> &expected, int repeats, Run run) {
    std::atomic<int> failures{0}, mismatches{0};
    std::vector<std::thread> pool;
    for (size_t t = 0; t < expected.size(); ++t)
        pool.emplace_back([&, t] {
            std::vector<float> y(expected[t].size());
            for (int r = 0; r < repeats; ++r) {
                std::fill(y.begin(), y.end(), NAN);
                if (run(static_cast<int>(t), y.data()) != KF_OK) ++failures;
                else if (std::memcmp(y.data(), expected[t].data(), y.size() * sizeof(float)) != 0) ++mismatches;
            }
        });
    for (auto &th : pool) th.join();
    return {failures.load(), mismatches.load()};
}

}  // namespace kf::testing
