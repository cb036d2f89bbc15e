// LoadRunner and the reports end to end, against fake V2 and /metrics
// servers on 127.0.0.1.

#include "loadgen/load_runner.h"

#include <atomic>
#include <fstream>

#include "gtest/gtest.h"
#include "loadgen/report.h"
#include "loadgen/testing/fake_http_server.h"
#include "loadgen/text.h"
#include "nlohmann/json.hpp"

namespace tide::loadgen {
namespace {

using json = nlohmann::json;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::FakeRequest;

constexpr char kMetadata[] = R"({"name":"simple","versions":["1"],"platform":"fake",
  "inputs":[{"name":"INPUT0","datatype":"INT32","shape":[-1,16]}],
  "outputs":[{"name":"OUTPUT0","datatype":"INT32","shape":[-1,16]}]})";

struct FakeV2 {
  std::atomic<int64_t> infers{0};
  std::atomic<int> output_rows_delta{0};  // corrupt the answer's shape when != 0
  std::unique_ptr<FakeHttpServer> http;
  std::unique_ptr<FakeHttpServer> metrics;

  FakeV2() {
    http = FakeHttpServer::Start([this](const FakeRequest& req) {
             FakeReply r;
             r.content_type = "application/json";
             if (req.method == "GET" && req.target == "/v2/models/simple") {
               r.body = kMetadata;
             } else if (req.method == "POST" && req.target == "/v2/models/simple/infer") {
               json in = json::parse(req.body, nullptr, false);
               if (in.is_discarded()) {
                 size_t n = 0;
                 for (auto& [k, v] : req.headers) {
                   if (EqualsIgnoreCase(k, "Inference-Header-Content-Length")) n = std::stoul(v);
                 }
                 in = json::parse(req.body.substr(0, n));
               }
               int64_t rows = in["inputs"][0]["shape"][0].get<int64_t>() + output_rows_delta.load();
               json data = json::array();
               for (int64_t i = 0; i < rows * 16; ++i) data.push_back(0);
               json out = {{"model_name", "simple"},
                           {"outputs",
                            {{{"name", "OUTPUT0"},
                              {"datatype", "INT32"},
                              {"shape", {rows, 16}},
                              {"data", data}}}}};
               r.body = out.dump();
               infers.fetch_add(1);
             } else {
               r.status = 404;
               r.body = R"({"error":"not found"})";
             }
             return r;
           }).value();
    metrics =
        FakeHttpServer::Start([this](const FakeRequest&) {
          FakeReply r;
          const int64_t n = infers.load();
          r.body = Cat(
              "tide_inference_requests_total{model=\"simple\",version=\"1\",outcome=\"success\"} ",
              n, "\ntide_inference_executions_total{model=\"simple\",version=\"1\"} ", n,
              "\ntide_inference_count_total{model=\"simple\",version=\"1\"} ", 2 * n,
              "\ntide_inference_queue_duration_seconds_sum{model=\"simple\",version=\"1\"} ",
              0.001 * n,
              "\ntide_inference_queue_duration_seconds_count{model=\"simple\",version=\"1\"} ", n,
              "\n");
          return r;
        }).value();
  }

  LoadOptions Options() const {
    LoadOptions o;
    o.url = Cat("http://127.0.0.1:", http->port());
    o.metrics_url = Cat("http://127.0.0.1:", metrics->port(), "/metrics");
    o.model = "simple";
    return o;
  }
};

LoadReport MustRun(LoadOptions o) {
  auto runner = LoadRunner::Create(std::move(o));
  EXPECT_TRUE(runner.ok()) << runner.status();
  auto report = (*runner)->Run();
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : LoadReport();
}

TEST(LoadRunner, ClosedLoopSweepWithServerBreakdown) {
  FakeV2 fake;
  LoadOptions o = fake.Options();
  o.concurrency = "1:4:x2";
  o.requests = 40;
  o.batch_size = 2;
  o.sweep.min_gain = -1;  // never stop early: every level runs
  LoadReport r = MustRun(o);
  ASSERT_EQ(r.levels.size(), 3u);
  EXPECT_EQ(r.levels[2].level, 4);
  for (const LevelReport& l : r.levels) {
    EXPECT_EQ(l.result.ok, 40u);
    EXPECT_EQ(l.result.failed, 0u);
    ASSERT_TRUE(l.server.has_value()) << l.server_note;
    EXPECT_EQ(l.server->success, 40);
    EXPECT_DOUBLE_EQ(l.server->mean_batch_size, 2.0);
    EXPECT_DOUBLE_EQ(l.server->mean_queue_s, 0.001);
  }
  EXPECT_EQ(fake.infers.load(), 120);
  EXPECT_EQ(r.target,
            Cat("model simple at 127.0.0.1:", fake.http->port(), ": INPUT0 INT32 [2,16] (JSON)"));

  const std::string table = FormatReport(r);
  EXPECT_NE(table.find("concurrency"), std::string::npos);
  EXPECT_NE(table.find("server: 40 ok"), std::string::npos) << table;
  json j = ReportToJson(r);
  EXPECT_EQ(j["levels"].size(), 3u);
  EXPECT_EQ(j["levels"][0]["ok"], 40);
  EXPECT_EQ(j["levels"][0]["latency"]["count"], 40);
  EXPECT_EQ(j["config"]["concurrency"], "1:4:x2");
  EXPECT_EQ(j["levels"][1]["server"]["success"], 40);
  const std::string csv = ReportToCsv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_NE(csv.find("\nconcurrency,4,"), std::string::npos) << csv;
}

TEST(LoadRunner, OpenLoopBinaryAndTimeline) {
  FakeV2 fake;
  LoadOptions o = fake.Options();
  o.rate = "100";
  o.arrivals = "constant";
  o.duration_s = 1.0;
  o.binary = true;
  LoadReport r = MustRun(o);
  ASSERT_EQ(r.levels.size(), 1u);
  const EngineResult& e = r.levels[0].result;
  EXPECT_EQ(e.scheduled, 100u);
  EXPECT_EQ(e.ok, 100u);
  uint64_t completed = 0;
  for (const TimelineSecond& s : e.timeline) completed += s.completed;
  EXPECT_EQ(completed, 100u);
  const std::string timeline = TimelineToCsv(r);
  EXPECT_EQ(timeline.rfind("mode,level,t_s,", 0), 0u);
  EXPECT_NE(timeline.find("rate,100,0,100,"), std::string::npos) << timeline;
}

TEST(LoadRunner, WrongOutputShapeIsCountedNotDropped) {
  FakeV2 fake;
  fake.output_rows_delta = 1;
  LoadOptions o = fake.Options();
  o.requests = 10;
  LoadReport r = MustRun(o);
  ASSERT_EQ(r.levels.size(), 1u);
  EXPECT_EQ(r.levels[0].result.ok, 0u);
  EXPECT_EQ(r.levels[0].result.errors,
            (std::map<std::string, uint64_t>{{"bad_response: wrong shape of OUTPUT0", 10}}));
}

TEST(LoadRunner, TraceReplayAndUnknownModel) {
  FakeV2 fake;
  const std::string path = ::testing::TempDir() + "/loadgen_trace.csv";
  {
    std::ofstream f(path);
    f << "start_s,count\n0,20\n10,30\n20,0\n";
  }
  LoadOptions o = fake.Options();
  o.trace = path;
  o.time_scale = 0.02;  // 30 s of trace in 0.6 s
  LoadReport r = MustRun(o);
  ASSERT_EQ(r.levels.size(), 1u);
  EXPECT_EQ(r.levels[0].mode, "trace");
  EXPECT_EQ(r.levels[0].result.scheduled, 50u);
  EXPECT_EQ(r.levels[0].result.ok, 50u);

  LoadOptions bad = fake.Options();
  bad.model = "missing";
  auto runner = LoadRunner::Create(bad);
  ASSERT_TRUE(runner.ok());
  auto report = (*runner)->Run();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadRunner, HttpGetModeAndMetricsUnreachable) {
  FakeV2 fake;
  LoadOptions o;
  o.url = Cat("http://127.0.0.1:", fake.http->port());
  o.http_get = "/v2/models/simple";
  o.concurrency = "2";
  o.requests = 30;
  LoadReport r = MustRun(o);
  ASSERT_EQ(r.levels.size(), 1u);
  EXPECT_EQ(r.levels[0].result.ok, 30u);
  EXPECT_FALSE(r.levels[0].server.has_value());

  LoadOptions m = fake.Options();
  m.metrics_url = Cat("http://127.0.0.1:", testing::UnusedPort());
  m.requests = 5;
  LoadReport r2 = MustRun(m);
  ASSERT_EQ(r2.levels.size(), 1u);
  EXPECT_FALSE(r2.levels[0].server.has_value());
  EXPECT_NE(r2.levels[0].server_note.find("not reachable"), std::string::npos);
}

TEST(LoadRunner, CreateValidates) {
  LoadOptions o;
  EXPECT_FALSE(LoadRunner::Create(o).ok());  // no model
  o.model = "m";
  o.rate = "10";
  o.concurrency = "2";
  EXPECT_FALSE(LoadRunner::Create(o).ok());  // two modes
  o.concurrency.clear();
  o.arrivals = "bursty";
  EXPECT_FALSE(LoadRunner::Create(o).ok());
  o.arrivals = "poisson";
  o.url = "https://x";
  EXPECT_FALSE(LoadRunner::Create(o).ok());
  o.url = "http://127.0.0.1:1";
  o.trace = "/nonexistent.csv";
  o.rate.clear();
  EXPECT_EQ(LoadRunner::Create(o).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tide::loadgen

namespace tide::loadgen {
namespace {

TEST(LevelWarnings, SaysWhenTheClientIsTheBottleneck) {
  EngineResult quiet;
  quiet.open_loop = true;
  quiet.scheduled = 1000;
  quiet.late_dispatches = 10;  // exactly 1 %: fine
  quiet.max_worker_busy = 0.3;
  EXPECT_TRUE(LevelWarnings(quiet, 64).empty());

  EngineResult behind = quiet;
  behind.late_dispatches = 50;
  behind.max_worker_busy = 0.97;
  auto w = LevelWarnings(behind, 64);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[0].find("CLIENT BEHIND SCHEDULE: 5.0 %"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("worker thread was busy"), std::string::npos) << w[0];
  EXPECT_NE(w[1].find("busy 97.0 %"), std::string::npos) << w[1];

  EngineResult starved = behind;
  starved.max_worker_busy = 0.05;
  w = LevelWarnings(starved, 64);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("did not give the client the CPU"), std::string::npos) << w[0];

  EngineResult queued = quiet;
  queued.queued_requests = 7;
  queued.stopped = true;
  w = LevelWarnings(queued, 64);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[0].find("stopped early"), std::string::npos);
  EXPECT_NE(w[1].find("7 requests found all --max-connections 64"), std::string::npos) << w[1];
}

}  // namespace
}  // namespace tide::loadgen
