// \file
// `kforge calibrate`: for a sparse_rank_linear kernel and sample activations
// of its layer, the threshold tau that gives a target sparsity, and — given
// the layer's float weights — the output error of the sparse-rank layer per
// rank, so a user can pick r; optionally writes tau into the kernel file.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace kf::tools {

struct CalibrateOptions {
    std::string file;         // kernel file
    std::string kernel;       // sparse_rank_linear kernel in it (may be empty when the file has one)
    std::string activations;  // raw little-endian f32, rows of K
    std::string weights;      // raw little-endian f32 [N][K]; empty: tau only
    std::string shape;        // "NxK" for a kernel with dynamic dimensions
    double sparsity = -1;     // target fraction of inactive channels, 0..1 (threshold kernels)
    std::vector<int64_t> ranks;  // ranks to report; empty: a default ladder up to min(N, K)
    int64_t maxRows = 256;    // sample rows used for the error table (the threshold uses all)
    bool write = false;       // write tau into the kernel file
};

// Prints the report to `out`, problems to `err`; returns the exit status.
int calibrate(const CalibrateOptions &options, std::ostream &out, std::ostream &err);

// Pure parts, for tests.
// tau such that at least `sparsity` of the values |x| are <= tau (inactive),
// taking the smallest such value among them; 0 for sparsity 0.
float thresholdFor(const std::vector<float> &x, double sparsity);
// Reads a raw f32 file of rows of `cols` values: throws std::runtime_error
// naming the path and what is wrong (missing, empty, size not a whole number
// of rows, rows != expectedRows when > 0, a non-finite value at row/col).
std::vector<float> readRows(const std::string &path, int64_t cols, int64_t expectedRows, int64_t *rows);
// The kernel file's text with `kernel`'s sparsity statement replaced by
// `sparsity threshold tau=<tau>`; throws std::runtime_error when the kernel
// or its statement is not found.
std::string withThreshold(const std::string &path, const std::string &text, const std::string &kernel, float tau);

}  // namespace kf::tools
