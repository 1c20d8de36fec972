// Packed-weights files (WeightsFile.h): encoding, checking, and the C ABI
// that opens them and loads layers from them (kforge/linear.h).
#include "runtime/lowbit_linear/WeightsFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/Dispatch.h"
#include "runtime/Error.h"
#include "runtime/lowbit_linear/LayerAccess.h"
#include "runtime/lowbit_linear/Pack.h"

using kf::rt::fail;

namespace kf::rt {

namespace {

constexpr size_t kLayerRecordBytes = 96;
constexpr size_t kPackingRecordBytes = 128;
constexpr int64_t kMaxDim = int64_t(1) << 31;

uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

// Little-endian fields at fixed positions of a record.
void put32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(std::vector<uint8_t> &b, size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(p[i]) << (8 * i);
    return v;
}
uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
}
int32_t geti(const uint8_t *p) { return static_cast<int32_t>(get32(p)); }

// Strings: appended to a pool, referenced as (offset, length) within it.
struct StringPool {
    std::vector<uint8_t> bytes;
    void put(std::vector<uint8_t> &rec, size_t at, const std::string &s) {
        put32(rec, at, static_cast<uint32_t>(bytes.size()));
        put32(rec, at + 4, static_cast<uint32_t>(s.size()));
        bytes.insert(bytes.end(), s.begin(), s.end());
    }
};

}  // namespace

uint64_t nextImageOffset(uint64_t end) {
    const uint64_t r = end % 4096;
    return end - r + (r <= kWeightsImagePageOffset ? 0 : 4096) + kWeightsImagePageOffset;
}

std::vector<uint8_t> encodeWeightsDirectory(const std::vector<WeightsLayer> &layers) {
    size_t numPackings = 0;
    for (const auto &l : layers) numPackings += l.packings.size();
    std::vector<uint8_t> rec(layers.size() * kLayerRecordBytes + numPackings * kPackingRecordBytes, 0);
    StringPool pool;
    size_t packing = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
        const WeightsLayer &l = layers[i];
        const size_t at = i * kLayerRecordBytes;
        pool.put(rec, at, l.name);
        pool.put(rec, at + 8, l.kernel);
        pool.put(rec, at + 16, l.format);
        put64(rec, at + 24, static_cast<uint64_t>(l.n));
        put64(rec, at + 32, static_cast<uint64_t>(l.k));
        const int32_t fields[8] = {l.spec.bits,       l.spec.group,   l.spec.scaleType,         l.spec.weightKind,
                                   l.spec.actType,    l.spec.hasBias, l.spec.codebookPerChannel, l.spec.ternaryBase3};
        for (int f = 0; f < 8; ++f) put32(rec, at + 40 + 4 * f, static_cast<uint32_t>(fields[f]));
        put32(rec, at + 72, static_cast<uint32_t>(packing));
        put32(rec, at + 76, static_cast<uint32_t>(l.packings.size()));
        for (const WeightsPacking &p : l.packings) {
            const size_t pa = layers.size() * kLayerRecordBytes + packing * kPackingRecordBytes;
            const LinearLayout &L = p.layout;
            const int32_t lf[8] = {L.bits, L.interleave, L.kBlock, L.kAlign, L.group, L.scaleType, L.numPlanes, L.codeView};
            for (int f = 0; f < 8; ++f) put32(rec, pa + 4 * f, static_cast<uint32_t>(lf[f]));
            for (int q = 0; q < kMaxPlanes; ++q) {
                put32(rec, pa + 32 + 8 * q, static_cast<uint32_t>(q < L.numPlanes ? L.planes[q].width : 0));
                put32(rec, pa + 36 + 8 * q, static_cast<uint32_t>(q < L.numPlanes ? L.planes[q].shift : 0));
            }
            put64(rec, pa + 96, p.offset);
            put64(rec, pa + 104, p.bytes);
            pool.put(rec, pa + 112, p.targets);
            ++packing;
        }
    }
    rec.insert(rec.end(), pool.bytes.begin(), pool.bytes.end());
    return rec;
}

std::vector<uint8_t> encodeWeightsHeader(const std::vector<WeightsLayer> &layers, uint64_t directoryOffset,
                                         const std::vector<uint8_t> &directory) {
    size_t numPackings = 0;
    for (const auto &l : layers) numPackings += l.packings.size();
    std::vector<uint8_t> h(kWeightsHeaderBytes, 0);
    std::memcpy(h.data(), kWeightsMagic, 8);
    put32(h, 8, kWeightsVersion);
    put32(h, 12, static_cast<uint32_t>(layers.size()));
    put32(h, 16, static_cast<uint32_t>(numPackings));
    put64(h, 24, directoryOffset);
    put64(h, 32, directory.size());
    put64(h, 40, fnv1a(directory.data(), directory.size()));
    put64(h, 48, directoryOffset + directory.size());
    return h;
}

kf_status packImage(const LinearSpec &spec, const LinearLayout &layout, int64_t n, int64_t k,
                    const kf_linear_weights &w, const char *fn, const std::string &kernel, std::vector<uint8_t> &image) {
    const LinearGeometry g = geometryFor(layout, n, k);
    const StoragePlan plan = storagePlan(spec, layout, g);
    image.assign(plan.total, 0);
    return packInto(spec, layout, g, plan, w, image.data(), fn, kernel);
}

WeightsFileWriter::WeightsFileWriter(Write write) : write_(std::move(write)) {
    const std::vector<uint8_t> header(kWeightsHeaderBytes, 0);  // written for real by finish()
    append(header.data(), header.size());
}

void WeightsFileWriter::append(const void *bytes, std::size_t n) {
    write_(end_, bytes, n);
    end_ += n;
}

void WeightsFileWriter::addLayer(WeightsLayer layer) { layers_.push_back(std::move(layer)); }

void WeightsFileWriter::addImage(const LinearLayout &layout, const std::string &targets,
                                 const std::vector<uint8_t> &image) {
    static const std::vector<uint8_t> zeros(4096, 0);
    append(zeros.data(), nextImageOffset(end_) - end_);
    layers_.back().packings.push_back({layout, end_, image.size(), targets});
    append(image.data(), image.size());
}

uint64_t WeightsFileWriter::finish() {
    const uint64_t dirOffset = end_;
    const std::vector<uint8_t> dir = encodeWeightsDirectory(layers_);
    append(dir.data(), dir.size());
    const std::vector<uint8_t> header = encodeWeightsHeader(layers_, dirOffset, dir);
    write_(0, header.data(), header.size());
    return end_;
}

bool decodeWeightsFile(const uint8_t *bytes, size_t size, std::vector<WeightsLayer> &layers, std::string &error) {
    layers.clear();
    auto bad = [&](std::string what) {
        error = std::move(what);
        layers.clear();
        return false;
    };
    if (size < kWeightsHeaderBytes || std::memcmp(bytes, kWeightsMagic, 8) != 0)
        return bad("not a kforge packed-weights file (no KFWEIGHT header)");
    if (get32(bytes + 8) != kWeightsVersion)
        return bad("version " + std::to_string(get32(bytes + 8)) + " of the format; this kforge reads version " +
                   std::to_string(kWeightsVersion));
    const uint64_t numLayers = get32(bytes + 12), numPackings = get32(bytes + 16);
    const uint64_t dirOffset = get64(bytes + 24), dirBytes = get64(bytes + 32), fileBytes = get64(bytes + 48);
    if (fileBytes != size)
        return bad("the header says " + std::to_string(fileBytes) + " bytes, the file has " + std::to_string(size) +
                   " (truncated or appended to)");
    if (dirOffset < kWeightsHeaderBytes || dirOffset > size || dirBytes > size - dirOffset)
        return bad("the directory lies outside the file");
    const uint64_t records = numLayers * kLayerRecordBytes + numPackings * kPackingRecordBytes;
    if (records > dirBytes) return bad("the directory is shorter than its " + std::to_string(numLayers) +
                                       " layer and " + std::to_string(numPackings) + " packing records");
    const uint8_t *dir = bytes + dirOffset;
    if (fnv1a(dir, dirBytes) != get64(bytes + 40)) return bad("the directory's checksum does not match (damaged file)");
    const uint8_t *strings = dir + records;
    const uint64_t stringBytes = dirBytes - records;
    auto str = [&](const uint8_t *p, std::string &out) {
        const uint64_t off = get32(p), len = get32(p + 4);
        if (off > stringBytes || len > stringBytes - off) return false;
        out.assign(reinterpret_cast<const char *>(strings + off), len);
        return true;
    };
    layers.resize(numLayers);
    uint64_t expectedPacking = 0;
    for (uint64_t i = 0; i < numLayers; ++i) {
        const std::string where = "layer " + std::to_string(i);
        const uint8_t *r = dir + i * kLayerRecordBytes;
        WeightsLayer &l = layers[i];
        if (!str(r, l.name) || !str(r + 8, l.kernel) || !str(r + 16, l.format))
            return bad(where + ": a name lies outside the string table");
        l.n = static_cast<int64_t>(get64(r + 24));
        l.k = static_cast<int64_t>(get64(r + 32));
        if (l.n <= 0 || l.k <= 0 || l.n >= kMaxDim || l.k >= kMaxDim)
            return bad(where + " (" + l.name + "): shape " + std::to_string(l.n) + "x" + std::to_string(l.k) +
                       " is out of range");
        l.spec.bits = geti(r + 40);
        l.spec.group = geti(r + 44);
        l.spec.scaleType = static_cast<kf_scale_type>(geti(r + 48));
        l.spec.weightKind = static_cast<kf_weight_kind>(geti(r + 52));
        l.spec.actType = static_cast<kf_act_type>(geti(r + 56));
        l.spec.hasBias = geti(r + 60);
        l.spec.codebookPerChannel = geti(r + 64);
        l.spec.ternaryBase3 = geti(r + 68);
        l.spec.n = l.n;
        l.spec.k = l.k;
        const uint64_t first = get32(r + 72), count = get32(r + 76);
        if (first != expectedPacking || count == 0 || count > numPackings - first)
            return bad(where + " (" + l.name + "): its packing records are not the next ones");
        expectedPacking += count;
        for (uint64_t q = 0; q < count; ++q) {
            const uint8_t *p = dir + numLayers * kLayerRecordBytes + (first + q) * kPackingRecordBytes;
            WeightsPacking pk;
            LinearLayout &L = pk.layout;
            L.bits = geti(p);
            L.interleave = geti(p + 4);
            L.kBlock = geti(p + 8);
            L.kAlign = geti(p + 12);
            L.group = geti(p + 16);
            L.scaleType = static_cast<kf_scale_type>(geti(p + 20));
            L.numPlanes = geti(p + 24);
            L.codeView = geti(p + 28);
            if (L.numPlanes < 1 || L.numPlanes > kMaxPlanes)
                return bad(where + " (" + l.name + "): a packing has " + std::to_string(L.numPlanes) + " planes");
            for (int s = 0; s < kMaxPlanes; ++s) L.planes[s] = {geti(p + 32 + 8 * s), geti(p + 36 + 8 * s)};
            pk.offset = get64(p + 96);
            pk.bytes = get64(p + 104);
            if (!str(p + 112, pk.targets)) return bad(where + ": a target name lies outside the string table");
            if (pk.offset % 4096 != kWeightsImagePageOffset || pk.offset < kWeightsHeaderBytes || pk.offset > dirOffset ||
                pk.bytes > dirOffset - pk.offset)
                return bad(where + " (" + l.name + "): a packed image lies outside the file's image area");
            l.packings.push_back(pk);
        }
    }
    if (expectedPacking != numPackings) return bad("the directory has packing records no layer refers to");
    for (auto &l : layers) l.spec.weightFormat = l.format.c_str();
    return true;
}

std::string describeLayout(const LinearLayout &L) {
    static const char *scale[] = {"f32", "f16", "bf16"};
    std::string s = std::to_string(L.bits) + "-bit codes in planes";
    for (int p = 0; p < L.numPlanes && p < kMaxPlanes; ++p)
        s += (p ? " + " : " ") + (L.planes[p].width ? std::to_string(L.planes[p].width) : std::string("base3")) + "@" +
             std::to_string(L.planes[p].shift);
    s += ", interleave " + std::to_string(L.interleave) + ", k-block " + std::to_string(L.kBlock) + ", k-align " +
         std::to_string(L.kAlign) + ", " + (L.group ? "group " + std::to_string(L.group) : std::string("per channel")) +
         ", " + (L.scaleType >= 0 && L.scaleType <= 2 ? scale[L.scaleType] : "?") + " scales, " +
         (L.codeView ? "int8-dot" : "f32") + " kernels";
    return s;
}

}  // namespace kf::rt

// The C ABI.
struct kf_weights {
    std::string path;
    std::shared_ptr<const void> mapping;  // the whole file, read-only
    const uint8_t *bytes = nullptr;
    size_t size = 0;
    bool copy = false;
    std::vector<kf::rt::WeightsLayer> layers;
};

namespace {

std::string specText(const kf::rt::LinearSpec &s) {
    static const char *scale[] = {"f32", "f16", "bf16"};
    static const char *act[] = {"f32", "bf16", "int8"};
    std::string t = std::string(s.weightFormat ? s.weightFormat : "?") + (s.ternaryBase3 ? " (base 3)" : "") + ", " +
                    (s.group ? "group " + std::to_string(s.group) : std::string("per channel")) + ", " +
                    (s.scaleType >= 0 && s.scaleType <= 2 ? scale[s.scaleType] : "?") + " scales, " +
                    (s.actType >= 0 && s.actType <= 2 ? act[s.actType] : "?") + " input" +
                    (s.hasBias ? ", bias" : "");
    return t;
}

bool sameSpec(const kf::rt::LinearSpec &a, const kf::rt::LinearSpec &b) {
    return std::strcmp(a.weightFormat, b.weightFormat) == 0 && a.bits == b.bits && a.group == b.group &&
           a.scaleType == b.scaleType && a.weightKind == b.weightKind && a.actType == b.actType &&
           a.hasBias == b.hasBias && a.codebookPerChannel == b.codebookPerChannel && a.ternaryBase3 == b.ternaryBase3;
}

}  // namespace

extern "C" {

kf_status kf_weights_open(const char *path, int flags, kf_weights **out) {
    kf::rt::clearError();
    if (!path || !out) return fail(KF_ERR_NULL_POINTER, "kf_weights_open: path and out must not be NULL");
    *out = nullptr;
    if (flags != KF_WEIGHTS_MAP && flags != KF_WEIGHTS_COPY)
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_weights_open: flags must be KF_WEIGHTS_MAP or KF_WEIGHTS_COPY, got " +
                                                 std::to_string(flags));
    const std::string p = path;
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(KF_ERR_INVALID_ARGUMENT, "kf_weights_open: " + p + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_weights_open: " + p + ": not a regular file");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size < kf::rt::kWeightsHeaderBytes) {
        ::close(fd);
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_weights_open: " + p + ": not a kforge packed-weights file (" +
                                                 std::to_string(size) + " bytes)");
    }
    void *m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) return fail(KF_ERR_INVALID_ARGUMENT, "kf_weights_open: " + p + ": mmap: " + std::strerror(errno));
    std::shared_ptr<const void> mapping(m, [size](const void *q) { ::munmap(const_cast<void *>(q), size); });
    auto file = std::unique_ptr<kf_weights>(new (std::nothrow) kf_weights);
    if (!file) return fail(KF_ERR_OUT_OF_MEMORY, "kf_weights_open: out of memory");
    file->path = p;
    file->mapping = mapping;
    file->bytes = static_cast<const uint8_t *>(m);
    file->size = size;
    file->copy = flags == KF_WEIGHTS_COPY;
    std::string error;
    try {
        if (!kf::rt::decodeWeightsFile(file->bytes, size, file->layers, error))
            return fail(KF_ERR_INVALID_ARGUMENT, "kf_weights_open: " + p + ": " + error);
    } catch (const std::bad_alloc &) {
        return fail(KF_ERR_OUT_OF_MEMORY, "kf_weights_open: " + p + ": out of memory");
    }
    *out = file.release();
    return KF_OK;
}

void kf_weights_close(kf_weights *file) { delete file; }

int64_t kf_weights_num_layers(const kf_weights *file) { return file ? static_cast<int64_t>(file->layers.size()) : 0; }

kf_status kf_weights_layer(const kf_weights *file, int64_t i, kf_weights_layer_info *info) {
    kf::rt::clearError();
    if (!file || !info) return fail(KF_ERR_NULL_POINTER, "kf_weights_layer: file and info must not be NULL");
    if (i < 0 || i >= static_cast<int64_t>(file->layers.size()))
        return fail(KF_ERR_INVALID_ARGUMENT, "kf_weights_layer: index " + std::to_string(i) + " is out of range (" +
                                                 std::to_string(file->layers.size()) + " layers)");
    const kf::rt::WeightsLayer &l = file->layers[static_cast<size_t>(i)];
    info->name = l.name.c_str();
    info->kernel_name = l.kernel.c_str();
    info->weight_format = l.format.c_str();
    info->n = l.n;
    info->k = l.k;
    info->num_packings = static_cast<int>(l.packings.size());
    return KF_OK;
}

kf_status kf_linear_load(const kf_kernel_def *def, const kf_weights *file, const char *name, const char *variant,
                         kf_linear **out) {
    kf::rt::clearError();
    if (!def || !file || !name || !out)
        return fail(KF_ERR_NULL_POINTER, "kf_linear_load: def, file, name and out must not be NULL");
    *out = nullptr;
    const kf::rt::LinearSpec *spec = kf::rt::linearSpec(def);
    if (!spec)
        return fail(KF_ERR_INVALID_ARGUMENT, std::string("kf_linear_load: kernel '") + def->name +
                                                 "' is not a lowbit_linear kernel");
    const kf::rt::WeightsLayer *layer = nullptr;
    for (const auto &l : file->layers)
        if (l.name == name) layer = &l;
    const std::string where = "kf_linear_load: " + file->path + ": layer '" + name + "'";
    if (!layer) return fail(KF_ERR_INVALID_ARGUMENT, where + " is not in the file");
    if (!sameSpec(*spec, layer->spec))
        return fail(KF_ERR_INVALID_ARGUMENT, where + " was quantized for kernel '" + layer->kernel + "' (" +
                                                 specText(layer->spec) + "); kernel '" + def->name + "' is " +
                                                 specText(*spec));
    kf_linear *created = nullptr;
    if (kf_status s = kf_linear_create(def, layer->n, layer->k, variant, &created)) {
        const std::string why = kf_last_error();
        return fail(s, where + ": " + why);
    }
    std::unique_ptr<kf_linear, void (*)(kf_linear *)> owned(created, kf_linear_destroy);
    const kf::rt::Variant *v = kf::rt::layerVariant(created);
    const kf::rt::LinearLayout &want = kf::rt::linearData(*v).layout;
    std::string have;
    for (const auto &p : layer->packings) {
        if (!kf::rt::samePackedLayout(p.layout, want)) {
            have += "\n  " + kf::rt::describeLayout(p.layout) + " (for " + p.targets + ")";
            continue;
        }
        const kf::rt::StoragePlan &plan = kf::rt::layerStoragePlan(created);
        if (p.bytes != plan.total)
            return fail(KF_ERR_INVALID_ARGUMENT, where + ": its packed image has " + std::to_string(p.bytes) +
                                                     " bytes, the layout needs " + std::to_string(plan.total) +
                                                     " (damaged file)");
        if (kf_status s = kf::rt::adoptStorage(created, file->mapping, file->bytes + p.offset, file->copy)) return s;
        *out = owned.release();
        return KF_OK;
    }
    return fail(KF_ERR_INVALID_ARGUMENT, where + " has no packing in the layout of variant " + v->symbol + " (" +
                                             kf::rt::describeLayout(want) + "); the file has:" + have +
                                             "\nquantize for this variant's target: kforge quantize -t " + std::string(v->target));
}

}  // extern "C"
