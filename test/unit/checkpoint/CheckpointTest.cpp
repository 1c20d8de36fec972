// The checkpoint readers against files the reference libraries wrote
// (make_fixtures.py: the `safetensors` and `gguf` PyPI packages), malformed
// files built here byte by byte, the safetensors writer and ParamΔ.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/stat.h>

#include "checkpoint/Checkpoint.h"
#include "checkpoint/Write.h"

namespace fs = std::filesystem;
using namespace kf::checkpoint;

namespace {

fs::path fixtures() {
    const char *d = std::getenv("KFORGE_CHECKPOINT_FIXTURES");
    if (!d) throw std::runtime_error("KFORGE_CHECKPOINT_FIXTURES is not set (ctest sets it; make_fixtures.py writes it)");
    return d;
}

nlohmann::json readJson(const fs::path &p) {
    std::ifstream f(p);
    if (!f) throw std::runtime_error("cannot read " + p.string());
    return nlohmann::json::parse(f);
}

std::vector<uint8_t> readBytes(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

uint32_t bitsOf(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// Runs f, expects a CheckpointError whose message contains every piece.
template <class F> void expectError(F &&f, std::initializer_list<std::string> pieces) {
    try {
        f();
        ADD_FAILURE() << "no CheckpointError; wanted one saying: " << *pieces.begin();
    } catch (const CheckpointError &e) {
        for (const auto &p : pieces) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

Checkpoint parseSt(const std::vector<uint8_t> &b) { return Checkpoint::parse(b, "mem.safetensors", Format::Safetensors); }
Checkpoint parseGg(const std::vector<uint8_t> &b) { return Checkpoint::parse(b, "mem.gguf", Format::Gguf); }

std::vector<uint8_t> safetensorsBytes(const std::string &header, std::size_t dataBytes) {
    std::vector<uint8_t> b;
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i)));
    b.insert(b.end(), header.begin(), header.end());
    b.resize(b.size() + dataBytes, 0);
    return b;
}

// A GGUF file built field by field.
struct Gguf {
    std::vector<uint8_t> b;
    template <class T> Gguf &put(T v) {
        const auto *p = reinterpret_cast<const uint8_t *>(&v);
        b.insert(b.end(), p, p + sizeof(T));
        return *this;
    }
    Gguf &str(const std::string &s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Gguf &header(uint32_t version, uint64_t tensors, uint64_t kvs) {
        b.insert(b.end(), {'G', 'G', 'U', 'F'});
        return put(version).put(tensors).put(kvs);
    }
    Gguf &tensor(const std::string &name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
        for (auto d : ne) put(d);
        return put(type).put(offset);
    }
    Gguf &data(std::size_t n, std::size_t alignment = 32) {
        b.resize((b.size() + alignment - 1) / alignment * alignment + n, 0);
        return *this;
    }
};

}  // namespace

TEST(Safetensors, ReadsTheReferenceLibrarysFile) {
    Checkpoint ck = Checkpoint::open((fixtures() / "ref.safetensors").string());
    nlohmann::json want = readJson(fixtures() / "ref_safetensors.json");
    EXPECT_EQ(ck.format(), Format::Safetensors);
    EXPECT_EQ(ck.metadata(), want["__metadata__"]);
    ASSERT_EQ(ck.tensors().size(), want["tensors"].size());
    for (auto it = want["tensors"].begin(); it != want["tensors"].end(); ++it) {
        SCOPED_TRACE(it.key());
        const TensorView &t = ck.at(it.key());
        EXPECT_EQ(typeName(t.type), it.value()["dtype"].get<std::string>());
        EXPECT_EQ(t.shape, it.value()["shape"].get<std::vector<int64_t>>());
        if (!it.value().contains("f32_bits")) {
            EXPECT_FALSE(canConvertToFloat(t.type));
            expectError([&] { toFloat(t); }, {it.key(), "I64", "cannot convert"});
            continue;
        }
        std::vector<float> v = toFloat(t);
        auto bits = it.value()["f32_bits"].get<std::vector<uint32_t>>();
        ASSERT_EQ(v.size(), bits.size());
        for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(bitsOf(v[i]), bits[i]) << "element " << i;
    }
    EXPECT_EQ(ck.at("scalar").numel(), 1);
    EXPECT_EQ(ck.at("empty").numel(), 0);
    EXPECT_EQ(ck.at("empty").rows(), 0);
    expectError([&] { ck.at("no.such"); }, {"ref.safetensors", "no tensor named 'no.such'"});
}

TEST(Gguf, ReadsTheReferenceLibrarysFile) {
    Checkpoint ck = Checkpoint::open((fixtures() / "ref.gguf").string());
    Checkpoint expected = Checkpoint::open((fixtures() / "ref_gguf_expected.safetensors").string());
    nlohmann::json want = readJson(fixtures() / "ref_gguf.json");
    EXPECT_EQ(ck.format(), Format::Gguf);
    EXPECT_EQ(ck.ggufVersion(), 3);
    for (auto it = want["metadata"].begin(); it != want["metadata"].end(); ++it) {
        ASSERT_TRUE(ck.metadata().contains(it.key())) << it.key();
        EXPECT_EQ(ck.metadata()[it.key()], it.value()) << it.key();
    }
    ASSERT_EQ(ck.tensors().size(), want["tensors"].size());
    int converted = 0;
    for (const TensorView &t : ck.tensors()) {
        SCOPED_TRACE(t.name);
        ASSERT_TRUE(want["tensors"].contains(t.name));
        EXPECT_EQ(typeName(t.type), want["tensors"][t.name]["type"].get<std::string>());
        EXPECT_EQ(t.shape, want["tensors"][t.name]["shape"].get<std::vector<int64_t>>());
        std::vector<float> got = toFloat(t), ref = toFloat(expected.at(t.name));
        ASSERT_EQ(got.size(), ref.size());
        int bad = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
            if (bitsOf(got[i]) != bitsOf(ref[i]) && bad++ < 5)
                ADD_FAILURE() << "element " << i << ": kforge " << got[i] << ", gguf " << ref[i];
        EXPECT_EQ(bad, 0);
        ++converted;
    }
    EXPECT_EQ(converted, 22);
}

// Q8_0, Q4_0, TQ1_0, TQ2_0 load as kforge codes + f16 scales, without
// re-quantization: level(code) · scale is exactly what gguf dequantizes.
TEST(Gguf, ExactTypesGiveKforgeCodesAndScales) {
    Checkpoint ck = Checkpoint::open((fixtures() / "ref.gguf").string());
    Checkpoint expected = Checkpoint::open((fixtures() / "ref_gguf_expected.safetensors").string());
    struct Case {
        const char *type, *format;
        int group, levelOffset, maxCode;
    };
    int checked = 0;
    for (const Case &c : {Case{"Q8_0", "int8", 32, 128, 255}, Case{"Q4_0", "int4", 32, 8, 15},
                          Case{"TQ1_0", "ternary", 256, 1, 2}, Case{"TQ2_0", "ternary", 256, 1, 2}}) {
        for (const std::string prefix : {"quantized.", "random."}) {
            std::string name = prefix + c.type;
            SCOPED_TRACE(name);
            const TensorView &t = ck.at(name);
            if (name == "random.TQ2_0") {   // random bytes hold code 3, which no ternary level is
                expectError([&] { exactLowbit(t); }, {"random.TQ2_0", "code 3", "not a ternary level"});
                continue;
            }
            auto lc = exactLowbit(t);
            ASSERT_TRUE(lc.has_value());
            EXPECT_EQ(lc->format, c.format);
            EXPECT_EQ(lc->group, c.group);
            EXPECT_EQ(lc->n, t.shape[0]);
            EXPECT_EQ(lc->k, t.shape[1]);
            std::vector<float> ref = toFloat(expected.at(name));
            const int64_t groups = lc->k / c.group;
            ASSERT_EQ(static_cast<int64_t>(lc->scalesF16.size()), lc->n * groups);
            for (int64_t r = 0; r < lc->n; ++r)
                for (int64_t k = 0; k < lc->k; ++k) {
                    int code = lc->codes[r * lc->k + k];
                    ASSERT_LE(code, c.maxCode);
                    float s = halfToFloat(lc->scalesF16[r * groups + k / c.group]);
                    float v = static_cast<float>(code - c.levelOffset) * s;
                    ASSERT_EQ(bitsOf(v), bitsOf(ref[r * lc->k + k])) << "row " << r << " col " << k;
                }
            ++checked;
        }
    }
    EXPECT_EQ(checked, 7);
    EXPECT_FALSE(exactLowbit(ck.at("random.Q4_K")).has_value());
    EXPECT_FALSE(exactLowbit(ck.at("f32.weight")).has_value());
}

TEST(Gguf, OtherTypesAreRefusedOrConvertedAsTheCallerChooses) {
    Checkpoint ck = Checkpoint::open((fixtures() / "ref.gguf").string());
    Checkpoint expected = Checkpoint::open((fixtures() / "ref_gguf_expected.safetensors").string());
    const TensorView &t = ck.at("random.Q4_K");
    expectError([&] { linearWeights(t, ConvertPolicy::Refuse); }, {"random.Q4_K", "Q4_K", "not a kforge weight format"});
    std::vector<std::string> warnings;
    LinearWeights w = linearWeights(t, ConvertPolicy::ThroughF32, [&](const std::string &m) { warnings.push_back(m); });
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("random.Q4_K"), std::string::npos);
    EXPECT_FALSE(w.lowbit.has_value());
    EXPECT_EQ(w.values, toFloat(expected.at("random.Q4_K")));
    EXPECT_EQ(w.n, 3);
    EXPECT_EQ(w.k, 512);
    LinearWeights q = linearWeights(ck.at("quantized.Q4_0"), ConvertPolicy::Refuse);
    ASSERT_TRUE(q.lowbit.has_value());
    EXPECT_EQ(q.lowbit->format, "int4");
    LinearWeights f = linearWeights(ck.at("f16.weight"), ConvertPolicy::Refuse);
    EXPECT_EQ(f.values.size(), 48u);

    // A type kforge cannot convert at all (an IQ type): refused under either policy.
    Gguf g;
    g.header(3, 1, 0).tensor("iq.weight", {256, 2}, 16, 0).data(2 * 66);
    Checkpoint iq = parseGg(g.b);
    expectError([&] { linearWeights(iq.at("iq.weight"), ConvertPolicy::ThroughF32); }, {"iq.weight", "IQ2_XXS"});
}

TEST(Safetensors, MalformedFilesGiveTheirPathAndWhatIsWrong) {
    expectError([] { parseSt({1, 2, 3}); }, {"mem.safetensors", "too short"});
    std::vector<uint8_t> huge(16, 0);
    huge[7] = 1;   // header length 2^56
    expectError([&] { parseSt(huge); }, {"mem.safetensors", "runs past the end"});
    expectError([] { parseSt(safetensorsBytes("[1]", 0)); }, {"does not start with '{'"});
    expectError([] { parseSt(safetensorsBytes("{\"a\":", 0)); }, {"not valid JSON"});
    const std::string t = R"("t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
    EXPECT_EQ(parseSt(safetensorsBytes("{" + t + "}", 16)).at("t").numel(), 4);
    expectError([&] { parseSt(safetensorsBytes("{" + t + "}", 12)); }, {"tensor 't'", "run past the end of the data", "truncated"});
    expectError([] { parseSt(safetensorsBytes(R"({"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 16)); },
                {"tensor 't'", "12 bytes for shape [2,2] of F32, which needs 16"});
    expectError([] { parseSt(safetensorsBytes(R"({"t":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}})", 1)); },
                {"unknown dtype 'Q9'"});
    expectError([] { parseSt(safetensorsBytes(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)); },
                {"non-negative integer"});
    expectError([] { parseSt(safetensorsBytes(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4)); },
                {"end before they begin"});
    expectError([] { parseSt(safetensorsBytes(R"({"t":{"dtype":"F32","shape":[1]}})", 4)); }, {"has no \"data_offsets\""});
    expectError([] {
        parseSt(safetensorsBytes(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4));
    }, {"more elements than fit in 64 bits"});
    expectError([] {
        parseSt(safetensorsBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
    }, {"tensors 'a' and 'b' overlap"});
    expectError([] { parseSt(safetensorsBytes(R"({"__metadata__":{"k":1}})", 0)); }, {"__metadata__ value 'k' is not a string"});
    expectError([] { Checkpoint::open("/nonexistent/model.safetensors"); }, {"/nonexistent/model.safetensors", "cannot open"});
    expectError([] { Checkpoint::open("/tmp"); }, {"/tmp", "not a regular file"});
}

// Every prefix of a real file is refused cleanly (no crash, no read past the
// end: the fuzzing build runs this under ASan too).
TEST(Safetensors, EveryTruncationIsRefused) {
    std::vector<uint8_t> whole = readBytes(fixtures() / "ref.safetensors");
    ASSERT_GT(whole.size(), 100u);
    for (std::size_t n = 0; n < whole.size(); ++n) {
        std::vector<uint8_t> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_THROW(parseSt(cut), CheckpointError) << n << " bytes";
    }
    EXPECT_EQ(parseSt(whole).tensors().size(), 7u);
}

TEST(Gguf, EveryTruncationIsRefused) {
    std::vector<uint8_t> whole = readBytes(fixtures() / "ref.gguf");
    for (std::size_t n = 0; n < whole.size(); n += (n < 2000 ? 1 : 97)) {
        std::vector<uint8_t> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_THROW(parseGg(cut), CheckpointError) << n << " bytes";
    }
    EXPECT_NO_THROW(parseGg(whole));
}

TEST(Gguf, MalformedFilesGiveTheirPathAndWhatIsWrong) {
    expectError([] { parseGg({'G', 'G', 'U'}); }, {"mem.gguf", "the magic"});
    expectError([] { parseGg({'G', 'G', 'U', 'X', 3, 0, 0, 0}); }, {"no \"GGUF\" magic"});
    {
        Gguf g;
        g.header(1, 0, 0);
        expectError([&] { parseGg(g.b); }, {"GGUF version 1 is not supported"});
    }
    {
        Gguf g;
        g.header(0x03000000, 0, 0);
        expectError([&] { parseGg(g.b); }, {"big-endian GGUF"});
    }
    {
        Gguf g;
        g.header(3, 1ull << 60, 0);
        expectError([&] { parseGg(g.b); }, {"tensors cannot fit"});
    }
    {
        Gguf g;
        g.header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 40);
        expectError([&] { parseGg(g.b); }, {"array of 1099511627776 elements does not fit"});
    }
    {
        Gguf g;
        g.header(3, 0, 1).str("k").put<uint32_t>(13).put<uint32_t>(0);
        expectError([&] { parseGg(g.b); }, {"value type 13 is not a GGUF value type"});
    }
    {
        Gguf g;
        g.header(3, 0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2);
        expectError([&] { parseGg(g.b); }, {"bool value is 2"});
    }
    {
        Gguf g;
        g.header(3, 0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(1);
        expectError([&] { parseGg(g.b); }, {"key 'k' appears twice"});
    }
    {
        Gguf g;
        g.header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
        expectError([&] { parseGg(g.b); }, {"general.alignment 24 is not a power of two"});
    }
    {
        Gguf g;   // arrays nested 9 deep
        g.header(3, 0, 1).str("k").put<uint32_t>(9);
        for (int i = 0; i < 9; ++i) g.put<uint32_t>(9).put<uint64_t>(1);
        g.put<uint32_t>(0).put<uint64_t>(0);
        expectError([&] { parseGg(g.b); }, {"nested deeper than 8"});
    }
    {
        Gguf g;
        g.header(3, 1, 0).tensor("w", {32, 2}, 77, 0).data(256);
        expectError([&] { parseGg(g.b); }, {"tensor 'w'", "ggml type 77"});
    }
    {
        Gguf g;
        g.header(3, 1, 0).tensor("w", {31, 2}, 2, 0).data(256);
        expectError([&] { parseGg(g.b); }, {"tensor 'w' of type Q4_0 has rows of 31 elements, not a multiple of its block of 32"});
    }
    {
        Gguf g;
        g.header(3, 1, 0).tensor("w", {4}, 0, 8).data(64);
        expectError([&] { parseGg(g.b); }, {"offset 8, not a multiple of the alignment 32"});
    }
    {
        Gguf g;
        g.header(3, 1, 0).tensor("w", {64, 2}, 0, 0).data(100);
        expectError([&] { parseGg(g.b); }, {"tensor 'w' (512 bytes at data offset 0) runs past the end", "truncated"});
    }
    {
        Gguf g;
        g.header(3, 2, 0).tensor("w", {4}, 0, 0).tensor("w", {4}, 0, 32).data(64);
        expectError([&] { parseGg(g.b); }, {"tensor 'w' appears twice"});
    }
    {
        Gguf g;
        g.header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).data(96);
        expectError([&] { parseGg(g.b); }, {"tensors 'a' and 'b' overlap"});
    }
    {
        Gguf g;
        g.header(3, 1, 0).tensor("w", {1ull << 32, 1ull << 32}, 0, 0);
        expectError([&] { parseGg(g.b); }, {"more elements than fit in 64 bits"});
    }
    {
        Gguf g;   // a custom alignment moves the data start and offsets
        g.header(3, 1, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(64).tensor("w", {4}, 0, 0);
        g.data(0, 64);
        float v[4] = {1, 2, 3, 4};
        g.b.insert(g.b.end(), reinterpret_cast<uint8_t *>(v), reinterpret_cast<uint8_t *>(v) + 16);
        EXPECT_EQ(g.b.size() % 64, 16u);
        EXPECT_EQ(toFloat(parseGg(g.b).at("w")), std::vector<float>({1, 2, 3, 4}));
    }
}

// f16 conversions against the compiler's own _Float16 (IEEE binary16).
TEST(Checkpoint, HalfConversionsMatchTheCompilers) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        _Float16 x;
        uint16_t hb = static_cast<uint16_t>(h);
        std::memcpy(&x, &hb, 2);
        float want = static_cast<float>(x);
        float got = halfToFloat(hb);
        if (std::isnan(want)) {
            ASSERT_TRUE(std::isnan(got)) << h;
            ASSERT_TRUE(std::isnan(halfToFloat(floatToHalf(got))));
            continue;
        }
        ASSERT_EQ(bitsOf(got), bitsOf(want)) << h;
        ASSERT_EQ(floatToHalf(got), hb) << h;
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 1000000; ++i) {
        uint32_t b = rng();
        float f;
        std::memcpy(&f, &b, 4);
        if (std::isnan(f)) continue;
        _Float16 x = static_cast<_Float16>(f);
        uint16_t want;
        std::memcpy(&want, &x, 2);
        ASSERT_EQ(floatToHalf(f), want) << f;
    }
    EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
    EXPECT_EQ(floatToBf16(bf16ToFloat(0x1234)), 0x1234);
    EXPECT_EQ(floatToBf16(1.00390625f), 0x3f80);   // a tie rounds to even
    EXPECT_EQ(floatToBf16(1.01171875f), 0x3f82);
}

TEST(SafetensorsWriter, WritesWhatTheReaderReadsBack) {
    fs::path dir = fs::temp_directory_path() / ("kforge-ckpt-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string path = (dir / "out.safetensors").string();
    std::vector<float> a = {1, -2, 3.5f, 0};
    std::vector<uint16_t> h = {floatToHalf(0.5f), floatToHalf(-1.f)};
    std::vector<int64_t> ids = {7, 8, 9};
    {
        SafetensorsWriter w(path, {{"a", Type::F32, {2, 2}}, {"empty", Type::F32, {0}}, {"h", Type::F16, {2}},
                                   {"ids", Type::I64, {3}}},
                            {{"format", "pt"}});
        w.write(a.data(), 8);
        w.write(a.data() + 2, 8);   // a tensor may come in pieces
        w.write(h.data(), 4);
        w.write(ids.data(), 24);
        w.commit();
    }
    Checkpoint ck = Checkpoint::open(path);
    EXPECT_EQ(ck.metadata(), nlohmann::json({{"format", "pt"}}));
    EXPECT_EQ(toFloat(ck.at("a")), a);
    EXPECT_EQ(ck.at("empty").numel(), 0);
    EXPECT_EQ(toFloat(ck.at("h")), std::vector<float>({0.5f, -1.f}));
    EXPECT_EQ(std::memcmp(ck.at("ids").bytes.data(), ids.data(), 24), 0);
    const mode_t mask = ::umask(0);
    ::umask(mask);
    EXPECT_EQ(fs::status(path).permissions(), static_cast<fs::perms>(0666 & ~mask)) << "a new file gets 0666 & ~umask";
    fs::permissions(path, static_cast<fs::perms>(0640));
    {
        SafetensorsWriter w(path, {{"a", Type::F32, {1}}});
        w.write(a.data(), 4);
        w.commit();
    }
    EXPECT_EQ(fs::status(path).permissions(), static_cast<fs::perms>(0640)) << "a replaced file keeps its mode";
    {
        SafetensorsWriter w(path, {{"a", Type::F32, {2, 2}}, {"empty", Type::F32, {0}}, {"h", Type::F16, {2}},
                                   {"ids", Type::I64, {3}}},
                            {{"format", "pt"}});
        w.write(a.data(), 16);
        w.write(h.data(), 4);
        w.write(ids.data(), 24);
        w.commit();
    }
    uint64_t headerLen;
    std::vector<uint8_t> bytes = readBytes(path);
    std::memcpy(&headerLen, bytes.data(), 8);
    EXPECT_EQ(headerLen % 8, 0u);

    // A writer that fails, or is dropped before commit, leaves the file that was there untouched.
    std::vector<uint8_t> before = readBytes(path);
    expectError([&] {
        SafetensorsWriter w(path, {{"a", Type::F32, {2}}});
        w.write(a.data(), 12);
    }, {path, "more bytes written than the declared tensors hold (8 left, 12 given)"});
    {
        SafetensorsWriter w(path, {{"a", Type::F32, {2}}});
        w.write(a.data(), 4);
        expectError([&] { w.commit(); }, {path, "0 of 1 complete"});
    }
    { SafetensorsWriter w(path, {{"a", Type::F32, {2}}}); }
    EXPECT_EQ(readBytes(path), before);
    expectError([&] { SafetensorsWriter w(path, {{"q", Type::Q4_0, {32}}}); }, {"cannot hold Q4_0 blocks"});
    expectError([&] { SafetensorsWriter w(path, {{"a", Type::F32, {1}}, {"a", Type::F32, {1}}}); }, {"'a' is used twice"});
    std::size_t leftovers = 0;
    for (const auto &e : fs::directory_iterator(dir)) leftovers += e.path().filename() != "out.safetensors";
    EXPECT_EQ(leftovers, 0u) << "temporary files left behind";
    fs::remove_all(dir);
}

TEST(ParamDelta, MatchesNumpyAndChecksItsInputs) {
    Checkpoint post = Checkpoint::open((fixtures() / "delta_post.safetensors").string());
    Checkpoint base = Checkpoint::open((fixtures() / "delta_base.safetensors").string());
    Checkpoint nb = Checkpoint::open((fixtures() / "delta_newbase.safetensors").string());
    Checkpoint want = Checkpoint::open((fixtures() / "delta_expected.safetensors").string());
    fs::path dir = fs::temp_directory_path() / ("kforge-delta-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string out = (dir / "mixed.safetensors").string();
    std::vector<std::string> done;
    DeltaSummary s = paramDelta(post, base, nb, out, [&](const std::string &n) { done.push_back(n); });
    EXPECT_EQ(s.floatTensors, 3);
    EXPECT_EQ(s.copiedTensors, 1);
    EXPECT_EQ(done.size(), 4u);
    Checkpoint got = Checkpoint::open(out);
    EXPECT_EQ(got.metadata()["role"], "newbase");
    for (const TensorView &w : want.tensors()) {
        SCOPED_TRACE(w.name);
        const TensorView &g = got.at(w.name);
        EXPECT_EQ(g.type, w.type);
        EXPECT_EQ(g.shape, w.shape);
        ASSERT_EQ(g.bytes.size(), w.bytes.size());
        EXPECT_EQ(std::memcmp(g.bytes.data(), w.bytes.data(), g.bytes.size()), 0);
    }
    expectError([&] { paramDelta(post, base, nb, post.path()); }, {"the output is one of the inputs"});
    // Post whose ids differ from base: a non-float tensor ParamΔ cannot mix.
    expectError([&] { paramDelta(post, nb, base, out); }, {"'position_ids'", "differs between post and base"});
    Checkpoint other = Checkpoint::open((fixtures() / "ref.safetensors").string());
    expectError([&] { paramDelta(post, other, nb, out); }, {"has no tensor"});
    {
        SafetensorsWriter w((dir / "reshaped.safetensors").string(),
                            {{"a.weight", Type::F32, {6, 4}}, {"b.weight", Type::F16, {5}}, {"c.weight", Type::BF16, {3, 2}},
                             {"position_ids", Type::I64, {8}}});
        std::vector<uint8_t> zeros(96 + 10 + 12 + 64, 0);
        w.write(zeros.data(), zeros.size());
        w.commit();
    }
    Checkpoint reshaped = Checkpoint::open((dir / "reshaped.safetensors").string());
    expectError([&] { paramDelta(post, reshaped, nb, out); }, {"tensor 'a.weight': shape [4, 6]", "but [6, 4]"});
    fs::remove_all(dir);
}
