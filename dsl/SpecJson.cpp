#include "dsl/SpecJson.h"

#include "dsl/families/hadamard/HadamardMatrix.h"

#include <nlohmann/json.hpp>

#include <type_traits>

namespace kf::dsl {

namespace {

using Json = nlohmann::ordered_json;

Json locJson(const SourceLoc &l) { return Json{{"line", l.line}, {"col", l.col}}; }

Json dimJson(const Dim &d) {
    Json j;
    j["name"] = d.name;
    j["size"] = d.size ? Json(*d.size) : Json(nullptr);
    return j;
}

Json weightJson(const WeightFormat &w) {
    Json j;
    j["format"] = formatName(w);
    j["kind"] = toString(w.kind);
    j["bits"] = w.bits;
    j["ternary_base3"] = w.ternaryBase3;
    j["per_channel_codebook"] = w.perChannelCodebook;
    return j;
}

Json paramsJson(const LowbitLinearParams &p) {
    Json j;
    j["weight"] = weightJson(p.weight);
    j["n"] = dimJson(p.n);
    j["k"] = dimJson(p.k);
    j["scale_type"] = toString(p.scaleType);
    j["group"] = p.group;
    j["zero_point"] = p.zeroPoint;
    j["bias"] = p.bias;
    j["input"] = toString(p.input);
    j["output"] = toString(p.output);
    j["rows"] = p.rows;
    return j;
}

Json paramsJson(const HadamardParams &p) {
    Json j;
    j["n"] = dimJson(p.n);
    j["m"] = p.m;
    j["matrix_file"] = p.matrixFile ? Json(*p.matrixFile) : Json(nullptr);
    j["input"] = toString(p.input);
    j["output"] = toString(p.output);
    j["rows"] = p.rows;
    // The matrix a file gave, one string of + and - per row: the tuning
    // database keys on a hash of this JSON, and two files of one order hold
    // different matrices. Built-in orders are fixed by m (null here).
    j["matrix"] = p.matrix.empty() ? Json(nullptr) : Json(kf::families::hadamard::signRows(p.matrix, p.m));
    return j;
}

Json paramsJson(const RotationAttentionParams &p) {
    Json j;
    j["head_dim"] = p.headDim;
    j["num_heads"] = p.numHeads;
    j["num_kv_heads"] = p.numKvHeads;
    j["kv_bits"] = p.kvBits;
    j["kv_group"] = p.kvGroup;
    j["causal"] = p.causal;
    j["rotate"] = p.rotate;
    j["rope"] = p.rope;
    j["input"] = toString(p.input);
    return j;
}

Json paramsJson(const SparseRankLinearParams &p) {
    Json j;
    j["weight"] = p.denseWeight ? Json(nullptr) : weightJson(p.weight);
    j["dense_weight"] = p.denseWeight;
    j["n"] = dimJson(p.n);
    j["k"] = dimJson(p.k);
    j["rank"] = p.rank;
    j["mode"] = p.mode == SparsityMode::TopK ? "topk" : "threshold";
    j["topk"] = p.topK;
    j["scale_type"] = toString(p.scaleType);
    j["group"] = p.group;
    j["input"] = toString(p.input);
    return j;
}

Json directiveJson(const Directive &d, bool withFactor) {
    Json j;
    j["kind"] = toString(d.kind);
    j["vars"] = d.vars;
    if (withFactor) j["factor"] = d.factor;
    Json opts = Json::object();
    for (const auto &[k, v] : d.options) opts[k] = v;
    j["options"] = opts;
    j["loc"] = locJson(d.loc);
    return j;
}

}  // namespace

std::string toJson(const Module &module) {
    Json root;
    root["file"] = module.file;
    Json kernels = Json::array();
    for (const auto &k : module.kernels) {
        Json j;
        j["name"] = k.name;
        j["family"] = toString(k.family);
        j["params"] = std::visit([](const auto &p) { return paramsJson(p); }, k.params);
        j["loc"] = locJson(k.loc);
        kernels.push_back(std::move(j));
    }
    root["kernels"] = std::move(kernels);
    Json schedules = Json::array();
    for (const auto &s : module.schedules) {
        Json j;
        j["kernel"] = s.kernel;
        j["target"] = s.target;
        j["bucket"] = toString(s.bucket);
        Json dirs = Json::array();
        for (const auto &d : s.directives) dirs.push_back(directiveJson(d, true));
        j["directives"] = std::move(dirs);
        if (s.tune) {
            Json axes = Json::array();
            for (const auto &a : s.tune->axes) {
                Json aj;
                aj["kind"] = toString(a.directive.kind);
                aj["vars"] = a.directive.vars;
                aj["option"] = a.option;
                aj["values"] = a.values;
                if (!a.words.empty()) aj["words"] = a.words;
                aj["loc"] = locJson(a.loc);
                axes.push_back(std::move(aj));
            }
            j["tune"] = Json{{"axes", std::move(axes)}, {"loc", locJson(s.tune->loc)}};
        } else {
            j["tune"] = nullptr;
        }
        j["loc"] = locJson(s.loc);
        schedules.push_back(std::move(j));
    }
    root["schedules"] = std::move(schedules);
    return root.dump(2);
}

}  // namespace kf::dsl
