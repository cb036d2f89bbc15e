#include "loadgen/engine_worker.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "boost/asio/post.hpp"
#include "common/clock.h"
#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kLateDispatchNs = 5'000'000;
constexpr auto kTick = std::chrono::milliseconds(10);

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

int64_t ToNs(absl::Duration d) {
  return d == absl::InfiniteDuration() ? kNever : absl::ToInt64Nanoseconds(d);
}

double ThreadCpuSeconds() { return absl::ToDoubleSeconds(common::ThreadCpuTime()); }

}  // namespace

// One link and what the scheduler knows of it.
struct LoadEngine::Worker::Conn final : LinkEvents {
  Conn(Worker* w, LinkFactory& links) : worker(w), backoff(w->ioc_), link(links.NewLink(this)) {}
  void Connected(const std::string& cause) override { worker->OnConnected(this, cause); }
  void Answered(int status, const std::string& cause, bool keep_open) override {
    worker->OnAnswered(this, status, cause, keep_open);
  }

  enum class State { kDown, kConnecting, kReady, kBusy };
  Worker* worker;
  asio::steady_timer backoff;
  std::unique_ptr<Link> link;
  State state = State::kDown;
  uint64_t gen = 0;  // bumped on close: the scheduler's own pending handlers are ignored
  int64_t connect_start_ns = 0;
  int64_t intended_ns = 0;
  int64_t sent_ns = 0;
};

LoadEngine::Worker::Worker(LoadEngine* engine, int index)
    : engine_(engine),
      opt_(engine->options_),
      index_(index),
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
  exhausted_at_ = kNever;
  stopped_at_ = kNever;
  const int threads = opt_.threads;
  if (open_loop_) {
    arrivals_ = opt_.arrivals->Clone();
    max_conns_ = std::max(1, (opt_.max_connections + threads - 1) / threads);
    next_global_ = -1;
    AdvanceArrival();
  } else {
    initial_conns_ = opt_.concurrency / threads + (index < opt_.concurrency % threads ? 1 : 0);
  }
}

LoadEngine::Worker::~Worker() {
  // Links first (they may hold sockets on ioc_), then the factory.
  conns_.clear();
  links_.reset();
}

absl::Status LoadEngine::Worker::Init() {
  auto links = opt_.protocol == EngineProtocol::kGrpc ? NewGrpcLinkFactory(opt_, ioc_, index_)
                                                      : NewHttpLinkFactory(opt_, ioc_);
  if (!links.ok()) return links.status();
  links_ = std::move(*links);
  for (int i = 0; i < initial_conns_; ++i) NewConn();
  return absl::OkStatus();
}

LoadEngine::Worker::Conn* LoadEngine::Worker::NewConn() {
  conns_.push_back(std::make_unique<Conn>(this, *links_));
  return conns_.back().get();
}

void LoadEngine::Worker::Run() {
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
  for (auto& c : conns_) c->link->Close();
  links_->Drain();
  FlushTimelineHist();
  // The busier of the loop's thread and the transport's own (gRPC's poller,
  // which lives only for this run).
  result_.max_worker_busy =
      std::max(ThreadCpuSeconds() - cpu0, links_->TransportThreadCpuSeconds()) /
      std::max(1e-9, (SteadyNs() - wall0) * 1e-9);
}

int64_t LoadEngine::Worker::Now() const {
  return SteadyNs() - engine_->start_ns_.load(std::memory_order_relaxed);
}

SteadyClock::time_point LoadEngine::Worker::At(int64_t ns) const {
  return SteadyClock::time_point(
      std::chrono::nanoseconds(engine_->start_ns_.load(std::memory_order_relaxed) + ns));
}

TimelineSecond& LoadEngine::Worker::Second(int64_t ns) {
  size_t s = static_cast<size_t>(std::max<int64_t>(0, ns) / kNsPerSec);
  if (s >= result_.timeline.size()) result_.timeline.resize(s + 1);
  return result_.timeline[s];
}

void LoadEngine::Worker::NoteGauges(int64_t now) {
  TimelineSecond& sec = Second(now);
  sec.max_in_flight = std::max(sec.max_in_flight, busy_);
  sec.max_queued = std::max<int64_t>(sec.max_queued, static_cast<int64_t>(pending_.size()));
}

void LoadEngine::Worker::FlushTimelineHist() {
  if (timeline_hist_.Count() == 0) return;
  auto buckets = timeline_hist_.NonZero();
  auto& dst = Second(hist_sec_ * kNsPerSec).latency_buckets;
  dst.insert(dst.end(), buckets.begin(), buckets.end());
  timeline_hist_.Clear();
}

// ---- closing and finishing ----

void LoadEngine::Worker::Close(Conn* c) {
  ++c->gen;
  c->link->Close();
  c->backoff.cancel();
  if (c->state == Conn::State::kBusy) --busy_;
  if (c->state == Conn::State::kConnecting) --connecting_;
  c->state = Conn::State::kDown;
}

void LoadEngine::Worker::FinishWorker() {
  if (finished_) return;
  finished_ = true;
  for (auto& c : conns_) Close(c.get());
  tick_.cancel();
  arrival_timer_.cancel();
  ioc_.stop();
}

void LoadEngine::Worker::ArmTick() {
  tick_.expires_after(kTick);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || finished_) return;
    OnTick();
    if (!finished_) ArmTick();
  });
}

void LoadEngine::Worker::OnTick() {
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
      CompleteRequest(c->intended_ns, c->sent_ns, now, 0, "timeout");
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
    NextRequestIndex();
    CompleteRequest(intended, -1, now, 0, "timeout");
  }
  if (!open_loop_ && now >= end_ns_) {
    // Closed loop: the window is over; answers still in flight are not counted.
    FinishWorker();
    return;
  }
  MaybeFinishOpenLoop();
}

void LoadEngine::Worker::PublishLive() {
  if (live_delta_.Count() == 0) return;
  auto buckets = live_delta_.NonZero();
  live_delta_.Clear();
  absl::MutexLock lock(&engine_->live_mu_);
  engine_->live_latency_.AddBuckets(buckets);
}

// ---- requests ----

size_t LoadEngine::Worker::NextRequestIndex() {
  size_t i = next_request_;
  next_request_ = (next_request_ + 1) % opt_.requests.size();
  return i;
}

bool LoadEngine::Worker::InResults(int64_t intended, int64_t sent, int64_t done) const {
  if (open_loop_) return intended >= warmup_ns_ && intended < end_ns_;
  return sent >= warmup_ns_ && done <= end_ns_;
}

void LoadEngine::Worker::CompleteRequest(int64_t intended, int64_t sent, int64_t now, int status,
                                         std::string_view cause) {
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
      if (status != 0 && sent >= 0) result_.answered_error_service_time.Record(now - sent);
    }
  }
  if (opt_.record_requests) {
    result_.records.push_back(RequestRecord{intended, sent, now, status, std::string(cause)});
  }
}

void LoadEngine::Worker::Send(Conn* c, int64_t intended, int64_t now) {
  c->state = Conn::State::kBusy;
  ++busy_;
  c->intended_ns = intended;
  c->sent_ns = now;
  ++Second(now).sent;
  if (open_loop_ && InResults(intended, now, now)) ++result_.sent;
  live_sent.fetch_add(1, std::memory_order_relaxed);
  NoteGauges(now);
  c->link->Send(NextRequestIndex());
}

void LoadEngine::Worker::OnAnswered(Conn* c, int status, const std::string& cause, bool keep_open) {
  if (c->state != Conn::State::kBusy) return;
  const int64_t now = Now();
  CompleteRequest(c->intended_ns, c->sent_ns, now, status, cause);
  if (!keep_open) {
    Close(c);
    AfterConnDown(c, /*connect_failed=*/false);
    return;
  }
  c->state = Conn::State::kReady;
  --busy_;
  AfterReady(c);
}

// ---- connections ----

void LoadEngine::Worker::Connect(Conn* c) {
  c->state = Conn::State::kConnecting;
  ++connecting_;
  c->connect_start_ns = Now();
  ++result_.connections_opened;
  c->link->Connect();
}

void LoadEngine::Worker::OnConnected(Conn* c, const std::string& cause) {
  if (c->state != Conn::State::kConnecting) return;
  --connecting_;
  c->state = Conn::State::kDown;
  if (!cause.empty()) {
    Close(c);
    OnConnectFailed(c, cause);
    return;
  }
  c->state = Conn::State::kReady;
  AfterReady(c);
}

void LoadEngine::Worker::OnConnectFailed(Conn* c, const std::string& cause) {
  const int64_t now = Now();
  if (open_loop_) {
    // The request that this connection was opened for fails with the cause.
    if (!pending_.empty()) {
      int64_t intended = pending_.front();
      pending_.pop_front();
      NextRequestIndex();
      CompleteRequest(intended, -1, now, 0, cause);
    }
    down_.push_back(c);
    Pump();
    MaybeFinishOpenLoop();
    return;
  }
  NextRequestIndex();
  CompleteRequest(now, now, now, 0, cause);
  AfterConnDown(c, /*connect_failed=*/true);
}

// A connection is up and idle.
void LoadEngine::Worker::AfterReady(Conn* c) {
  if (open_loop_) {
    ready_.push_back(c);
    Pump();
    MaybeFinishOpenLoop();
    return;
  }
  // Closed loop: the next request goes out once every answer that arrived
  // in this round of the event loop has been handled (as wrk does): the
  // server then gets its requests in a burst instead of one wake-up each.
  to_send_.emplace_back(c, c->gen);
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(ioc_, [this] { FlushClosedSends(); });
  }
}

void LoadEngine::Worker::FlushClosedSends() {
  flush_posted_ = false;
  std::vector<std::pair<Conn*, uint64_t>> batch;
  batch.swap(to_send_);
  for (auto [c, gen] : batch) {
    if (finished_ || gen != c->gen || c->state != Conn::State::kReady) continue;
    SendNextClosed(c, Now());  // fresh: the send time must not include our own work
  }
}

// A connection was closed (by error, timeout or the server).
void LoadEngine::Worker::AfterConnDown(Conn* c, bool connect_failed) {
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

bool LoadEngine::Worker::StillSendingClosed(int64_t now) const {
  return !finished_ && now < end_ns_;
}

void LoadEngine::Worker::RetireClosed() {
  if (--active_ <= 0) {
    exhausted_at_ = Now();
    FinishWorker();
  }
}

void LoadEngine::Worker::SendNextClosed(Conn* c, int64_t now) {
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

void LoadEngine::Worker::AdvanceArrival() {
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

void LoadEngine::Worker::ArmArrivalTimer() {
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

void LoadEngine::Worker::OnArrivals() {
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

void LoadEngine::Worker::Pump() {
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
      c = NewConn();
    } else {
      break;
    }
    Connect(c);
  }
}

void LoadEngine::Worker::MaybeFinishOpenLoop() {
  if (!open_loop_ || finished_ || !arrivals_done_) return;
  if (pending_.empty() && busy_ == 0) {
    exhausted_at_ = arrivals_end_ns_;
    FinishWorker();
  }
}

}  // namespace tide::loadgen
