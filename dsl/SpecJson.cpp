#include "dsl/SpecJson.h"

#include "dsl/families/Family.h"

namespace kf::dsl {

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

namespace {

Json locJson(const SourceLoc &l) { return Json{{"line", l.line}, {"col", l.col}}; }





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
        const FamilyDef *family = findFamily(k.family);
        j["params"] = family && family->toJson ? family->toJson(k.params) : Json(nullptr);
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
