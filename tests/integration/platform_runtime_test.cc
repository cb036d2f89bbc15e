// `tide serve` started exactly as deploy/kserve's ClusterServingRuntime and
// deploy/seldon's ServerConfig say: the container's args and env read from
// the manifests (yaml-cpp), with only the ports made free (port 0) and the
// platform's model path (/mnt/models, /mnt/agent/models) re-rooted in a
// temporary folder laid out as the platform fills it. Then the manifest's
// probes and a V2 request, on the ports the manifest's port numbers map to;
// under Seldon, first the loads and unloads its agent makes (SeldonAgent).
// A change to the manifests' args that tide does not accept, a probe path or
// port tide does not serve, or a model path other than the platform's, fails
// here.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpc_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "support/tide_process.h"
#include "yaml-cpp/yaml.h"

namespace tide::testing {
namespace {

namespace fs = std::filesystem;

struct Probe {
  std::string path;
  int port = 0;  // the manifest's port number (a named port resolved)
};

// What the manifest says about tide's container.
struct Container {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // literal values only
  Probe ready, live;
};

Container ReadContainer(const std::string& manifest, const std::vector<std::string>& containers_at,
                        const std::string& name) {
  YAML::Node node = YAML::LoadFile(std::string(TIDE_SOURCE_DIR) + "/" + manifest);
  for (const auto& key : containers_at) node = node[key];
  Container out;
  for (const auto& c : node) {
    if (c["name"].as<std::string>() != name) continue;
    for (const auto& a : c["args"]) out.args.push_back(a.as<std::string>());
    for (const auto& e : c["env"]) {
      if (e["value"]) out.env[e["name"].as<std::string>()] = e["value"].as<std::string>();
    }
    std::map<std::string, int> named;
    for (const auto& p : c["ports"]) {
      named[p["name"].as<std::string>()] = p["containerPort"].as<int>();
    }
    auto probe = [&](const char* which) {
      Probe p;
      if (!c[which] || !c[which]["httpGet"]) return p;
      YAML::Node get = c[which]["httpGet"];
      p.path = get["path"].as<std::string>();
      std::string port = get["port"].as<std::string>();
      p.port = named.count(port) ? named[port] : std::stoi(port);
      return p;
    };
    out.ready = probe("readinessProbe");
    out.live = probe("livenessProbe");
    return out;
  }
  ADD_FAILURE() << manifest << " has no container " << name;
  return out;
}

// Runs the container's args with ports 0 and `mount` re-rooted under `root`;
// `port_map` gets the manifest's port number -> the port tide listens on.
class PlatformServe {
 public:
  PlatformServe(const Container& c, const std::string& mount, const std::string& root) {
    std::vector<std::string> args = {"serve"};
    for (const auto& a : c.args) {
      std::string flag = a.substr(0, a.find('='));
      std::string value = a.find('=') == std::string::npos ? "" : a.substr(a.find('=') + 1);
      if (flag == "--http-port" || flag == "--grpc-port" || flag == "--metrics-port") {
        manifest_ports_[flag] = std::stoi(value);
        args.push_back(flag + "=0");
      } else if (flag == "--model-repository") {
        model_repository_ = value;
        EXPECT_EQ(value.rfind(mount, 0), 0u) << a << " is not below " << mount;
        args.push_back(flag + "=" + root + value);
      } else {
        args.push_back(a);
      }
    }
    for (const auto& [k, v] : c.env) setenv(k.c_str(), v.c_str(), 1);
    server_ = std::make_unique<TideProcess>(args);
    for (const auto& [k, v] : c.env) unsetenv(k.c_str());
  }
  TideProcess& server() { return *server_; }
  const std::string& model_repository() const { return model_repository_; }
  int ManifestPort(const std::string& flag) {
    return manifest_ports_.count(flag) ? manifest_ports_[flag] : -1;
  }
  // The port tide listens on for the manifest's port number.
  int Actual(int manifest_port) {
    if (manifest_port == ManifestPort("--http-port")) return server_->http_port();
    if (manifest_port == ManifestPort("--grpc-port")) return server_->grpc_port();
    if (manifest_port == ManifestPort("--metrics-port")) return server_->metrics_port();
    ADD_FAILURE() << "port " << manifest_port << " is none of tide's ports in the manifest";
    return 0;
  }

 private:
  std::map<std::string, int> manifest_ports_;
  std::string model_repository_;
  std::unique_ptr<TideProcess> server_;
};

// The simulated example model copied as the platform's storage step would
// put it: <root><repository>/simulated/{config.pbtxt,1/}.
void LayOutModels(const TempDir& root, const std::string& repository) {
  fs::path dest = fs::path(root.path() + repository) / "simulated";
  fs::create_directories(dest);
  fs::copy(fs::path(TIDE_SOURCE_DIR) / "examples/models/simulated", dest,
           fs::copy_options::recursive);
}

constexpr char kData[] = "[0.5,1,1.5,2,2.5,3,3.5,4,4.5,5,5.5,6,6.5,7,7.5,8]";

void ExpectServesV2(PlatformServe& serve, const Container& c) {
  TideProcess& server = serve.server();
  ASSERT_TRUE(server.started()) << server.Log();
  EXPECT_GT(server.grpc_port(), 0) << "the manifest's --grpc-port must leave gRPC on";
  ASSERT_FALSE(c.ready.path.empty());
  auto ready = Http(serve.Actual(c.ready.port), "GET", c.ready.path);
  EXPECT_EQ(ready.status, 200) << ready.body;
  auto live = Http(serve.Actual(c.live.port), "GET", c.live.path);
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, R"({"live":true})");
  auto r =
      Http(server.http_port(), "POST", "/v2/models/simulated/infer",
           std::string(R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":)") +
               kData + "}]}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, std::string(R"({"model_name":"simulated","model_version":"1","outputs":[)"
                                R"({"name":"OUTPUT0","datatype":"FP32","shape":[1,16],"data":)") +
                        kData + "}]}");
  std::string metrics = Http(server.metrics_port(), "GET", "/metrics").body;
  EXPECT_EQ(
      MetricValue(
          metrics,
          R"(tide_inference_requests_total{model="simulated",version="1",outcome="success"})"),
      1);
}

TEST(KServeRuntime, ServesTheStorageInitializersLayoutAsTheRuntimeSays) {
  Container c = ReadContainer("deploy/kserve/runtime/clusterservingruntime.yaml",
                              {"spec", "containers"}, "kserve-container");
  TempDir root;
  LayOutModels(root, "/mnt/models");
  PlatformServe serve(c, "/mnt/models", root.path());
  // What KServe expects of a runtime: HTTP on 8080 (Knative's and KServe's
  // default), gRPC on 9000 (as its Triton runtime), models in /mnt/models.
  EXPECT_EQ(serve.ManifestPort("--http-port"), 8080);
  EXPECT_EQ(serve.ManifestPort("--grpc-port"), 9000);
  EXPECT_EQ(serve.model_repository(), "/mnt/models");
  EXPECT_EQ(c.ready.port, 8080);
  EXPECT_EQ(c.ready.path, "/v2/health/ready");
  ExpectServesV2(serve, c);
}

TEST(KServeRuntime, NamespacedRuntimeRunsTheSameContainer) {
  Container cluster = ReadContainer("deploy/kserve/runtime/clusterservingruntime.yaml",
                                    {"spec", "containers"}, "kserve-container");
  Container ns = ReadContainer("deploy/kserve/runtime-namespaced/servingruntime.yaml",
                               {"spec", "containers"}, "kserve-container");
  EXPECT_EQ(ns.args, cluster.args);
  EXPECT_EQ(ns.env, cluster.env);
}

// What Seldon Core 2's agent (v2.6.0, scheduler/pkg/agent) does with a
// server of SELDON_SERVER_TYPE triton: it starts it on an empty folder, asks
// RepositoryIndex (to unload leftovers), copies each Model's artifact to
// <folder>/<model>_<version>/1/ and writes <folder>/<model>_<version>/
// config.pbtxt re-marshalled by Go's prototext with the name replaced, then
// calls RepositoryModelLoad("<model>_<version>") over gRPC on 0.0.0.0 (so from
// 127.0.0.1) with no metadata; its reverse proxies send inference under that
// name; RepositoryModelUnload when the Model goes.
class SeldonAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = ReadContainer("deploy/seldon/server/serverconfig.yaml", {"spec", "podSpec", "containers"},
                       "tide");
    agent_ = ReadContainer("deploy/seldon/server/serverconfig.yaml",
                           {"spec", "podSpec", "containers"}, "agent");
    fs::create_directories(root_.path() + "/mnt/agent/models");  // empty, as the agent's
    serve_ = std::make_unique<PlatformServe>(c_, "/mnt/agent/models", root_.path());
    ASSERT_TRUE(serve_->server().started()) << serve_->server().Log();
  }
  // examples/models/simulated as Model "simulated" version 1 lands there.
  void WriteAgentsModel() {
    const std::string dir = root_.path() + "/mnt/agent/models/simulated_1";
    fs::create_directories(dir + "/1");
    // prototext.Marshal's output (its random extra spaces included) of the
    // example's config.pbtxt with the name the agent sets.
    std::ofstream(dir + "/config.pbtxt")
        << R"(name:"simulated_1"  backend:"simulated"  max_batch_size:8  )"
        << R"(input:{name:"INPUT0"  data_type:TYPE_FP32  dims:16}  )"
        << R"(output:{name:"OUTPUT0" data_type:TYPE_FP32 dims:16}  )"
        << R"(dynamic_batching:{default_queue_policy:{max_queue_size:64}}  )"
        << R"(instance_group:{count:1  kind:KIND_CPU}  )"
        << R"(parameters:{key:"compute_ms"  value:{string_value:"10"}}  )"
        << R"(parameters:{key:"mode"  value:{string_value:"cpu"}}  )"
        << R"(parameters:{key:"per_item_ms"  value:{string_value:"40"}})";
  }
  std::unique_ptr<inference::GRPCInferenceService::Stub> Stub(const std::string& host) {
    return inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel(host + ":" + std::to_string(serve_->server().grpc_port()),
                            grpc::InsecureChannelCredentials()));
  }
  double Control(const std::string& action, const std::string& result) {
    return MetricValue(
        Http(serve_->server().metrics_port(), "GET", "/metrics").body,
        "tide_model_control_requests_total{action=\"" + action + "\",result=\"" + result + "\"}");
  }

  Container c_, agent_;
  TempDir root_;
  std::unique_ptr<PlatformServe> serve_;
};

grpc::Status Load(inference::GRPCInferenceService::Stub* stub, const std::string& name) {
  grpc::ClientContext ctx;  // the agent sends no metadata
  inference::RepositoryModelLoadRequest req;
  req.set_model_name(name);
  inference::RepositoryModelLoadResponse resp;
  return stub->RepositoryModelLoad(&ctx, req, &resp);
}

TEST_F(SeldonAgent, LoadsInfersAndUnloadsWithoutATokenFromLoopback) {
  // Seldon's agent reaches the server on SELDON_SERVER_HTTP_PORT and
  // SELDON_SERVER_GRPC_PORT; the probes are on the server's HTTP port.
  EXPECT_EQ(serve_->ManifestPort("--http-port"), std::stoi(agent_.env["SELDON_SERVER_HTTP_PORT"]));
  EXPECT_EQ(serve_->ManifestPort("--grpc-port"), std::stoi(agent_.env["SELDON_SERVER_GRPC_PORT"]));
  EXPECT_EQ(serve_->model_repository(), "/mnt/agent/models");
  EXPECT_EQ(Http(serve_->Actual(c_.ready.port), "GET", c_.ready.path).status, 200);
  EXPECT_EQ(Http(serve_->Actual(c_.live.port), "GET", c_.live.path).status, 200);

  auto stub = Stub("127.0.0.1");
  {
    grpc::ClientContext ctx;
    inference::RepositoryIndexRequest req;
    inference::RepositoryIndexResponse resp;
    grpc::Status s = stub->RepositoryIndex(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.models_size(), 0);
  }
  WriteAgentsModel();
  grpc::Status loaded = Load(stub.get(), "simulated_1");
  ASSERT_TRUE(loaded.ok()) << loaded.error_code() << " " << loaded.error_message();
  {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest req;
    req.set_name("simulated_1");
    inference::ModelReadyResponse resp;
    ASSERT_TRUE(stub->ModelReady(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.ready());
  }
  // The HTTP proxy rewrites /v2/models/<model>/infer to the agent's name.
  auto r =
      Http(serve_->server().http_port(), "POST", "/v2/models/simulated_1/infer",
           std::string(R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":)") +
               kData + "}]}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, std::string(R"({"model_name":"simulated_1","model_version":"1","outputs":[)"
                                R"({"name":"OUTPUT0","datatype":"FP32","shape":[1,16],"data":)") +
                        kData + "}]}");
  // Seldon's HTTP proxy forwards every path from 127.0.0.1, /v2/repository
  // included: over HTTP loopback is not trusted.
  auto http_unload =
      Http(serve_->server().http_port(), "POST", "/v2/repository/models/simulated_1/unload", "");
  EXPECT_EQ(http_unload.status, 401) << http_unload.body;
  {
    grpc::ClientContext ctx;
    inference::RepositoryModelUnloadRequest req;
    req.set_model_name("simulated_1");
    inference::RepositoryModelUnloadResponse resp;
    grpc::Status s = stub->RepositoryModelUnload(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest req;
    req.set_name("simulated_1");
    inference::ModelReadyResponse resp;
    ASSERT_TRUE(stub->ModelReady(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.ready());
  }
  EXPECT_EQ(Control("index", "loopback_trusted"), 1);
  EXPECT_EQ(Control("load", "loopback_trusted"), 1);
  EXPECT_EQ(Control("load", "ok"), 1);
  EXPECT_EQ(Control("unload", "loopback_trusted"), 1);
  EXPECT_EQ(Control("unload", "ok"), 1);
  EXPECT_EQ(Control("unload", "unauthenticated"), 1);  // the HTTP one
  // Each tokenless admission is logged with its peer.
  const std::string log = serve_->server().Log();
  EXPECT_NE(log.find("model control: load simulated_1 admitted without a token from gRPC peer "
                     "ipv4:127.0.0.1:"),
            std::string::npos)
      << log;
}

// An IPv4 address of this machine that is not loopback ("" if none).
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char buf[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) != nullptr) found = buf;
  }
  freeifaddrs(list);
  return found;
}

TEST_F(SeldonAgent, ALoadFromAnotherAddressStillNeedsTheToken) {
  const std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address";
  WriteAgentsModel();
  auto outside = Stub(address);
  grpc::Status s = Load(outside.get(), "simulated_1");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(s.error_message(),
            "model control is open only to gRPC callers on this host's loopback address "
            "(127.0.0.1, ::1; --model-control-trust-loopback) because tide serve was given no "
            "admin token");
  EXPECT_EQ(Control("load", "unauthenticated"), 1);
  EXPECT_EQ(Control("load", "loopback_trusted"), 0);
  EXPECT_EQ(Http(serve_->server().http_port(), "GET", "/v2/models/simulated_1/ready").status, 404);
}

}  // namespace
}  // namespace tide::testing
