// `tide sim` as a user runs it: the real binary, its flags, files and exit
// codes; determinism; and bad input named by file, line or field.

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

class TideSimCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tide_sim_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::filesystem::create_directories((dir_ / name).parent_path());
    std::ofstream(Path(name)) << text;
    return Path(name);
  }
  std::filesystem::path dir_;
};

const std::string kRepo = std::string(TIDE_SOURCE_DIR) + "/examples/models";
const std::string kOverlays = std::string(TIDE_SOURCE_DIR) + "/deploy/k8s/overlays";
const std::string kTraces = std::string(TIDE_SOURCE_DIR) + "/examples/traces/derived";

TEST_F(TideSimCli, HelpDescribesEveryFlag) {
  Result r = RunTide("sim --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--trace",
                           "--trace-format",
                           "--start",
                           "--duration",
                           "--time-scale",
                           "--rate-scale",
                           "--arrivals",
                           "--peak-rate",
                           "--shape-at",
                           "--shape-length",
                           "--period",
                           "--mmpp-low",
                           "--mmpp-high",
                           "--rate",
                           "--model-repository",
                           "--model",
                           "--profile",
                           "--compute-ms",
                           "--per-item-ms",
                           "--distribution",
                           "--jitter",
                           "--instances",
                           "--max-batch-size",
                           "--max-queue-delay-us",
                           "--max-queue-size",
                           "--sleep-mode",
                           "--cpu-request",
                           "--startup",
                           "--readiness-delay",
                           "--termination-grace-period",
                           "--balance",
                           "--metric-resolution",
                           "--scrape-interval",
                           "--rate-window",
                           "--adapter-lag",
                           "--hpa",
                           "--fixed",
                           "--knative",
                           "--knative-target",
                           "--knative-utilization",
                           "--knative-min-scale",
                           "--knative-max-scale",
                           "--sync-period",
                           "--tolerance",
                           "--initial-replicas",
                           "--slo-latency",
                           "--json",
                           "--timeline-csv",
                           "--svg",
                           "--seed",
                           "--no-progress"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST_F(TideSimCli, SameInputsAndSeedGiveIdenticalFiles) {
  auto run = [&](const std::string& tag, int seed) {
    std::string args = "sim --model-repository " + kRepo + " --model simulated --trace " + kTraces +
                       "/azure_llm_2023_code_requests.csv --rate-scale 4 --hpa " + kOverlays +
                       "/hpa-cpu/hpa.yaml --hpa " + kOverlays +
                       "/hpa-queue-depth/hpa.yaml --fixed 2 --knative --seed " +
                       std::to_string(seed) + " --json " + Path(tag + ".json") +
                       " --timeline-csv " + Path(tag + ".csv") + " --svg " + Path(tag + ".svg");
    Result r = RunTide(args);
    EXPECT_EQ(r.code, 0) << r.out;
    return r.out;
  };
  std::string out_a = run("a", 3), out_b = run("b", 3);
  run("c", 4);
  EXPECT_EQ(out_a, out_b);
  EXPECT_EQ(Slurp(Path("a.csv")), Slurp(Path("b.csv")));
  EXPECT_EQ(Slurp(Path("a.svg")), Slurp(Path("b.svg")));
  EXPECT_NE(Slurp(Path("a.csv")), Slurp(Path("c.csv")));
  auto a = nlohmann::json::parse(Slurp(Path("a.json")));
  auto b = nlohmann::json::parse(Slurp(Path("b.json")));
  // Everything but the wall time is identical.
  EXPECT_EQ(a["policies"], b["policies"]);
  ASSERT_EQ(a["policies"].size(), 4u);
  EXPECT_EQ(a["policies"][0]["name"], "fixed-2");
  EXPECT_EQ(a["policies"][1]["name"], "hpa:hpa-cpu");
  EXPECT_EQ(a["policies"][2]["name"], "hpa:hpa-queue-depth");
  EXPECT_EQ(a["policies"][3]["name"], "knative");
  for (const auto& p : a["policies"]) {
    for (const char* key :
         {"name", "requests", "completed", "rejected", "latency_s", "wait_s", "slo_attainment",
          "replica_seconds", "replicas", "scale_ups", "scale_downs"}) {
      EXPECT_TRUE(p.contains(key)) << key;
    }
    for (const char* key : {"mean", "p50", "p95", "p99", "max"}) {
      EXPECT_TRUE(p["latency_s"].contains(key)) << key;
    }
    EXPECT_TRUE(p["wait_s"].contains("mean"));
    EXPECT_TRUE(p["wait_s"].contains("p_positive"));
    EXPECT_TRUE(p["replicas"]["max"].is_number_integer());
    EXPECT_EQ(p["requests"], a["policies"][0]["requests"]);
  }
  EXPECT_TRUE(a["wall_seconds"].is_number());
  EXPECT_TRUE(a["simulated_requests_per_second"].is_number());
}

TEST_F(TideSimCli, IntervalTracesAreStreamedWithTheirExactCounts) {
  std::string t = Write("intervals.csv", "start_s,count\n0,100\n10,0\n20,50\n");
  Result r = RunTide("sim --trace " + t + " --compute-ms 1 --fixed 1 --json " + Path("i.json"));
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(Slurp(Path("i.json")));
  EXPECT_EQ(j["policies"][0]["requests"], 150);
  EXPECT_EQ(j["policies"][0]["completed"], 150);
  EXPECT_EQ(j["policies"][0]["replica_seconds"], 30);  // the last row's width reused: 0-30 s
  r = RunTide("sim --trace " + t + " --compute-ms 1 --fixed 1 --rate-scale 2 --start 20 --json " +
              Path("w.json"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(Slurp(Path("w.json")))["policies"][0]["requests"], 100);
}

TEST_F(TideSimCli, UnsortedOrNegativeTraceNamesFileAndLine) {
  std::string t = Write("unsorted.csv", "timestamp_s\n0.5\n2\n1\n");
  Result r = RunTide("sim --trace " + t + " --fixed 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "tide sim: " + t +
                       ": trace line 4: timestamp_s 1 is before the previous row's 2 (the trace "
                       "must be sorted by time)\n");
  t = Write("negative.csv", "timestamp_s\n-0.5\n");
  r = RunTide("sim --trace " + t + " --fixed 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "tide sim: " + t + ": trace line 2: timestamp_s -0.5 is negative\n");
}

TEST_F(TideSimCli, HpaTheApiServerWouldRefuseGetsItsFieldErrors) {
  std::string hpa = Write("bad.yaml",
                          "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
                          "metadata: {name: web}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, "
                          "kind: Deployment, name: web}\n  minReplicas: 5\n  maxReplicas: 2\n");
  Result r = RunTide("sim --rate 10 --duration 60 --hpa " + hpa);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "tide sim: --hpa " + hpa +
                       ": The HorizontalPodAutoscaler \"web\" is invalid: \n* spec.maxReplicas: "
                       "Invalid value: 2: must be greater than or equal to `minReplicas`\n");
}

TEST_F(TideSimCli, ModelConfigTheServerWouldRefuseNamesTheField) {
  Write("repo/m/config.pbtxt",
        "name: \"m\"\nbackend: \"simulated\"\nmax_batch_size: 4\n"
        "input [ { name: \"IN\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
        "output [ { name: \"OUT\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
        "parameters [ { key: \"distribution\" value { string_value: \"gamma\" } } ]\n");
  Result r = RunTide("sim --rate 10 --duration 10 --fixed 1 --model-repository " + Path("repo") +
                     " --model m");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "tide sim: " + Path("repo") +
                       "/m/config.pbtxt: parameters 'distribution' = 'gamma': use fixed, "
                       "exponential or lognormal\n");
  Write("repo/n/config.pbtxt", "name: \"n\"\nbackend: \"simulated\"\nmax_batch_size: -1\n");
  r = RunTide("sim --rate 10 --duration 10 --fixed 1 --model-repository " + Path("repo") +
              " --model n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("config.pbtxt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max_batch_size"), std::string::npos) << r.out;
}

TEST_F(TideSimCli, ProfileMakesAMeasuredModelSimulable) {
  std::string table = Write("profile.json", "{\"batch_latency_ms\": {\"1\": 20}}");
  std::string json = Path("p.json");
  // `simple` is a TorchScript model: its shape from config.pbtxt, its time from the profile.
  Result r = RunTide("sim --model-repository " + kRepo +
                     " --model simple --rate 10 --arrivals constant --duration 100 --fixed 1 "
                     "--profile " +
                     table + " --json " + json);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(Slurp(json));
  EXPECT_EQ(j["policies"][0]["requests"], 1000);
  EXPECT_EQ(j["policies"][0]["latency_s"]["max"], 0.02);
  EXPECT_EQ(j["policies"][0]["wait_s"]["p_positive"], 0);
  r = RunTide("sim --model-repository " + kRepo +
              " --model simple --rate 10 --duration 10 --fixed 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("backend 'pytorch'"), std::string::npos) << r.out;
  std::string bad = Write("bad.json", "[]");
  r = RunTide("sim --rate 10 --duration 10 --fixed 1 --profile " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "tide sim: " + bad + ": not a JSON object\n");
}

TEST_F(TideSimCli, NeedsAPolicyAndTraffic) {
  Result r = RunTide("sim --rate 10 --duration 10");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "tide sim: give at least one policy: --fixed N, --hpa FILE or --knative\n");
  r = RunTide("sim --fixed 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "tide sim: give --trace FILE, or --rate R (> 0) with --duration S\n");
  r = RunTide("sim --fixed 1 --rate 5 --duration 10 --startup uniform:9:1");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "tide sim: --startup 'uniform:9:1': low must be <= high (use S, fixed:S, "
            "uniform:LOW:HIGH, exponential:MEAN or lognormal:MEAN:SIGMA, in seconds)\n");
}

}  // namespace
