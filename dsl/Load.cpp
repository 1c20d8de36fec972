#include "dsl/Load.h"

#include "dsl/Parser.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <filesystem>

namespace kf::dsl {

namespace {

LoadResult failure(const std::string &path, std::string message) {
    LoadResult r;
    Diagnostic d;
    d.loc.file = path;
    d.message = std::move(message);
    r.diagnostics.push_back(std::move(d));
    return r;
}

}  // namespace

LoadResult loadString(const std::string &text, const std::string &fileName, const CheckOptions &options) {
    LoadResult result;
    try {
        if (text.size() > kMaxSourceBytes)
            return failure(fileName, "file is too large (" + std::to_string(text.size()) + " bytes; limit " +
                                         std::to_string(kMaxSourceBytes) + ")");
        SourceFile src(fileName, text);
        DiagnosticSink sink(&src);
        FileAst ast = parse(src, sink);
        Module module = checkModule(ast, fileName, options, sink);
        bool ok = !sink.hasErrors();
        result.diagnostics = sink.take();
        if (ok) result.module = std::move(module);
    } catch (const std::exception &e) {
        // Only allocation failure can get here; report it rather than crash.
        result.module.reset();
        Diagnostic d;
        d.loc.file = fileName;
        d.message = std::string("internal error while reading the file: ") + e.what();
        result.diagnostics.push_back(std::move(d));
    }
    return result;
}

LoadResult loadFile(const std::string &path, const CheckOptions &options) {
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
        return failure(path, "cannot open file: " + (ec ? ec.message() : std::string("no such file")));
    if (!std::filesystem::is_regular_file(status)) return failure(path, "cannot read: not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return failure(path, std::string("cannot open file: ") + std::strerror(errno));
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxSourceBytes)
            return failure(path, "file is too large (more than " + std::to_string(kMaxSourceBytes) + " bytes)");
    }
    if (in.bad()) return failure(path, "error while reading file");
    return loadString(text, path, options);
}

}  // namespace kf::dsl
