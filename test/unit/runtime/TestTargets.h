// The targets the test library was emitted for, in variant order: the
// build's KFORGE_TEST_TARGETS ("x86-avx2,x86-avx512,..."; the same tests run
// on arm64 libraries under qemu, cmake/aarch64-runtime/tests).
#pragma once

#include <sstream>
#include <string>
#include <vector>

inline std::vector<std::string> testTargets() {
    std::vector<std::string> out;
    std::stringstream ss(KFORGE_TEST_TARGETS);
    std::string t;
    while (std::getline(ss, t, ','))
        if (!t.empty()) out.push_back(t);
    return out;
}
