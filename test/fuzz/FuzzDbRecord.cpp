// libFuzzer target: the tuning database's record parser (one line of
// `kforge db export` / `kforge db import`, schema 1, 2 and 3) on arbitrary bytes.
// It either refuses a line with std::runtime_error or returns a record that
// exports to a line which parses back to the same record.
#include "autotune/Database.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace {

bool same(const kf::autotune::Record &a, const kf::autotune::Record &b) {
    return a.key == b.key && a.kernel == b.kernel && a.family == b.family && a.specHash == b.specHash &&
           a.target == b.target && a.bucket == b.bucket && a.shape.named() == b.shape.named() &&
           a.schedule == b.schedule && a.symbol == b.symbol && a.status == b.status && a.message == b.message &&
           a.samples == b.samples && a.seconds == b.seconds && a.rooflineRatio == b.rooflineRatio &&
           a.bytes == b.bytes && a.ops == b.ops && a.readBandwidth == b.readBandwidth &&
           a.computePeak == b.computePeak && a.compiler == b.compiler && a.machine == b.machine && a.createdUnix == b.createdUnix;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string line(reinterpret_cast<const char *>(data), size);
    kf::autotune::Record record;
    try {
        record = kf::autotune::recordFromJsonLine(line);
    } catch (const std::runtime_error &) {
        return 0;  // refused with a message: fine
    }
    const std::string exported = kf::autotune::toJsonLine(record);
    if (exported.find('\n') != std::string::npos) std::abort();  // one record, one line
    kf::autotune::Record back;
    try {
        back = kf::autotune::recordFromJsonLine(exported);
    } catch (const std::runtime_error &) {
        std::abort();  // an accepted record exports to a line import refuses
    }
    if (!same(record, back)) std::abort();
    return 0;
}
