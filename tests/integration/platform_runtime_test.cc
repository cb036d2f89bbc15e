// `tide serve` started exactly as deploy/kserve's ClusterServingRuntime and
// deploy/seldon's ServerConfig say: the container's args and env read from
// the manifests (yaml-cpp), with only the ports made free (port 0) and the
// platform's model path (/mnt/models, /mnt/agent/models) re-rooted in a
// temporary folder laid out as the platform fills it. Then the manifest's
// probes and a V2 request, on the ports the manifest's port numbers map to.
// A change to the manifests' args that tide does not accept, a probe path or
// port tide does not serve, or a model path other than the platform's, fails
// here.

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

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

TEST(SeldonServer, ServesTheAgentsFolderAsTheServerConfigSays) {
  Container c = ReadContainer("deploy/seldon/server/serverconfig.yaml",
                              {"spec", "podSpec", "containers"}, "tide");
  TempDir root;
  LayOutModels(root, "/mnt/agent/models");
  PlatformServe serve(c, "/mnt/agent/models", root.path());
  // Seldon's agent reaches the server on SELDON_SERVER_HTTP_PORT and
  // SELDON_SERVER_GRPC_PORT.
  Container agent = ReadContainer("deploy/seldon/server/serverconfig.yaml",
                                  {"spec", "podSpec", "containers"}, "agent");
  EXPECT_EQ(serve.ManifestPort("--http-port"), std::stoi(agent.env["SELDON_SERVER_HTTP_PORT"]));
  EXPECT_EQ(serve.ManifestPort("--grpc-port"), std::stoi(agent.env["SELDON_SERVER_GRPC_PORT"]));
  ExpectServesV2(serve, c);
}

}  // namespace
}  // namespace tide::testing
