#include "loadgen/load_runner.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "loadgen/grpc_workload.h"
#include "loadgen/http_fetch.h"
#include "loadgen/text.h"
#include "workload/interval_arrivals.h"
#include "workload/trace_reader.h"

namespace tide::loadgen {
namespace {

constexpr absl::Duration kFetchTimeout = absl::Seconds(5);

std::string Pct(double f) { return fmt::format("{:.1f} %", 100 * f); }

}  // namespace

absl::StatusOr<std::unique_ptr<LoadRunner>> LoadRunner::Create(LoadOptions o) {
  if (o.protocol != "http" && o.protocol != "grpc") {
    return absl::InvalidArgumentError("--protocol must be http or grpc");
  }
  if (o.grpc_contents != "typed" && o.grpc_contents != "raw") {
    return absl::InvalidArgumentError("--grpc-contents must be typed or raw");
  }
  const bool grpc = o.protocol == "grpc";
  if (grpc) {
    if (o.url == LoadOptions().url) o.url = "127.0.0.1:8001";
    if (o.url.starts_with("grpc://")) o.url = o.url.substr(7);
    if (!o.http_get.empty()) return absl::InvalidArgumentError("--http-get is HTTP only");
    if (o.binary) {
      return absl::InvalidArgumentError("--binary is HTTP only (over gRPC: --grpc-contents raw)");
    }
  }
  std::unique_ptr<LoadRunner> r(new LoadRunner(o));
  auto url = ParseUrl(o.url);
  if (!url.ok()) return url.status();
  r->url_ = *url;
  if (o.http_get.empty() && o.model.empty()) {
    return absl::InvalidArgumentError("give --model (or --http-get PATH for plain HTTP)");
  }
  if (!o.http_get.empty() && o.http_get.front() != '/') {
    return absl::InvalidArgumentError("--http-get PATH must start with '/'");
  }
  const int modes = !o.concurrency.empty() + !o.rate.empty() + !o.trace.empty();
  if (modes > 1)
    return absl::InvalidArgumentError("give only one of --concurrency, --rate, --trace");
  if (o.threads < 1 || o.threads > 256)
    return absl::InvalidArgumentError("--threads must be 1..256");
  if (o.max_connections < 1) return absl::InvalidArgumentError("--max-connections must be >= 1");
  if (!(o.timeout_s > 0)) return absl::InvalidArgumentError("--timeout must be > 0");
  if (!(o.warmup_s >= 0)) return absl::InvalidArgumentError("--warmup must be >= 0");
  if (o.duration_s && !(*o.duration_s > 0))
    return absl::InvalidArgumentError("--duration must be > 0");
  if (o.requests < 0) return absl::InvalidArgumentError("--requests must be >= 0");
  if (o.arrivals != "poisson" && o.arrivals != "constant") {
    return absl::InvalidArgumentError("--arrivals must be poisson or constant");
  }

  if (!o.trace.empty()) {
    r->mode_ = "trace";
    auto format = workload::ParseTraceFormat(o.trace_format);
    if (!format.ok()) return format.status();
    workload::TraceParseOptions parse{*format, o.seed};
    parse.spread_intervals = false;  // an interval trace is streamed through the window below
    auto trace = workload::ReadTrace(o.trace, parse);
    if (!trace.ok()) return trace.status();
    workload::TraceReplayOptions replay;
    replay.start_s = o.trace_start_s;
    replay.duration_s = o.duration_s;
    replay.time_scale = o.time_scale;
    replay.rate_scale = o.rate_scale;
    replay.seed = o.seed;
    r->trace_offsets_ = std::make_shared<std::vector<absl::Duration>>();
    if (trace->format == workload::TraceFormat::kIntervals) {
      // Only the window's arrivals are drawn and held, however large the
      // trace (a 14-day trace replayed for a minute holds a minute of it).
      auto stream = workload::StreamIntervals(*trace, replay);
      if (!stream.ok()) return stream.status();
      while (auto next = (*stream)->Next()) {
        if (static_cast<int64_t>(r->trace_offsets_->size()) >= workload::kMaxReplayRequests) {
          return absl::InvalidArgumentError(
              Cat("the trace window holds more than ", workload::kMaxReplayRequests,
                  " requests, more than one run can hold: pick a shorter window (--start, "
                  "--duration) or a smaller --rate-scale"));
        }
        r->trace_offsets_->push_back(*next);
      }
    } else {
      auto offsets = workload::ReplayOffsets(*trace, replay);
      if (!offsets.ok()) return offsets.status();
      r->trace_offsets_->reserve(offsets->size());
      for (double s : *offsets) r->trace_offsets_->push_back(absl::Seconds(s));
    }
    if (r->trace_offsets_->empty()) {
      return absl::InvalidArgumentError("the trace window holds no requests");
    }
    r->levels_ = {0};
  } else if (!o.rate.empty()) {
    r->mode_ = "rate";
    auto levels = ParseSweep(o.rate, /*integer=*/false);
    if (!levels.ok()) return levels.status();
    r->levels_ = *levels;
  } else {
    r->mode_ = "concurrency";
    auto levels = ParseSweep(o.concurrency.empty() ? "1" : o.concurrency, /*integer=*/true);
    if (!levels.ok()) return levels.status();
    r->levels_ = *levels;
  }

  if (o.input_data != "zero" && o.input_data != "random") {
    std::ifstream in(o.input_data, std::ios::binary);
    if (!in) return absl::NotFoundError(Cat("cannot read --input-data file '", o.input_data, "'"));
    std::stringstream text;
    text << in.rdbuf();
    r->input_data_text_ = text.str();
  }

  if (o.metrics_url != "none" && o.http_get.empty()) {
    if (o.metrics_url.empty()) {
      Url m = r->url_;
      m.port = 8002;
      m.path = "/metrics";
      r->metrics_url_ = m;
    } else {
      auto m = ParseUrl(o.metrics_url);
      if (!m.ok()) return m.status();
      if (m->path == "/") m->path = "/metrics";
      r->metrics_url_ = *m;
    }
  }
  return r;
}

absl::Status LoadRunner::PrepareRequests(LoadReport* report) {
  std::string prefix = url_.path;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!options_.http_get.empty()) {
    requests_ = {SerializeRequest("GET", url_, prefix + options_.http_get, {}, "")};
    checker_ = std::make_unique<StatusChecker>();
    report->target = Cat("GET ", url_.HostPort(), prefix, options_.http_get);
    return absl::OkStatus();
  }
  const bool grpc = options_.protocol == "grpc";
  absl::StatusOr<ModelMetadata> metadata;
  if (grpc) {
    metadata = FetchGrpcModelMetadata(url_, options_.model, options_.model_version, kFetchTimeout);
  } else {
    std::string target = Cat(prefix, "/v2/models/", options_.model);
    if (!options_.model_version.empty()) Append(&target, "/versions/", options_.model_version);
    auto response = FetchOnce(url_, "GET", target, kFetchTimeout);
    if (!response.ok()) {
      return absl::UnavailableError(
          Cat("model metadata (GET ", target, "): ", response.status().message()));
    }
    if (response->status != 200) {
      return absl::NotFoundError(Cat("model metadata (GET ", target, "): HTTP ", response->status,
                                     " ", response->body.substr(0, 200)));
    }
    metadata = ParseModelMetadata(response->body);
  }
  if (!metadata.ok()) return metadata.status();
  V2WorkloadOptions w;
  w.model = options_.model;
  w.version = options_.model_version;
  w.path_prefix = prefix;
  w.batch_size = options_.batch_size;
  w.shapes = options_.shapes;
  w.data = options_.input_data == "zero"     ? V2WorkloadOptions::Data::kZero
           : options_.input_data == "random" ? V2WorkloadOptions::Data::kRandom
                                             : V2WorkloadOptions::Data::kFile;
  w.input_data_json = input_data_text_;
  w.seed = options_.seed;
  w.binary = options_.binary;
  if (grpc) w.grpc = options_.grpc_contents == "raw" ? GrpcContents::kRaw : GrpcContents::kTyped;
  auto workload = BuildV2Workload(*metadata, url_, w);
  if (!workload.ok()) return workload.status();
  requests_ = std::move(workload->requests);
  if (grpc) {
    checker_ = std::make_unique<GrpcResponseChecker>(options_.model, workload->outputs);
  } else {
    checker_ = std::make_unique<V2ResponseChecker>(options_.model, workload->outputs);
  }
  report->target =
      Cat("model ", options_.model, " at ", url_.HostPort(), ": ", workload->description,
          grpc              ? Cat(" (gRPC, ", options_.grpc_contents, " contents)")
          : options_.binary ? " (binary tensors)"
                            : " (JSON)");
  return absl::OkStatus();
}

std::optional<ServerCounters> LoadRunner::Scrape(std::string* note) const {
  if (!metrics_url_) {
    *note = options_.http_get.empty() ? "metrics scraping off (--metrics-url none)" : "";
    return std::nullopt;
  }
  auto response = FetchOnce(*metrics_url_, "GET", metrics_url_->path, kFetchTimeout);
  if (!response.ok()) {
    *note = Cat("server metrics not reachable at ", metrics_url_->HostPort(), metrics_url_->path,
                ": ", response.status().message());
    return std::nullopt;
  }
  if (response->status != 200) {
    *note = Cat("server metrics: HTTP ", response->status);
    return std::nullopt;
  }
  auto samples = metrics::ParsePrometheusText(response->body);
  if (!samples.ok()) {
    *note = Cat("server metrics: ", samples.status().message());
    return std::nullopt;
  }
  return ExtractServerCounters(*samples, options_.model);
}

std::vector<std::string> LevelWarnings(const EngineResult& r, int max_connections) {
  std::vector<std::string> warnings;
  if (r.stopped) warnings.push_back("stopped early (Ctrl-C): results so far");
  if (r.open_loop && r.scheduled > 0) {
    const double late = static_cast<double>(r.late_dispatches) / r.scheduled;
    if (late > 0.01) {
      warnings.push_back(
          Cat("CLIENT BEHIND SCHEDULE: ", Pct(late),
              " of requests were dispatched more than 5 ms after their due time (lag p99 ",
              fmt::format("{:.1f}", r.dispatch_lag.Percentile(0.99) / 1e6),
              " ms). The send rate reflects this client, not the server; ",
              r.max_worker_busy > 0.5
                  ? "its worker thread was busy: use --threads or a faster machine."
                  : "its threads were mostly idle, so the machine did not give the client the CPU "
                    "in time (other load on this machine?)."));
    }
    if (r.queued_requests > 0) {
      warnings.push_back(
          Cat(r.queued_requests, " requests found all --max-connections ", max_connections,
              " connections busy and waited in the client's queue; the wait is charged to their "
              "latency (the server was not answering fast enough)."));
    }
  }
  if (r.max_worker_busy > 0.9) {
    warnings.push_back(Cat("a client worker thread was busy ", Pct(r.max_worker_busy),
                           " of the time: the client may be the bottleneck (try --threads)."));
  }
  return warnings;
}

absl::StatusOr<LoadReport> LoadRunner::Run() {
  LoadReport report;
  report.options = options_;
  report.client_cpus = static_cast<int>(std::thread::hardware_concurrency());
  absl::Status prepared = PrepareRequests(&report);
  if (!prepared.ok()) return prepared;

  std::vector<LevelOutcome> outcomes;
  for (size_t i = 0; i < levels_.size(); ++i) {
    if (stop_.load()) break;
    const double level = levels_[i];
    EngineOptions e;
    e.target = url_;
    e.protocol = options_.protocol == "grpc" ? EngineProtocol::kGrpc : EngineProtocol::kHttp;
    e.requests = requests_;
    e.checker = checker_.get();
    e.threads = options_.threads;
    e.max_connections = options_.max_connections;
    e.warmup = absl::Seconds(options_.warmup_s);
    e.timeout = absl::Seconds(options_.timeout_s);
    e.max_requests = options_.requests;
    std::string label;
    if (mode_ == "trace") {
      e.arrivals = std::make_unique<workload::ListArrivals>(trace_offsets_);
      e.duration = absl::InfiniteDuration();
      label = "trace";
    } else {
      const bool unbounded = !options_.duration_s && options_.requests > 0;
      e.duration =
          unbounded ? absl::InfiniteDuration() : absl::Seconds(options_.duration_s.value_or(10));
      if (mode_ == "rate") {
        auto arrivals = workload::MakeArrivals(options_.arrivals, level, options_.seed + i);
        if (!arrivals.ok()) return arrivals.status();
        e.arrivals = std::move(*arrivals);
        label = Cat("rate ", level, "/s");
      } else {
        e.concurrency = static_cast<int>(level);
        label = Cat("concurrency ", level);
      }
    }
    auto engine = LoadEngine::Create(std::move(e));
    if (!engine.ok()) return engine.status();

    LevelReport lr;
    lr.mode = mode_;
    lr.level = level;
    std::optional<ServerCounters> before = Scrape(&lr.server_note);
    {
      absl::MutexLock lock(&mu_);
      current_ = engine->get();
      current_label_ = label;
    }
    if (stop_.load()) (*engine)->RequestStop();
    lr.result = (*engine)->Run();
    {
      absl::MutexLock lock(&mu_);
      current_ = nullptr;
    }
    if (before) {
      std::optional<ServerCounters> after = Scrape(&lr.server_note);
      if (after) lr.server = DiffServerCounters(*before, *after);
    }
    if (mode_ == "trace" && lr.result.window_s > 0) {
      lr.level = lr.result.scheduled / lr.result.window_s;
    }
    lr.warnings = LevelWarnings(lr.result, options_.max_connections);
    report.stopped = report.stopped || lr.result.stopped;
    const uint64_t answered = lr.result.ok + lr.result.failed;
    outcomes.push_back({mode_ == "rate" ? level : 0, lr.result.Throughput(),
                        answered ? static_cast<double>(lr.result.failed) / answered : 0});
    report.levels.push_back(std::move(lr));
    if (report.stopped) break;
    if (i + 1 < levels_.size() && ShouldStopSweep(outcomes, options_.sweep)) {
      const LevelOutcome& last = outcomes.back();
      if (last.error_fraction > options_.sweep.max_error_fraction) {
        report.sweep_stop = Cat("errors reached ", Pct(last.error_fraction), " of requests");
      } else if (mode_ == "rate") {
        report.sweep_stop = Cat("the server completed ", fmt::format("{:.1f}", last.throughput),
                                "/s of ", level, "/s offered: saturated");
      } else {
        report.sweep_stop =
            Cat("throughput stopped growing (less than ", Pct(options_.sweep.min_gain),
                " over the best level for ", options_.sweep.patience, " level(s))");
      }
      break;
    }
  }
  return report;
}

void LoadRunner::RequestStop() {
  stop_.store(true);
  absl::MutexLock lock(&mu_);
  if (current_ != nullptr) current_->RequestStop();
}

LiveProgress LoadRunner::Live() const {
  absl::MutexLock lock(&mu_);
  LiveProgress p;
  if (current_ == nullptr) return p;
  p.level = current_label_;
  p.stats = current_->Live();
  return p;
}

}  // namespace tide::loadgen
