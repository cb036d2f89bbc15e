// `tide tune --measure-resources` as a user runs it: the real binary measures
// the real `tide serve` on examples/models, and the resources patch it writes
// (1) asks for at least the RSS this test measures itself for the example
// models, (2) renders over deploy/k8s/base with the recommended HPA and passes
// the deploy checks (deploy/check/check.sh) unchanged; a --memory-limit below
// what a model needs to load is reported before deployment (exit 4).

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "support/tide_process.h"

namespace {

namespace fs = std::filesystem;
using tide::testing::CliResult;
using tide::testing::ReadFileText;
using tide::testing::RunTideCli;
using tide::testing::TempDir;
using tide::testing::TideProcess;

const std::string kSource = TIDE_SOURCE_DIR;
const std::string kModels = kSource + "/examples/models";

// 10 req/s of the example `simulated` model (50 ms of CPU per request): a
// small search, a 2-second measurement.
std::string TuneArgs(const std::string& repo) {
  return "tune --arrivals constant --rate 10 --duration 100 --model-repository " + repo +
         " --model simulated --slo-latency 0.5 --slo-attainment 0.99 --max-replicas 4 "
         "--metrics cpu --cpu-targets 50 70 --up-windows 0 --up-percents 100 --down-windows 60 "
         "--down-percents 100 --no-progress --no-knative --reference-hpa " +
         kSource + "/deploy/k8s/overlays/hpa-cpu/hpa.yaml --measure-resources --measure-seconds 2";
}

CliResult Shell(const std::string& command) {
  CliResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

int64_t StatusBytes(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return -1;
}

// VmRSS of `tide serve` on a repository of `model` alone, ready and after
// five inference requests: this test's own measurement.
int64_t MeasuredRss(const std::string& model) {
  TempDir repo;
  fs::copy(kModels + "/" + model, repo.path() + "/" + model, fs::copy_options::recursive);
  TideProcess serve({"serve", "--model-repository", repo.path(), "--http-port", "0", "--grpc-port",
                     "-1", "--metrics-port", "0", "--host", "127.0.0.1"});
  if (!serve.started()) return -1;
  std::string body = ReadFileText(kModels + "/" + model + "/sample_request.json");
  for (int i = 0; i < 5; ++i) {
    auto r = tide::testing::Http(serve.http_port(), "POST", "/v2/models/" + model + "/infer", body);
    EXPECT_EQ(r.status, 200) << model << ": " << r.body;
  }
  return StatusBytes(serve.pid(), "VmRSS");
}

int64_t Mi(const std::smatch& m) { return std::stoll(m[1].str()) * 1024 * 1024; }

TEST(TuneResources, PatchCoversTheMeasuredRssAndPassesTheDeployChecks) {
  TempDir d;
  CliResult r = RunTideCli(TuneArgs(kModels) + " -o " + d.path() + "/hpa.yaml");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("written to " + d.path() + "/resources-patch.yaml"), std::string::npos)
      << r.out;
  std::string patch = ReadFileText(d.path() + "/resources-patch.yaml");
  std::smatch request, limit;
  ASSERT_TRUE(
      std::regex_search(patch, request, std::regex("requests:\\n(?:.*\\n)*? +memory: (\\d+)Mi\\n")))
      << patch;
  ASSERT_TRUE(
      std::regex_search(patch, limit, std::regex("limits:\\n(?:.*\\n)*? +memory: (\\d+)Mi\\n")))
      << patch;
  EXPECT_NE(patch.find("kind: Deployment\nmetadata:\n  name: tide\n"), std::string::npos);
  EXPECT_NE(patch.find("        - name: tide\n"), std::string::npos);
  EXPECT_NE(patch.find("              cpu: \"1\"\n"), std::string::npos) << patch;
  EXPECT_NE(patch.find("largest peak RSS measured + 25 % headroom"), std::string::npos) << patch;
  EXPECT_GE(Mi(limit), Mi(request));

  // At or above the RSS this test measures itself, for each example model
  // that loads here (the TorchScript ones need the plugin and model.pt).
  std::vector<std::string> models = {"simulated"};
  for (const char* torch : {"simple", "mlp", "cnn"}) {
    if (patch.find(std::string("model ") + torch + " alone: RSS") != std::string::npos)
      models.push_back(torch);
  }
  for (const std::string& model : models) {
    int64_t rss = MeasuredRss(model);
    ASSERT_GT(rss, 0) << model;
    EXPECT_GE(Mi(request), rss) << model << ": request " << request[1] << "Mi, RSS " << rss;
  }

  // Rendered over the base with the HPA, through the deploy checks.
  const std::string k8s = d.path() + "/deploy/k8s";
  fs::create_directories(d.path() + "/deploy");
  fs::copy(kSource + "/deploy/k8s", k8s, fs::copy_options::recursive);
  fs::copy(kSource + "/deploy/grafana", d.path() + "/deploy/grafana", fs::copy_options::recursive);
  const std::string overlay = k8s + "/overlays/tuned";
  fs::create_directories(overlay);
  fs::copy_file(d.path() + "/hpa.yaml", overlay + "/hpa.yaml");
  fs::copy_file(d.path() + "/resources-patch.yaml", overlay + "/resources-patch.yaml");
  std::ofstream(overlay + "/kustomization.yaml")
      << "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
         "  - ../../base\n  - hpa.yaml\npatches:\n  - path: resources-patch.yaml\n";
  CliResult check = Shell(kSource + "/deploy/check/check.sh --k8s-dir " + k8s + " --dockerfile " +
                          kSource + "/deploy/Dockerfile " + tide::testing::TideBinary());
  if (check.code == 77) GTEST_SKIP() << check.out;
  // Every kustomization rendered (base and each overlay, tuned included), and
  // nothing about them is a problem. (deploy/Dockerfile's are not this test's.)
  int renders = 1;
  for (const auto& e : fs::directory_iterator(k8s + "/overlays")) renders += e.is_directory();
  std::smatch rendered;
  ASSERT_TRUE(std::regex_search(check.out, rendered, std::regex("deploy check: (\\d+) renders")))
      << check.out;
  EXPECT_GE(std::stoi(rendered[1].str()), renders) << check.out;  // (and deploy/'s others)
  std::istringstream lines(check.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("PROBLEM", 0) == 0) {
      EXPECT_EQ(line.rfind("PROBLEM deploy/Dockerfile", 0), 0u) << line;
    }
  }
  CliResult render = Shell("kubectl kustomize " + overlay);
  ASSERT_EQ(render.code, 0) << render.out;
  EXPECT_NE(render.out.find("kind: HorizontalPodAutoscaler"), std::string::npos);
  EXPECT_NE(render.out.find("memory: " + request[1].str() + "Mi"), std::string::npos) << render.out;
  EXPECT_NE(render.out.find("memory: " + limit[1].str() + "Mi"), std::string::npos);
}

TEST(TuneResources, AMemoryLimitBelowWhatAModelNeedsIsReportedBeforeDeployment) {
  TempDir repo;
  fs::copy(kModels + "/simulated", repo.path() + "/simulated", fs::copy_options::recursive);
  TempDir out;
  CliResult r =
      RunTideCli(TuneArgs(repo.path()) + " --memory-limit 4Mi -o " + out.path() + "/hpa.yaml");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("tide tune: --memory-limit: model 'simulated' needs [0-9.]+ MiB to load "
                        "and warm \\(peak RSS, VmHWM\\), above --memory-limit 4Mi: the pod would "
                        "be OOMKilled while loading it")))
      << r.out;
  EXPECT_NE(r.out.find("no resources patch written"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out.path() + "/resources-patch.yaml"));
  // A limit that holds: written, and the limit is the user's.
  r = RunTideCli(TuneArgs(repo.path()) + " --memory-limit 1Gi -o " + out.path() + "/hpa.yaml");
  ASSERT_EQ(r.code, 0) << r.out;
  std::string patch = ReadFileText(out.path() + "/resources-patch.yaml");
  EXPECT_NE(patch.find("# --memory-limit 1Gi; every measured peak is below it.\n"
                       "              memory: 1024Mi\n"),
            std::string::npos)
      << patch;
}

}  // namespace
