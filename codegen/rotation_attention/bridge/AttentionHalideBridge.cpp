#include "codegen/rotation_attention/bridge/AttentionHalideBridge.h"

#include <cstdint>

#include "codegen/backends/halide/bridge/HalideBuffers.h"

namespace kf::bridge {

namespace {

const halide_type_t kF32(halide_type_float, 32), kU8(halide_type_uint, 8), kU16(halide_type_uint, 16);

int32_t i32(int64_t v) { return static_cast<int32_t>(v); }

// Dims of a cache view over `tokens` tokens (codes or scales: `width` per token-head).
void cacheDims(halide_dimension_t *dims, int64_t width, int64_t tokens, int64_t kvHeads, int64_t capacity) {
    dims[0] = {0, i32(width), 1, 0};
    dims[1] = {0, i32(tokens), i32(width), 0};
    dims[2] = {0, i32(kvHeads), i32(width * capacity), 0};
}

// Dims of a blocked K view (kforge/detail/Attention.h) over `tokens` tokens:
// (token in block, element or group, block, kv head).
void keyDims(halide_dimension_t *dims, int64_t width, int64_t tokens, int64_t kvHeads, int64_t capacity) {
    const int64_t b = rt::kKeyBlock;
    dims[0] = {0, i32(b), 1, 0};
    dims[1] = {0, i32(width), i32(b), 0};
    dims[2] = {0, i32(rt::keyBlocks(tokens)), i32(width * b), 0};
    dims[3] = {0, i32(kvHeads), i32(rt::blockedTokens(capacity) * width), 0};
}

// codes: codeElems elements of codeType per token-head (int4 / int8: bytes;
// f16: bit patterns; f32: values), codeBytes bytes.
struct Geometry {
    int64_t d, half, codeElems, codeBytes, groups, kvh, nq;
    halide_type_t codeType;
    explicit Geometry(const rt::AttentionSpec &s)
        : d(s.headDim), half(s.headDim / 2), codeElems(rt::codeElemsOf(s)), codeBytes(rt::codeBytesOf(s)),
          groups(rt::groupsOf(s)), kvh(s.numKvHeads), nq(s.numHeads),
          codeType(s.kvBits == 16 ? kU16 : s.kvBits == 32 ? kF32 : kU8) {}
};

}  // namespace

int runAppend(halide::ArgvFn fn, const rt::AppendArgs &a) {
    const Geometry g(*a.spec);
    const int64_t T = a.tokens, cap = a.dst.capacity, pos = a.position;
    halide_dimension_t xDims[3] = {{0, i32(g.d), 1, 0}, {0, i32(g.kvh), i32(g.d), 0}, {0, i32(T), i32(g.kvh * g.d), 0}};
    halide_dimension_t tDims[2] = {{0, i32(g.half), 1, 0}, {0, i32(T), i32(g.half), 0}};
    halide_dimension_t cDims[3], sDims[3];
    cacheDims(cDims, g.codeElems, T, g.kvh, cap);
    cacheDims(sDims, g.groups, T, g.kvh, cap);
    halide_buffer_t x = halide::makeBuffer(a.x, kF32, xDims, 3);
    halide_buffer_t cosB = halide::makeBuffer(a.ropeCos, kF32, tDims, 2);
    halide_buffer_t sinB = halide::makeBuffer(a.ropeSin, kF32, tDims, 2);
    halide_buffer_t codes = halide::makeBuffer(a.dst.codes + pos * g.codeBytes, g.codeType, cDims, 3);
    halide_buffer_t scales = halide::makeBuffer(a.dst.scales + pos * g.groups, kF32, sDims, 3);
    halide_buffer_t zeros = halide::makeBuffer(a.dst.zeros + pos * g.groups, kF32, sDims, 3);
    void *argv[6] = {&x, &cosB, &sinB, &codes, &scales, &zeros};
    return halide::call(fn, argv);
}

int runAttend(halide::ArgvFn fn, const rt::AttendArgs &a) {
    const Geometry g(*a.spec);
    const int64_t T = a.tokens, len = a.length, gs = g.nq / g.kvh;
    halide_dimension_t qDims[3] = {{0, i32(g.d), 1, 0}, {0, i32(g.nq), i32(g.d), 0}, {0, i32(T), i32(g.nq * g.d), 0}};
    halide_dimension_t tDims[2] = {{0, i32(g.half), 1, 0}, {0, i32(T), i32(g.half), 0}};
    halide_dimension_t kcDims[4], ksDims[4], vcDims[3], vsDims[3];
    keyDims(kcDims, g.codeElems, len, g.kvh, a.k.capacity);
    keyDims(ksDims, g.groups, len, g.kvh, a.k.capacity);
    // V is read in whole blocks too.
    cacheDims(vcDims, g.codeElems, rt::blockedTokens(len), g.kvh, a.v.capacity);
    cacheDims(vsDims, g.groups, rt::blockedTokens(len), g.kvh, a.v.capacity);
    halide_dimension_t oDims[4] = {{0, i32(g.d), 1, 0},
                                   {0, i32(gs), i32(g.d), 0},
                                   {0, i32(g.kvh), i32(gs * g.d), 0},
                                   {0, i32(T), i32(g.nq * g.d), 0}};
    halide_buffer_t q = halide::makeBuffer(a.q, kF32, qDims, 3);
    halide_buffer_t cosB = halide::makeBuffer(a.ropeCos, kF32, tDims, 2);
    halide_buffer_t sinB = halide::makeBuffer(a.ropeSin, kF32, tDims, 2);
    halide_buffer_t kc = halide::makeBuffer(a.k.codes, g.codeType, kcDims, 4);
    halide_buffer_t ks = halide::makeBuffer(a.k.scales, kF32, ksDims, 4);
    halide_buffer_t kz = halide::makeBuffer(a.k.zeros, kF32, ksDims, 4);
    halide_buffer_t vc = halide::makeBuffer(a.v.codes, g.codeType, vcDims, 3);
    halide_buffer_t vs = halide::makeBuffer(a.v.scales, kF32, vsDims, 3);
    halide_buffer_t vz = halide::makeBuffer(a.v.zeros, kF32, vsDims, 3);
    halide_buffer_t out = halide::makeBuffer(a.out, kF32, oDims, 4);
    int32_t firstPos = i32(a.firstPos), length = i32(len);
    void *argv[12] = {&q, &cosB, &sinB, &kc, &ks, &kz, &vc, &vs, &vz, &firstPos, &length, &out};
    return halide::call(fn, argv);
}

}  // namespace kf::bridge
