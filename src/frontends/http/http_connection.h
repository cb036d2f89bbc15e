#pragma once

// The transport's state, shared by its files (internal to
// frontends/http): one client connection (Conn), what every I/O thread shares
// (Shared), an I/O thread's epoll loop (Loop), and the two functions that
// write responses to a socket. See http_server.cc for how they work together.

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "frontends/http/http_server.h"

namespace tide::http::transport {

namespace bhttp = boost::beast::http;

constexpr size_t kReadChunk = 64 << 10;
constexpr int64_t kLingerNs = 2'000'000'000;  // drain a closing connection at most 2 s
constexpr size_t kLingerBytes = 8 << 20;      // ... or until 8 MiB were discarded
// A connection over the cap must send its (health check) request within this.
constexpr int64_t kLimitedReadNs = 2'000'000'000;
// At shutdown, handshakes under way when new ones were stopped complete
// within this (loopback or LAN round trips) and are accepted.
constexpr int64_t kSynDrainNs = 20'000'000;

// CLOCK_MONOTONIC_COARSE, in ns: deadlines need no more precision.
int64_t MonotonicNanos();

struct Loop;

// Beast's string_body, except that a body with a Content-Length is read into
// a buffer reserved kRequestBodySlack bytes longer (http_types.h).
struct SlackStringBody {
  using value_type = std::string;
  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::system::error_code& ec) {
      ec = {};
      if (!length) return;
      if (*length > body_.max_size() - kRequestBodySlack) {
        ec = bhttp::error::buffer_overflow;
        return;
      }
      body_.reserve(static_cast<size_t>(*length) + kRequestBodySlack);
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::const_buffer b(*it);
        if (b.size() > body_.max_size() - body_.size()) {
          ec = bhttp::error::buffer_overflow;
          return n;
        }
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      return n;
    }

    void finish(boost::system::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

// Where one request's header fields live: Beast allocates an element per
// field; these come from a buffer the connection keeps (bump allocation,
// nothing freed one by one), made empty again when the next request's
// parser is made. Fields past the buffer (a request with unusually large
// headers, bounded by --max-header-bytes) come from the heap as before.
class FieldArena {
 public:
  static constexpr size_t kInlineBytes = 1024;

  void* Allocate(size_t n, size_t align) {
    size_t at = (used_ + align - 1) & ~(align - 1);
    if (align <= alignof(std::max_align_t) && at <= kInlineBytes && n <= kInlineBytes - at) {
      used_ = at + n;
      return buf_ + at;
    }
    return ::operator new(n);
  }
  void Deallocate(void* p) noexcept {
    const char* c = static_cast<const char*>(p);
    if (c >= buf_ && c < buf_ + kInlineBytes) return;  // reclaimed by Reset
    ::operator delete(p);
  }
  // Only when no field allocated from it is alive (no parser holds one).
  void Reset() noexcept { used_ = 0; }

 private:
  alignas(std::max_align_t) char buf_[kInlineBytes];
  size_t used_ = 0;
};

template <class T>
struct FieldAllocator {
  using value_type = T;
  FieldArena* arena;

  explicit FieldAllocator(FieldArena* a) noexcept : arena(a) {}
  template <class U>
  FieldAllocator(const FieldAllocator<U>& other) noexcept : arena(other.arena) {}  // NOLINT
  T* allocate(size_t n) { return static_cast<T*>(arena->Allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, size_t) noexcept { arena->Deallocate(p); }
  template <class U>
  bool operator==(const FieldAllocator<U>& other) const noexcept {
    return arena == other.arena;
  }
  template <class U>
  bool operator!=(const FieldAllocator<U>& other) const noexcept {
    return arena != other.arena;
  }
};

using RequestFields = bhttp::basic_fields<FieldAllocator<char>>;
using Request = bhttp::request<SlackStringBody, RequestFields>;
using RequestParser = bhttp::request_parser<SlackStringBody, FieldAllocator<char>>;

// One client connection. The fd stays open until the last reference goes,
// so a late responder can never write into a recycled descriptor.
struct Conn {
  Conn(int f, std::shared_ptr<Loop> l) : fd(f), loop(std::move(l)) {}
  ~Conn() { ::close(fd); }

  const int fd;
  const std::shared_ptr<Loop> loop;
  int64_t write_timeout_ns = 0;  // a stalled response write is given up after this

  // Owned by the I/O thread.
  std::string in;
  size_t in_off = 0;
  FieldArena fields;                    // the parser's header fields (outlives it)
  std::optional<RequestParser> parser;  // made by NewParser
  bool sent_continue = false;
  size_t drained = 0;            // bytes discarded while lingering
  bool request_started = false;  // bytes of a request not yet dispatched have arrived
  bool limited = false;          // accepted over the connection cap: health checks only

  std::mutex mu;
  // Guarded by mu.
  bool closed = false;
  bool awaiting = false;     // a request is with the handler or its response is being written
  bool read_ready = false;   // the socket may hold unread bytes (edge-triggered epoll)
  bool peer_closed = false;  // the client shut down its side: read until EOF
  bool buffered = false;     // pipelined bytes wait in `in` (set when a request is dispatched)
  bool close_after_write = false;
  bool keep_alive = true;
  bool head = false;  // the request in flight is a HEAD
  unsigned version = 11;
  std::string out;  // response bytes the kernel has not taken yet
  size_t out_off = 0;
  // Monotonic ns by which the next request must have arrived, the pending
  // response must have made progress, or a lingering close must be over.
  int64_t deadline = 0;
  // The response that closes the connection has gone and the write side is
  // shut: unread request bytes are drained (not reset) until the client
  // closes, so that it reads the response before any RST.
  bool lingering = false;
  uint64_t seq = 0;        // requests dispatched: a responder answers only its own
  int64_t idle_since = 0;  // when the connection last became idle (accepted, or answered)
  // Monotonic ns after which its next response closes it (max_connection_age);
  // set at accept, before any request.
  int64_t retire_at = std::numeric_limits<int64_t>::max();
};

struct Shared {
  HttpServer::Options options;
  int64_t read_timeout_ns = 0;
  std::atomic<int> connections{0};
  std::atomic<int> pending{0};  // requests handed to the handler, response not yet written
  std::atomic<bool> stopped{false};
  // Shutting down: every response closes its connection (BeginDrain) ...
  std::atomic<bool> draining{false};
  // ... and, after Shutdown, idle connections are closed and, once the
  // first loop has accepted what was queued, the listening socket too.
  std::atomic<bool> closing{false};
  std::atomic<bool> listener_closed{false};
  int64_t quiet_ns = 50'000'000;  // written before `closing` is set
  int64_t max_age_ns = 0;         // max_connection_age; 0: none

  void CountResponse(int status) const {
    if (options.on_response) options.on_response(status);
  }
  void CountTimeout(HttpServer::Options::Timeout t) const {
    if (options.on_timeout) options.on_timeout(t);
  }
  void CountAcceptError() const {
    if (options.on_accept_error) options.on_accept_error();
  }
};

// An I/O thread: its epoll set, a wake-up eventfd and a queue of tasks that
// other threads hand it.
struct Loop : std::enable_shared_from_this<Loop> {
  explicit Loop(std::shared_ptr<Shared> s) : shared(std::move(s)) {
    epfd = epoll_create1(EPOLL_CLOEXEC);
    wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up fd
    epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev);
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  ~Loop() {
    if (spare_fd >= 0) ::close(spare_fd);
    ::close(wakefd);
    ::close(epfd);
  }

  // Runs `conn`'s pending work on this loop's thread.
  void Post(std::shared_ptr<Conn> conn) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(tasks_mu);
      if (stopped) return;
      wake = tasks.empty();
      tasks.push_back(std::move(conn));
    }
    if (wake && std::this_thread::get_id() != thread_id) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(wakefd, &one, sizeof(one));
    }
  }

  // Kept alive by every loop, so that a responder finishing after Stop() (or
  // after the server is gone) still finds what it touches.
  const std::shared_ptr<Shared> shared;
  int epfd = -1;
  int wakefd = -1;
  int listenfd = -1;
  // Held in reserve: when accept() finds no descriptor left, this one is
  // given up to accept a waiting connection, answer it 503 and close it, so
  // that clients are refused at once instead of waiting in the backlog.
  int spare_fd = -1;
  std::thread::id thread_id;
  bool accept_paused = false;  // out of descriptors: the listening socket is unwatched
  bool first = false;          // closes the listening socket at shutdown
  int64_t syn_filter_at = 0;   // when it stopped new handshakes (first loop only)
  const std::vector<Loop*>* all_loops = nullptr;
  int64_t last_accept_warning = 0;
  uint64_t jitter_state = 0;  // each connection's age within ±10 % (splitmix64)
  std::mutex tasks_mu;
  std::vector<std::shared_ptr<Conn>> tasks;  // guarded by tasks_mu
  bool stopped = false;                      // guarded by tasks_mu
  // I/O thread only. Keyed by address so that an event is matched without
  // touching the connection it names.
  std::unordered_map<Conn*, std::shared_ptr<Conn>> conns;
};

// Writes what the kernel takes now; returns false on a broken connection.
// Whatever is left stays in conn.out (mu held).
bool SendPending(Conn& c, const std::string& head, const std::string& body);

// Retries conn.out (mu held). False on a broken connection.
bool FlushOut(Conn& c);

}  // namespace tide::http::transport
