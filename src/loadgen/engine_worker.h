#pragma once

// One worker of the LoadEngine: an Asio event loop, its Links (connections or
// call slots, from a LinkFactory: HTTP or gRPC) and the scheduling and
// counting of one load level — closed loop (each link sends its next request
// when the previous answer is in) or open loop (requests due at the
// arrivals' times wait for an idle link; latency from the intended time).
// Private to the engine: LoadEngine::Run() makes one per thread, runs each on
// its own thread and merges their results.
//
// Threads: every member is touched only by the worker's own thread, except
// the live_* atomics, read by LoadEngine::Live().

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "loadgen/engine.h"
#include "loadgen/link.h"

namespace tide::loadgen {

class LoadEngine::Worker {
 public:
  Worker(LoadEngine* engine, int index);
  ~Worker();

  // Builds the transport. Error: the run cannot start (e.g. "resolve_error: ...").
  absl::Status Init();
  void Run();

  EngineResult& result() { return result_; }
  int64_t exhausted_at() const { return exhausted_at_; }
  int64_t stopped_at() const { return stopped_at_; }

  std::atomic<uint64_t> live_sent{0};
  std::atomic<uint64_t> live_ok{0};
  std::atomic<uint64_t> live_failed{0};

 private:
  struct Conn;

  int64_t Now() const;
  std::chrono::steady_clock::time_point At(int64_t ns) const;
  TimelineSecond& Second(int64_t ns);
  void NoteGauges(int64_t now);
  void FlushTimelineHist();

  // closing and finishing
  void Close(Conn* c);
  void FinishWorker();
  void ArmTick();
  void OnTick();
  void PublishLive();

  // requests
  size_t NextRequestIndex();
  bool InResults(int64_t intended, int64_t sent, int64_t done) const;
  void CompleteRequest(int64_t intended, int64_t sent, int64_t now, int status,
                       std::string_view cause);
  void Send(Conn* c, int64_t intended, int64_t now);
  void OnAnswered(Conn* c, int status, const std::string& cause, bool keep_open);

  // connections
  void Connect(Conn* c);
  void OnConnected(Conn* c, const std::string& cause);
  void OnConnectFailed(Conn* c, const std::string& cause);
  void AfterReady(Conn* c);
  void FlushClosedSends();
  void AfterConnDown(Conn* c, bool connect_failed);
  Conn* NewConn();

  // closed loop
  bool StillSendingClosed(int64_t now) const;
  void RetireClosed();
  void SendNextClosed(Conn* c, int64_t now);

  // open loop
  void AdvanceArrival();
  void ArmArrivalTimer();
  void OnArrivals();
  void Pump();
  void MaybeFinishOpenLoop();

  LoadEngine* engine_;
  const EngineOptions& opt_;
  const int index_;
  boost::asio::io_context ioc_{1};
  std::unique_ptr<LinkFactory> links_;
  boost::asio::steady_timer tick_;
  boost::asio::steady_timer arrival_timer_;
  std::vector<std::unique_ptr<Conn>> conns_;
  int initial_conns_ = 0;  // closed loop
  bool open_loop_ = false;
  bool finished_ = false;
  int64_t warmup_ns_ = 0;
  int64_t end_ns_ = 0;
  int64_t timeout_ns_ = 0;
  int64_t busy_ = 0;
  int64_t connecting_ = 0;
  int active_ = 0;  // closed loop: connections still sending
  size_t next_request_ = 0;
  int64_t exhausted_at_ = 0;
  int64_t stopped_at_ = 0;

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

}  // namespace tide::loadgen
