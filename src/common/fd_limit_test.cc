#include "common/fd_limit.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "gtest/gtest.h"

namespace tide::common {
namespace {

TEST(DescriptorLimit, SoftLimitIsRaisedToTheHardOne) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 256) GTEST_SKIP() << "hard limit < 256";
  rlimit low{200, saved.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  DescriptorLimit d = RaiseDescriptorLimit();
  EXPECT_EQ(d.before, 200u);
  const uint64_t want = saved.rlim_max == RLIM_INFINITY
                            ? uint64_t{1} << 20
                            : std::min<uint64_t>(saved.rlim_max, uint64_t{1} << 20);
  EXPECT_EQ(d.after, want);
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(static_cast<uint64_t>(now.rlim_cur), want);
  EXPECT_EQ(now.rlim_max, saved.rlim_max);  // the hard limit is not touched
  // Again: nothing to do.
  DescriptorLimit again = RaiseDescriptorLimit();
  EXPECT_EQ(again.before, want);
  EXPECT_EQ(again.after, want);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

TEST(DescriptorLimit, OpenDescriptorsCountsThisProcesssDescriptors) {
  const int before = OpenDescriptors();
  ASSERT_GE(before, 3);  // stdin, stdout, stderr at least
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(OpenDescriptors(), before + 1);
  close(fd);
  EXPECT_EQ(OpenDescriptors(), before);
}

TEST(DescriptorLimit, ConnectionBudgetLeavesWhatIsKept) {
  EXPECT_EQ(ConnectionBudget(1024, 30, 64), 930);
  EXPECT_EQ(ConnectionBudget(100, 30, 64), 6);
  EXPECT_EQ(ConnectionBudget(80, 30, 64), 0);  // never negative
  EXPECT_EQ(ConnectionBudget(RLIM_INFINITY, 30, 64), (int64_t{1} << 40) - 94);
}

}  // namespace
}  // namespace tide::common
