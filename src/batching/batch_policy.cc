#include "batching/batch_policy.h"

#include <algorithm>

namespace tide::batching {

BatchDecision DecideBatch(const BatchPolicyConfig& config, const std::vector<QueuedItem>& queue,
                          absl::Time now, bool flush) {
  BatchDecision d;
  if (queue.empty()) return d;
  // A model that does not batch, or batches only what its clients send (no
  // dynamic_batching, as in Triton): each request runs as it came.
  if (config.max_batch_size <= 0 || !config.dynamic) {
    d.kind = BatchDecision::Kind::kDispatch;
    d.count = 1;
    d.rows = queue[0].rows;
    return d;
  }
  // The longest compatible prefix that fits, and the largest prefix whose
  // rows equal a preferred size.
  int64_t rows = 0;
  size_t count = 0;
  size_t preferred_count = 0;
  int64_t preferred_rows = 0;
  bool blocked = false;
  for (const QueuedItem& item : queue) {
    if (item.shape_key != queue[0].shape_key || rows + item.rows > config.max_batch_size) {
      blocked = true;
      break;
    }
    rows += item.rows;
    ++count;
    if (std::binary_search(config.preferred_batch_sizes.begin(), config.preferred_batch_sizes.end(),
                           rows)) {
      preferred_count = count;
      preferred_rows = rows;
    }
  }
  if (count == 0) {  // the head alone exceeds max_batch_size: validation prevents this
    count = 1;
    rows = queue[0].rows;
  }
  auto dispatch = [&](size_t n, int64_t r) {
    d.kind = BatchDecision::Kind::kDispatch;
    d.count = n;
    d.rows = r;
    return d;
  };
  if (flush || blocked || rows >= config.max_batch_size) {
    return dispatch(count, rows);
  }
  if (preferred_count > 0) return dispatch(preferred_count, preferred_rows);
  absl::Time due = queue[0].arrival + config.max_queue_delay;
  if (now >= due) return dispatch(count, rows);
  d.kind = BatchDecision::Kind::kWait;
  d.wait_until = due;
  return d;
}

}  // namespace tide::batching
