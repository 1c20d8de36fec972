// kforge: the command-line front of the flow in docs/architecture.md.
//   kforge check FILE                         parse + check, report diagnostics
//   kforge lower FILE --target T --emit=...   print the spec or a backend's dump (Halide stmt, MLIR, LLVM IR, asm)
//   kforge emit FILE --target T... -o DIR     static library + C header
//   kforge tune FILE --target T [--budget 10m] [--db PATH]   autotune into the database
//   kforge db list|best|show|export|import    read and share the tuning database
//   kforge targets                            the target registry, marked for this machine
//   kforge hadamard-matrix M [--transpose]    a built-in H_m as a matrix file
//   kforge calibrate FILE --activations X [--weights W] --sparsity S [--write]
//                                             a sparse-rank layer's threshold and error per rank
//   kforge inspect FILE [--json]              a safetensors / GGUF checkpoint's tensors and what they load as
//   kforge delta --post P --base B --new-base N -o OUT   ParamΔ: P - B + N into a new safetensors file
//   kforge quantize CKPT FILE --layer GLOB=KERNEL... -o OUT.kfw   packed weights + per-layer error report
//   kforge report [--db D] [--quantize F]... -o OUT.html   roofline, convergence, accuracy: one offline page
#include <CLI/CLI.hpp>
#include <Halide.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "autotune/Builder.h"
#include "autotune/Database.h"
#include "autotune/DbCommand.h"
#include "autotune/Fingerprint.h"
#include "autotune/Runner.h"
#include "autotune/TunedModule.h"
#include "autotune/Tuner.h"
#include "codegen/Backend.h"
#include "codegen/CodegenError.h"
#include "codegen/Lowering.h"
#include "codegen/emit/Emit.h"
#include "dsl/Load.h"
#include "dsl/families/hadamard/HadamardMatrix.h"
#include "dsl/SpecJson.h"
#include "targets/Target.h"
#include "tools/kforge/Calibrate.h"
#include "tools/kforge/CheckpointCommands.h"
#include "tools/kforge/Quantize.h"
#include "tools/kforge/Report.h"

namespace fs = std::filesystem;
using namespace kf;

namespace {

std::vector<std::string> targetNames() {
    std::vector<std::string> names;
    for (const auto *t : targets::all()) names.emplace_back(t->name);
    return names;
}

// Loads and checks FILE; prints diagnostics to stderr. Empty on failure.
std::optional<dsl::Module> load(const std::string &file) {
    dsl::CheckOptions options{targetNames()};
    for (const codegen::Backend *b : codegen::backends()) options.knownBackends.emplace_back(b->name);
    dsl::LoadResult r = dsl::loadFile(file, options);
    for (const auto &d : r.diagnostics) std::cerr << d.render() << "\n";
    if (!r.ok()) return std::nullopt;
    return std::move(r.module);
}

// "host" -> the best target this machine runs; otherwise a registry name.
const targets::TargetInfo *resolveTarget(const std::string &name) {
    if (name == "host") {
        const targets::TargetInfo *t = targets::bestHostTarget();
        if (!t) throw codegen::CodegenError("no registered target runs on this machine");
        return t;
    }
    const targets::TargetInfo *t = targets::find(name);
    if (!t) throw codegen::CodegenError("unknown target '" + name + "'; known targets: " + targets::knownNames() + ", host");
    return t;
}

std::string joined(const std::vector<std::string> &words) {
    std::string s;
    for (const auto &w : words) s += (s.empty() ? "" : ", ") + w;
    return s;
}

// `kforge lower --emit=` kinds: spec, then every backend's dump kinds.
std::vector<std::string> emitKinds() {
    std::vector<std::string> kinds{"spec"};
    for (const codegen::Backend *b : codegen::backends())
        for (const std::string &k : b->dumpKinds)
            if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
    return kinds;
}

// "halide: stmt, asm; mlir: mlir, mlir-passes, llvm, asm", for --help.
std::string emitKindsHelp() {
    std::string s;
    for (const codegen::Backend *b : codegen::backends())
        s += (s.empty() ? "" : "; ") + std::string(b->name) + ": " + joined(b->dumpKinds);
    return s;
}

int cmdCheck(const std::string &file) {
    auto module = load(file);
    if (!module) return 1;
    for (const auto &k : module->kernels) std::cout << "ok: " << k.name << " : " << dsl::toString(k.family) << "\n";
    for (const auto &s : module->schedules) {
        std::cout << "ok: schedule " << s.kernel << " for " << s.target;
        if (s.bucket != dsl::Bucket::Any) std::cout << " bucket=" << dsl::toString(s.bucket);
        std::cout << "\n";
    }
    return 0;
}

int cmdLower(const std::string &file, const std::string &target, const std::string &emit, const std::string &kernel) {
    auto module = load(file);
    if (!module) return 1;
    if (emit == "spec") {
        std::cout << dsl::toJson(*module) << "\n";
        return 0;
    }
    const targets::TargetInfo *t = resolveTarget(target);
    int printed = 0;
    for (const auto &k : module->kernels) {
        if (!kernel.empty() && k.name != kernel) continue;
        for (codegen::LoweredVariant &v : codegen::lowerKernel(*module, k, *t)) {
            const auto &kinds = v.backend->dumpKinds;
            if (std::find(kinds.begin(), kinds.end(), emit) == kinds.end())
                throw codegen::CodegenError("--emit=" + emit + ": the " + v.backend->name + " backend of " + v.symbol +
                                            " dumps " + joined(kinds) + " (or spec)");
            std::cout << "// kernel " << k.name << " -> " << v.symbol << " (" << v.backend->name << ", " << t->name
                      << (v.bucket == dsl::Bucket::Any ? "" : std::string(", bucket=") + dsl::toString(v.bucket))
                      << ")\n";
            std::cout << v.kernel->dump(emit, v.symbol, *t);
            ++printed;
        }
    }
    if (!printed) throw codegen::CodegenError("no kernel named '" + kernel + "' in " + file);
    return 0;
}

// The tuning records emit uses: --db PATH (must exist), else $KFORGE_TUNE_DB
// or ./kforge-tune.db when present; --no-db ignores them.
void applyTuningRecords(dsl::Module &module, const std::vector<const targets::TargetInfo *> &targets,
                        const std::string &dbArg, bool noDb) {
    if (noDb) return;
    const std::string path = dbArg.empty() ? autotune::defaultDatabasePath() : dbArg;
    if (!autotune::databaseExists(path)) {
        if (!dbArg.empty()) throw codegen::CodegenError("--db " + dbArg + ": no such tuning database");
        std::cerr << "note: no tuning database (" << path << "); every kernel uses its default schedule\n";
        return;
    }
    autotune::Database db(path, autotune::Database::OpenMode::ReadOnly);
    const autotune::TuningApplied applied =
        autotune::applyTuning(module, targets, db, autotune::machineFingerprint());
    for (const auto &line : applied.tuned) std::cerr << "tuned: " << line << "\n";
    for (const auto &line : applied.notes) std::cerr << "note: " << line << "\n";
    if (!applied.untuned.empty()) {
        std::string list;
        for (const auto &u : applied.untuned) list += (list.empty() ? "" : ", ") + u;
        std::cerr << "note: no tuning record in " << path << " for " << applied.untuned.size()
                  << " kernel/target pair(s), default schedules: " << list << "\n";
    }
}

int cmdEmit(const std::string &file, const std::vector<std::string> &targetArgs, const std::string &outDir,
            const std::string &name, bool timePasses, const std::string &dbArg, bool noDb) {
    auto module = load(file);
    if (!module) return 1;
    codegen::EmitOptions opt;
    opt.outDir = outDir;
    opt.libName = name.empty() ? codegen::libNameFromPath(file) : name;
    opt.timePasses = timePasses;
    for (const auto &n : targetArgs) {
        const targets::TargetInfo *t = resolveTarget(n);
        if (std::find(opt.targets.begin(), opt.targets.end(), t) == opt.targets.end()) opt.targets.push_back(t);
    }
    applyTuningRecords(*module, opt.targets, dbArg, noDb);
    const auto arch = opt.targets.empty() ? targets::Arch::X86_64 : opt.targets.front()->arch;
    codegen::emitLibrary(*module, opt, codegen::toolchainFor(arch), std::cerr);
    return 0;
}

int cmdQuantize(tools::QuantizeOptions opt, const std::vector<std::string> &targetArgs, const std::string &dbArg,
                bool noDb) {
    auto module = load(opt.kernelFile);
    if (!module) return 1;
    std::vector<const targets::TargetInfo *> targetList;
    for (const auto &n : targetArgs.empty() ? std::vector<std::string>{"host"} : targetArgs) {
        const targets::TargetInfo *t = resolveTarget(n);
        if (std::find(targetList.begin(), targetList.end(), t) == targetList.end()) targetList.push_back(t);
    }
    applyTuningRecords(*module, targetList, dbArg, noDb);
    return tools::quantize(*module, targetList, opt, std::cout, std::cerr);
}

int cmdTargets() {
    const targets::TargetInfo *best = targets::bestHostTarget();
    std::printf("%-20s %-6s %-5s %-10s %-12s %s\n", "target", "host", "bits", "runs here", "backends", "description");
    for (const auto *t : targets::all()) {
        std::string backends;
        for (const char *b : t->backends)
            if (b) {
                if (!backends.empty()) backends += ',';
                backends += b;  // appended, not "," + std::string: GCC 12 warns (-Wrestrict) on that
            }
        std::printf("%-20s %-6s %-5d %-10s %-12s %s%s\n", t->name, t->hostSupports() ? "yes" : "no", t->vectorBits,
                    targets::toString(t->runsHere), backends.c_str(), t->description, t == best ? "  [host]" : "");
    }
    return 0;
}

// A built-in H_m in the matrix-file format (dsl/families/hadamard/HadamardMatrix.h).
int cmdHadamardMatrix(int m, bool transpose) {
    namespace hm = families::hadamard;
    const std::optional<std::vector<int8_t>> h = hm::builtinHadamard(m);
    if (!h) {
        std::cerr << "kforge hadamard-matrix: no built-in Hadamard matrix of order " << m
                  << " (built-in orders: the powers of two, the Paley orders and their doublings, 172; at most "
                  << hm::kMaxOrder << ")\n";
        return 1;
    }
    std::vector<int8_t> out = *h;
    if (transpose)
        for (int r = 0; r < m; ++r)
            for (int c = 0; c < m; ++c) out[r * m + c] = (*h)[c * m + r];
    std::cout << "# kforge's built-in H_" << m << (transpose ? ", transposed" : "")
              << " (kforge hadamard-matrix " << m << (transpose ? " --transpose" : "") << ")\n";
    for (const std::string &row : hm::signRows(out, m)) std::cout << row << "\n";
    return 0;
}

// "90s", "10m", "1h", "1h30m", "600" (seconds) -> seconds; < 0 when malformed.
double parseDuration(const std::string &text) {
    double total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t used = 0;
        double v;
        try {
            v = std::stod(text.substr(i), &used);
        } catch (const std::exception &) {
            return -1;
        }
        i += used;
        const char unit = i < text.size() ? text[i++] : 's';
        if (unit == 'h') v *= 3600;
        else if (unit == 'm') v *= 60;
        else if (unit != 's') return -1;
        total += v;
    }
    return text.empty() ? -1 : total;
}

std::vector<std::string> splitList(const std::string &text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

// A bucket to tune (any but "any").
std::optional<dsl::Bucket> tunedBucketNamed(const std::string &name) {
    std::optional<dsl::Bucket> b = dsl::bucketNamed(name);
    if (b == dsl::Bucket::Any) return std::nullopt;
    return b;
}

bool parseTuneArgs(autotune::TuneOptions &o, const std::string &budget, const std::string &buckets,
                   const std::string &shapes, const std::string &rows, double streamMiB) {
    if (!budget.empty() && (o.budgetSeconds = parseDuration(budget)) <= 0) {
        std::cerr << "kforge tune: --budget " << budget << ": expected a duration such as 90s, 10m or 1h\n";
        return false;
    }
    if (!buckets.empty()) {
        o.buckets.clear();
        for (const std::string &b : splitList(buckets)) {
            auto bucket = tunedBucketNamed(b);
            if (!bucket) {
                std::cerr << "kforge tune: --buckets: unknown bucket '" << b << "'; expected decode, small or prefill\n";
                return false;
            }
            o.buckets.push_back(*bucket);
        }
    }
    // Sizes of a kernel's dynamic dimensions after the rows, 'x'-separated:
    // NxK for a linear layer (11008x4096), ctx for attention (4096).
    for (const std::string &s : splitList(shapes)) {
        std::vector<int64_t> sizes;
        std::size_t at = 0;
        while (true) {
            const std::size_t x = s.find('x', at);
            const std::string part = s.substr(at, x == std::string::npos ? std::string::npos : x - at);
            char *end = nullptr;
            const long long v = part.empty() ? 0 : std::strtoll(part.c_str(), &end, 10);
            if (part.empty() || *end != '\0' || v < 1 || !std::isdigit(static_cast<unsigned char>(part[0]))) {
                sizes.clear();
                break;
            }
            sizes.push_back(v);
            if (x == std::string::npos) break;
            at = x + 1;
        }
        if (sizes.empty()) {
            std::cerr << "kforge tune: --shapes: '" << s
                      << "' is not sizes separated by x (NxK for a linear layer, e.g. 11008x4096; ctx for "
                         "attention, e.g. 4096)\n";
            return false;
        }
        o.shapes.push_back(sizes);
    }
    for (const std::string &r : splitList(rows)) {
        const auto eq = r.find('=');
        auto bucket = tunedBucketNamed(r.substr(0, eq));
        long long m = 0;
        const dsl::BucketDef *def = bucket ? &dsl::bucketDef(*bucket) : nullptr;
        if (eq == std::string::npos || !def || std::sscanf(r.c_str() + eq + 1, "%lld", &m) != 1 ||
            m < def->minRows || (def->maxRows && m > def->maxRows)) {
            std::string expected;
            for (const dsl::BucketDef &d : dsl::bucketDefs())
                if (d.bucket != dsl::Bucket::Any)
                    expected += (expected.empty() ? "" : ", ") + std::string(d.name) + "=" +
                                std::to_string(d.minRows) + ".." + (d.maxRows ? std::to_string(d.maxRows) : "");
            std::cerr << "kforge tune: --rows: '" << r << "': expected " << expected << "\n";
            return false;
        }
        o.rows[*bucket] = m;
    }
    if (streamMiB >= 0) o.streamBytes = static_cast<int64_t>(streamMiB * 1048576.0);
    return true;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"kforge: kernel generator for compressed LLMs (DSL -> Halide -> emitted C library)"};
    app.require_subcommand(1);

    std::string file, target = "host", emitKind = "spec", kernel, outDir, libName;
    std::vector<std::string> targetList;
    bool timePasses = false;

    auto *check = app.add_subcommand("check", "Parse and check a kernel file; print its kernels and schedules");
    check->add_option("file", file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);

    auto *lower = app.add_subcommand("lower", "Print a kernel file lowered for one target");
    lower->add_option("file", file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);
    lower->add_option("--target,-t", target, "target name or 'host'")->capture_default_str();
    lower->add_option("--emit", emitKind, "spec (typed spec as JSON), or a dump of the kernel's backend: " + emitKindsHelp())
        ->check(CLI::IsMember(emitKinds()))
        ->capture_default_str();
    lower->add_option("--kernel,-k", kernel, "only this kernel");

    auto *emit = app.add_subcommand("emit", "Compile a kernel file into a static library + C header");
    emit->add_option("file", file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);
    emit->add_option("--target,-t", targetList, "target names (repeatable) or 'host'")->required();
    emit->add_option("-o,--output", outDir, "output directory")->required();
    emit->add_option("--name", libName, "library name (default: the file's stem)");
    emit->add_flag("--time-passes", timePasses, "print the time of each emit stage");

    std::string dbPath;
    bool noDb = false;
    emit->add_option("--db", dbPath, "tuning database (a file or a postgresql:// URL) whose best records become the dispatch table "
                                     "(default: $KFORGE_TUNE_DB, or ./kforge-tune.db when present)");
    emit->add_flag("--no-db", noDb, "ignore tuning records: default schedules");

    autotune::TuneOptions tuneOpt;
    std::string budget, buckets, shapes, rows;
    double streamMiB = -1;
    auto *tune = app.add_subcommand("tune", "Autotune the kernels of a file for targets and shape buckets");
    tune->add_option("file", tuneOpt.file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);
    tune->add_option("--target,-t", tuneOpt.targets, "targets to tune (repeatable; default host)");
    tune->add_option("--kernel,-k", tuneOpt.kernels, "only these kernels (repeatable)");
    tune->add_option("--buckets", buckets, "shape buckets, comma-separated (default decode,small,prefill)");
    tune->add_option("--shapes", shapes,
                    "sizes of kernels' dynamic dimensions, comma-separated: NxK for a linear layer (e.g. 11008x4096), "
                    "ctx for attention (e.g. 4096)");
    tune->add_option("--rows", rows, "M per bucket, e.g. decode=1,small=16,prefill=128 (the defaults)");
    tune->add_option("--budget", budget, "time budget of the whole run, e.g. 90s, 10m, 1h (default: none)");
    tune->add_option("--db", tuneOpt.database,
                     "tuning database: a file, or postgresql://user@host:port/dbname shared by tuners on many "
                     "machines (default: $KFORGE_TUNE_DB or ./kforge-tune.db)");
    tune->add_option("--runner", tuneOpt.runner,
                     "where candidates are measured: local, or ssh://[user@]host[:port] (compiled here, timed there; "
                     "KFORGE_SSH_IDENTITY, KFORGE_SSH_KNOWN_HOSTS, KFORGE_SSH_WORKER)")
        ->capture_default_str();
    tune->add_option("--claim-lease", tuneOpt.claimLeaseSeconds,
                     "seconds after which a candidate claimed by a tuner that stopped renewing it (died) is "
                     "measured by another")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    tune->add_option("--strategy", tuneOpt.strategy, "auto, exhaustive, random or evolutionary")->capture_default_str();
    tune->add_option("--seed", tuneOpt.seed, "seed of the random and evolutionary searches")->capture_default_str();
    tune->add_option("--fraction", tuneOpt.fraction, "measure at most this share of each space (0-1)")
        ->check(CLI::Range(0.0, 1.0));
    tune->add_option("--max-trials", tuneOpt.maxTrials, "measure at most this many candidates per task");
    tune->add_option("--jobs,-j", tuneOpt.jobs, "parallel builds (default: hardware threads)");
    tune->add_option("--threads", tuneOpt.threads, "threads a candidate runs on (default: hardware threads)");
    tune->add_option("--stream-mib", streamMiB, "MiB of weights cycled per memory-bound measurement "
                                                "(default max(256, 2 x last-level cache))");
    tune->add_option("--timeout", tuneOpt.timeoutSeconds, "seconds a candidate may run, check included")
        ->capture_default_str();
    tune->add_flag("--json", tuneOpt.json, "JSON lines on stdout instead of the progress display");
    tune->add_option("--work-dir", tuneOpt.workDir, "where candidates are built (default: a temporary directory)");

    std::vector<std::string> hidden;
    auto *tuneWorker = app.add_subcommand("tune-worker", "")->group("");  // runner's child process
    tuneWorker->add_option("args", hidden)->expected(2);
    auto *tuneBuild = app.add_subcommand("tune-build", "")->group("");    // builder's child process
    tuneBuild->add_option("args", hidden)->expected(6);
    // What a remote runner asks of the machine it measures on (SshRunner).
    auto *tuneMachine = app.add_subcommand("tune-machine", "")->group("");
    tuneMachine->add_option("threads", hidden)->expected(1);

    autotune::addDbCommand(app);
    app.add_subcommand("targets", "List registered targets and which this machine runs");
    int hadamardOrder = 0;
    bool hadamardTranspose = false;
    auto *hadamardMatrix = app.add_subcommand(
        "hadamard-matrix", "Print the built-in H_m a hadamard kernel with factor=<m> uses, as a matrix file "
                           "(to rotate or un-rotate weights offline with exactly kforge's matrix)");
    hadamardMatrix->add_option("m", hadamardOrder, "the order m")->required();
    hadamardMatrix->add_flag("--transpose", hadamardTranspose, "print H_mᵀ (the inverse up to 1/m)");

    tools::CalibrateOptions cal;
    auto *calibrate = app.add_subcommand(
        "calibrate", "Choose a sparse_rank_linear kernel's threshold for a target sparsity from sample activations, "
                     "and report the output error per rank (given the layer's float weights)");
    calibrate->add_option("file", cal.file, "kernel file (.kf)")->required()->check(CLI::ExistingFile);
    calibrate->add_option("--kernel,-k", cal.kernel, "the sparse_rank_linear kernel (needed when the file has several)");
    calibrate->add_option("--activations", cal.activations,
                          "sample inputs of the layer: raw little-endian f32, rows of K values")
        ->required();
    calibrate->add_option("--weights", cal.weights, "the layer's float weights: raw little-endian f32 [N][K]");
    calibrate->add_option("--shape", cal.shape, "NxK, for a kernel with dynamic dimensions");
    calibrate->add_option("--sparsity", cal.sparsity, "fraction of channels to skip, 0..1 (threshold kernels)")
        ->check(CLI::Range(0.0, 1.0));
    calibrate->add_option("--ranks", cal.ranks, "ranks to report (default 0 and a ladder around the kernel's)")
        ->delimiter(',');
    calibrate->add_option("--max-rows", cal.maxRows, "sample rows the error table uses")->capture_default_str();
    calibrate->add_flag("--write", cal.write, "write 'sparsity threshold tau=<t>' into the kernel file");

    std::string inspectFile;
    bool inspectJson = false;
    auto *inspect = app.add_subcommand(
        "inspect", "List a safetensors or GGUF checkpoint's tensors and metadata, and what each tensor loads as");
    inspect->add_option("file", inspectFile, "the checkpoint")->required();
    inspect->add_flag("--json", inspectJson, "print the index and metadata as JSON");

    tools::DeltaOptions deltaOpt;
    auto *delta = app.add_subcommand(
        "delta", "ParamΔ weight mixing: post - base + new base, tensor by tensor, into a new safetensors file");
    delta->add_option("--post", deltaOpt.post, "the post-trained checkpoint (Θpost)")->required();
    delta->add_option("--base", deltaOpt.base, "the base it was trained from (Θbase)")->required();
    delta->add_option("--new-base", deltaOpt.newBase, "the new base to carry the training to (Θ'base)")->required();
    delta->add_option("-o,--output", deltaOpt.out, "the safetensors file to write (not one of the inputs)")->required();

    tools::QuantizeOptions quantOpt;
    std::vector<std::string> quantTargets;
    auto *quant = app.add_subcommand(
        "quantize", "Quantize a checkpoint's linear layers into a packed-weights file the runtime loads per layer");
    quant->add_option("checkpoint", quantOpt.checkpoint, "safetensors or GGUF checkpoint")->required();
    quant->add_option("file", quantOpt.kernelFile, "kernel file (.kf) with the layers' lowbit_linear kernels")
        ->required()
        ->check(CLI::ExistingFile);
    quant->add_option("--layer,-l", quantOpt.layers,
                      "GLOB=KERNEL: tensors matching GLOB (shell pattern) use KERNEL; repeatable, first match wins")
        ->required();
    quant->add_option("-o,--output", quantOpt.output, "the packed-weights file to write (.kfw)")->required();
    quant->add_option("--target,-t", quantTargets, "targets whose packed layouts to store (repeatable; default host)");
    quant->add_option("--samples", quantOpt.samples,
                      "safetensors of sample inputs: per layer a [rows, K] tensor named like the layer (with or "
                      "without .weight); gives the output error");
    quant->add_option("--max-samples", quantOpt.maxSamples, "sample rows per layer for the output error")
        ->capture_default_str();
    quant->add_option("--report-json", quantOpt.reportJson, "write the per-layer report as JSON (kforge report reads it)");
    quant->add_flag("--convert", quantOpt.convert,
                    "GGUF types that are no kforge format go through f32 (with a warning) instead of being refused");
    quant->add_flag("!--no-compare", quantOpt.compare, "report only the chosen kernel's error, not every fitting kernel's");
    quant->add_option("--db", dbPath, "tuning database whose schedules (and so packed layouts) to use, as emit does");
    quant->add_flag("--no-db", noDb, "default schedules, ignoring any tuning database");
    tools::ReportOptions reportOpt;
    auto *report = app.add_subcommand(
        "report", "One self-contained HTML page: each tuned kernel against its roofline, each task's tuning "
                  "convergence, and the accuracy tables of kforge quantize --report-json");
    report->add_option("--db", reportOpt.db,
                       "tuning database: a file or a postgresql:// URL (default: $KFORGE_TUNE_DB, else kforge-tune.db)");
    report->add_option("--quantize", reportOpt.quantize,
                       "a kforge quantize --report-json file; one accuracy table each (repeatable)");
    report->add_option("-o,--output", reportOpt.out, "the HTML file to write (replaced atomically)")->required();

    // CLI11 answers an unknown first word with "A subcommand is required":
    // name the word instead.
    if (argc > 1 && argv[1][0] != '-') {
        std::vector<std::string> names;
        bool known = false;
        for (const CLI::App *sub : app.get_subcommands([](const CLI::App *) { return true; })) {
            known |= sub->get_name() == argv[1];
            if (!sub->get_group().empty()) names.push_back(sub->get_name());
        }
        if (!known) {
            std::cerr << "kforge: unknown command '" << argv[1] << "'; commands: " << joined(names)
                      << " (kforge --help)\n";
            return 2;
        }
    }
    CLI11_PARSE(app, argc, argv);
    try {
        if (*check) return cmdCheck(file);
        if (*lower) return cmdLower(file, target, emitKind, kernel);
        if (*emit) return cmdEmit(file, targetList, outDir, libName, timePasses, dbPath, noDb);
        if (*tuneWorker) return autotune::workerMain(hidden[0], hidden[1]);
        if (*tuneMachine) {
            // Line 1: the machine fingerprint at that thread count; line 2: last-level cache bytes.
            std::cout << autotune::machineFingerprint(std::stoi(hidden.at(0))) << "\n"
                      << autotune::lastLevelCacheBytes() << "\n";
            return 0;
        }
        if (*tuneBuild)
            return autotune::buildMain(hidden[0], hidden[1], hidden[2], hidden[3], hidden[4], hidden[5], std::cout,
                                       std::cerr);
        if (*tune) {
            if (!parseTuneArgs(tuneOpt, budget, buckets, shapes, rows, streamMiB)) return 1;
            tuneOpt.kforge = {fs::canonical("/proc/self/exe").string()};
            return autotune::tune(tuneOpt, std::cout, std::cerr);
        }
        if (app.got_subcommand("targets")) return cmdTargets();
        if (*hadamardMatrix) return cmdHadamardMatrix(hadamardOrder, hadamardTranspose);
        if (*calibrate) return tools::calibrate(cal, std::cout, std::cerr);
        if (*inspect) return tools::inspect(inspectFile, inspectJson, std::cout, std::cerr);
        if (*delta) return tools::delta(deltaOpt, std::cout, std::cerr);
        if (*quant) return cmdQuantize(quantOpt, quantTargets, dbPath, noDb);
        if (*report) return tools::report(reportOpt, std::cout, std::cerr);
        return 0;  // `db`: its callback ran
    } catch (const codegen::CodegenError &e) {
        std::cerr << "error: " << e.what() << "\n";
    } catch (const Halide::CompileError &e) {
        std::cerr << "error: Halide: " << e.what() << "\n";
    } catch (const Halide::InternalError &e) {
        std::cerr << "internal error: Halide: " << e.what() << "\n";
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
    }
    return 1;
}
