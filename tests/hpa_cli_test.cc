// Drives the real `tide hpa decide` / `tide hpa validate` binary: the upstream
// corpus through the CLI must agree with Kubernetes case for case, and bad
// input must fail with exit 2 and a message naming the file and JSON path.

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

struct Result {
  int exit_code;
  std::string out;
};

// Runs `command` (stdout captured, stderr merged) and returns its exit code.
Result RunCommand(const std::string& command) {
  Result r{-1, ""};
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Tide() { return TIDE_BINARY; }
std::string Data(const std::string& name) {
  return std::string(TIDE_AUTOSCALER_TESTDATA) + "/" + name;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = std::string(::testing::TempDir()) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(HpaCliTest, DecideAgreesWithUpstreamCorpus) {
  for (const char* file : {"replica_calculator.json", "scaling_rules.json", "horizontal.json"}) {
    SCOPED_TRACE(file);
    Result r = RunCommand(Tide() + " hpa decide --compact " + Data(file));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    nlohmann::json got = nlohmann::json::parse(r.out);
    std::ifstream in(Data(file));
    nlohmann::json cases = nlohmann::json::parse(in);
    ASSERT_EQ(got.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE(cases[i]["name"].get<std::string>());
      EXPECT_EQ(got[i]["name"], cases[i]["name"]);
      for (const auto& [key, want] : cases[i]["expect"].items()) {
        EXPECT_EQ(got[i][key], want) << key;
      }
    }
  }
}

TEST(HpaCliTest, DecideReadsStdinAndSingleObjects) {
  std::ifstream in(Data("horizontal.json"));
  nlohmann::json cases = nlohmann::json::parse(in);
  std::string one = WriteTemp("one.json", cases[0].dump());
  Result r = RunCommand(Tide() + " hpa decide --compact - < " + one);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json got = nlohmann::json::parse(r.out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["desiredReplicas"], cases[0]["expect"]["desiredReplicas"]);
  EXPECT_EQ(got[0]["reason"], "DesiredWithinRange");
}

TEST(HpaCliTest, DecideRejectsBadInputWithPath) {
  Result r = RunCommand(Tide() + " hpa decide " + WriteTemp("bad.json", "{\"now\": "));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("bad.json: not valid JSON"), std::string::npos) << r.out;
  r = RunCommand(Tide() + " hpa decide " +
                 WriteTemp("schema.json", R"([{"now": 1, "hpa": {"maxReplicas": 3},
                     "currentReplicas": 1, "pods": [{"name": "p", "phase": "Sleeping"}]}])"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("schema.json: $[0].pods[0].phase: expected Pending, Running"),
            std::string::npos)
      << r.out;
  r = RunCommand(Tide() + " hpa decide /nonexistent/x.json");
  EXPECT_EQ(r.exit_code, 2);
  r = RunCommand(Tide() + " hpa validate /tmp");  // an input error, as a missing file is
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "tide hpa: /tmp: is a directory; give a YAML or JSON file\n");
  // A number beyond a double is nlohmann's out_of_range, not a parse_error:
  // it used to end the process (SIGABRT).
  r = RunCommand(Tide() + " hpa decide " +
                 WriteTemp("huge.json", R"({"now": 1e400, "hpa": {"maxReplicas": 3}})"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("huge.json: not valid JSON: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("number overflow parsing '1e400'"), std::string::npos) << r.out;
}

TEST(HpaCliTest, Validate) {
  std::string good = WriteTemp("good.yaml", R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 8
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
)");
  Result r = RunCommand(Tide() + " hpa validate " + good);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out,
            "web: valid (Deployment/web, replicas 2..8; metrics: cpu 70% utilization; legacy "
            "scaling (no behavior))\n");
  std::string bad = WriteTemp("bad.yaml", R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 0
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: other}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: other}
  maxReplicas: 3
  behavior: {scaleDown: {selectPolicy: Fastest}}
)");
  r = RunCommand(Tide() + " hpa validate " + bad);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("spec.maxReplicas: Invalid value: 0: must be greater than or equal to 1"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("spec.behavior.scaleDown.selectPolicy: Unsupported value: \"Fastest\""),
            std::string::npos)
      << r.out;
}

}  // namespace
