#pragma once

// A hint from an event loop to the work it dispatches: whether the calling
// thread has other ready events queued behind the one it is handling. A
// scheduler that may run a request on the caller's thread (inline execution)
// does so only when the caller would otherwise have nothing to do; with a
// backlog it hands the request to its worker instead, so that the loop goes
// on reading the next requests while the model runs: under load the two
// threads work in parallel, and at one connection the hand-off is saved.
// Threads that never set it (gRPC's, tests) read false.

namespace tide::common {

inline thread_local bool caller_has_backlog = false;

}  // namespace tide::common
