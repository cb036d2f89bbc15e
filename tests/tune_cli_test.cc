// `tide tune` as a user runs it: the real binary on a synthetic constant-rate
// trace whose optimum is known by construction; the YAML it writes passes
// `tide hpa validate`; determinism; bad input named.

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/tide_process.h"

namespace {

using Result = tide::testing::CliResult;

Result RunTide(const std::string& args) { return tide::testing::RunTideCli(args); }
std::string Slurp(const std::string& path) { return tide::testing::ReadFileText(path); }

class TideTuneCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tide_tune_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

const std::string kSeedHpa = std::string(TIDE_SOURCE_DIR) + "/deploy/k8s/overlays/hpa-cpu/hpa.yaml";

// 25 req/s, round-robin, 100 ms per request: exactly 3 replicas meet a 200 ms
// SLO (2 overload, each of 3 gets a request every 120 ms and never queues).
const std::string kBase =
    "tune --arrivals constant --rate 25 --duration 300 --compute-ms 100 --balance round-robin "
    "--startup fixed:30 --slo-latency 0.2 "
    "--cpu-targets 50 90 --queue-targets 1 4 --p99-fractions 0.5 --up-windows 0 60 "
    "--up-percents 100 --down-windows 60 300 --down-percents 100 --no-progress --reference-hpa " +
    kSeedHpa;
const std::string kConstant = kBase + " --slo-attainment 0.999 --max-replicas 8";

TEST_F(TideTuneCli, ConstantRateRecommendsExactlyThreeReplicasAndTheYamlValidates) {
  Result r = RunTide(kConstant + " -o " + Path("hpa.yaml") + " --json " + Path("tune.json"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("cheapest fixed fleet: 3 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in-sample: the first 80 % (240 s); held out: the last 20 % (60 s)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("seed CPU HPA"), std::string::npos);
  EXPECT_NE(r.out.find("Knative KPA (defaults)"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(Slurp(Path("tune.json")));
  EXPECT_TRUE(j["met"].get<bool>());
  const nlohmann::json& rec = j["rows"][0];
  EXPECT_EQ(rec["in_sample"]["replicas_max"], 3);
  EXPECT_EQ(rec["in_sample"]["replicas_mean"], 3.0);
  EXPECT_EQ(rec["in_sample"]["replica_seconds"], 720.0);  // 3 x 240 s
  EXPECT_EQ(rec["held_out"]["replica_seconds"], 180.0);   // 3 x 60 s
  EXPECT_EQ(rec["held_out"]["slo_attainment"], 1.0);
  EXPECT_GT(j["candidates"].size(), 10u);
  std::string yaml = Slurp(Path("hpa.yaml"));
  EXPECT_NE(yaml.find("  minReplicas: 3\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("apiVersion: autoscaling/v2\n"), std::string::npos);
  Result v = RunTide("hpa validate " + Path("hpa.yaml"));
  EXPECT_EQ(v.code, 0) << v.out;
  // And tide sim runs it to the same figures.
  Result s = RunTide(
      "sim --arrivals constant --rate 25 --duration 240 --compute-ms 100 --balance round-robin "
      "--startup fixed:30 --slo-latency 0.2 --no-progress --hpa " +
      Path("hpa.yaml") + " --json " + Path("sim.json"));
  ASSERT_EQ(s.code, 0) << s.out;
  nlohmann::json sj = nlohmann::json::parse(Slurp(Path("sim.json")));
  EXPECT_EQ(sj["policies"][0]["replica_seconds"], 720.0) << sj.dump(1);
}

TEST_F(TideTuneCli, DeterministicOutput) {
  Result a = RunTide(kConstant + " --json " + Path("a.json"));
  Result b = RunTide(kConstant + " --jobs 1 --json " + Path("b.json"));
  ASSERT_EQ(a.code, 0) << a.out;
  ASSERT_EQ(b.code, 0) << b.out;
  nlohmann::json ja = nlohmann::json::parse(Slurp(Path("a.json")));
  nlohmann::json jb = nlohmann::json::parse(Slurp(Path("b.json")));
  ja.erase("wall_seconds");
  jb.erase("wall_seconds");
  EXPECT_EQ(ja, jb);
}

TEST_F(TideTuneCli, NoneMeetsTheSloExitsThreeAndSaysSo) {
  Result r = RunTide(kBase + " --slo-attainment 0.999 --max-replicas 2");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("No configuration meets the SLO within maxReplicas 2"), std::string::npos)
      << r.out;
}

// --robust 2 on 27 req/s: 3 replicas meet the SLO on the trace (one request
// every 111 ms each), not on its x1.2 copy (32.4 req/s: one every 93 ms for
// 100 ms of work), so the recommendation holds 4; its cost is counted on the
// original in-sample part (4 x 240 s).
TEST_F(TideTuneCli, RobustCopiesRaiseTheFloorAndCostStaysOnTheTrace) {
  const std::string base =
      "tune --arrivals constant --rate 27 --duration 300 --compute-ms 100 --balance round-robin "
      "--startup fixed:30 --slo-latency 0.2 --cpu-targets 50 90 --queue-targets 1 4 "
      "--p99-fractions 0.5 --up-windows 0 --up-percents 100 --down-windows 300 "
      "--down-percents 100 --no-progress --no-knative --reference-hpa " +
      kSeedHpa + " --slo-attainment 0.999 --max-replicas 8";
  Result plain = RunTide(base + " --json " + Path("plain.json"));
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_NE(plain.out.find("cheapest fixed fleet: 3 "), std::string::npos) << plain.out;
  Result r = RunTide(base + " --robust 2 --json " + Path("robust.json") + " -o " + Path("h.yaml"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("robust: a candidate meets the SLO only if it also meets it on 2 copies of "
                       "the in-sample part: [x0.8 rate, seed 2] [x1.2 rate, seed 3]; cost is on "
                       "the original"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cheapest fixed fleet: 4 "), std::string::npos) << r.out;
  nlohmann::json j = nlohmann::json::parse(Slurp(Path("robust.json")));
  EXPECT_EQ(j["robust"], nlohmann::json({"x0.8 rate, seed 2", "x1.2 rate, seed 3"}));
  const nlohmann::json& rec = j["rows"][0];
  EXPECT_EQ(rec["in_sample"]["replica_seconds"], 960.0);  // 4 x 240 s
  EXPECT_EQ(rec["held_out"]["replica_seconds"], 240.0);   // 4 x 60 s
  EXPECT_EQ(rec["held_out"]["slo_attainment"], 1.0);
  for (const nlohmann::json& c : j["candidates"]) {
    if (c.value("fixed_replicas", 0) == 3) {
      EXPECT_EQ(c["slo_attainment"], 1.0);  // on the trace
      EXPECT_FALSE(c["meets_slo"].get<bool>()) << c.dump();
      EXPECT_EQ(c["robust_attainment"][0], 1.0);
      EXPECT_LT(c["robust_attainment"][1].get<double>(), 0.999);
    }
  }
  std::string yaml = Slurp(Path("h.yaml"));
  EXPECT_NE(yaml.find("  minReplicas: 4\n"), std::string::npos) << yaml;
  EXPECT_NE(
      yaml.find("# Robust: it also meets the SLO on [x0.8 rate, seed 2] [x1.2 rate, seed 3]."),
      std::string::npos)
      << yaml;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// --report: pareto.svg has one point per HPA candidate, one per fixed fleet
// tried, the reference rows and the recommendation labelled with its
// in-sample figures; timeline.svg has the held-out part shaded.
TEST_F(TideTuneCli, ReportDrawsEveryCandidateAndTheRecommendation) {
  Result r = RunTide(kConstant + " --json " + Path("t.json") + " --report " + Path("report"));
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(Slurp(Path("t.json")));
  size_t hpas = 0, fixed = 0;
  for (const nlohmann::json& c : j["candidates"]) (c["stage"] == "fixed" ? fixed : hpas)++;
  std::string pareto = Slurp(Path("report/pareto.svg"));
  ASSERT_FALSE(pareto.empty());
  EXPECT_EQ(Count(pareto, "class=\"candidate\""), hpas);
  EXPECT_EQ(Count(pareto, "class=\"fixed\""), fixed);
  EXPECT_EQ(Count(pareto, "class=\"reference\""), 3u);  // seed CPU HPA, Knative, fixed 3
  EXPECT_EQ(Count(pareto, "class=\"recommended\""), 1u);
  EXPECT_NE(pareto.find(">recommended: 720 replica-s, 1.0000</text>"), std::string::npos);
  EXPECT_NE(pareto.find(">HPA candidates (" + std::to_string(hpas) + ")</text>"), std::string::npos)
      << pareto;
  EXPECT_NE(pareto.find(">cheapest fixed fleet: 3</text>"), std::string::npos);
  EXPECT_NE(pareto.find(">SLO: attainment 0.999</text>"), std::string::npos);
  std::string timeline = Slurp(Path("report/timeline.svg"));
  EXPECT_EQ(Count(timeline, "class=\"held-out\""), 2u);  // both panels
  EXPECT_NE(timeline.find(">cheapest fixed fleet (3)</text>"), std::string::npos);
  EXPECT_NE(timeline.find(">time (s)</text>"), std::string::npos);
  EXPECT_NE(timeline.find(">request rate (requests/s)</text>"), std::string::npos);
}

TEST_F(TideTuneCli, BadInputIsNamed) {
  struct Case {
    std::string args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {" --holdout 1.5", "--holdout must be in [0, 1)"},
           {" --metrics memory", "--metrics: unknown metric 'memory': cpu, queue-depth or p99"},
           {" --slo-attainment 0 --max-replicas 8", "--slo-attainment must be in (0, 1]"},
           {" --jobs 0", "--jobs must be >= 1"},
           {" --cpu-targets 55.5", "utilization is a whole percentage"},
           {" --robust 11", "--robust must be in [0, 10]"},
           {" --measure-resources", "--measure-resources needs --model-repository and --model"},
           {" --memory-limit lots", "--memory-limit 'lots': not a positive Kubernetes quantity"},
       }) {
    std::string args = c.args.find("--slo-attainment") == std::string::npos ? kConstant : kBase;
    Result r = RunTide(args + c.args);
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
  Result r = RunTide("tune --trace /nonexistent.csv --no-progress");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("/nonexistent.csv"), std::string::npos) << r.out;
  r = RunTide("tune --no-progress");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("give --trace FILE, or --rate R"), std::string::npos) << r.out;
}

}  // namespace
