// "Did you mean" lookups: the banded, budgeted edit distance picks what the
// full distance matrix would, and stays bounded on hostile name lists.
#include "dsl/families/StatementReader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace kf::dsl {
namespace {

// Optimal string alignment distance from its definition: the full matrix.
size_t fullDistance(const std::string &a, const std::string &b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

// What closestName promises, computed the slow way: the first name of least
// distance, if that distance is within a third of the word (at least 1).
std::string expectedClosest(const std::string &word, const std::vector<std::string> &names) {
    size_t bound = std::max<size_t>(1, word.size() / 3);
    std::string best;
    size_t bestDist = bound + 1;
    for (const auto &n : names) {
        size_t d = fullDistance(word, n);
        if (d < bestDist) {
            bestDist = d;
            best = n;
        }
    }
    return best;
}

TEST(Suggestion, ClassicMisspellings) {
    std::vector<std::string> names = {"split", "vectorize", "unroll", "parallel", "reorder", "threads", "pack", "prefetch"};
    EXPECT_EQ(closestName("spilt", names), "split");    // transposition: one edit
    EXPECT_EQ(closestName("vectorise", names), "vectorize");
    EXPECT_EQ(closestName("paralel", names), "parallel");
    EXPECT_EQ(closestName("prefech", names), "prefetch");
    EXPECT_EQ(closestName("zzz", names), "");
    EXPECT_EQ(closestName("", names), "");
}

TEST(Suggestion, AgreesWithTheFullDistanceOnRandomWords) {
    std::mt19937 rng(7);
    auto randomWord = [&](size_t len) {
        std::string s;
        for (size_t i = 0; i < len; ++i) s += static_cast<char>('a' + rng() % 4);  // small alphabet: many near misses
        return s;
    };
    for (int trial = 0; trial < 2000; ++trial) {
        std::vector<std::string> names;
        size_t count = 1 + rng() % 12;
        for (size_t i = 0; i < count; ++i) names.push_back(randomWord(rng() % 14));
        std::string word = randomWord(rng() % 14);
        // Sometimes a mutation of a listed name, so that matches exist.
        if (trial % 2 && !names.empty()) {
            word = names[rng() % names.size()];
            if (!word.empty()) word[rng() % word.size()] = static_cast<char>('a' + rng() % 4);
            if (word.size() > 1 && trial % 3 == 0) std::swap(word[0], word[1]);
        }
        ASSERT_EQ(closestName(word, names), expectedClosest(word, names)) << "word '" << word << "'";
    }
}

TEST(Suggestion, LongWordsAreNotLookedUp) {
    std::string longWord(65, 'a');
    EXPECT_EQ(closestName(longWord, {std::string(64, 'a')}), "");
}

TEST(Suggestion, JoinNamesShortensLongLists) {
    EXPECT_EQ(joinNames({"a", "b", "c"}), "a, b, c");
    EXPECT_EQ(joinNames({"a", "b", "c", "d"}, 2), "a, b and 2 more");
    EXPECT_EQ(joinNames({}, 2), "");
}

}  // namespace
}  // namespace kf::dsl
