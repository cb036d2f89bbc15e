// The dashboard as a user sees it: Debian's chromium, headless on loopback,
// loads the page the real `tide up` serves (a real fleet of `tide serve`
// replicas on port 0, under load from the test), and the report.html files
// of `tide up --report` and `tide sim --report`. Each page must load with no
// script error (the page writes them into #errors), draw what the JSON
// endpoint (or the report's files) hold — checked through the DOM: every
// drawn series is a <path data-series data-n data-last>, and #summary holds
// them as JSON — and leave a screenshot under build/dashboard-screenshots/.
// Skipped, saying so, only when no chromium is installed.

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "fleet/child_process.h"
#include "fleet/demo_traffic.h"
#include "fleet/health_probe.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/tide_process.h"

namespace tide {
namespace {

namespace fs = std::filesystem;
using fleet::ChildProcess;
using nlohmann::json;

std::string ChromiumPath() {
  for (const char* p :
       {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tide_dashboard_test_XXXXXX";
    path_ = fs::canonical(mkdtemp(tmpl)).string();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& content) const {
    fs::create_directories(fs::path(File(name)).parent_path());
    std::ofstream(File(name)) << content;
  }

 private:
  std::string path_;
};

// What headless chromium made of a page.
struct Page {
  std::string dom;
  json summary;        // #summary
  std::string errors;  // #errors' text
};

// Loads `url` in headless chromium (its own profile under `dir`), lets it run
// `budget_ms` of virtual time (timers, polls), and returns the DOM; with
// `screenshot`, also writes a PNG of the page there.
Page Load(const TempDir& dir, const std::string& url, int budget_ms,
          const std::string& screenshot = "") {
  std::string out = dir.File("dom.html");
  std::vector<std::string> flags = {"--headless",
                                    "--no-sandbox",
                                    "--disable-gpu",
                                    "--no-first-run",
                                    "--disable-extensions",
                                    "--user-data-dir=" + dir.File("chromium-profile"),
                                    absl::StrCat("--virtual-time-budget=", budget_ms)};
  auto run = [&](const std::vector<std::string>& extra, const std::string& redirect) {
    std::string cmd = "exec " + ChromiumPath();
    for (const auto& f : flags) absl::StrAppend(&cmd, " '", f, "'");
    for (const auto& f : extra) absl::StrAppend(&cmd, " '", f, "'");
    absl::StrAppend(&cmd, " '", url, "'", redirect);
    ChildProcess::Options o;
    o.argv = {"/bin/sh", "-c", cmd};
    o.log_path = dir.File("chromium.log");
    auto p = ChildProcess::Spawn(std::move(o));
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return;
    auto exit = (*p)->Wait(absl::Seconds(90));
    EXPECT_TRUE(exit.has_value()) << "chromium did not finish within 90 s: " << cmd;
    if (exit) {
      EXPECT_EQ(*exit, fleet::ExitStatus::Exited(0)) << cmd;
    }
  };
  run({"--dump-dom"}, " > '" + out + "'");
  Page page;
  page.dom = testing::ReadFileText(out);
  std::smatch m;
  static const std::regex summary(
      "<script id=\"summary\" type=\"application/json\">([^<]*)</script>");
  if (std::regex_search(page.dom, m, summary)) {
    page.summary = json::parse(m[1].str(), nullptr, /*allow_exceptions=*/false);
  }
  static const std::regex errors("<pre id=\"errors\">([^<]*)</pre>");
  if (std::regex_search(page.dom, m, errors)) page.errors = m[1].str();
  if (!screenshot.empty()) {
    fs::create_directories(fs::path(screenshot).parent_path());
    fs::remove(screenshot);
    run({"--screenshot=" + screenshot, "--window-size=1400,2300", "--hide-scrollbars"}, "");
    EXPECT_GT(fs::exists(screenshot) ? fs::file_size(screenshot) : 0, 20000u)
        << screenshot << ": no screenshot (or a blank one)";
  }
  return page;
}

// The drawn series `key` from the DOM itself: its point count and last value.
std::pair<int, std::string> Drawn(const Page& page, const std::string& key) {
  std::smatch m;
  std::regex re("data-series=\"" + key + "\" data-n=\"([0-9]+)\" data-last=\"([^\"]*)\"");
  if (!std::regex_search(page.dom, m, re)) return {-1, ""};
  return {std::stoi(m[1].str()), m[2].str()};
}

void ExpectSeries(const Page& page, const std::string& key, int n, std::optional<double> last) {
  SCOPED_TRACE(key);
  auto [drawn_n, drawn_last] = Drawn(page, key);
  EXPECT_EQ(drawn_n, n);
  if (!last) {
    EXPECT_EQ(drawn_last, "");
    return;
  }
  ASSERT_FALSE(drawn_last.empty());
  EXPECT_NEAR(std::stod(drawn_last), *last, 1e-9 * std::max(1.0, std::fabs(*last)));
  EXPECT_EQ(page.summary["series"][key]["n"], n);
}

std::string ScreenshotPath(const std::string& name) {
  return std::string(TIDE_SCREENSHOT_DIR) + "/" + name;
}

constexpr char kModel[] =
    "name: \"simulated\"\nbackend: \"simulated\"\nmax_batch_size: 0\n"
    "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 1, 16 ] }\n"
    "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 1, 16 ] }\n"
    "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
    "parameters { key: \"mode\" value { string_value: \"sleep\" } }\n"
    "parameters { key: \"compute_ms\" value { string_value: \"20\" } }\n"
    "parameters { key: \"per_item_ms\" value { string_value: \"0\" } }\n";

// 1..3 replicas on in-flight requests; scale-down held for 10 minutes so the
// fleet stays as the load left it while the browser looks.
constexpr char kHpa[] =
    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: dash}\n"
    "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: dash}\n"
    "  minReplicas: 1\n  maxReplicas: 3\n  metrics:\n"
    "    - type: Pods\n      pods: {metric: {name: tide_inference_in_flight}, target: "
    "{type: AverageValue, averageValue: '2'}}\n"
    "  behavior:\n    scaleUp:\n      stabilizationWindowSeconds: 0\n"
    "      policies: [{type: Pods, value: 4, periodSeconds: 1}]\n"
    "    scaleDown:\n      stabilizationWindowSeconds: 600\n";

json GetJson(int port, const std::string& path, int expect_status = 200) {
  auto r = fleet::HttpGet(port, path, absl::Seconds(10));
  EXPECT_TRUE(r.ok()) << path << ": " << r.status();
  if (!r.ok()) return json();
  EXPECT_EQ(r->status, expect_status) << path << ": " << r->body;
  return json::parse(r->body, nullptr, false);
}

std::optional<double> LastNumber(const json& rows, double last_t,
                                 const std::function<json(const json&)>& field, int* n) {
  std::optional<double> last;
  *n = 0;
  for (const json& r : rows) {
    if (r["t_s"].get<double>() > last_t) break;
    json v = field(r);
    if (v.is_number()) {
      last = v.get<double>();
      ++*n;
    }
  }
  return last;
}

TEST(DashboardTest, TideUpLivePageAndItsReportShowTheFleetsData) {
  if (ChromiumPath().empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs Debian's "
                    "chromium): the dashboard's browser test cannot run";
  }
  TempDir dir;
  dir.Write("models/simulated/config.pbtxt", kModel);
  fs::create_directories(dir.File("models/simulated/1"));
  dir.Write("hpa.yaml", kHpa);
  ChildProcess::Options o;
  o.argv = {TIDE_BINARY,
            "up",
            "--model-repository",
            dir.File("models"),
            "--hpa",
            dir.File("hpa.yaml"),
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--sync-period",
            "500ms",
            "--scrape-interval",
            "250ms",
            "--termination-grace-period",
            "5s",
            "--log-dir",
            dir.File("logs"),
            "--report",
            dir.File("report"),
            "--slo",
            "0.1"};
  o.log_path = dir.File("up.log");
  auto up = ChildProcess::Spawn(std::move(o));
  ASSERT_TRUE(up.ok()) << up.status();
  auto first = (*up)->ReadLine(absl::Seconds(20));
  ASSERT_TRUE(first.ok()) << first.status();
  json listening = json::parse(*first);
  const int port = listening["port"], mport = listening["metrics_port"];
  auto await = [&](const std::string& text, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      auto l = (*up)->ReadLine(absl::Milliseconds(200));
      if (l.ok() && absl::StrContains(*l, text)) return true;
    }
    return false;
  };
  ASSERT_TRUE(await("tide-serve-1 ready", absl::Seconds(20)));

  // 150 req/s at 20 ms each: ~3 in flight per replica at 1, so the HPA asks
  // for 2, then 3; and a few seconds of rows before the browser looks.
  fleet::DemoTraffic::Options lo;
  lo.port = static_cast<uint16_t>(port);
  lo.shape = {{"load", absl::Seconds(6), 150, 150}};
  lo.workers = 16;
  auto load = fleet::DemoTraffic::Start(std::move(lo));
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_TRUE(await("New size: ", absl::Seconds(10)));
  while (!(*load)->Done()) absl::SleepFor(absl::Milliseconds(100));
  (*load)->Stop();
  absl::SleepFor(absl::Seconds(2));

  // The endpoints, and their answers to bad queries.
  json bad = GetJson(mport, "/api/timeline?since=abc", 400);
  EXPECT_EQ(bad["error"], "since: \"abc\" is not a number of seconds");
  bad = GetJson(mport, "/api/timeline?until=3", 400);
  EXPECT_EQ(bad["error"], "unknown query parameter \"until\" (expected: since)");
  bad = GetJson(mport, "/api/events?from=-1", 400);
  EXPECT_EQ(bad["error"], "from: \"-1\" is not an event number (0, 1, ...)");
  json some = GetJson(mport, "/api/timeline?since=2");
  ASSERT_FALSE(some["rows"].empty());
  EXPECT_GT(some["rows"][0]["t_s"].get<double>(), 2.0);

  // The live page.
  auto served = fleet::HttpGet(mport, "/", absl::Seconds(10));
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->status, 200);
  EXPECT_LT(served->body.size(), 100u * 1024);
  dir.Write("served.html", served->body);
  Page live =
      Load(dir, absl::StrCat("http://127.0.0.1:", mport, "/"), 2500, ScreenshotPath("live.png"));
  json rows = GetJson(mport, "/api/timeline")["rows"];
  json status = GetJson(mport, "/api/status");
  json events = GetJson(mport, "/api/events")["events"];
  ASSERT_TRUE(live.summary.is_object()) << live.dom.substr(0, 3000);
  EXPECT_EQ(live.errors, "");
  EXPECT_EQ(live.summary["errors"], 0);
  EXPECT_EQ(live.summary["mode"], "live");
  EXPECT_EQ(live.summary["connected"], true);
  const double last_t = live.summary["last_t"].get<double>();
  int n = 0;
  for (const json& r : rows) n += r["t_s"].get<double>() <= last_t;
  EXPECT_GE(n, 8);
  EXPECT_EQ(live.summary["rows"], n);
  auto col = [](const char* key) { return [key](const json& r) { return r[key]; }; };
  auto ms = [](const char* key) {
    return [key](const json& r) {
      return r[key].is_number() ? json(r[key].get<double>() * 1000) : r[key];
    };
  };
  int k = 0;
  for (auto [series, field] : std::vector<std::pair<std::string, std::function<json(const json&)>>>{
           {"arrivals", col("arrivals_per_s")},
           {"completions", col("completions_per_s")},
           {"errors", col("errors_per_s")},
           {"desired", col("desired_replicas")},
           {"ready", col("ready_replicas")},
           {"p50", ms("p50_s")},
           {"p99", ms("p99_s")},
           {"metric0", [](const json& r) { return r["metrics"][0]; }}}) {
    std::optional<double> last = LastNumber(rows, last_t, field, &k);
    ExpectSeries(live, series, k, last);
  }
  ExpectSeries(live, "slo", 1, 100.0);
  ExpectSeries(live, "target0", 1, 2.0);
  ExpectSeries(live, "max_replicas", 1, 3.0);
  // The scale-up happened and is on the chart and in the log.
  EXPECT_GE(LastNumber(rows, last_t, col("desired_replicas"), &k).value_or(0), 2);
  EXPECT_EQ(live.summary["replicas"], status["replicas"].size());
  EXPECT_GE(live.summary["log_rows"].get<int>(), 3);
  EXPECT_LE(live.summary["events"].get<size_t>(), events.size());
  EXPECT_TRUE(absl::StrContains(live.dom, "pods metric tide_inference_in_flight above target"));
  EXPECT_TRUE(absl::StrContains(live.dom, "<td class=\"st-Ready\">Ready</td>"));

  // tide up stops and writes report.html; the same page, the whole run inside.
  ASSERT_TRUE((*up)->Signal(SIGTERM).ok());
  auto exit = (*up)->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, fleet::ExitStatus::Exited(0));
  std::vector<std::string> csv = absl::StrSplit(
      testing::ReadFileText(dir.File("report/timeline.csv")), '\n', absl::SkipEmpty());
  ASSERT_GE(csv.size(), 10u);
  std::vector<std::string> last_row = absl::StrSplit(csv.back(), ',');
  Page report =
      Load(dir, "file://" + dir.File("report/report.html"), 1000, ScreenshotPath("up-report.png"));
  ASSERT_TRUE(report.summary.is_object()) << report.dom.substr(0, 3000);
  EXPECT_EQ(report.errors, "");
  EXPECT_EQ(report.summary["mode"], "report-up");
  EXPECT_EQ(report.summary["rows"], csv.size() - 1);
  EXPECT_EQ(Drawn(report, "arrivals").first, static_cast<int>(csv.size() - 1));
  // timeline.csv rounds: arrivals to 0.01, t to 0.1.
  EXPECT_NEAR(report.summary["series"]["arrivals"]["last"].get<double>(), std::stod(last_row[1]),
              0.006);
  EXPECT_NEAR(report.summary["last_t"].get<double>(), std::stod(last_row[0]), 0.051);
  EXPECT_EQ(report.summary["series"]["desired"]["last"], std::stoi(last_row[4]));
  EXPECT_EQ(report.summary["series"]["ready"]["last"], std::stoi(last_row[5]));

  // The page as served, opened where no /api answers (as once tide up has
  // stopped): it keeps polling, says disconnected, and logs no error.
  Page gone = Load(dir, "file://" + dir.File("served.html"), 3000);
  ASSERT_TRUE(gone.summary.is_object()) << gone.dom.substr(0, 3000);
  EXPECT_EQ(gone.errors, "");
  EXPECT_EQ(gone.summary["mode"], "live");
  EXPECT_EQ(gone.summary["connected"], false);
  EXPECT_EQ(gone.summary["rows"], 0);
  EXPECT_TRUE(
      absl::StrContains(gone.dom, "<span id=\"conn\" class=\"badge down\">disconnected</span>"));
}

TEST(DashboardTest, TideSimReportShowsEachPolicy) {
  if (ChromiumPath().empty()) GTEST_SKIP() << "chromium is not installed";
  TempDir dir;
  std::string hpa = std::string(TIDE_SOURCE_DIR) + "/deploy/k8s/overlays/hpa-cpu/hpa.yaml";
  testing::CliResult r = testing::RunTideCli(
      "sim --arrivals step --rate 20 --peak-rate 120 --shape-at 60 --duration 240 --compute-ms 20 "
      "--fixed 2 --hpa " +
      hpa + " --slo-latency 0.1 --no-progress --report " + dir.File("sim"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "report written to " + dir.File("sim")));
  json results = json::parse(testing::ReadFileText(dir.File("sim/results.json")));
  std::vector<std::string> csv =
      absl::StrSplit(testing::ReadFileText(dir.File("sim/timeline.csv")), '\n', absl::SkipEmpty());
  ASSERT_GT(csv.size(), 200u);
  std::vector<std::string> header = absl::StrSplit(csv[0], ',');
  std::vector<std::string> last = absl::StrSplit(csv.back(), ',');
  auto cell = [&](const std::string& column) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == column) return last[i];
    }
    ADD_FAILURE() << "no column " << column;
    return std::string();
  };

  Page page =
      Load(dir, "file://" + dir.File("sim/report.html"), 1000, ScreenshotPath("sim-report.png"));
  ASSERT_TRUE(page.summary.is_object()) << page.dom.substr(0, 3000);
  EXPECT_EQ(page.errors, "");
  EXPECT_EQ(page.summary["mode"], "report-sim");
  ASSERT_EQ(results["policies"].size(), 2u);
  std::vector<std::string> names;
  for (const json& p : results["policies"]) names.push_back(p["name"]);
  EXPECT_EQ(page.summary["policies"], json(names));
  const int seconds = static_cast<int>(csv.size() - 1);
  EXPECT_EQ(page.summary["rows"], seconds);
  EXPECT_EQ(Drawn(page, "arrivals").first, seconds);
  EXPECT_EQ(page.summary["series"]["arrivals"]["last"].get<double>(), std::stod(cell("arrivals")));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    std::string p;
    for (char c : name) p += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    EXPECT_EQ(Drawn(page, "ready:" + name).first, seconds);
    EXPECT_EQ(page.summary["series"]["ready:" + name]["last"].get<double>(),
              std::stod(cell(p + "_ready")));
    EXPECT_EQ(page.summary["series"]["queued:" + name]["last"].get<double>(),
              std::stod(cell(p + "_queued")));
    // The summary table has the policy's SLO attainment as results.json says.
    for (const json& pr : results["policies"]) {
      if (pr["name"] != name) continue;
      char text[64];
      std::snprintf(text, sizeof text, "%.3f %%", 100 * pr["slo_attainment"].get<double>());
      EXPECT_TRUE(absl::StrContains(page.dom, text)) << text;
    }
  }
  ExpectSeries(page, "slo", 1, 100.0);
}

}  // namespace
}  // namespace tide
