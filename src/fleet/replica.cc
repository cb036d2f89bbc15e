#include "fleet/replica.h"

#include <cctype>
#include <cstdint>

namespace tide::fleet {

namespace {

void SkipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
}

// The position just after `"key"` + optional space + `:` + optional space, or npos.
size_t ValueOf(std::string_view line, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  for (size_t at = line.find(quoted); at != std::string_view::npos;
       at = line.find(quoted, at + 1)) {
    size_t i = at + quoted.size();
    SkipSpace(line, i);
    if (i < line.size() && line[i] == ':') {
      ++i;
      SkipSpace(line, i);
      return i;
    }
  }
  return std::string_view::npos;
}

std::optional<int64_t> IntOf(std::string_view line, std::string_view key) {
  size_t i = ValueOf(line, key);
  if (i == std::string_view::npos) return std::nullopt;
  bool negative = i < line.size() && line[i] == '-';
  if (negative) ++i;
  int64_t value = 0;
  size_t digits = 0;
  for (; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])); ++i, ++digits) {
    if (digits >= 10) return std::nullopt;
    value = value * 10 + (line[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  return negative ? -value : value;
}

bool IsPort(std::optional<int64_t> v) { return v && *v >= 1 && *v <= 65535; }

int ServingRank(ReplicaState state) {
  switch (state) {
    case ReplicaState::kFailed:
      return 0;
    case ReplicaState::kStarting:
      return 1;
    case ReplicaState::kNotReady:
      return 2;
    case ReplicaState::kReady:
      return 3;
    case ReplicaState::kTerminating:
      return 4;
  }
  return 4;
}

}  // namespace

std::string_view ReplicaStateName(ReplicaState state) {
  switch (state) {
    case ReplicaState::kStarting:
      return "Starting";
    case ReplicaState::kReady:
      return "Ready";
    case ReplicaState::kNotReady:
      return "NotReady";
    case ReplicaState::kTerminating:
      return "Terminating";
    case ReplicaState::kFailed:
      return "Failed";
  }
  return "?";
}

std::string_view ReplicaEventName(ReplicaEventType type) {
  switch (type) {
    case ReplicaEventType::kStarted:
      return "started";
    case ReplicaEventType::kSpawnFailed:
      return "spawn_failed";
    case ReplicaEventType::kReady:
      return "ready";
    case ReplicaEventType::kNotReady:
      return "not_ready";
    case ReplicaEventType::kStopping:
      return "stopping";
    case ReplicaEventType::kKilled:
      return "killed";
    case ReplicaEventType::kStopped:
      return "stopped";
    case ReplicaEventType::kDied:
      return "died";
  }
  return "?";
}

std::optional<ListeningPorts> ParseListeningLine(std::string_view line) {
  size_t event = ValueOf(line, "event");
  if (event == std::string_view::npos || line.substr(event, 11) != "\"listening\"") {
    return std::nullopt;
  }
  auto http = IntOf(line, "http_port");
  auto grpc = IntOf(line, "grpc_port");
  auto metrics = IntOf(line, "metrics_port");
  auto pid = IntOf(line, "pid");
  if (!IsPort(http) || !IsPort(metrics) || !grpc || (*grpc != -1 && !IsPort(grpc)) || !pid ||
      *pid <= 0 || *pid > INT32_MAX) {
    return std::nullopt;
  }
  return ListeningPorts{static_cast<int>(*http), static_cast<int>(*grpc),
                        static_cast<int>(*metrics), static_cast<int>(*pid)};
}

bool RemoveBefore(const ReplicaInfo& a, const ReplicaInfo& b) {
  int ra = ServingRank(a.state);
  int rb = ServingRank(b.state);
  if (ra != rb) return ra < rb;
  if (a.start_time != b.start_time) return a.start_time > b.start_time;
  return a.ordinal > b.ordinal;
}

}  // namespace tide::fleet
