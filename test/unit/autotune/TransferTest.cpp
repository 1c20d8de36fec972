// Transfer learning's priors (autotune/Transfer.h): from the database, only
// ok records of other tasks of the family on the same target, compiler and
// machine; each scored against its own task's best; features as the
// family's transferFeatures; records that no longer parse are counted, not
// fatal.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "autotune/Database.h"
#include "TestShapes.h"
#include "autotune/Space.h"
#include "autotune/Transfer.h"
#include "dsl/Load.h"
#include "targets/Target.h"

namespace fs = std::filesystem;

namespace kf::autotune {
namespace {

const char *kFile = R"(
kernel gate : lowbit_linear {
  weight int4 shape=[N=11008, K=4096] scale=f16 group=128
  input int8
  output f32
}
kernel up : lowbit_linear {
  weight int4 shape=[N=11008, K=4096] scale=f16 group=128
  input int8
  output f32
}
kernel tern : lowbit_linear {
  weight ternary shape=[N=11008, K=4096] scale=f16 group=channel
  input int8
  output f32
}
kernel rot : hadamard {
  size N=4096
  input f32
  output f32
}
)";

class TransferTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("kforge-transfer-" + std::to_string(getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        auto r = dsl::loadString(kFile, "t.kf", {});
        ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].render());
        module_ = std::move(*r.module);
        target_ = targets::find("x86-avx512vnni");
        ASSERT_NE(target_, nullptr);
    }
    void TearDown() override { fs::remove_all(dir_); }

    Task task(const std::string &kernel, dsl::Bucket bucket = dsl::Bucket::Decode) const {
        Task t{&module_, module_.findKernel(kernel), target_, bucket,
               testing::mnk(dsl::bucketDef(bucket).defaultRows, 11008, 4096), 0};
        return t;
    }
    // Records for the first `count` points of task's space, point i taking `seconds(i)`.
    template <typename F>
    void addRecords(Database &db, const Task &t, std::size_t count, F seconds, const std::string &machine = "M",
                    const std::string &status = "ok") const {
        const Space space = Space::forTask(t);
        for (std::size_t i = 0; i < count && i < space.size(); ++i) {
            Record r;
            r.kernel = t.kernel->name;
            r.specHash = specHash(*t.kernel);
            r.target = t.target->name;
            r.bucket = dsl::toString(t.bucket);
            r.family = "lowbit_linear";
            r.shape = t.shape;
            r.schedule = space.scheduleText(i);
            r.status = status;
            r.seconds = status == "ok" ? seconds(i) : 0;
            r.compiler = "C";
            r.machine = machine;
            std::string keyMachine = machine;
            keyMachine += status;  // failed and ok records of one point: two keys
            r.key = recordKey(r.specHash, r.schedule, r.target, r.shape, r.compiler, keyMachine);
            db.insert(r);
        }
    }

    fs::path dir_;
    dsl::Module module_;
    const targets::TargetInfo *target_ = nullptr;
};

TEST_F(TransferTest, OtherTasksOkRecordsOfThisMachineScoredAgainstTheirOwnBest) {
    Database db((dir_ / "t.db").string());
    const Task gate = task("gate"), tern = task("tern"), gatePrefill = task("gate", dsl::Bucket::Prefill);
    addRecords(db, gate, 5, [](std::size_t i) { return 1e-3 * double(i + 1); });         // the task itself
    addRecords(db, tern, 4, [](std::size_t i) { return 2e-3 * double(4 - i); });         // best: point 3, 2 ms
    addRecords(db, gatePrefill, 3, [](std::size_t i) { return 5e-3 + 1e-3 * double(i); });  // best: point 0
    addRecords(db, tern, 6, [](std::size_t) { return 1e-4; }, "another machine");
    addRecords(db, tern, 2, [](std::size_t) { return 0.0; }, "M", "crash");

    const PriorSet p = priorsFor(db, gate, specHash(*gate.kernel), "C", "M");
    EXPECT_EQ(p.tasks, 2u);
    EXPECT_EQ(p.skipped, 0u);
    ASSERT_EQ(p.priors.size(), 4u + 3u);
    const std::size_t columns = Space::forTask(gate).transferFeatures(0).size();
    int best = 0;
    for (const Prior &prior : p.priors) {
        EXPECT_EQ(prior.features.size(), columns);
        EXPECT_LE(prior.relativeScore, 0.0);
        if (prior.relativeScore == 0.0) ++best;
    }
    EXPECT_EQ(best, 2);  // one best per task
    // tern's worst (8 ms) against its best (2 ms).
    double lowest = 0;
    for (const Prior &prior : p.priors) lowest = std::min(lowest, prior.relativeScore);
    EXPECT_NEAR(lowest, std::log(2.0 / 8.0), 1e-9);
    // The prefill records' features say M = 128 (log2 7), the ternary ones M = 1.
    int prefill = 0;
    for (const Prior &prior : p.priors) prefill += prior.features[8] == 7.0f;
    EXPECT_EQ(prefill, 3);

    // A layer with the same spec (up) is the same task: gate's records are its own.
    const PriorSet up = priorsFor(db, task("up"), specHash(*task("up").kernel), "C", "M");
    EXPECT_EQ(up.priors.size(), 7u);
    // Another compiler: nothing.
    EXPECT_TRUE(priorsFor(db, gate, specHash(*gate.kernel), "C2", "M").priors.empty());
    // The limit keeps the newest.
    EXPECT_EQ(priorsFor(db, gate, specHash(*gate.kernel), "C", "M", 2).priors.size(), 2u);
}

TEST_F(TransferTest, RecordsThatNoLongerParseAreCountedAndSkipped) {
    Database db((dir_ / "t.db").string());
    const Task tern = task("tern");
    addRecords(db, tern, 2, [](std::size_t i) { return 1e-3 * double(i + 1); });
    Record bad = db.records()[0];
    bad.schedule = "schedule tern for x86-avx512vnni bucket=decode {\n  split n 100\n  frobnicate\n}\n";
    bad.key = "bad";
    db.insert(bad);
    const PriorSet p = priorsFor(db, task("gate"), specHash(*task("gate").kernel), "C", "M");
    EXPECT_EQ(p.priors.size(), 2u);
    EXPECT_EQ(p.skipped, 1u);
}

}  // namespace
}  // namespace kf::autotune
