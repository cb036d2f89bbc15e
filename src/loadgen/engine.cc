#include "loadgen/engine.h"
#include "loadgen/text.h"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <thread>

#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"

namespace tide::loadgen {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kLateDispatchNs = 5'000'000;
constexpr auto kTick = std::chrono::milliseconds(10);
// Answers' heads are bounded as they always were; bodies are not (the
// checker judges them).
constexpr httpc::ParserLimits kResponseLimits{64 * 1024, std::numeric_limits<size_t>::max()};

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

int64_t ToNs(absl::Duration d) {
  return d == absl::InfiniteDuration() ? kNever : absl::ToInt64Nanoseconds(d);
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double ProcessCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

std::string ConnectCause(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return "connect_refused";
  if (ec == asio::error::timed_out) return "connect_timeout";
  if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) {
    return "connect_unreachable";
  }
  return Cat("connect_error: ", ec.message());
}

std::string IoCause(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_reset) return "connection_reset";
  if (ec == asio::error::broken_pipe) return "connection_reset";
  if (ec == asio::error::eof) return "connection_closed";
  return Cat("io_error: ", ec.message());
}

}  // namespace

std::string StatusChecker::Check(const HttpResponse& response, size_t) const {
  if (response.status >= 200 && response.status < 300) return "";
  return Cat("http_", response.status);
}

// One event loop and its connections. All members are touched only by the
// worker's own thread, except the atomics read by Live().
class LoadEngine::Worker {
 public:
  Worker(LoadEngine* engine, int index, tcp::resolver::results_type endpoints)
      : engine_(engine),
        opt_(engine->options_),
        index_(index),
        endpoints_(std::move(endpoints)),
        tick_(ioc_),
        arrival_timer_(ioc_),
        live_delta_(7),
        timeline_hist_(opt_.timeline_sub_bits) {
    result_.timeline_sub_bits = opt_.timeline_sub_bits;
    open_loop_ = opt_.arrivals != nullptr;
    result_.open_loop = open_loop_;
    warmup_ns_ = ToNs(opt_.warmup);
    end_ns_ = opt_.duration == absl::InfiniteDuration() ? kNever : warmup_ns_ + ToNs(opt_.duration);
    timeout_ns_ = ToNs(opt_.timeout);
    const int threads = opt_.threads;
    if (open_loop_) {
      arrivals_ = opt_.arrivals->Clone();
      max_conns_ = std::max(1, (opt_.max_connections + threads - 1) / threads);
      next_global_ = -1;
      AdvanceArrival();
    } else {
      int n = opt_.concurrency / threads + (index < opt_.concurrency % threads ? 1 : 0);
      for (int i = 0; i < n; ++i) conns_.push_back(std::make_unique<Conn>(ioc_));
    }
  }

  void Run() {
    double cpu0 = ThreadCpuSeconds();
    int64_t wall0 = SteadyNs();
    if (open_loop_) {
      ArmArrivalTimer();
    } else {
      active_ = static_cast<int>(conns_.size());
      for (auto& c : conns_) Connect(c.get());
      if (active_ == 0) finished_ = true;
    }
    ArmTick();
    if (!finished_) ioc_.run();
    FlushTimelineHist();
    result_.max_worker_busy =
        (ThreadCpuSeconds() - cpu0) / std::max(1e-9, (SteadyNs() - wall0) * 1e-9);
  }

  EngineResult& result() { return result_; }
  int64_t exhausted_at() const { return exhausted_at_; }
  int64_t stopped_at() const { return stopped_at_; }

  std::atomic<uint64_t> live_sent{0};
  std::atomic<uint64_t> live_ok{0};
  std::atomic<uint64_t> live_failed{0};

 private:
  struct Conn {
    explicit Conn(asio::io_context& ioc) : socket(ioc), backoff(ioc), parser(kResponseLimits) {}
    enum class State { kDown, kConnecting, kReady, kBusy };
    tcp::socket socket;
    asio::steady_timer backoff;
    State state = State::kDown;
    uint64_t gen = 0;  // bumped on close: handlers of older generations are ignored
    std::vector<char> buf = std::vector<char>(16 * 1024);
    httpc::ResponseParser parser;  // fed each read; keeps the answer so far
    int64_t connect_start_ns = 0;
    int64_t intended_ns = 0;
    int64_t sent_ns = 0;
    size_t request_index = 0;
  };

  int64_t Now() const { return SteadyNs() - engine_->start_ns_.load(std::memory_order_relaxed); }
  SteadyClock::time_point At(int64_t ns) const {
    return SteadyClock::time_point(
        std::chrono::nanoseconds(engine_->start_ns_.load(std::memory_order_relaxed) + ns));
  }

  TimelineSecond& Second(int64_t ns) {
    size_t s = static_cast<size_t>(std::max<int64_t>(0, ns) / kNsPerSec);
    if (s >= result_.timeline.size()) result_.timeline.resize(s + 1);
    return result_.timeline[s];
  }

  void NoteGauges(int64_t now) {
    TimelineSecond& sec = Second(now);
    sec.max_in_flight = std::max(sec.max_in_flight, busy_);
    sec.max_queued = std::max<int64_t>(sec.max_queued, static_cast<int64_t>(pending_.size()));
  }

  void FlushTimelineHist() {
    if (timeline_hist_.Count() == 0) return;
    auto buckets = timeline_hist_.NonZero();
    auto& dst = Second(hist_sec_ * kNsPerSec).latency_buckets;
    dst.insert(dst.end(), buckets.begin(), buckets.end());
    timeline_hist_.Clear();
  }

  // ---- closing and finishing ----

  void Close(Conn* c) {
    ++c->gen;
    boost::system::error_code ignored;
    c->socket.close(ignored);
    c->backoff.cancel();
    if (c->state == Conn::State::kBusy) --busy_;
    if (c->state == Conn::State::kConnecting) --connecting_;
    c->state = Conn::State::kDown;
    c->parser.Reset();
  }

  void FinishWorker() {
    if (finished_) return;
    finished_ = true;
    for (auto& c : conns_) Close(c.get());
    tick_.cancel();
    arrival_timer_.cancel();
    ioc_.stop();
  }

  void ArmTick() {
    tick_.expires_after(kTick);
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      OnTick();
      if (!finished_) ArmTick();
    });
  }

  void OnTick() {
    const int64_t now = Now();
    PublishLive();
    if (engine_->stop_.load(std::memory_order_relaxed)) {
      stopped_at_ = now;
      result_.stopped = true;
      result_.abandoned += busy_ + pending_.size();
      FinishWorker();
      return;
    }
    // Timeouts, counted from the intended send time.
    // By index: recovering a connection may open new ones (open loop).
    const size_t n = conns_.size();
    for (size_t i = 0; i < n && !finished_; ++i) {
      Conn* c = conns_[i].get();
      if (c->state == Conn::State::kBusy && now - c->intended_ns >= timeout_ns_) {
        CompleteRequest(c->intended_ns, c->sent_ns, now, 0, "timeout", c->request_index);
        Close(c);
        AfterConnDown(c, /*connect_failed=*/false);
      } else if (c->state == Conn::State::kConnecting && now - c->connect_start_ns >= timeout_ns_) {
        Close(c);
        OnConnectFailed(c, "connect_timeout");
      }
    }
    while (!pending_.empty() && now - pending_.front() >= timeout_ns_) {
      int64_t intended = pending_.front();
      pending_.pop_front();
      CompleteRequest(intended, -1, now, 0, "timeout", NextRequestIndex());
    }
    if (!open_loop_ && now >= end_ns_) {
      // Closed loop: the window is over; answers still in flight are not counted.
      FinishWorker();
      return;
    }
    MaybeFinishOpenLoop();
  }

  void PublishLive() {
    if (live_delta_.Count() == 0) return;
    auto buckets = live_delta_.NonZero();
    live_delta_.Clear();
    absl::MutexLock lock(&engine_->live_mu_);
    engine_->live_latency_.AddBuckets(buckets);
  }

  // ---- requests ----

  size_t NextRequestIndex() {
    size_t i = next_request_;
    next_request_ = (next_request_ + 1) % opt_.requests.size();
    return i;
  }

  bool InResults(int64_t intended, int64_t sent, int64_t done) const {
    if (open_loop_) return intended >= warmup_ns_ && intended < end_ns_;
    return sent >= warmup_ns_ && done <= end_ns_;
  }

  void CompleteRequest(int64_t intended, int64_t sent, int64_t now, int status,
                       std::string_view cause, size_t request_index) {
    const bool ok = cause.empty();
    TimelineSecond& sec = Second(now);
    const int64_t latency = now - intended;
    if (ok) {
      ++sec.completed;
      int64_t s = now / kNsPerSec;
      if (s != hist_sec_) {
        FlushTimelineHist();
        hist_sec_ = s;
      }
      timeline_hist_.Record(latency);
      live_delta_.Record(latency);
      live_ok.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++sec.errors;
      live_failed.fetch_add(1, std::memory_order_relaxed);
    }
    if (InResults(intended, sent < 0 ? intended : sent, now)) {
      if (sent >= 0 && !open_loop_) ++result_.sent;
      if (ok) {
        ++result_.ok;
        result_.latency.Record(latency);
        result_.service_time.Record(now - sent);
      } else {
        ++result_.failed;
        ++result_.errors[std::string(cause)];
      }
    }
    if (opt_.record_requests) {
      result_.records.push_back(RequestRecord{intended, sent, now, status, std::string(cause)});
    }
    (void)request_index;
  }

  void Send(Conn* c, int64_t intended, int64_t now) {
    c->state = Conn::State::kBusy;
    ++busy_;
    c->intended_ns = intended;
    c->sent_ns = now;
    c->request_index = NextRequestIndex();
    c->parser.Reset();
    ++Second(now).sent;
    if (open_loop_ && InResults(intended, now, now)) ++result_.sent;
    live_sent.fetch_add(1, std::memory_order_relaxed);
    NoteGauges(now);
    const uint64_t gen = c->gen;
    const std::string& req = opt_.requests[c->request_index];
    // Write directly on the non-blocking socket: a request almost always fits
    // the socket buffer, and this saves an event-loop round per request.
    boost::system::error_code ec;
    size_t written = c->socket.write_some(asio::buffer(req), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      written = 0;
    }
    if (ec) {
      // Reported from the loop, not from inside Pump().
      asio::post(ioc_, [this, c, gen, ec] {
        if (gen == c->gen && c->state == Conn::State::kBusy) OnIoError(c, IoCause(ec));
      });
      return;
    }
    if (written < req.size()) {
      asio::async_write(c->socket, asio::buffer(req.data() + written, req.size() - written),
                        [this, c, gen](const boost::system::error_code& ec, size_t) {
                          if (gen != c->gen || !ec || c->state != Conn::State::kBusy) return;
                          OnIoError(c, IoCause(ec));
                        });
    }
    WaitRead(c);
  }

  // Waits for readability, then reads without blocking (no speculative read
  // that would almost always find nothing right after the write).
  void WaitRead(Conn* c) {
    const uint64_t gen = c->gen;
    c->socket.async_wait(tcp::socket::wait_read,
                         [this, c, gen](const boost::system::error_code& ec) {
                           if (gen != c->gen || c->state != Conn::State::kBusy) return;
                           if (ec) {
                             OnIoError(c, IoCause(ec));
                             return;
                           }
                           ReadAvailable(c);
                         });
  }

  void ReadAvailable(Conn* c) {
    while (true) {
      const size_t space = c->buf.size();
      boost::system::error_code ec;
      const size_t n = c->socket.read_some(asio::buffer(c->buf.data(), space), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        WaitRead(c);
        return;
      }
      const bool eof = ec == asio::error::eof;
      if (ec && !eof) {
        OnIoError(c, IoCause(ec));
        return;
      }
      const size_t used = c->parser.Feed(std::string_view(c->buf.data(), n));
      if (eof) c->parser.FinishEof();
      const auto state = c->parser.state();
      if (state == httpc::ResponseParser::State::kComplete) {
        OnResponse(c, eof, /*extra=*/used != n);
        return;
      }
      if (state == httpc::ResponseParser::State::kError) {
        OnIoError(c, eof && !c->parser.started() ? "connection_closed"
                                                 : "bad_response: " + c->parser.error());
        return;
      }
      // Incomplete. A read that filled the buffer may have left more behind
      // (edge-triggered readiness would not fire again): read on. Otherwise
      // everything available was taken: wait for more.
      if (n < space) {
        WaitRead(c);
        return;
      }
    }
  }

  void OnResponse(Conn* c, bool eof, bool extra) {
    const int64_t now = Now();
    HttpResponse response;
    if (std::string bad = ToHttpResponse(c->parser.Take(), &response); !bad.empty()) {
      OnIoError(c, "bad_response: " + bad);
      return;
    }
    std::string cause = opt_.checker->Check(response, c->request_index);
    if (cause.empty() && extra) cause = "bad_response: bytes after the response";
    CompleteRequest(c->intended_ns, c->sent_ns, now, response.status, cause, c->request_index);
    c->state = Conn::State::kReady;
    --busy_;
    if (!response.keep_alive || eof || extra) {
      Close(c);
      AfterConnDown(c, /*connect_failed=*/false);
      return;
    }
    AfterReady(c, now);
  }

  void OnIoError(Conn* c, const std::string& cause) {
    CompleteRequest(c->intended_ns, c->sent_ns, Now(), 0, cause, c->request_index);
    Close(c);
    AfterConnDown(c, /*connect_failed=*/false);
  }

  // ---- connections ----

  void Connect(Conn* c) {
    c->state = Conn::State::kConnecting;
    ++connecting_;
    c->connect_start_ns = Now();
    ++result_.connections_opened;
    const uint64_t gen = c->gen;
    asio::async_connect(c->socket, endpoints_,
                        [this, c, gen](const boost::system::error_code& ec, const tcp::endpoint&) {
                          if (gen != c->gen) return;
                          --connecting_;
                          c->state = Conn::State::kDown;
                          if (ec) {
                            Close(c);
                            OnConnectFailed(c, ConnectCause(ec));
                            return;
                          }
                          boost::system::error_code ignored;
                          c->socket.set_option(tcp::no_delay(true), ignored);
                          c->socket.non_blocking(true, ignored);
                          c->state = Conn::State::kReady;
                          AfterReady(c);
                        });
  }

  void OnConnectFailed(Conn* c, const std::string& cause) {
    const int64_t now = Now();
    if (open_loop_) {
      // The request that this connection was opened for fails with the cause.
      if (!pending_.empty()) {
        int64_t intended = pending_.front();
        pending_.pop_front();
        CompleteRequest(intended, -1, now, 0, cause, NextRequestIndex());
      }
      down_.push_back(c);
      Pump();
      MaybeFinishOpenLoop();
      return;
    }
    CompleteRequest(now, now, now, 0, cause, NextRequestIndex());
    AfterConnDown(c, /*connect_failed=*/true);
  }

  // A connection is up and idle.
  void AfterReady(Conn* c, int64_t now = -1) {
    if (open_loop_) {
      ready_.push_back(c);
      Pump();
      MaybeFinishOpenLoop();
      return;
    }
    (void)now;
    // Closed loop: the next request goes out once every answer that arrived
    // in this round of the event loop has been handled (as wrk does): the
    // server then gets its requests in a burst instead of one wake-up each.
    to_send_.emplace_back(c, c->gen);
    if (!flush_posted_) {
      flush_posted_ = true;
      asio::post(ioc_, [this] { FlushClosedSends(); });
    }
  }

  void FlushClosedSends() {
    flush_posted_ = false;
    std::vector<std::pair<Conn*, uint64_t>> batch;
    batch.swap(to_send_);
    for (auto [c, gen] : batch) {
      if (finished_ || gen != c->gen || c->state != Conn::State::kReady) continue;
      SendNextClosed(c, Now());  // fresh: the send time must not include our own work
    }
  }

  // A connection was closed (by error, timeout or the server).
  void AfterConnDown(Conn* c, bool connect_failed) {
    if (finished_) return;
    if (open_loop_) {
      down_.push_back(c);
      Pump();
      MaybeFinishOpenLoop();
      return;
    }
    if (!StillSendingClosed(Now())) {
      RetireClosed();
      return;
    }
    if (!connect_failed) {
      Connect(c);
      return;
    }
    c->backoff.expires_after(std::chrono::nanoseconds(ToNs(opt_.reconnect_backoff)));
    const uint64_t gen = c->gen;
    c->backoff.async_wait([this, c, gen](const boost::system::error_code& ec) {
      if (ec || gen != c->gen || finished_) return;
      Connect(c);
    });
  }

  // ---- closed loop ----

  bool StillSendingClosed(int64_t now) const { return !finished_ && now < end_ns_; }

  void RetireClosed() {
    if (--active_ <= 0) {
      exhausted_at_ = Now();
      FinishWorker();
    }
  }

  void SendNextClosed(Conn* c, int64_t now) {
    if (!StillSendingClosed(now)) {
      Close(c);
      RetireClosed();
      return;
    }
    if (opt_.max_requests > 0 &&
        engine_->issued_.fetch_add(1, std::memory_order_relaxed) >= opt_.max_requests) {
      Close(c);
      RetireClosed();
      return;
    }
    Send(c, now, now);
  }

  // ---- open loop ----

  void AdvanceArrival() {
    while (true) {
      std::optional<absl::Duration> next = arrivals_->Next();
      ++next_global_;
      if (!next || (opt_.max_requests > 0 && next_global_ >= opt_.max_requests)) {
        next_due_.reset();
        arrivals_end_ns_ = last_due_;
        return;
      }
      if (next_global_ % opt_.threads != index_) continue;
      int64_t due = absl::ToInt64Nanoseconds(*next);
      if (due >= end_ns_) {
        next_due_.reset();
        arrivals_end_ns_ = end_ns_;
        return;
      }
      next_due_ = due;
      return;
    }
  }

  void ArmArrivalTimer() {
    if (!next_due_) {
      arrivals_done_ = true;
      MaybeFinishOpenLoop();
      return;
    }
    arrival_timer_.expires_at(At(*next_due_));
    arrival_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      OnArrivals();
    });
  }

  void OnArrivals() {
    const int64_t now = Now();
    while (next_due_ && *next_due_ <= now) {
      const int64_t due = *next_due_;
      last_due_ = due;
      ++Second(due).scheduled;
      if (due >= warmup_ns_) {
        ++result_.scheduled;
        result_.dispatch_lag.Record(now - due);
        if (now - due > kLateDispatchNs) ++result_.late_dispatches;
      }
      if (ready_.empty() && down_.empty() && static_cast<int>(conns_.size()) >= max_conns_) {
        if (due >= warmup_ns_) ++result_.queued_requests;
      }
      pending_.push_back(due);
      AdvanceArrival();
    }
    Pump();
    NoteGauges(now);
    ArmArrivalTimer();
  }

  void Pump() {
    if (finished_) return;
    const int64_t now = Now();
    while (!pending_.empty() && !ready_.empty()) {
      Conn* c = ready_.back();
      ready_.pop_back();
      int64_t intended = pending_.front();
      pending_.pop_front();
      Send(c, intended, now);
    }
    while (static_cast<int64_t>(pending_.size()) > connecting_) {
      Conn* c;
      if (!down_.empty()) {
        c = down_.back();
        down_.pop_back();
      } else if (static_cast<int>(conns_.size()) < max_conns_) {
        conns_.push_back(std::make_unique<Conn>(ioc_));
        c = conns_.back().get();
      } else {
        break;
      }
      Connect(c);
    }
  }

  void MaybeFinishOpenLoop() {
    if (!open_loop_ || finished_ || !arrivals_done_) return;
    if (pending_.empty() && busy_ == 0) {
      exhausted_at_ = arrivals_end_ns_;
      FinishWorker();
    }
  }

  LoadEngine* engine_;
  const EngineOptions& opt_;
  const int index_;
  tcp::resolver::results_type endpoints_;
  asio::io_context ioc_{1};
  asio::steady_timer tick_;
  asio::steady_timer arrival_timer_;
  std::vector<std::unique_ptr<Conn>> conns_;
  bool open_loop_ = false;
  bool finished_ = false;
  int64_t warmup_ns_ = 0;
  int64_t end_ns_ = kNever;
  int64_t timeout_ns_ = 0;
  int64_t busy_ = 0;
  int64_t connecting_ = 0;
  int active_ = 0;  // closed loop: connections still sending
  size_t next_request_ = 0;
  int64_t exhausted_at_ = kNever;
  int64_t stopped_at_ = kNever;

  // closed loop: connections whose next request waits for the end of the round
  std::vector<std::pair<Conn*, uint64_t>> to_send_;
  bool flush_posted_ = false;

  // open loop
  std::unique_ptr<workload::ArrivalProcess> arrivals_;
  int64_t next_global_ = -1;
  std::optional<int64_t> next_due_;
  int64_t last_due_ = 0;
  int64_t arrivals_end_ns_ = 0;  // where the schedule ended: window end or last arrival
  bool arrivals_done_ = false;
  int max_conns_ = 1;
  std::deque<int64_t> pending_;  // intended times waiting for a connection
  std::vector<Conn*> ready_;
  std::vector<Conn*> down_;

  workload::Histogram live_delta_;
  workload::Histogram timeline_hist_;
  int64_t hist_sec_ = 0;
  EngineResult result_;
};

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
  asio::io_context resolver_ioc;
  tcp::resolver resolver(resolver_ioc);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(options_.target.host, std::to_string(options_.target.port), ec);
  if (ec) {
    result.errors[Cat("resolve_error: ", ec.message())] = 1;
    result.failed = 1;
    return result;
  }
  for (int i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(this, i, endpoints));
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
