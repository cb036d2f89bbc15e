#include "frontends/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/beast/http/parser.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/caller_backlog.h"
#include "common/logging.h"
#include "frontends/http/http_connection.h"
#include "frontends/http/http_framing.h"
#include "spdlog/spdlog.h"

namespace tide::http {

namespace bhttp = boost::beast::http;

// How the transport works. Each I/O thread runs its own edge-triggered epoll
// loop and owns the connections it accepted: it reads, parses (Beast's
// parser, fed by hand) and hands each complete request to the handler. A
// connection has at most one request in flight; pipelined requests wait in
// its input buffer, so responses leave in order. The response is written by
// whichever thread completes it (usually a model worker), straight to the
// socket: no hop back to the I/O thread, no wake-up. Only what cannot be done
// there goes back to the I/O thread as a task: finishing a write the kernel
// did not take at once, reading requests that arrived meanwhile, closing.
// Deadlines are checked by a sweep a few times a second instead of a timer
// per request.

// The transport's shared state and socket writes: http_connection.h.
using namespace transport;  // NOLINT(build/namespaces): this file is their other half

namespace {

FramingFields FramingOf(const Request& req) {
  FramingFields f;
  f.version = req.version();
  for (const auto& field : req) {
    if (field.name() == bhttp::field::host) {
      ++f.host_fields;
    } else if (field.name() == bhttp::field::transfer_encoding) {
      f.transfer_encoding.emplace_back(field.value().data(), field.value().size());
    } else if (field.name() == bhttp::field::content_length) {
      f.has_content_length = true;
    }
  }
  return f;
}

bool Contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

class Transport {
 public:
  // mu held. The response to the request in flight has been fully written
  // (or the connection broke): decide what comes next.
  static void AfterWrite(Conn& c, const std::shared_ptr<Conn>& self, bool broken) {
    Shared& s = *c.loop->shared;
    c.awaiting = false;
    s.pending.fetch_sub(1);
    if (broken) {
      c.closed = true;
      c.loop->Post(self);  // the I/O thread forgets it
      return;
    }
    if (c.close_after_write) {
      ::shutdown(c.fd, SHUT_WR);  // the response, then FIN
      c.lingering = true;
      c.deadline = MonotonicNanos() + kLingerNs;
      c.loop->Post(self);  // the I/O thread drains what the client still sends
      return;
    }
    c.idle_since = MonotonicNanos();
    c.deadline = c.idle_since + s.read_timeout_ns;
    // Pipelined bytes or bytes that arrived meanwhile: parse them there.
    if (c.read_ready || c.buffered) c.loop->Post(self);
  }

  // Completes the request in flight on `self` from any thread.
  static void Respond(const std::shared_ptr<Conn>& self, uint64_t seq, HttpResponse r) {
    Conn& c = *self;
    Shared& s = *c.loop->shared;
    std::lock_guard<std::mutex> lock(c.mu);
    if (!c.awaiting || c.seq != seq) return;  // answered already (a handler bug)
    s.CountResponse(r.status);
    if (c.closed) {
      c.awaiting = false;
      s.pending.fetch_sub(1);
      return;
    }
    // Past its age, a connection closes after this response, unless the
    // client has already sent more (pipelined): those would be dropped
    // unanswered, so it closes after a later one.
    const bool retire =
        s.max_age_ns > 0 && !c.buffered && !c.read_ready && MonotonicNanos() >= c.retire_at;
    const bool closing = r.close || !c.keep_alive || s.draining.load(std::memory_order_relaxed) ||
                         s.stopped.load(std::memory_order_relaxed);
    if (retire && !closing) s.CountTimeout(HttpServer::Options::Timeout::kAge);
    const bool close = closing || retire;
    c.close_after_write = close;
    // Written into this thread's buffer: no allocation per response once it
    // has grown to the usual head's size.
    static thread_local std::string head;
    head.clear();
    AppendResponseHead(r, c.version, close, r.body.size(), &head);
    static const std::string kNone;
    bool ok = SendPending(c, head, c.head ? kNone : r.body);
    if (ok && !c.out.empty()) return;  // the I/O thread finishes on EPOLLOUT
    AfterWrite(c, self, !ok);
  }

  // --- I/O thread ---------------------------------------------------------

  static void Run(Loop* loop) {
    pthread_setname_np(pthread_self(), "tide-http");
    loop->thread_id = std::this_thread::get_id();
    Shared& s = *loop->shared;
    const int64_t sweep_every =
        std::clamp<int64_t>(s.read_timeout_ns / 4, 1'000'000, 100'000'000);  // 1..100 ms
    int64_t next_sweep = MonotonicNanos() + sweep_every;
    epoll_event events[128];
    std::vector<std::shared_ptr<Conn>> tasks;
    while (!s.stopped.load(std::memory_order_acquire)) {
      const bool closing = s.closing.load(std::memory_order_acquire);
      int timeout_ms = static_cast<int>((closing ? 5'000'000 : sweep_every) / 1'000'000);
      {
        // Tasks this thread posted to itself (after the last swap) run now.
        std::lock_guard<std::mutex> lock(loop->tasks_mu);
        if (!loop->tasks.empty()) timeout_ms = 0;
      }
      int n = epoll_wait(loop->epfd, events, 128, timeout_ms);
      common::caller_has_backlog = n > 1;  // for the requests these events dispatch
      for (int i = 0; i < n; ++i) {
        void* p = events[i].data.ptr;
        if (p == nullptr) {  // wake-up
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(loop->wakefd, &v, sizeof(v));
          continue;
        }
        if (p == loop) {
          Accept(loop);
          continue;
        }
        auto it = loop->conns.find(static_cast<Conn*>(p));
        if (it == loop->conns.end()) continue;
        std::shared_ptr<Conn> conn = it->second;  // keeps it alive through this event
        OnEvents(loop, conn, events[i].events);
      }
      common::caller_has_backlog = false;
      {
        std::lock_guard<std::mutex> lock(loop->tasks_mu);
        tasks.swap(loop->tasks);
      }
      for (auto& conn : tasks) Resume(loop, conn);
      tasks.clear();
      int64_t now = MonotonicNanos();
      if (closing && loop->first && !s.listener_closed.load()) CloseListener(loop, now);
      if (now >= next_sweep || closing) {
        Sweep(loop, now);
        next_sweep = now + sweep_every;
      }
    }
  }

  // Closes the listening socket without resetting a connection whose client
  // may already have written a request. Closing resets every connection the
  // kernel completed but nobody accepted, and one can complete between the
  // last accept and the close (a preempted thread makes that window long).
  // So first new handshakes are stopped: a socket filter drops SYNs (the
  // client's connect retries a second later, finds the port closed and never
  // writes); handshakes already under way complete and are accepted for
  // kSynDrainNs; then what is queued is accepted and the socket closed.
  static void CloseListener(Loop* loop, int64_t now) {
    Shared& s = *loop->shared;
    if (loop->syn_filter_at == 0) {
      loop->syn_filter_at = now;
      if (!DropNewHandshakes(loop->listenfd)) loop->syn_filter_at = now - kSynDrainNs;
    }
    Accept(loop);
    if (now - loop->syn_filter_at < kSynDrainNs) return;  // the next rounds accept on
    for (Loop* other : *loop->all_loops)
      epoll_ctl(other->epfd, EPOLL_CTL_DEL, loop->listenfd, nullptr);
    ::close(loop->listenfd);
    s.listener_closed.store(true);
  }

  // A classic BPF filter on the listening socket that drops TCP segments with
  // SYN and without ACK (a TCP socket's filter sees the TCP header at offset
  // 0; byte 13 holds the flags). False if the kernel refused it.
  static bool DropNewHandshakes(int listenfd) {
    static sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),            // flags
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x02, 0, 2),  // SYN? else pass
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x10, 1, 0),  // ACK too? pass, else drop
        BPF_STMT(BPF_RET | BPF_K, 0),                      // drop
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),             // pass
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
    return setsockopt(listenfd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0;
  }

  static void Accept(Loop* loop) {
    Shared& s = *loop->shared;
    for (;;) {
      int fd = ::accept4(loop->listenfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // Shutting down: another loop closed the listening socket meanwhile.
        if (s.listener_closed.load()) return;
        const int err = errno;
        s.CountAcceptError();
        const bool out_of_descriptors = err == EMFILE || err == ENFILE;
        int64_t now = MonotonicNanos();
        if (now - loop->last_accept_warning > 1'000'000'000) {
          loop->last_accept_warning = now;
          spdlog::warn("{}: cannot accept connections: {} (open connections: {}){}", s.options.name,
                       std::strerror(err), s.connections.load(),
                       out_of_descriptors && loop->spare_fd >= 0
                           ? "; new connections are answered 503 and closed"
                           : "");
        }
        // Out of descriptors: the spare one answers a waiting client 503 at
        // once (and is taken back), and the next is tried.
        if (out_of_descriptors) {
          switch (RefuseWithSpare(loop)) {
            case Refused::kOne:
              continue;
            case Refused::kNoneWaiting:
              return;  // the listening socket is not readable: no spin
            case Refused::kNoSpare:
              break;
          }
        }
        // Out of memory, or no spare: the listening socket stays readable,
        // so stop watching it until the next sweep instead of spinning.
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, loop->listenfd, nullptr);
        loop->accept_paused = true;
        return;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::make_shared<Conn>(fd, loop->shared_from_this());
      conn->write_timeout_ns = s.read_timeout_ns;
      int count = s.connections.fetch_add(1) + 1;
      conn->idle_since = MonotonicNanos();
      conn->deadline = conn->idle_since + s.read_timeout_ns;
      if (s.max_age_ns > 0) conn->retire_at = conn->idle_since + JitteredAge(loop, s.max_age_ns);
      NewParser(*conn);
      loop->conns[conn.get()] = conn;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.ptr = conn.get();
      epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
      if (count > s.options.max_connections + std::max(0, s.options.reserved_connections)) {
        Reject(conn, TooManyConnections());
      } else if (count > s.options.max_connections) {
        // Read one request, with a short deadline: a health check is answered.
        conn->limited = true;
        conn->deadline = conn->idle_since + std::min<int64_t>(s.read_timeout_ns, kLimitedReadNs);
      }
    }
  }

  // `age` within ±10 %, drawn from the loop's own generator (splitmix64).
  static int64_t JitteredAge(Loop* loop, int64_t age) {
    uint64_t z = (loop->jitter_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    double unit = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
    return static_cast<int64_t>(static_cast<double>(age) * (0.9 + 0.2 * unit));
  }

  enum class Refused { kOne, kNoneWaiting, kNoSpare };

  // Gives up the loop's spare descriptor to accept one waiting connection,
  // writes a 503 to it and closes it, then takes the spare back. kNoSpare
  // when there was none, or it could not be taken back (the descriptor went
  // to another thread meanwhile).
  static Refused RefuseWithSpare(Loop* loop) {
    if (loop->spare_fd < 0) return Refused::kNoSpare;
    ::close(loop->spare_fd);
    loop->spare_fd = -1;
    int fd = ::accept4(loop->listenfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      static const std::string kOutOfDescriptors = [] {
        HttpResponse r = ErrorResponse(
            503, "the server is out of file descriptors; retry later, or on another replica", 1);
        return SerializeResponseHead(r, 11, true, r.body.size()) + r.body;
      }();
      // One try: a client that cannot take it at once still gets the close.
      [[maybe_unused]] ssize_t n = ::send(fd, kOutOfDescriptors.data(), kOutOfDescriptors.size(),
                                          MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      loop->shared->CountResponse(503);
    }
    loop->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (loop->spare_fd < 0) return Refused::kNoSpare;
    return fd >= 0 ? Refused::kOne : Refused::kNoneWaiting;
  }

  static void OnEvents(Loop* loop, const std::shared_ptr<Conn>& conn, uint32_t events) {
    Conn& c = *conn;
    {
      std::unique_lock<std::mutex> lock(c.mu);
      if (c.closed) return Forget(loop, conn);
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.read_ready = true;
      if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.peer_closed = true;
      if ((events & EPOLLOUT) && !c.out.empty()) {
        if (!FlushOut(c)) {
          if (c.awaiting) AfterWrite(c, conn, true);
          c.closed = true;
        } else if (c.out.empty() && c.awaiting) {
          AfterWrite(c, conn, false);
        }
        if (c.closed) return Forget(loop, conn);
      }
      if (c.awaiting) return;  // read on when the response has gone
      if (c.lingering) {
        lock.unlock();
        return Drain(loop, conn);
      }
    }
    ReadAndDispatch(loop, conn);
  }

  // Reads and discards until the client closes (or the linger ends).
  static void Drain(Loop* loop, const std::shared_ptr<Conn>& conn) {
    static thread_local std::string sink(kReadChunk, '\0');
    for (;;) {
      ssize_t r = ::recv(conn->fd, sink.data(), sink.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (r <= 0) return Close(loop, conn);
      conn->drained += static_cast<size_t>(r);
      if (conn->drained > kLingerBytes) return Close(loop, conn);
    }
  }

  // A task posted for `conn`: forget it if closed, else continue reading.
  static void Resume(Loop* loop, const std::shared_ptr<Conn>& conn) {
    {
      std::unique_lock<std::mutex> lock(conn->mu);
      if (conn->closed) return Forget(loop, conn);
      if (conn->awaiting) return;
      if (conn->lingering) {
        lock.unlock();
        return Drain(loop, conn);
      }
    }
    ReadAndDispatch(loop, conn);
  }

  // Reads what the socket holds and dispatches the next complete request,
  // as long as none is in flight.
  static void ReadAndDispatch(Loop* loop, const std::shared_ptr<Conn>& conn) {
    Conn& c = *conn;
    static thread_local std::string chunk(kReadChunk, '\0');
    for (;;) {
      // Parse what is buffered first.
      if (c.in_off < c.in.size()) {
        switch (Parse(loop, conn)) {
          case ParseResult::kDispatched:
          case ParseResult::kClosed:
            return;
          case ParseResult::kNeedMore:
            break;
        }
      }
      bool ready;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        if (c.closed) return Forget(loop, conn);
        ready = c.read_ready;
      }
      if (!ready) return;
      ssize_t r = ::recv(c.fd, chunk.data(), chunk.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        std::lock_guard<std::mutex> lock(c.mu);
        c.read_ready = false;
        return;
      }
      if (r <= 0) {  // EOF or error: nothing more will come
        return Close(loop, conn);
      }
      if (c.in_off == c.in.size()) {
        c.in.clear();
        c.in_off = 0;
      } else if (c.in_off > (1 << 16)) {
        c.in.erase(0, c.in_off);
        c.in_off = 0;
      }
      c.in.append(chunk.data(), static_cast<size_t>(r));
      c.request_started = true;
      if (static_cast<size_t>(r) < chunk.size()) {
        // A short read drained the socket; the next arrival raises a new
        // edge. After the client's FIN no edge comes: read on to the EOF.
        std::lock_guard<std::mutex> lock(c.mu);
        if (!c.peer_closed) c.read_ready = false;
      }
    }
  }

  enum class ParseResult { kNeedMore, kDispatched, kClosed };

  static ParseResult Parse(Loop* loop, const std::shared_ptr<Conn>& conn) {
    Conn& c = *conn;
    Shared& s = *loop->shared;
    auto& p = *c.parser;
    while (c.in_off < c.in.size()) {
      bool header_was_done = p.is_header_done();
      boost::system::error_code ec;
      size_t used = 0;
      try {
        used = p.put(boost::asio::const_buffer(c.in.data() + c.in_off, c.in.size() - c.in_off), ec);
      } catch (const std::bad_alloc&) {
        // The body did not fit in memory (an address-space limit, a small
        // host): refuse this request, keep serving the others.
        Reject(conn, WithClose(ErrorResponse(
                         503, "out of memory while reading the request body; retry later", 1)));
        return ParseResult::kClosed;
      }
      c.in_off += used;
      if (ec == bhttp::error::need_more) {
        if (c.in.size() - c.in_off > s.options.max_header_bytes && !p.is_header_done()) {
          RejectLimit(conn, bhttp::error::header_limit);
          return ParseResult::kClosed;
        }
        break;
      }
      if (ec) {
        RejectLimit(conn, ec);
        return ParseResult::kClosed;
      }
      if (!header_was_done && p.is_header_done()) {
        if (std::string why = FramingError(FramingOf(p.get())); !why.empty()) {
          Reject(conn,
                 WithClose(ErrorResponse(400, absl::StrCat("malformed HTTP request: ", why))));
          return ParseResult::kClosed;
        }
        if (auto len = p.content_length(); len && *len > s.options.max_body_bytes) {
          Reject(conn,
                 WithClose(ErrorResponse(
                     413, absl::StrCat("request body of ", *len, " bytes is over the limit of ",
                                       s.options.max_body_bytes, " bytes (--max-body-bytes)"))));
          return ParseResult::kClosed;
        }
        p.body_limit(s.options.max_body_bytes);
      }
      if (p.is_done()) return Dispatch(loop, conn);
      if (used == 0) break;
    }
    // Waiting for more of the request: say 100 Continue if asked to.
    if (p.is_header_done() && !p.is_done() && !c.sent_continue && p.get().version() >= 11 &&
        boost::beast::iequals(p.get()[bhttp::field::expect], "100-continue")) {
      c.sent_continue = true;
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      std::lock_guard<std::mutex> lock(c.mu);
      static const std::string kNone;
      if (!SendPending(c, kContinue, kNone)) {
        c.closed = true;
      }
    }
    return ParseResult::kNeedMore;
  }

  static ParseResult Dispatch(Loop* loop, const std::shared_ptr<Conn>& conn) {
    Conn& c = *conn;
    Shared& s = *loop->shared;
    auto& req = c.parser->get();
    uint64_t seq;
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.path = std::string(TargetPath(r.target));
    if (c.limited && !((req.method() == bhttp::verb::get || req.method() == bhttp::verb::head) &&
                       Contains(s.options.reserved_paths, r.path))) {
      Reject(conn, TooManyConnections());
      return ParseResult::kClosed;
    }
    r.headers.reserve(8);
    for (const auto& f : req) {
      r.headers.emplace_back(absl::AsciiStrToLower(std::string(f.name_string())),
                             std::string(f.value()));
    }
    r.body = std::move(req.body());
    {
      std::lock_guard<std::mutex> lock(c.mu);
      c.keep_alive = req.keep_alive() && !c.limited;
      c.version = req.version();
      c.head = req.method() == bhttp::verb::head;
      c.buffered = c.in_off < c.in.size();
      c.awaiting = true;
      seq = ++c.seq;
      s.pending.fetch_add(1);
    }
    NewParser(c);
    c.sent_continue = false;
    c.request_started = c.in_off < c.in.size();
    try {
      s.options.handler(std::move(r),
                        [conn, seq](HttpResponse resp) { Respond(conn, seq, std::move(resp)); });
    } catch (const std::exception& e) {
      // A handler that throws (bad_alloc on a huge request, say) answers
      // this request with an error instead of ending the process; if it had
      // answered already, the sequence number drops this second answer.
      bool oom = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
      HttpResponse err =
          oom ? ErrorResponse(503, "out of memory while handling the request; retry later", 1)
              : ErrorResponse(500, absl::StrCat("internal error: ", e.what()));
      Respond(conn, seq, std::move(err));
    }
    return ParseResult::kDispatched;
  }

  // The parser for the connection's next request (the previous one, if
  // any, and its fields go first).
  static void NewParser(Conn& c) {
    c.parser.reset();
    c.fields.Reset();
    c.parser.emplace(std::piecewise_construct, std::make_tuple(),
                     std::make_tuple(FieldAllocator<char>(&c.fields)));
    Shared& s = *c.loop->shared;
    c.parser->header_limit(static_cast<uint32_t>(
        std::min<size_t>(s.options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    // The body limit is applied after the header, so that a declared
    // Content-Length over it gets a message naming the size.
    c.parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  static HttpResponse WithClose(HttpResponse r) {
    r.close = true;
    return r;
  }

  static HttpResponse TooManyConnections() {
    return WithClose(ErrorResponse(503, "too many connections; retry later", 1));
  }

  static void RejectLimit(const std::shared_ptr<Conn>& conn, boost::system::error_code ec) {
    Shared& s = *conn->loop->shared;
    if (ec == bhttp::error::header_limit) {
      return Reject(
          conn, WithClose(ErrorResponse(431, absl::StrCat("request headers are over the limit of ",
                                                          s.options.max_header_bytes, " bytes"))));
    }
    if (ec == bhttp::error::body_limit) {
      return Reject(conn,
                    WithClose(ErrorResponse(
                        413, absl::StrCat("request body is over the limit of ",
                                          s.options.max_body_bytes, " bytes (--max-body-bytes)"))));
    }
    Reject(conn,
           WithClose(ErrorResponse(400, absl::StrCat("malformed HTTP request: ", ec.message()))));
  }

  // Answers an error the transport found itself, then closes.
  static void Reject(const std::shared_ptr<Conn>& conn, HttpResponse r) {
    Shared& s = *conn->loop->shared;
    uint64_t seq;
    {
      std::lock_guard<std::mutex> lock(conn->mu);
      if (conn->closed) return;
      conn->awaiting = true;
      conn->head = false;
      conn->version =
          conn->parser && conn->parser->is_header_done() ? conn->parser->get().version() : 11;
      seq = ++conn->seq;
      s.pending.fetch_add(1);
    }
    Respond(conn, seq, std::move(r));
  }

  static void Close(Loop* loop, const std::shared_ptr<Conn>& conn) {
    {
      std::lock_guard<std::mutex> lock(conn->mu);
      conn->closed = true;
    }
    Forget(loop, conn);
  }

  // Drops the I/O thread's reference (mu may be held by the caller).
  static void Forget(Loop* loop, const std::shared_ptr<Conn>& conn) {
    auto it = loop->conns.find(conn.get());
    if (it == loop->conns.end()) return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, conn->fd, nullptr);
    ::shutdown(conn->fd, SHUT_RDWR);
    loop->conns.erase(it);
    loop->shared->connections.fetch_sub(1);  // once the loop has let go of it
  }

  // Closes connections whose next request is overdue (slow or idle clients).
  static void Sweep(Loop* loop, int64_t now) {
    Shared& s = *loop->shared;
    const bool closing = s.closing.load(std::memory_order_acquire);
    if (loop->accept_paused && !closing) {
      loop->accept_paused = false;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLEXCLUSIVE;
      ev.data.ptr = loop;
      epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->listenfd, &ev);
    }
    std::vector<std::shared_ptr<Conn>> overdue;
    for (auto& [raw, conn] : loop->conns) {
      std::lock_guard<std::mutex> lock(conn->mu);
      if (conn->closed) continue;
      if (closing && !conn->awaiting && !conn->lingering && !conn->request_started &&
          now - conn->idle_since >= s.quiet_ns) {
        overdue.push_back(conn);  // idle while shutting down: no request is coming
        continue;
      }
      if (conn->deadline > now) continue;
      if (conn->awaiting && conn->out.empty()) continue;  // the handler is working on it
      if (conn->awaiting) {
        // A client that stopped reading its response: give the response up.
        AfterWrite(*conn, conn, /*broken=*/true);
        s.CountTimeout(HttpServer::Options::Timeout::kWrite);
      } else if (!conn->lingering) {
        s.CountTimeout(conn->request_started ? HttpServer::Options::Timeout::kRead
                                             : HttpServer::Options::Timeout::kIdle);
      }
      overdue.push_back(conn);
    }
    for (auto& conn : overdue) Close(loop, conn);
  }
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  int listenfd = -1;
  uint16_t port = 0;
  std::vector<std::shared_ptr<Loop>> loops;
  std::vector<Loop*> raw_loops;
  std::vector<std::thread> threads;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(Options options) {
  if (!options.handler) return absl::InvalidArgumentError("HttpServer needs a handler");
  if (options.threads < 1) return absl::InvalidArgumentError("--http-threads must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->shared->options = std::move(options);
  const Options& o = impl->shared->options;
  impl->shared->read_timeout_ns = absl::ToInt64Nanoseconds(o.read_timeout);
  if (o.max_connection_age > absl::ZeroDuration() &&
      o.max_connection_age != absl::InfiniteDuration()) {
    // At most a year: an age (with its +10 %) added to a monotonic time must
    // not overflow.
    impl->shared->max_age_ns =
        absl::ToInt64Nanoseconds(std::min(o.max_connection_age, absl::Hours(24 * 365)));
  }

  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_str = absl::StrCat(o.port);
  if (int rc = getaddrinfo(o.host.c_str(), port_str.c_str(), &hints, &res); rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--host '", o.host, "' is not an IP address: ", gai_strerror(rc)));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  std::string error;
  if (fd < 0) {
    error = std::strerror(errno);
  } else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
             ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    error = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(res);
  if (!error.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", o.host, ":", o.port, " (", o.name, "): ", error));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  impl->port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  impl->listenfd = fd;
  for (int i = 0; i < o.threads; ++i) {
    auto loop = std::make_shared<Loop>(impl->shared);
    loop->listenfd = fd;
    loop->jitter_state = static_cast<uint64_t>(MonotonicNanos()) + static_cast<uint64_t>(i);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;  // one loop wakes per new connection
    ev.data.ptr = loop.get();
    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
    impl->loops.push_back(std::move(loop));
  }
  for (auto& loop : impl->loops) impl->raw_loops.push_back(loop.get());
  impl->loops.front()->first = true;
  for (auto& loop : impl->loops) loop->all_loops = &impl->raw_loops;
  for (auto& loop : impl->loops) {
    impl->threads.emplace_back([raw = loop.get()] { Transport::Run(raw); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return impl_->port; }
int HttpServer::connections() const { return impl_->shared->connections.load(); }

bool HttpServer::WaitForResponses(absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  // Polls from 10 us, doubling to 1 ms: the last response is usually
  // written within microseconds of the caller asking.
  absl::Duration pause = absl::Microseconds(10);
  while (impl_->shared->pending.load() > 0) {
    if (absl::Now() >= end) return false;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(1));
  }
  return true;
}

void HttpServer::BeginDrain() { impl_->shared->draining.store(true); }

bool HttpServer::Shutdown(absl::Duration timeout, absl::Duration quiet) {
  Shared& s = *impl_->shared;
  if (s.stopped.load()) return s.pending.load() == 0;
  s.draining.store(true);
  s.quiet_ns = absl::ToInt64Nanoseconds(quiet);
  s.closing.store(true, std::memory_order_release);
  for (auto& loop : impl_->loops) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(loop->wakefd, &one, sizeof(one));
  }
  absl::Time end = absl::Now() + timeout;
  while (!(s.listener_closed.load() && s.pending.load() == 0 && s.connections.load() == 0)) {
    if (absl::Now() >= end) break;
    absl::SleepFor(absl::Milliseconds(1));
  }
  bool clean = s.pending.load() == 0;
  Stop();
  return clean;
}

void HttpServer::Stop() {
  if (impl_->shared->stopped.exchange(true)) return;
  for (auto& loop : impl_->loops) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(loop->wakefd, &one, sizeof(one));
  }
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  if (!impl_->shared->listener_closed.exchange(true)) ::close(impl_->listenfd);
  // Connections and loops refer to each other through the task queue and
  // the connection table: clear both so that everything is freed.
  for (auto& loop : impl_->loops) {
    for (auto& [raw, conn] : loop->conns) {
      std::lock_guard<std::mutex> lock(conn->mu);
      if (conn->awaiting && !conn->out.empty()) Transport::AfterWrite(*conn, conn, /*broken=*/true);
      conn->closed = true;
      ::shutdown(conn->fd, SHUT_RDWR);
      impl_->shared->connections.fetch_sub(1);
    }
    loop->conns.clear();
    std::lock_guard<std::mutex> lock(loop->tasks_mu);
    loop->stopped = true;
    loop->tasks.clear();
  }
}

}  // namespace tide::http
