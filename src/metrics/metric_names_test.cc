#include "metrics/metric_names.h"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "metrics/process_collector.h"
#include "metrics/prometheus_parser.h"
#include "nlohmann/json.hpp"

namespace tide::metrics {
namespace {

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(TIDE_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> HeaderTypes() {
  std::map<std::string, std::string> out;
  for (const names::NameAndType& m : names::kAll) out[m.name] = m.type;
  for (const names::NameAndType& m : names::kGpu) out[m.name] = m.type;
  return out;
}

TEST(MetricNames, UniqueWellFormedAndCountersEndInTotal) {
  EXPECT_EQ(HeaderTypes().size(),
            std::size(names::kAll) + std::size(names::kGpu));  // no name twice
  for (const names::NameAndType& m : names::kAll) {
    auto series = ParseSeries(m.name);
    ASSERT_TRUE(series.ok()) << m.name;
    EXPECT_EQ(series->name, m.name);
    const std::string type = m.type;
    EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << m.name;
    EXPECT_EQ(type == "counter", std::string(m.name).ends_with("_total")) << m.name;
  }
}

// deploy/check/contract.json is what deploy's manifests, HPAs and checks
// assume about the server's metrics: every name there must be one the server
// registers (by these constants), with the same type.
TEST(MetricNames, EveryMetricOfTheDeployContractIsInTheHeaderWithItsType) {
  const std::string text = ReadSourceFile("deploy/check/contract.json");
  ASSERT_FALSE(text.empty()) << "cannot read deploy/check/contract.json under " TIDE_SOURCE_DIR;
  nlohmann::json contract = nlohmann::json::parse(text);
  ASSERT_TRUE(contract.contains("metrics"));
  const auto header = HeaderTypes();
  size_t checked = 0;
  for (const auto& item : contract["metrics"].items()) {
    auto it = header.find(item.key());
    ASSERT_NE(it, header.end()) << item.key() << " is in contract.json but not in metric_names.h";
    EXPECT_EQ(it->second, item.value().get<std::string>()) << item.key();
    ++checked;
  }
  EXPECT_GE(checked, 14u);  // the 14 it lists today: the loop is not vacuous
}

// docs/metrics.md documents every name in the header with the same type.
TEST(MetricNames, EveryNameIsDocumentedWithItsType) {
  const std::string doc = ReadSourceFile("docs/metrics.md");
  ASSERT_FALSE(doc.empty());
  std::map<std::string, std::string> documented;
  const std::regex row(R"(\n\| `([a-z_:]+)` \| (counter|gauge|histogram|summary) \|)");
  for (std::sregex_iterator it(doc.begin(), doc.end(), row), end; it != end; ++it) {
    documented[(*it)[1]] = (*it)[2];
  }
  for (const auto& [name, type] : HeaderTypes()) {
    auto it = documented.find(name);
    ASSERT_NE(it, documented.end()) << name << " is not in docs/metrics.md's tables";
    EXPECT_EQ(it->second, type) << name;
  }
}

// The process collector registers exactly the header's process_* names.
TEST(MetricNames, ProcessCollectorUsesTheHeader) {
  Registry r;
  AddProcessMetrics(&r);
  auto e = ParsePrometheusText(r.RenderText());
  ASSERT_TRUE(e.ok()) << e.status();
  const auto header = HeaderTypes();
  std::set<std::string> rendered;
  for (const MetricFamily& f : e->families) {
    auto it = header.find(f.name);
    ASSERT_NE(it, header.end()) << f.name;
    EXPECT_EQ(it->second, MetricTypeName(f.type)) << f.name;
    rendered.insert(f.name);
  }
  EXPECT_EQ(rendered, (std::set<std::string>{
                          names::kProcessCpuSecondsTotal, names::kProcessResidentMemoryBytes,
                          names::kProcessVirtualMemoryBytes, names::kProcessStartTimeSeconds,
                          names::kProcessOpenFds, names::kProcessMaxFds}));
}

}  // namespace
}  // namespace tide::metrics
