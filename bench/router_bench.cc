// The router of `tide up` in a process of its own, for bench/router_bench.sh:
// it forwards to the replicas given on the command line and prints one JSON
// line when it listens, then runs until SIGTERM/SIGINT. Its CPU time is the
// router's (the load driver reads /proc/PID/stat).
//
//   router_bench --replica PORT [--replica PORT ...] [--threads N] [--port P]

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fleet/router.h"
#include "metrics/metrics.h"

int main(int argc, char** argv) {
  tide::fleet::Router::Options o;
  o.host = "127.0.0.1";
  o.port = 0;
  std::vector<tide::fleet::RouterBackend> backends;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--replica") {
      backends.push_back(
          {"replica-" + std::to_string(backends.size()), static_cast<uint16_t>(value)});
    } else if (flag == "--threads") {
      o.threads = value;
    } else if (flag == "--port") {
      o.port = static_cast<uint16_t>(value);
    } else {
      std::fprintf(stderr, "router_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts
  tide::metrics::Registry registry;
  o.registry = &registry;
  auto router = tide::fleet::Router::Create(o);
  if (!router.ok()) {
    std::fprintf(stderr, "router_bench: %s\n", std::string(router.status().message()).c_str());
    return 1;
  }
  (*router)->SetBackends(backends);
  std::printf("{\"event\":\"listening\",\"port\":%d}\n", (*router)->port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  (*router)->Shutdown(absl::Seconds(5));
  return 0;
}
