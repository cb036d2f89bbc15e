#pragma once

// The KServe V2 gRPC frontend (port 8001). ModelInfer is served from
// completion queues, each polled by a thread of tide's own (`threads`): the
// call is read and decoded there and handed to the InferenceService, and the
// model's worker sends the answer itself, so no thread waits for inference
// and a call passes through no other thread. The other RPCs (health,
// metadata, statistics, configuration, repository) use gRPC's callback API.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/inference_service.h"
#include "core/model_control.h"

namespace tide::grpcfe {

class GrpcServer {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    int port = 8001;  // 0 = any free port
    size_t max_message_bytes =
        64 << 20;     // a request past it: RESOURCE_EXHAUSTED (gRPC caps it at 2 GiB)
    int threads = 1;  // ModelInfer's completion queues, one thread each
    // A connection older than this (±10 %) is sent GOAWAY: its calls under
    // way finish, and the client opens a new connection for the next ones,
    // which a Service may send to another replica. Zero or infinite: none.
    absl::Duration max_connection_age = absl::ZeroDuration();
    core::InferenceService* service = nullptr;  // not owned; outlives this
    std::string server_name = "tide";
    std::string server_version;
    std::vector<std::string> extensions;
    // Model control (RepositoryIndex, RepositoryModelLoad/Unload); not
    // owned. Null: load and unload are refused FAILED_PRECONDITION.
    core::ModelControl* control = nullptr;
  };

  static absl::StatusOr<std::unique_ptr<GrpcServer>> Create(Options options);
  ~GrpcServer();

  int port() const;
  // Stops taking calls at once; waits up to `deadline` for ModelInfer calls
  // under way to be answered and their answers sent (cancelling what is left
  // then), and closes every connection, idle ones included.
  void Shutdown(absl::Duration deadline);

  struct Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tide::grpcfe
