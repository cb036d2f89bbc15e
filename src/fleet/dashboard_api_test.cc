// The dashboard's JSON on hand-made inputs: exact fields and values.

#include "fleet/dashboard_api.h"

#include "absl/strings/match.h"
#include "autoscaler/hpa_spec.h"
#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

using nlohmann::json;

TEST(MetricNumberTest, UtilizationValuesAndQuantities) {
  EXPECT_EQ(MetricNumber("57%"), 57.0);
  EXPECT_EQ(MetricNumber("4500m"), 4.5);
  EXPECT_EQ(MetricNumber("4"), 4.0);
  EXPECT_EQ(MetricNumber("4 (avg)"), 4.0);
  EXPECT_EQ(MetricNumber("2k"), 2000.0);
  EXPECT_EQ(MetricNumber(""), std::nullopt);
  EXPECT_EQ(MetricNumber("x%"), std::nullopt);
  EXPECT_EQ(MetricNumber("banana"), std::nullopt);
}

TEST(DashboardJsonTest, TimelineRowAsTheCsvColumns) {
  TimelineRow r;
  r.t = 3.25;
  r.arrivals = 120.5;
  r.completions = 118;
  r.errors = 0.5;
  r.desired = 3;
  r.ready = 2;
  r.metrics = {"57%", "", "1500m"};
  r.p99_seconds = 0.125;
  EXPECT_EQ(TimelineRowJson(r).dump(),
            "{\"arrivals_per_s\":120.5,\"completions_per_s\":118.0,\"desired_replicas\":3,"
            "\"errors_per_s\":0.5,\"metrics\":[57.0,null,1.5],\"p50_s\":null,\"p99_s\":0.125,"
            "\"ready_replicas\":2,\"t_s\":3.25}");
}

TEST(DashboardJsonTest, EventsRelativeToTheTimelineOrigin) {
  absl::Time origin = absl::FromUnixSeconds(1000);
  FleetEvent d;
  d.time = origin + absl::Milliseconds(2500);
  d.kind = "decision";
  d.from = 1;
  d.to = 4;
  d.reason = "ScaleUpLimit";
  d.message = "New size: 4";
  EXPECT_EQ(EventJson(d, 7, origin).dump(),
            "{\"from\":1,\"kind\":\"decision\",\"message\":\"New size: 4\",\"reason\":"
            "\"ScaleUpLimit\",\"seq\":7,\"t_s\":2.5,\"to\":4}");
  FleetEvent r;
  r.time = origin - absl::Milliseconds(500);
  r.kind = "started";
  r.replica = "tide-serve-1";
  r.message = "pid 42";
  EXPECT_EQ(EventJson(r, 0, origin).dump(),
            "{\"kind\":\"started\",\"message\":\"pid 42\",\"replica\":\"tide-serve-1\","
            "\"seq\":0,\"t_s\":-0.5}");
}

autoscaler::HpaSpec Spec() {
  auto specs = autoscaler::HpaSpecsFromYaml(
      "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\n"
      "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
      "  minReplicas: 2\n  maxReplicas: 6\n  metrics:\n"
      "  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
      "averageUtilization: 50}}\n"
      "  - type: Pods\n    pods: {metric: {name: tide_inference_queue_depth}, target: "
      "{type: AverageValue, averageValue: 500m}}\n");
  EXPECT_TRUE(specs.ok()) << specs.status();
  return (*specs)[0];
}

TEST(DashboardJsonTest, MetaNamesEachMetricWithItsTargetAndUnit) {
  EXPECT_EQ(MetaJson(Spec(), 0.25).dump(),
            "{\"max_replicas\":6,\"metrics\":[{\"label\":\"cpu resource utilization (percentage "
            "of request)\",\"name\":\"cpu\",\"target\":50,\"unit\":\"%\"},{\"label\":\"pods "
            "metric tide_inference_queue_depth\",\"name\":\"tide_inference_queue_depth\","
            "\"target\":0.5,\"unit\":\"\"}],\"min_replicas\":2,\"name\":\"web\",\"slo_s\":0.25}");
}

TEST(DashboardJsonTest, StatusHasTheReplicaTable) {
  FleetStatus s;
  s.desired = 2;
  s.ready = 1;
  s.starting = 1;
  FleetReplicaStatus a;
  a.replica.name = "tide-serve-1";
  a.replica.pid = 11;
  a.replica.state = ReplicaState::kReady;
  a.outstanding = 3;
  a.scraped = PodScrapeView{};
  a.scraped->cpu_cores = 0.25;
  a.scraped->queue_depth = 2;
  a.scraped->request_rate = 40;
  a.scraped->p99_seconds = 0.05;
  FleetReplicaStatus b;
  b.replica.name = "tide-serve-2";
  b.replica.pid = 12;
  s.replicas = {a, b};
  FleetMetricStatus m;
  m.description = "cpu resource utilization (percentage of request)";
  m.target = "50%";
  m.current = "61%";
  s.metrics = {m};
  json j = StatusJson(s);
  EXPECT_EQ(j["replicas"][0].dump(),
            "{\"cpu_cores\":0.25,\"error\":\"\",\"in_flight\":null,\"name\":\"tide-serve-1\","
            "\"outstanding\":3,\"p50_s\":null,\"p99_s\":0.05,\"pid\":11,\"queue_depth\":2.0,"
            "\"rate_per_s\":40.0,\"restarts\":0,\"state\":\"Ready\"}");
  EXPECT_EQ(j["replicas"][1]["state"], "Starting");
  EXPECT_EQ(j["replicas"][1]["cpu_cores"], nullptr);
  EXPECT_EQ(j["metrics"].dump(),
            "[{\"current\":\"61%\",\"error\":\"\",\"label\":\"cpu resource utilization "
            "(percentage of request)\",\"target\":\"50%\"}]");
  EXPECT_EQ(j["desired"], 2);
  EXPECT_EQ(j["starting"], 1);
}

TEST(DashboardJsonTest, ReportHtmlEmbedsTheRun) {
  TimelineRow r;
  r.t = 1;
  r.desired = r.ready = 2;
  FleetEvent e;
  e.time = absl::FromUnixSeconds(5);
  e.kind = "ready";
  e.replica = "tide-serve-1";
  std::string html = ReportHtml({r}, {e}, absl::FromUnixSeconds(4), Spec(), 0.5);
  EXPECT_TRUE(absl::StrContains(
      html,
      "<script id=\"tide-data\" type=\"application/json\">{\"events\":[{\"kind\":\"ready\","
      "\"message\":\"\",\"replica\":\"tide-serve-1\",\"seq\":0,\"t_s\":1.0}],\"kind\":\"up\","))
      << html.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(html, "\"rows\":[{\"arrivals_per_s\":0.0,"));
}

http::HttpRequest Get(const std::string& target) {
  http::HttpRequest r;
  r.method = "GET";
  r.target = target;
  r.path = target.substr(0, target.find('?'));
  return r;
}

// Three samples a second apart (rows at t = 1 and 2) and two events.
void Fill(FleetRecorder* recorder) {
  const absl::Time t0 = absl::FromUnixSeconds(100);
  FleetEvent started;
  started.time = t0 - absl::Milliseconds(250);
  started.kind = "started";
  started.replica = "tide-serve-1";
  recorder->AddEvent(started);
  FleetStatus s;
  s.desired = 1;
  for (int i = 0; i < 3; ++i) {
    s.ready = i;
    recorder->Sample(t0 + absl::Seconds(i), s, "", DemoTrafficStats{});
  }
  FleetEvent ready = started;
  ready.time = t0 + absl::Milliseconds(1500);
  ready.kind = "ready";
  recorder->AddEvent(ready);
}

TEST(DashboardRoutesTest, TimelineSinceAndBadQueries) {
  FleetRecorder recorder(Spec());
  Fill(&recorder);
  json all = json::parse(TimelineResponse(Get("/api/timeline"), recorder).body);
  ASSERT_EQ(all["rows"].size(), 2u);
  EXPECT_EQ(all["rows"][0]["t_s"], 1.0);
  EXPECT_EQ(all["rows"][1]["ready_replicas"], 2);
  json after = json::parse(TimelineResponse(Get("/api/timeline?since=1"), recorder).body);
  ASSERT_EQ(after["rows"].size(), 1u);
  EXPECT_EQ(after["rows"][0]["t_s"], 2.0);
  EXPECT_EQ(TimelineResponse(Get("/api/timeline?since=2"), recorder).body, "{\"rows\":[]}");
  struct Case {
    std::string target;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"/api/timeline?since=abc", "since: \"abc\" is not a number of seconds"},
           {"/api/timeline?since=nan", "since: \"nan\" is not a number of seconds"},
           {"/api/timeline?since=", "query parameter since: no value"},
           {"/api/timeline?since=1&since=2", "query parameter since: given twice"},
           {"/api/timeline?until=3", "unknown query parameter \"until\" (expected: since)"}}) {
    http::HttpResponse r = TimelineResponse(Get(c.target), recorder);
    EXPECT_EQ(r.status, 400) << c.target;
    EXPECT_EQ(json::parse(r.body)["error"], c.error) << c.target;
  }
}

TEST(DashboardRoutesTest, EventsFromAndSince) {
  FleetRecorder recorder(Spec());
  Fill(&recorder);
  json all = json::parse(EventsResponse(Get("/api/events"), recorder).body);
  EXPECT_EQ(all.dump(),
            "{\"events\":[{\"kind\":\"started\",\"message\":\"\",\"replica\":\"tide-serve-1\","
            "\"seq\":0,\"t_s\":-0.25},{\"kind\":\"ready\",\"message\":\"\",\"replica\":"
            "\"tide-serve-1\",\"seq\":1,\"t_s\":1.5}],\"next\":2}");
  json from1 = json::parse(EventsResponse(Get("/api/events?from=1"), recorder).body);
  ASSERT_EQ(from1["events"].size(), 1u);
  EXPECT_EQ(from1["events"][0]["seq"], 1);
  EXPECT_EQ(json::parse(EventsResponse(Get("/api/events?from=5"), recorder).body).dump(),
            "{\"events\":[],\"next\":2}");
  json since = json::parse(EventsResponse(Get("/api/events?since=0"), recorder).body);
  ASSERT_EQ(since["events"].size(), 1u);
  EXPECT_EQ(since["events"][0]["kind"], "ready");
  http::HttpResponse bad = EventsResponse(Get("/api/events?from=-1"), recorder);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"], "from: \"-1\" is not an event number (0, 1, ...)");
  // Before the first sample there is no time origin: no events yet.
  FleetRecorder empty(Spec());
  FleetEvent e;
  e.kind = "started";
  empty.AddEvent(e);
  EXPECT_EQ(EventsResponse(Get("/api/events"), empty).body, "{\"events\":[],\"next\":0}");
}

}  // namespace
}  // namespace tide::fleet
