// Packed-weights files (runtime/lowbit_linear/WeightsFile.h): a layer loaded
// from a file (mapped or copied) runs bit for bit like the same weights
// packed by kf_linear_pack_weights, on every variant this CPU runs; damaged
// files, other kernels and missing layouts get a status and a message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kforge/detail/Linear.h"
#include "kforge_test_lowbit.h"
#include "runtime/lowbit_linear/Pack.h"
#include "runtime/lowbit_linear/WeightsFile.h"

namespace {

namespace fs = std::filesystem;
using kf::rt::LinearLayout;

// Random weights of a kernel's format: codes, scale bit patterns, bias.
struct Weights {
    int64_t n = 0, k = 0;
    std::vector<uint8_t> codes;
    std::vector<uint8_t> scales;
    std::vector<float> bias;
    kf_linear_weights view() const {
        return {codes.data(), scales.data(), nullptr, nullptr, bias.empty() ? nullptr : bias.data()};
    }
};

Weights randomWeights(const kf_kernel_def *def, int64_t n, int64_t k, unsigned seed) {
    const kf::rt::LinearSpec &s = *kf::rt::linearSpec(def);
    std::mt19937 rng(seed);
    Weights w;
    w.n = n;
    w.k = k;
    w.codes.resize(static_cast<size_t>(n * k));
    for (auto &c : w.codes) c = static_cast<uint8_t>(rng() % (kf::rt::maxCode(s) + 1));
    const int64_t cols = s.group ? (k + s.group - 1) / s.group : 1;
    const size_t eb = s.scaleType == KF_SCALE_F32 ? 4 : 2;
    w.scales.resize(static_cast<size_t>(n * cols) * eb);
    for (size_t i = 0; i < w.scales.size() / eb; ++i) {
        const float f = 0.01f + 0.001f * static_cast<float>(rng() % 100);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        if (eb == 4)
            std::memcpy(&w.scales[4 * i], &f, 4);
        else if (s.scaleType == KF_SCALE_BF16) {
            const uint16_t b = static_cast<uint16_t>(bits >> 16);
            std::memcpy(&w.scales[2 * i], &b, 2);
        } else {
            const uint16_t h = 0x2000 + static_cast<uint16_t>(rng() % 0x800);  // a positive normal f16
            std::memcpy(&w.scales[2 * i], &h, 2);
        }
    }
    if (s.hasBias) {
        w.bias.resize(static_cast<size_t>(n));
        for (auto &b : w.bias) b = static_cast<float>(static_cast<int>(rng() % 200) - 100) / 50.0f;
    }
    return w;
}

// The distinct packed layouts of the variants this CPU runs (with one target each).
std::vector<std::pair<LinearLayout, std::string>> layoutsOf(const kf_kernel_def *def) {
    std::vector<std::pair<LinearLayout, std::string>> out;
    for (int i = 0; i < def->numVariants; ++i) {
        if (!kf_variant_supported(def, i)) continue;
        const LinearLayout &L = kf::rt::linearData(def->variants[i]).layout;
        bool seen = false;
        for (const auto &o : out) seen |= kf::rt::samePackedLayout(o.first, L);
        if (!seen) out.emplace_back(L, def->variants[i].target);
    }
    return out;
}

struct Entry {
    std::string name;
    const kf_kernel_def *def;
    const Weights *w;
    std::vector<std::pair<LinearLayout, std::string>> layouts;
};

// A packed-weights file as kforge quantize writes it (header, images at 64
// mod 4096, directory at the end).
std::vector<uint8_t> fileBytes(const std::vector<Entry> &entries) {
    std::vector<uint8_t> bytes;
    kf::rt::WeightsFileWriter writer([&](uint64_t offset, const void *p, std::size_t n) {
        bytes.resize(std::max<std::size_t>(bytes.size(), offset + n));
        std::memcpy(bytes.data() + offset, p, n);
    });
    for (const Entry &e : entries) {
        kf::rt::WeightsLayer l;
        l.name = e.name;
        l.kernel = e.def->name;
        l.spec = *kf::rt::linearSpec(e.def);
        l.format = l.spec.weightFormat;
        l.n = e.w->n;
        l.k = e.w->k;
        writer.addLayer(l);
        for (const auto &[L, target] : e.layouts) {
            std::vector<uint8_t> image;
            EXPECT_EQ(kf::rt::packImage(l.spec, L, l.n, l.k, e.w->view(), "test", e.def->name, image), KF_OK)
                << kf_last_error();
            writer.addImage(L, target, image);
        }
    }
    writer.finish();
    return bytes;
}

class WeightsFile : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("kforge-weights-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string write(const std::string &name, const std::vector<uint8_t> &bytes) {
        const std::string p = (dir_ / name).string();
        std::ofstream f(p, std::ios::binary);
        f.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        return p;
    }
    fs::path dir_;
};

std::vector<float> runLayer(kf_linear *layer, int64_t m, int64_t k, int64_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n), -1.0f);
    for (auto &v : x) v = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 500.0f;
    EXPECT_EQ(kf_linear_run(layer, x.data(), m, y.data(), 1), KF_OK) << kf_last_error();
    return y;
}

void expectError(kf_status got, kf_status want, const std::string &fragment) {
    EXPECT_EQ(got, want) << kf_status_name(got) << ": " << kf_last_error();
    EXPECT_NE(std::string(kf_last_error()).find(fragment), std::string::npos) << kf_last_error();
}

TEST_F(WeightsFile, LoadedLayersRunLikePackedOnesOnEveryVariant) {
    // Formats, scale types, bias, int8 activations and non-default layouts
    // (nibbles, bitplanes, bytes, interleave 32), at shapes with padding.
    const kf_kernel_def *defs[] = {kf_test_lowbit_int4_g128_f16(), kf_test_lowbit_int4_bitplanes(),
                                   kf_test_lowbit_int3_nibbles(), kf_test_lowbit_int2_bytes()};
    const int64_t n = 37, k = 320;
    std::vector<Weights> ws;
    for (const auto *d : defs) ws.push_back(randomWeights(d, n, k, static_cast<unsigned>(ws.size() + 1)));
    std::vector<Entry> entries;
    for (size_t i = 0; i < ws.size(); ++i) entries.push_back({std::string("layer.") + defs[i]->name, defs[i], &ws[i], layoutsOf(defs[i])});
    const std::string path = write("model.kfw", fileBytes(entries));

    for (int flags : {KF_WEIGHTS_MAP, KF_WEIGHTS_COPY}) {
        kf_weights *file = nullptr;
        ASSERT_EQ(kf_weights_open(path.c_str(), flags, &file), KF_OK) << kf_last_error();
        ASSERT_EQ(kf_weights_num_layers(file), 4);
        for (size_t i = 0; i < ws.size(); ++i) {
            const kf_kernel_def *def = defs[i];
            kf_weights_layer_info info;
            ASSERT_EQ(kf_weights_layer(file, static_cast<int64_t>(i), &info), KF_OK);
            EXPECT_EQ(std::string(info.name), entries[i].name);
            EXPECT_EQ(std::string(info.kernel_name), def->name);
            EXPECT_EQ(info.n, n);
            EXPECT_EQ(info.k, k);
            EXPECT_EQ(info.num_packings, static_cast<int>(entries[i].layouts.size()));
            for (int v = 0; v < def->numVariants; ++v) {
                if (!kf_variant_supported(def, v) || def->variants[v].bucket != kf::rt::kBucketAny) continue;
                const char *variant = kf_variant_name(def, v);
                SCOPED_TRACE(std::string(def->name) + " " + variant + (flags ? " copy" : " map"));
                kf_linear *loaded = nullptr, *packed = nullptr;
                ASSERT_EQ(kf_linear_load(def, file, entries[i].name.c_str(), variant, &loaded), KF_OK) << kf_last_error();
                ASSERT_EQ(kf_linear_create(def, n, k, variant, &packed), KF_OK);
                const kf_linear_weights wv = ws[i].view();
                ASSERT_EQ(kf_linear_pack_weights(packed, &wv), KF_OK) << kf_last_error();
                EXPECT_STREQ(kf_linear_variant(loaded), variant);
                EXPECT_EQ(kf_linear_packed_bytes(loaded), kf_linear_packed_bytes(packed));
                for (int64_t m : {1, 5, 33}) {
                    const auto a = runLayer(loaded, m, k, n, 7), b = runLayer(packed, m, k, n, 7);
                    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "M=" << m;
                }
                // Unpacking a loaded layer gives the codes, scales and bias back.
                std::vector<uint8_t> codes(ws[i].codes.size()), scales(ws[i].scales.size());
                std::vector<float> bias(ws[i].bias.size());
                ASSERT_EQ(kf_linear_unpack_weights(loaded, codes.data(), scales.data(), nullptr, nullptr,
                                                   bias.empty() ? nullptr : bias.data()),
                          KF_OK)
                    << kf_last_error();
                EXPECT_EQ(codes, ws[i].codes);
                EXPECT_EQ(scales, ws[i].scales);
                EXPECT_EQ(bias, ws[i].bias);
                kf_linear_destroy(loaded);
                kf_linear_destroy(packed);
            }
        }
        kf_weights_close(file);
    }
}

TEST_F(WeightsFile, LayersOutliveTheHandleAndRepackingLeavesTheFileAlone) {
    const kf_kernel_def *def = kf_test_lowbit_int4_g128_f16();
    const Weights w = randomWeights(def, 40, 256, 3), w2 = randomWeights(def, 40, 256, 4);
    const std::vector<uint8_t> bytes = fileBytes({{"a", def, &w, layoutsOf(def)}});
    const std::string path = write("a.kfw", bytes);
    kf_weights *file = nullptr;
    ASSERT_EQ(kf_weights_open(path.c_str(), KF_WEIGHTS_MAP, &file), KF_OK) << kf_last_error();
    kf_linear *loaded = nullptr, *ref = nullptr;
    ASSERT_EQ(kf_linear_load(def, file, "a", nullptr, &loaded), KF_OK) << kf_last_error();
    kf_weights_close(file);  // the layer keeps the mapping
    ASSERT_EQ(kf_linear_create(def, 40, 256, nullptr, &ref), KF_OK);
    kf_linear_weights v = w.view();
    ASSERT_EQ(kf_linear_pack_weights(ref, &v), KF_OK);
    auto a = runLayer(loaded, 2, 256, 40, 1), b = runLayer(ref, 2, 256, 40, 1);
    EXPECT_EQ(a, b);
    // Packing other weights into a loaded layer gives it storage of its own
    // (the mapping is read-only): no crash, and the file is unchanged.
    v = w2.view();
    ASSERT_EQ(kf_linear_pack_weights(loaded, &v), KF_OK) << kf_last_error();
    ASSERT_EQ(kf_linear_pack_weights(ref, &v), KF_OK);
    a = runLayer(loaded, 2, 256, 40, 1);
    b = runLayer(ref, 2, 256, 40, 1);
    EXPECT_EQ(a, b);
    std::ifstream f(path, std::ios::binary);
    std::vector<uint8_t> after((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(after, bytes);
    kf_linear_destroy(loaded);
    kf_linear_destroy(ref);
}

TEST_F(WeightsFile, AnotherKernelOrAMissingLayoutIsRefusedWithWhatTheFileHas) {
    const kf_kernel_def *def = kf_test_lowbit_int4_bitplanes();
    const Weights w = randomWeights(def, 40, 256, 5);
    // The first variant's layout with a tile height no variant of the kernel packs.
    auto layouts = layoutsOf(def);
    ASSERT_FALSE(layouts.empty());
    for (int interleave = 16;; interleave += 16) {
        bool used = false;
        for (int v = 0; v < def->numVariants; ++v) used |= kf::rt::linearData(def->variants[v]).layout.interleave == interleave;
        if (!used) {
            layouts[0].first.interleave = interleave;
            break;
        }
    }
    layouts.resize(1);
    const std::string path = write("b.kfw", fileBytes({{"b", def, &w, layouts}}));
    kf_weights *file = nullptr;
    ASSERT_EQ(kf_weights_open(path.c_str(), KF_WEIGHTS_MAP, &file), KF_OK) << kf_last_error();
    kf_linear *layer = nullptr;
    expectError(kf_linear_load(def, file, "nope", nullptr, &layer), KF_ERR_INVALID_ARGUMENT, "layer 'nope' is not in the file");
    expectError(kf_linear_load(kf_test_lowbit_int4_g32_f32(), file, "b", nullptr, &layer), KF_ERR_INVALID_ARGUMENT,
                "was quantized for kernel 'int4_bitplanes' (int4, group 32, f32 scales, f32 input, bias)");
    for (int v = 0; v < def->numVariants; ++v)
        if (kf_variant_supported(def, v))
            expectError(kf_linear_load(def, file, "b", kf_variant_name(def, v), &layer), KF_ERR_INVALID_ARGUMENT,
                        "has no packing in the layout of variant");
    EXPECT_NE(std::string(kf_last_error()).find("interleave " + std::to_string(layouts[0].first.interleave)),
              std::string::npos)
        << kf_last_error();
    EXPECT_EQ(layer, nullptr);
    expectError(kf_linear_load(def, nullptr, "b", nullptr, &layer), KF_ERR_NULL_POINTER, "must not be NULL");
    kf_weights_layer_info info;
    expectError(kf_weights_layer(file, 1, &info), KF_ERR_INVALID_ARGUMENT, "index 1 is out of range (1 layers)");
    kf_weights_close(file);
}

TEST_F(WeightsFile, DamagedFilesAreRefusedWithThePathAndWhatIsWrong) {
    const kf_kernel_def *def = kf_test_lowbit_int4_g128_f16();
    const Weights w = randomWeights(def, 16, 128, 6);
    const std::vector<uint8_t> good = fileBytes({{"a", def, &w, layoutsOf(def)}});
    kf_weights *file = nullptr;
    auto expectOpen = [&](const std::vector<uint8_t> &bytes, const std::string &fragment) {
        const std::string p = write("bad.kfw", bytes);
        expectError(kf_weights_open(p.c_str(), KF_WEIGHTS_MAP, &file), KF_ERR_INVALID_ARGUMENT, fragment);
        EXPECT_NE(std::string(kf_last_error()).find("kf_weights_open: " + p + ": "), std::string::npos);
        EXPECT_EQ(file, nullptr);
    };
    expectOpen({good.begin(), good.end() - 1}, "truncated or appended to");
    auto b = good;
    b.push_back(0);
    expectOpen(b, "truncated or appended to");
    b = good;
    b[0] = 'X';
    expectOpen(b, "not a kforge packed-weights file");
    b = good;
    b[8] = 9;
    expectOpen(b, "version 9 of the format");
    b = good;
    b[b.size() - 3] ^= 1;  // a string of the directory
    expectOpen(b, "checksum does not match");
    b = good;
    b[24] = 1;  // the directory's offset, inside the header
    expectOpen(b, "directory");
    expectOpen({good.begin(), good.begin() + 10}, "not a kforge packed-weights file");
    const std::string missing = (dir_ / "missing.kfw").string();
    expectError(kf_weights_open(missing.c_str(), KF_WEIGHTS_MAP, &file), KF_ERR_INVALID_ARGUMENT,
                missing + ": No such file or directory");
    expectError(kf_weights_open(missing.c_str(), 7, &file), KF_ERR_INVALID_ARGUMENT, "flags must be");
    // Every truncation of the directory region is caught (no read past the end).
    for (size_t cut = good.size() - 1; cut > good.size() - 200; --cut) {
        const std::string p = write("cut.kfw", {good.begin(), good.begin() + static_cast<long>(cut)});
        ASSERT_NE(kf_weights_open(p.c_str(), KF_WEIGHTS_MAP, &file), KF_OK);
    }
}

TEST(WeightsFormat, ImagesStartAt64Modulo4096) {
    EXPECT_EQ(kf::rt::nextImageOffset(0), 64u);
    EXPECT_EQ(kf::rt::nextImageOffset(64), 64u);
    EXPECT_EQ(kf::rt::nextImageOffset(65), 4096u + 64);
    EXPECT_EQ(kf::rt::nextImageOffset(4096), 4096u + 64);
    EXPECT_EQ(kf::rt::nextImageOffset(4096 + 64), 4096u + 64);
    EXPECT_EQ(kf::rt::nextImageOffset(8191), 8192u + 64);
}

}  // namespace
