#include "fleet/replica.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

TEST(ParseListeningLine, ReadsTheFourFields) {
  struct Case {
    std::string line;
    std::optional<ListeningPorts> want;
  };
  const std::vector<Case> cases = {
      {R"({"event":"listening","http_port":41234,"grpc_port":-1,"metrics_port":41235,"pid":777})",
       ListeningPorts{41234, -1, 41235, 777}},
      {R"({"event":"listening","http_port":8000,"grpc_port":8001,"metrics_port":8002,"pid":1})",
       ListeningPorts{8000, 8001, 8002, 1}},
      {R"({ "event" : "listening", "pid" : 4, "metrics_port" : 3, "grpc_port" : 2, "http_port" : 1 })",
       ListeningPorts{1, 2, 3, 4}},
      {R"({"event":"ready","http_port":1,"grpc_port":2,"metrics_port":3,"pid":4})", std::nullopt},
      {R"({"event":"listening","http_port":1,"grpc_port":2,"pid":4})", std::nullopt},
      {R"({"event":"listening","http_port":0,"grpc_port":2,"metrics_port":3,"pid":4})",
       std::nullopt},
      {R"({"event":"listening","http_port":65536,"grpc_port":2,"metrics_port":3,"pid":4})",
       std::nullopt},
      {R"({"event":"listening","http_port":1,"grpc_port":-2,"metrics_port":3,"pid":4})",
       std::nullopt},
      {R"({"event":"listening","http_port":1,"grpc_port":2,"metrics_port":3,"pid":0})",
       std::nullopt},
      {R"({"event":"listening","http_port":"1","grpc_port":2,"metrics_port":3,"pid":4})",
       std::nullopt},
      {"[2024-01-01 00:00:00.000] [info] serving: HTTP on 127.0.0.1:8000", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ParseListeningLine(c.line), c.want) << c.line;
  }
}

TEST(ReplicaNames, StatesAndEvents) {
  EXPECT_EQ(ReplicaStateName(ReplicaState::kStarting), "Starting");
  EXPECT_EQ(ReplicaStateName(ReplicaState::kReady), "Ready");
  EXPECT_EQ(ReplicaStateName(ReplicaState::kNotReady), "NotReady");
  EXPECT_EQ(ReplicaStateName(ReplicaState::kTerminating), "Terminating");
  EXPECT_EQ(ReplicaStateName(ReplicaState::kFailed), "Failed");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kStarted), "started");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kSpawnFailed), "spawn_failed");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kReady), "ready");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kNotReady), "not_ready");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kStopping), "stopping");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kKilled), "killed");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kStopped), "stopped");
  EXPECT_EQ(ReplicaEventName(ReplicaEventType::kDied), "died");
}

ReplicaInfo Make(int ordinal, ReplicaState state, int start_seconds) {
  ReplicaInfo r;
  r.ordinal = ordinal;
  r.name = "r" + std::to_string(ordinal);
  r.state = state;
  r.start_time = absl::UnixEpoch() + absl::Seconds(start_seconds);
  return r;
}

TEST(RemoveBefore, NotServingFirstThenNewestThenHigherOrdinal) {
  std::vector<ReplicaInfo> replicas = {
      Make(1, ReplicaState::kReady, 0),    Make(2, ReplicaState::kReady, 0),
      Make(3, ReplicaState::kReady, 5),    Make(4, ReplicaState::kStarting, 0),
      Make(5, ReplicaState::kNotReady, 1), Make(6, ReplicaState::kFailed, 0),
      Make(7, ReplicaState::kStarting, 9),
  };
  std::sort(replicas.begin(), replicas.end(), RemoveBefore);
  std::vector<std::string> order;
  for (const auto& r : replicas) order.push_back(r.name);
  EXPECT_EQ(order, (std::vector<std::string>{"r6", "r7", "r4", "r5", "r3", "r2", "r1"}));
}

}  // namespace
}  // namespace tide::fleet
