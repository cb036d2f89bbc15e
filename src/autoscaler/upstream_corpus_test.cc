// Runs every snapshot under testdata/ (translated from upstream's
// replica_calculator_test.go and horizontal_test.go) through Decide() and
// requires 100% agreement with the decision Kubernetes makes (`expect`).

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "autoscaler/decision.h"
#include "autoscaler/snapshot_json.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler {
namespace {

TEST(UpstreamCorpusTest, EveryCaseAgreesWithKubernetes) {
  int total = 0, agreed = 0;
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(TIDE_AUTOSCALER_TESTDATA)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream buf;
    buf << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(buf.str(), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << entry.path();
    auto cases = ParseSnapshots(doc);
    ASSERT_TRUE(cases.ok()) << entry.path() << ": " << cases.status();
    for (SnapshotCase& c : *cases) {
      SCOPED_TRACE(entry.path().filename().string() + ": " + c.name);
      EXPECT_TRUE(names.insert(c.name).second) << "duplicate name";
      EXPECT_FALSE(c.source.empty()) << "every case names its upstream test";
      ASSERT_TRUE(c.expect.is_object()) << "every case has an expectation";
      Decision d = Decide(c.spec, c.config, c.snapshot, c.now, &c.history);
      std::string diff = CompareWithExpectation(d, c.expect);
      EXPECT_EQ(diff, "") << c.source;
      ++total;
      if (diff.empty()) ++agreed;
    }
  }
  std::printf("upstream corpus: %d/%d cases agree\n", agreed, total);
  EXPECT_GE(total, 60);
  EXPECT_EQ(agreed, total);
}

}  // namespace
}  // namespace tide::autoscaler
