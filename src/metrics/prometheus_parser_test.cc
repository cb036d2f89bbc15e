#include "metrics/prometheus_parser.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "metrics/metrics.h"

namespace tide::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Status(const absl::StatusOr<Exposition>& e) {
  return e.ok() ? "OK" : std::string(e.status().message());
}

TEST(ParsePrometheusText, EveryPartOfTheFormat) {
  auto e = ParsePrometheusText(
      "# A comment that is neither HELP nor TYPE.\n"
      "#\n"
      "\n"
      "# HELP http_requests_total The total number\\nof requests \\\\ \"quoted\".\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{ method = \"post\" , code=\"400\", }    3   1395066363000\n"
      "\t  \n"
      "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
      "file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
      "metric_without_timestamp_and_labels 12.47\n"
      "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
      "neg -Inf\n"
      "not_a_number NaN\n"
      "# HELP http_request_duration_seconds A histogram.\n"
      "# TYPE http_request_duration_seconds histogram\n"
      "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
      "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
      "http_request_duration_seconds_sum 53423\n"
      "http_request_duration_seconds_count 144320\n"
      "# TYPE rpc_duration_seconds summary\n"
      "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
      "rpc_duration_seconds_sum 1.7560473e+07\n"
      "rpc_duration_seconds_count 2693\n");
  ASSERT_TRUE(e.ok()) << e.status();

  ASSERT_EQ(e->families.size(), 8u);
  const std::vector<std::tuple<std::string, MetricType, std::string>> families = {
      {"http_requests_total", MetricType::kCounter, "The total number\nof requests \\ \"quoted\"."},
      {"msdos_file_access_time_seconds", MetricType::kUntyped, ""},
      {"metric_without_timestamp_and_labels", MetricType::kUntyped, ""},
      {"something_weird", MetricType::kUntyped, ""},
      {"neg", MetricType::kUntyped, ""},
      {"not_a_number", MetricType::kUntyped, ""},
      {"http_request_duration_seconds", MetricType::kHistogram, "A histogram."},
      {"rpc_duration_seconds", MetricType::kSummary, ""},
  };
  for (size_t i = 0; i < families.size(); ++i) {
    EXPECT_EQ(e->families[i].name, std::get<0>(families[i]));
    EXPECT_EQ(e->families[i].type, std::get<1>(families[i])) << e->families[i].name;
    EXPECT_EQ(e->families[i].help, std::get<2>(families[i]));
  }

  ASSERT_EQ(e->samples.size(), 14u);
  const MetricSample& first = e->samples[0];
  EXPECT_EQ(first.name, "http_requests_total");
  EXPECT_EQ(first.labels, (LabelMap{{"code", "200"}, {"method", "post"}}));
  EXPECT_EQ(first.value, 1027);
  EXPECT_EQ(first.timestamp_ms, 1395066363000);
  EXPECT_EQ(first.family, 0u);
  EXPECT_EQ(e->samples[1].labels, (LabelMap{{"code", "400"}, {"method", "post"}}));
  EXPECT_EQ(e->samples[1].value, 3);
  EXPECT_EQ(e->samples[2].labels, (LabelMap{{"path", "C:\\DIR\\FILE.TXT"},
                                            {"error", "Cannot find file:\n\"FILE.TXT\""}}));
  EXPECT_EQ(e->samples[2].value, 1458255915);
  EXPECT_EQ(e->samples[2].timestamp_ms, std::nullopt);
  EXPECT_EQ(e->samples[3].value, 12.47);
  EXPECT_EQ(e->samples[4].value, kInf);
  EXPECT_EQ(e->samples[4].timestamp_ms, -3982045);
  EXPECT_EQ(e->samples[5].value, -kInf);
  EXPECT_TRUE(std::isnan(e->samples[6].value));
  for (size_t i = 7; i < 11; ++i) EXPECT_EQ(e->samples[i].family, 6u) << e->samples[i].name;
  for (size_t i = 11; i < 14; ++i) EXPECT_EQ(e->samples[i].family, 7u) << e->samples[i].name;
  EXPECT_EQ(e->samples[13].value, 2693);

  HistogramSum h = e->SumHistogram("http_request_duration_seconds");
  EXPECT_EQ(h.buckets, (std::map<double, double>{{0.05, 24054}, {kInf, 144320}}));
  EXPECT_EQ(h.sum, 53423);
  EXPECT_EQ(h.count, 144320);
  EXPECT_EQ(e->Value("rpc_duration_seconds", {{"quantile", "0.5"}}), 4773);
  EXPECT_EQ(e->Value("rpc_duration_seconds_sum"), 17560473);
}

// What tide's own renderer writes, read back: names, types, help, labels
// (escaped by the renderer, unescaped by the parser) and values, exactly.
TEST(ParsePrometheusText, RoundTripsTheRegistryRenderer) {
  Registry r;
  auto* requests = r.AddCounter("tide_requests_total", "Requests.", {"model", "outcome"});
  requests->WithLabels({"simple", "success"})->Increment(3);
  requests->WithLabels({"a\"b\\c\nd", "failure"})->Increment(0.1);
  r.AddGauge("tide_queue_depth", "Pending\nrequests \\ here.")->NoLabels()->Set(-2.5);
  auto* h = r.AddHistogram("tide_latency_seconds", "Latency.", {"model"}, {0.1, 1});
  for (double v : {0.05, 0.1, 5.0}) h->WithLabels({"m"})->Observe(v);
  h->WithLabels({"n"})->Observe(0.5);
  r.AddCallback({"process_x", "X.", Type::kGauge, [] { return 1e300; }});

  auto e = ParsePrometheusText(r.RenderText());
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->families.size(), 4u);
  EXPECT_EQ(e->families[0].name, "tide_requests_total");
  EXPECT_EQ(e->families[0].type, MetricType::kCounter);
  EXPECT_EQ(e->families[1].help, "Pending\nrequests \\ here.");
  EXPECT_EQ(e->families[1].type, MetricType::kGauge);
  EXPECT_EQ(e->families[2].type, MetricType::kHistogram);
  EXPECT_EQ(e->families[3].type, MetricType::kGauge);

  EXPECT_EQ(e->Value("tide_requests_total", {{"model", "simple"}, {"outcome", "success"}}), 3);
  EXPECT_EQ(e->Value("tide_requests_total", {{"model", "a\"b\\c\nd"}, {"outcome", "failure"}}),
            0.1);
  EXPECT_EQ(e->Value("tide_queue_depth"), -2.5);
  EXPECT_EQ(e->Value("process_x"), 1e300);
  HistogramSum m = e->SumHistogram("tide_latency_seconds", {{"model", "m"}});
  EXPECT_EQ(m.buckets, (std::map<double, double>{{0.1, 2}, {1, 2}, {kInf, 3}}));
  EXPECT_EQ(m.sum, 5.15);
  EXPECT_EQ(m.count, 3);
  HistogramSum all = e->SumHistogram("tide_latency_seconds");
  EXPECT_EQ(all.buckets, (std::map<double, double>{{0.1, 2}, {1, 3}, {kInf, 4}}));
  EXPECT_EQ(all.count, 4);
  EXPECT_EQ(e->samples.size(), 2u + 1u + 2u * 5u + 1u);
}

TEST(Exposition, ValueNeedsTheExactLabelsSumAndSelectASubset) {
  auto e = ParsePrometheusText(
      "x{model=\"m\",version=\"1\",outcome=\"success\"} 5\n"
      "x{model=\"m\",version=\"2\",outcome=\"success\"} 7\n"
      "x{model=\"m\",version=\"2\",outcome=\"failure\"} 1\n"
      "x{model=\"other\",version=\"1\",outcome=\"success\"} 100\n"
      "y 2\n");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Value("x", {{"model", "m"}, {"version", "2"}, {"outcome", "failure"}}), 1);
  EXPECT_EQ(e->Value("x", {{"model", "m"}}), std::nullopt);
  EXPECT_EQ(e->Value("y"), 2);
  EXPECT_EQ(e->Value("z"), std::nullopt);
  EXPECT_EQ(e->Sum("x", {{"model", "m"}, {"outcome", "success"}}), 12);
  EXPECT_EQ(e->Sum("x", {{"model", "m"}}), 13);
  EXPECT_EQ(e->Sum("x"), 113);
  EXPECT_EQ(e->Sum("x", {{"model", "none"}}), 0);
  EXPECT_EQ(e->Select("x", {{"version", "1"}}).size(), 2u);
  EXPECT_EQ(e->FindFamily("y")->type, MetricType::kUntyped);
  EXPECT_EQ(e->FindFamily("z"), nullptr);
}

TEST(ParsePrometheusText, SuffixesJoinOnlyAHistogramOrSummaryFamily) {
  auto e = ParsePrometheusText(
      "# TYPE c counter\nc_count 1\n"
      "# TYPE s summary\ns_bucket{le=\"1\"} 2\ns_count 3\n"
      "h_bucket{le=\"1\"} 4\n"
      "# TYPE h histogram\nh_count 5\n");
  ASSERT_TRUE(e.ok()) << e.status();
  std::vector<std::string> family_of;
  for (const MetricSample& s : e->samples) family_of.push_back(e->families[s.family].name);
  EXPECT_EQ(family_of, (std::vector<std::string>{"c_count", "s_bucket", "s", "h_bucket", "h"}));
}

TEST(ParsePrometheusText, EmptyAndCrlfInput) {
  auto empty = ParsePrometheusText("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->families.empty() && empty->samples.empty());
  auto crlf = ParsePrometheusText("# TYPE a gauge\r\na{l=\"v\"} 1 2\r\n\r\nb 3");
  ASSERT_TRUE(crlf.ok()) << crlf.status();
  EXPECT_EQ(crlf->Value("a", {{"l", "v"}}), 1);
  EXPECT_EQ(crlf->samples[0].timestamp_ms, 2);
  EXPECT_EQ(crlf->Value("b"), 3);  // the last line needs no newline
}

TEST(ParsePrometheusText, ErrorsNameTheLineAndWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ok 1\n{a=\"b\"} 1\n", "line 2: expected a metric name, got \"{a=\\\"b\\\"} 1\""},
      {"9x 1", "line 1: expected a metric name, got \"9x 1\""},
      {"x-y 1", "line 1: invalid character in metric name at \"x-y 1\""},
      {"x", "line 1: missing value for x"},
      {"x abc", "line 1: invalid value \"abc\" for x"},
      {"x 0x10", "line 1: invalid value \"0x10\" for x"},
      {"x 1e999", "line 1: invalid value \"1e999\" for x"},
      {"x nan(1)", "line 1: invalid value \"nan(1)\" for x"},
      {"x 1 2.5", "line 1: invalid timestamp \"2.5\" for x (integer milliseconds)"},
      {"x 1 99999999999999999999",
       "line 1: invalid timestamp \"99999999999999999999\" for x (integer milliseconds)"},
      {"x 1 2 3", "line 1: unexpected text after the timestamp of x: \"3\""},
      {"x{a=b} 1", "line 1: expected '\"' to open the value of label a of x"},
      {"x{a} 1", "line 1: expected '=' after label a of x"},
      {"x{1a=\"b\"} 1", "line 1: invalid label name in x at \"1a=\\\"b\\\"} 1\""},
      {"x{a=\"b\" c=\"d\"} 1",
       "line 1: expected ',' or '}' after label a of x, got \"c=\\\"d\\\"} 1\""},
      {"x{a=\"b} 1", "line 1: unterminated value of label a of x"},
      {"x{a=\"b\"", "line 1: unterminated label set of x"},
      {"x{a=\"\\t\"} 1",
       "line 1: invalid escape sequence \"\\\\t\" in the value of label a of x (only \\\\, \\\" "
       "and \\n)"},
      {"x{a=\"\xff\"} 1", "line 1: the value of label a of x is not valid UTF-8"},
      {"x{a=\"\xc0\xaf\"} 1", "line 1: the value of label a of x is not valid UTF-8"},
      {"x{__name__=\"y\"} 1", "line 1: label name __name__ is reserved (in x)"},
      {"x{a=\"1\",a=\"2\"} 1", "line 1: duplicate label a of x"},
      {"# HELP\n", "line 1: invalid metric name in # HELP at \"\""},
      {"# TYPE x{ counter\n", "line 1: invalid metric name in # TYPE at \"{ counter\""},
      {"# HELP x a\n# HELP x b\n", "line 2: second HELP line for x"},
      {"# HELP x a\\tb\n",
       "line 1: invalid escape sequence \"\\\\t\" in the HELP of x (only \\\\ and \\n)"},
      {"# HELP x a\\", "line 1: HELP of x ends in a lone '\\'"},
      {"# TYPE x counter\n# TYPE x gauge\n",
       "line 2: second TYPE line for x, or TYPE after its samples"},
      {"x 1\n# TYPE x counter\n", "line 2: second TYPE line for x, or TYPE after its samples"},
      {"# TYPE x countr\n",
       "line 1: unknown type \"countr\" for x (counter, gauge, histogram, summary or untyped)"},
      {"# TYPE h histogram\nh_bucket 1\n", "line 2: h_bucket has no le label"},
      {"# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
       "line 2: h_bucket has a le label that is not a number: \"x\""},
      {"# TYPE h histogram\nh 1\n",
       "line 2: histogram h has a sample without _bucket, _sum or _count"},
      {"# TYPE s summary\ns 1\n", "line 2: s has no quantile label"},
      {"# TYPE h histogram\nh_count 1\n# TYPE h_count gauge\n",
       "line 3: # TYPE h_count comes after samples named h_count that belong to another family (a "
       "histogram or summary)"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_EQ(Status(ParsePrometheusText(text)), message) << text;
  }
}

TEST(ParsePrometheusText, TypeWordIsCaseInsensitiveAndHelpMayBeEmpty) {
  auto e = ParsePrometheusText("# TYPE a GAUGE \n# HELP a\n# HELP b  \n#HELP c text\n");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->families.size(), 3u);
  EXPECT_EQ(e->families[0].type, MetricType::kGauge);
  EXPECT_EQ(e->families[0].help, "");
  EXPECT_EQ(e->families[2].help, "text");
}

TEST(ParsePrometheusText, LongInputIsLinear) {
  // 20,000 labels on one line and 20,000 lines: parsed, not quadratic.
  std::string wide = "x{";
  for (int i = 0; i < 20000; ++i) wide += "l" + std::to_string(i) + "=\"v\",";
  wide += "} 1\n";
  for (int i = 0; i < 20000; ++i) wide += "y{i=\"" + std::to_string(i) + "\"} 2\n";
  auto e = ParsePrometheusText(wide);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->samples.front().labels.size(), 20000u);
  EXPECT_EQ(e->Sum("y"), 40000);
}

TEST(ParseSeries, NameAndLabels) {
  auto s = ParseSeries(R"(tide_x_total{model="m",version="1"})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "tide_x_total");
  EXPECT_EQ(s->labels, (LabelMap{{"model", "m"}, {"version", "1"}}));
  auto bare = ParseSeries("process_cpu_seconds_total");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->labels.empty());
  EXPECT_EQ(ParseSeries("x 1").status().message(), "unexpected text after the series: \"1\"");
  EXPECT_EQ(ParseSeries("").status().message(), "expected a metric name, got \"\"");
}

TEST(ParsePrometheusValue, AsGoReadsIt) {
  EXPECT_EQ(ParsePrometheusValue("+Inf"), kInf);
  EXPECT_EQ(ParsePrometheusValue("Inf"), kInf);
  EXPECT_EQ(ParsePrometheusValue("-Inf"), -kInf);
  EXPECT_TRUE(std::isnan(*ParsePrometheusValue("NaN")));
  EXPECT_EQ(ParsePrometheusValue("+1.5"), 1.5);
  EXPECT_EQ(ParsePrometheusValue("-0.25e2"), -25);
  EXPECT_EQ(ParsePrometheusValue("1e-400"), 0);  // underflow reads as 0, as in Go
  EXPECT_EQ(ParsePrometheusValue("1e400"), std::nullopt);
  EXPECT_EQ(ParsePrometheusValue("+-1"), std::nullopt);
  EXPECT_EQ(ParsePrometheusValue(""), std::nullopt);
  EXPECT_EQ(ParsePrometheusValue("+"), std::nullopt);
  EXPECT_EQ(ParsePrometheusValue("1 "), std::nullopt);
}

}  // namespace
}  // namespace tide::metrics
