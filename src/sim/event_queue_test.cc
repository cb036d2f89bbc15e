#include "sim/event_queue.h"

#include "gtest/gtest.h"

namespace tide::sim {
namespace {

TEST(EventQueue, OrdersByTimeThenBySchedulingOrder) {
  EventQueue q;
  q.Push(30, EventKind::kBatchDone, 1);
  q.Push(10, EventKind::kBatchDone, 2);
  q.Push(30, EventKind::kBatchDone, 3);
  q.Push(10, EventKind::kBatchDone, 4);
  q.Push(20, EventKind::kBatchDone, 5);
  EXPECT_EQ(q.NextTime(), 10);
  std::vector<uint32_t> order;
  while (!q.empty()) order.push_back(q.Pop().pod);
  EXPECT_EQ(order, (std::vector<uint32_t>{2, 4, 5, 1, 3}));
  EXPECT_EQ(q.NextTime(), kNever);
}

}  // namespace
}  // namespace tide::sim
