#include "Tokenizer.h"

#include <cctype>
#include <fstream>
#include <stdexcept>

namespace minilm {

WordPiece::WordPiece(const std::string &vocabPath) {
    std::ifstream f(vocabPath);
    if (!f) throw std::runtime_error(vocabPath + ": cannot open the vocabulary");
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        vocab_.emplace(line, n++);
    }
    unk_ = id("[UNK]");
    cls_ = id("[CLS]");
    sep_ = id("[SEP]");
    if (unk_ < 0 || cls_ < 0 || sep_ < 0)
        throw std::runtime_error(vocabPath + ": not a BERT vocabulary (no [UNK], [CLS] or [SEP])");
}

int WordPiece::id(const std::string &token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
}

namespace {
// BERT counts every non-letter, non-digit ASCII printable character as punctuation.
bool isPunct(unsigned char c) { return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126); }
}  // namespace

std::vector<int> WordPiece::encode(const std::string &text, std::size_t maxTokens) const {
    // Normalize + pre-tokenize: lowercase, control characters dropped, split
    // on whitespace, every punctuation character a word of its own.
    std::vector<std::string> words;
    std::string cur;
    auto flush = [&] {
        if (!cur.empty()) words.push_back(cur);
        cur.clear();
    };
    for (unsigned char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            flush();
        } else if (c < 32 || c == 127) {
            continue;
        } else if (isPunct(c)) {
            flush();
            words.emplace_back(1, static_cast<char>(c));
        } else {
            cur.push_back(static_cast<char>(std::tolower(c)));
        }
    }
    flush();
    std::vector<int> ids{cls_};
    for (const std::string &w : words) {
        if (w.size() > 100) {
            ids.push_back(unk_);
            continue;
        }
        // Greedy longest match from the left; any unmatched rest makes the word [UNK].
        std::vector<int> pieces;
        std::size_t start = 0;
        bool bad = false;
        while (start < w.size()) {
            std::size_t end = w.size();
            int found = -1;
            while (end > start) {
                std::string sub = (start ? "##" : "") + w.substr(start, end - start);
                if ((found = id(sub)) >= 0) break;
                --end;
            }
            if (found < 0) {
                bad = true;
                break;
            }
            pieces.push_back(found);
            start = end;
        }
        if (bad)
            ids.push_back(unk_);
        else
            ids.insert(ids.end(), pieces.begin(), pieces.end());
    }
    if (ids.size() + 1 > maxTokens) ids.resize(maxTokens - 1);
    ids.push_back(sep_);
    return ids;
}

}  // namespace minilm
