// LoadEngine: validates the options, runs one Worker per thread
// (engine_worker.cc) and merges their results. The transports are Links:
// http_link.cc, grpc_link.cc.

#include "loadgen/engine.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>

#include "loadgen/engine_worker.h"
#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

int64_t ToNs(absl::Duration d) {
  return d == absl::InfiniteDuration() ? kNever : absl::ToInt64Nanoseconds(d);
}

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

double ProcessCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

}  // namespace

std::string StatusChecker::Check(const HttpResponse& response, size_t) const {
  if (response.status >= 200 && response.status < 300) return "";
  return Cat("http_", response.status);
}

std::string ResponseChecker::CheckGrpc(const GrpcAnswer& answer, size_t) const {
  return answer.code == 0 ? "" : Cat("grpc_", GrpcCodeName(answer.code));
}

std::string GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return std::to_string(code);
}

LoadEngine::LoadEngine(EngineOptions options) : options_(std::move(options)) {}
LoadEngine::~LoadEngine() = default;

absl::StatusOr<std::unique_ptr<LoadEngine>> LoadEngine::Create(EngineOptions options) {
  const bool closed = options.concurrency > 0;
  const bool open = options.arrivals != nullptr;
  if (closed == open) {
    return absl::InvalidArgumentError(
        "give either a concurrency (closed loop) or arrivals (open loop)");
  }
  if (options.requests.empty()) return absl::InvalidArgumentError("no requests to send");
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  if (closed) options.threads = std::min(options.threads, options.concurrency);
  if (options.max_connections < 1)
    return absl::InvalidArgumentError("max connections must be >= 1");
  if (options.timeout <= absl::ZeroDuration())
    return absl::InvalidArgumentError("timeout must be > 0");
  if (options.warmup < absl::ZeroDuration())
    return absl::InvalidArgumentError("warmup must be >= 0");
  if (options.duration <= absl::ZeroDuration())
    return absl::InvalidArgumentError("duration must be > 0");
  if (closed && options.duration == absl::InfiniteDuration() && options.max_requests <= 0) {
    return absl::InvalidArgumentError("a closed-loop run needs a duration or a request count");
  }
  if (options.checker == nullptr) {
    static const StatusChecker kStatusChecker;
    options.checker = &kStatusChecker;
  }
  return std::unique_ptr<LoadEngine>(new LoadEngine(std::move(options)));
}

EngineResult LoadEngine::Run() {
  EngineResult result;
  result.open_loop = options_.arrivals != nullptr;
  result.timeline_sub_bits = options_.timeline_sub_bits;
  for (int i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(this, i));
    if (absl::Status st = workers_.back()->Init(); !st.ok()) {
      result.errors[std::string(st.message())] = 1;
      result.failed = 1;
      workers_.clear();
      return result;
    }
  }
  const double cpu0 = ProcessCpuSeconds();
  const int64_t start = SteadyNs();
  start_ns_.store(start, std::memory_order_relaxed);
  running_.store(true, std::memory_order_release);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers_.size(); ++i) {
    threads.emplace_back([w = workers_[i].get()] { w->Run(); });
  }
  workers_[0]->Run();
  for (auto& t : threads) t.join();
  result.wall_s = (SteadyNs() - start) * 1e-9;
  result.cpu_s = ProcessCpuSeconds() - cpu0;

  const int64_t warmup_ns = ToNs(options_.warmup);
  const int64_t end_ns =
      options_.duration == absl::InfiniteDuration() ? kNever : warmup_ns + ToNs(options_.duration);
  int64_t window_end = kNever;
  int64_t stopped_at = kNever;
  int64_t exhausted_at = 0;
  bool all_exhausted = true;
  for (auto& w : workers_) {
    EngineResult& r = w->result();
    stopped_at = std::min(stopped_at, w->stopped_at());
    if (w->exhausted_at() == kNever) {
      all_exhausted = false;
    } else {
      exhausted_at = std::max(exhausted_at, w->exhausted_at());
    }
    result.scheduled += r.scheduled;
    result.sent += r.sent;
    result.ok += r.ok;
    result.failed += r.failed;
    result.abandoned += r.abandoned;
    for (const auto& [cause, n] : r.errors) result.errors[cause] += n;
    result.latency.Merge(r.latency);
    result.service_time.Merge(r.service_time);
    result.answered_error_service_time.Merge(r.answered_error_service_time);
    result.dispatch_lag.Merge(r.dispatch_lag);
    result.late_dispatches += r.late_dispatches;
    result.queued_requests += r.queued_requests;
    result.connections_opened += r.connections_opened;
    result.stopped = result.stopped || r.stopped;
    result.max_worker_busy = std::max(result.max_worker_busy, r.max_worker_busy);
    if (r.timeline.size() > result.timeline.size()) result.timeline.resize(r.timeline.size());
    for (size_t s = 0; s < r.timeline.size(); ++s) {
      TimelineSecond& dst = result.timeline[s];
      const TimelineSecond& src = r.timeline[s];
      dst.scheduled += src.scheduled;
      dst.sent += src.sent;
      dst.completed += src.completed;
      dst.errors += src.errors;
      dst.max_in_flight += src.max_in_flight;
      dst.max_queued += src.max_queued;
      dst.latency_buckets.insert(dst.latency_buckets.end(), src.latency_buckets.begin(),
                                 src.latency_buckets.end());
    }
    result.records.insert(result.records.end(), std::make_move_iterator(r.records.begin()),
                          std::make_move_iterator(r.records.end()));
  }
  window_end = std::min(end_ns, stopped_at);
  if (all_exhausted && stopped_at == kNever) window_end = std::min(window_end, exhausted_at);
  if (window_end == kNever) window_end = SteadyNs() - start;
  result.window_s = std::max<int64_t>(0, window_end - warmup_ns) * 1e-9;
  std::sort(
      result.records.begin(), result.records.end(),
      [](const RequestRecord& a, const RequestRecord& b) { return a.intended_ns < b.intended_ns; });
  return result;
}

LiveStats LoadEngine::Live() const {
  LiveStats live;
  if (!running_.load(std::memory_order_acquire)) return live;
  live.elapsed_s = (SteadyNs() - start_ns_.load(std::memory_order_relaxed)) * 1e-9;
  for (const auto& w : workers_) {
    live.sent += w->live_sent.load(std::memory_order_relaxed);
    live.ok += w->live_ok.load(std::memory_order_relaxed);
    live.failed += w->live_failed.load(std::memory_order_relaxed);
  }
  absl::MutexLock lock(&live_mu_);
  live.p99_ns = live_latency_.Percentile(0.99);
  return live;
}

}  // namespace tide::loadgen
