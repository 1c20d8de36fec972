// BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2's tokenizer.json
// declares it (BertNormalizer lowercase, BertPreTokenizer, WordPiece with
// "##" continuations, 100 characters per word at most), for text in ASCII.
// Other UTF-8 characters are kept as word characters, without the accent
// stripping and Unicode punctuation of the Hugging Face tokenizer: the MiniLM
// test checks the ids against that tokenizer on examples/minilm/sentences.txt.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace minilm {

class WordPiece {
  public:
    // vocab.txt: one token per line, its id is the line number (from 0).
    explicit WordPiece(const std::string &vocabPath);
    // [CLS] tokens [SEP], at most maxTokens ids (the middle is cut).
    std::vector<int> encode(const std::string &text, std::size_t maxTokens = 256) const;

  private:
    int id(const std::string &token) const;
    std::unordered_map<std::string, int> vocab_;
    int unk_ = 0, cls_ = 0, sep_ = 0;
};

}  // namespace minilm
