// The TorchScript example models on the real `tide serve` binary: values
// checked against what the generator's unfrozen module computed (or, for
// simple, computed here), batched = unbatched, binary = JSON, per-request
// errors inside a batch, real batching under 32 concurrent clients with no
// request lost or duplicated, and configs that disagree with their model.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "support/shared_serve.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

const std::string kExamples = std::string(TIDE_SOURCE_DIR) + "/examples/models";
const std::string kFixtures = TIDE_FIXTURES_DIR;

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

std::string Bytes(const float* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n * sizeof(float));
}

std::string ShapeJson(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// A V2 request for one FP32 input; binary input data when `binary`; the
// output always comes back binary so that bytes can be compared exactly.
struct Body {
  std::string body;
  std::map<std::string, std::string> headers;
};
Body Fp32Request(const std::string& id, const std::string& input, const std::vector<int64_t>& shape,
                 const float* data, size_t n, bool binary) {
  std::string head = R"({"id":")" + id + R"(","inputs":[{"name":")" + input +
                     R"(","datatype":"FP32","shape":)" + ShapeJson(shape);
  if (binary) {
    head += R"(,"parameters":{"binary_data_size":)" + std::to_string(n * 4) + "}}]";
  } else {
    std::ostringstream values;
    values.precision(9);
    for (size_t i = 0; i < n; ++i) values << (i ? "," : "") << data[i];
    head += R"(,"data":[)" + values.str() + "]}]";
  }
  head += R"(,"parameters":{"binary_data_output":true}})";
  Body b{head, {}};
  if (binary) {
    b.body += Bytes(data, n);
    b.headers = {{"Inference-Header-Content-Length", std::to_string(head.size())},
                 {"Content-Type", "application/octet-stream"}};
  }
  return b;
}

// The raw bytes of a response's single binary output, and its JSON header.
struct Reply {
  int status = 0;
  std::string header, data;
};
Reply Infer(int port, const std::string& model, const Body& b) {
  HttpResult r = Http(port, "POST", "/v2/models/" + model + "/infer", b.body, b.headers);
  Reply out{r.status, r.body, ""};
  auto it = r.headers.find("inference-header-content-length");
  if (r.status == 200 && it != r.headers.end()) {
    size_t len = std::stoul(it->second);
    out.header = r.body.substr(0, len);
    out.data = r.body.substr(len);
  }
  return out;
}

std::vector<float> AsFloats(const std::string& bytes) {
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

void ExpectNear(const std::vector<float>& got, const float* want, size_t n) {
  ASSERT_EQ(got.size(), n);
  for (size_t i = 0; i < n; ++i) {
    // The server runs the frozen, optimised graph; the fixture the plain one.
    EXPECT_NEAR(got[i], want[i], 1e-4 + 1e-4 * std::fabs(want[i])) << "element " << i;
  }
}

class TorchModels : public SharedServe<TorchModels> {
 protected:
  static void SetUpTestSuite() { StartServe({"--model-repository", kExamples}); }
};

TEST_F(TorchModels, LoadLogNamesBlasAndThreads) {
  std::string log = server_->Log();
  EXPECT_NE(log.find("loaded model 'mlp' version 1 (backend pytorch"), std::string::npos) << log;
  EXPECT_NE(
      log.find(
          "inputs bound by __<index> naming, outputs by __<index> naming; 1 intra-op thread(s)"),
      std::string::npos)
      << log;
  EXPECT_NE(log.find("inputs bound by order, outputs by order"), std::string::npos) << log;
  EXPECT_NE(log.find("BLAS: "), std::string::npos) << log;
}

TEST_F(TorchModels, SimpleAddsAndSubtractsEveryRowOfABatch) {
  std::string a = "[", b = "[", sum = "[", diff = "[";
  for (int i = 0; i < 3 * 16; ++i) {
    int x = i * 7 - 100, y = 1000 - i * i;
    a += (i ? "," : "") + std::to_string(x);
    b += (i ? "," : "") + std::to_string(y);
    sum += (i ? "," : "") + std::to_string(x + y);
    diff += (i ? "," : "") + std::to_string(x - y);
  }
  auto r =
      Http(port(), "POST", "/v2/models/simple/infer",
           R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[3,16],"data":)" + a +
               R"(]},{"name":"INPUT1","datatype":"INT32","shape":[3,16],"data":)" + b + "]}]}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"model_name":"simple","model_version":"1","outputs":[)"
                    R"({"name":"OUTPUT0","datatype":"INT32","shape":[3,16],"data":)" +
                        sum + "]}," +
                        R"({"name":"OUTPUT1","datatype":"INT32","shape":[3,16],"data":)" + diff +
                        "]}]}");
}

// Integer arithmetic has no rounding: rows batched by the dynamic batcher
// from concurrent requests give exactly what each gives alone.
TEST_F(TorchModels, SimpleBatchedAndAloneAreIdentical) {
  auto request = [](int k) {
    std::string a = "[", b = "[";
    for (int i = 0; i < 16; ++i) {
      a += (i ? "," : "") + std::to_string(k * 1000 + i);
      b += (i ? "," : "") + std::to_string(i * i - k);
    }
    return R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":)" + a +
           R"(]},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" + b + "]}]}";
  };
  std::vector<std::string> alone(16), together(16);
  for (int k = 0; k < 16; ++k)
    alone[k] = Http(port(), "POST", "/v2/models/simple/infer", request(k)).body;
  std::vector<std::thread> clients;
  for (int k = 0; k < 16; ++k) {
    clients.emplace_back(
        [&, k] { together[k] = Http(port(), "POST", "/v2/models/simple/infer", request(k)).body; });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(together, alone);
  EXPECT_NE(alone[3].find(R"("data":[2997,2999,3003,)"), std::string::npos) << alone[3];
}

struct ModelCase {
  std::string name;
  std::vector<int64_t> row_shape;  // without the batch dim
  size_t out_per_row;
};
const ModelCase kMlp{"mlp", {784}, 10};
const ModelCase kCnn{"cnn", {3, 64, 64}, 10};

size_t RowSize(const ModelCase& m) {
  size_t n = 1;
  for (int64_t d : m.row_shape) n *= static_cast<size_t>(d);
  return n;
}

// One request holding every fixture row, then each row alone: the values
// match the generator's (computed by the unfrozen module), batched or not.
void CheckAgainstFixture(int port, const ModelCase& m) {
  std::vector<float> in = ReadFloats(kFixtures + "/" + m.name + "/input.bin");
  std::vector<float> want = ReadFloats(kFixtures + "/" + m.name + "/output.bin");
  const size_t row = RowSize(m);
  const int64_t rows = static_cast<int64_t>(in.size() / row);
  ASSERT_GE(rows, 2);
  ASSERT_EQ(want.size(), rows * m.out_per_row);
  std::vector<int64_t> shape = m.row_shape;
  shape.insert(shape.begin(), rows);
  Reply all =
      Infer(port, m.name, Fp32Request("all", "INPUT__0", shape, in.data(), in.size(), true));
  ASSERT_EQ(all.status, 200) << all.header;
  ExpectNear(AsFloats(all.data), want.data(), want.size());
  // Alone, each row gives the same values. Not always the same bits: BLAS
  // and oneDNN pick kernels by batch size (a 1-row matmul is a GEMV), which
  // changes the float rounding by a few ulps.
  shape[0] = 1;
  std::vector<float> batched = AsFloats(all.data);
  for (int64_t r = 0; r < rows; ++r) {
    Reply one =
        Infer(port, m.name, Fp32Request("one", "INPUT__0", shape, in.data() + r * row, row, true));
    ASSERT_EQ(one.status, 200) << one.header;
    std::vector<float> alone = AsFloats(one.data);
    ASSERT_EQ(alone.size(), m.out_per_row);
    for (size_t k = 0; k < m.out_per_row; ++k) {
      float b = batched[r * m.out_per_row + k];
      EXPECT_NEAR(alone[k], b, 1e-6 + 1e-5 * std::fabs(b)) << "row " << r << " element " << k;
    }
  }
}

TEST_F(TorchModels, MlpMatchesTheGeneratorBatchedAndAlone) { CheckAgainstFixture(port(), kMlp); }

TEST_F(TorchModels, CnnMatchesTheGeneratorBatchedAndAlone) { CheckAgainstFixture(port(), kCnn); }

TEST_F(TorchModels, BinaryAndJsonRequestsGiveTheSameOutputs) {
  for (const ModelCase& m : {kMlp, kCnn}) {
    std::vector<float> in = ReadFloats(kFixtures + "/" + m.name + "/input.bin");
    std::vector<int64_t> shape = m.row_shape;
    shape.insert(shape.begin(), 1);
    Reply json =
        Infer(port(), m.name, Fp32Request("j", "INPUT__0", shape, in.data(), RowSize(m), false));
    Reply bin =
        Infer(port(), m.name, Fp32Request("j", "INPUT__0", shape, in.data(), RowSize(m), true));
    ASSERT_EQ(json.status, 200) << json.header;
    ASSERT_EQ(bin.status, 200) << bin.header;
    EXPECT_EQ(json.header, bin.header);
    EXPECT_EQ(json.data, bin.data) << m.name;
    EXPECT_EQ(json.data.size(), m.out_per_row * 4);
  }
}

// Every model folder in examples/models has a sample_request.json (the README
// says so and shows it with curl), and the served model answers it.
TEST_F(TorchModels, EveryExampleModelsSampleRequestIsAnswered) {
  std::vector<std::string> models;
  for (const auto& entry : std::filesystem::directory_iterator(kExamples)) {
    if (entry.is_directory()) models.push_back(entry.path().filename().string());
  }
  std::sort(models.begin(), models.end());
  ASSERT_GE(models.size(), 4u);  // cnn, mlp, simple, simulated
  EXPECT_TRUE(std::binary_search(models.begin(), models.end(), "simulated"));
  for (const std::string& m : models) {
    std::ifstream f(kExamples + "/" + m + "/sample_request.json");
    ASSERT_TRUE(f.good()) << m << " has no sample_request.json";
    std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto r = Http(port(), "POST", "/v2/models/" + m + "/infer", body);
    EXPECT_EQ(r.status, 200) << m << ": " << r.body;
    EXPECT_NE(r.body.find(R"("id":"sample")"), std::string::npos) << r.body;
  }
}

// 32 clients, each sending its own requests back to back: the dynamic batcher
// must merge them (mean batch > 1), and every id comes back exactly once with
// the right values.
TEST_F(TorchModels, ConcurrentClientsAreBatchedAndNoRequestIsLostOrDuplicated) {
  std::vector<float> in = ReadFloats(kFixtures + "/mlp/input.bin");
  std::vector<float> want = ReadFloats(kFixtures + "/mlp/output.bin");
  const std::string count = R"(tide_inference_count_total{model="mlp",version="1"})";
  const std::string execs = R"(tide_inference_executions_total{model="mlp",version="1"})";
  const std::string ok =
      R"(tide_inference_requests_total{model="mlp",version="1",outcome="success"})";
  std::string before = Metrics();
  constexpr int kClients = 32, kEach = 8;
  std::mutex mu;
  std::multiset<std::string> answered;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        int row = (c + i) % 4;
        std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
        Reply r = Infer(port(), "mlp",
                        Fp32Request(id, "INPUT__0", {1, 784}, in.data() + row * 784, 784, true));
        std::vector<float> got = AsFloats(r.data);
        bool right = r.status == 200 && got.size() == 10;
        for (size_t k = 0; right && k < 10; ++k)
          right = std::fabs(got[k] - want[row * 10 + k]) < 1e-3;
        std::string echoed;
        size_t at = r.header.find(R"("id":")");
        if (at != std::string::npos)
          echoed = r.header.substr(at + 6, r.header.find('"', at + 6) - at - 6);
        std::lock_guard<std::mutex> lock(mu);
        answered.insert(echoed);
        if (!right || echoed != id)
          failures.push_back(id + " → " + std::to_string(r.status) + " " + r.header);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  ASSERT_EQ(answered.size(), static_cast<size_t>(kClients * kEach));
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kEach; ++i) {
      EXPECT_EQ(answered.count("c" + std::to_string(c) + "-" + std::to_string(i)), 1u);
    }
  }
  std::string after = Metrics();
  double items = MetricValue(after, count) - MetricValue(before, count);
  double batches = MetricValue(after, execs) - MetricValue(before, execs);
  EXPECT_EQ(items, kClients * kEach);
  EXPECT_EQ(MetricValue(after, ok) - MetricValue(before, ok), kClients * kEach);
  EXPECT_GT(items / batches, 1.0) << items << " items in " << batches << " batches";
}

// A request whose values make forward() raise fails alone; the requests
// batched with it succeed.
TEST(TorchModelErrors, ARequestThatMakesTheModelRaiseFailsAloneInItsBatch) {
  TempDir repo;
  repo.Write(
      "raises/config.pbtxt",
      "backend: \"pytorch\"\nmax_batch_size: 8\n"
      "input [ { name: \"X\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
      "output [ { name: \"Y\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
      "dynamic_batching { preferred_batch_size: [ 8 ] max_queue_delay_microseconds: 200000 }\n");
  repo.MakeDir("raises/1");
  std::filesystem::copy_file(std::string(TIDE_TEST_MODELS) + "/raises/1/model.pt",
                             repo.path() + "/raises/1/model.pt");
  TideProcess server({"serve", "--model-repository", repo.path(), "--http-port", "0",
                      "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0"});
  ASSERT_TRUE(server.started()) << server.Log();
  std::vector<HttpResult> results(8);
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      std::string v = std::to_string(i == 5 ? -1 : i);
      results[i] = Http(server.http_port(), "POST", "/v2/models/raises/infer",
                        R"({"inputs":[{"name":"X","datatype":"FP32","shape":[1,4],"data":[)" + v +
                            "," + v + ",1,2]}]}");
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < 8; ++i) {
    if (i == 5) {
      EXPECT_EQ(results[i].status, 400);
      EXPECT_EQ(results[i].body, R"({"error":"AssertionError: negative input"})");
      continue;
    }
    std::string v = std::to_string(2 * i);
    EXPECT_EQ(results[i].status, 200) << results[i].body;
    EXPECT_EQ(
        results[i].body,
        R"({"model_name":"raises","model_version":"1","outputs":[{"name":"Y","datatype":"FP32","shape":[1,4],"data":[)" +
            v + "," + v + ",2,4]}]}");
  }
  std::string metrics = Http(server.metrics_port(), "GET", "/metrics").body;
  EXPECT_EQ(
      MetricValue(metrics,
                  R"(tide_inference_requests_total{model="raises",version="1",outcome="failure"})"),
      1);
  EXPECT_EQ(
      MetricValue(metrics,
                  R"(tide_inference_requests_total{model="raises",version="1",outcome="success"})"),
      7);
}

TEST(TorchModelErrors, AConfigThatDisagreesWithItsModelFailsToLoadSayingHow) {
  TempDir repo;
  // simple's forward(a, b) given three inputs.
  repo.Write("count/config.pbtxt",
             "platform: \"pytorch_libtorch\"\nmax_batch_size: 8\ninput [\n"
             "  { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 16 ] },\n"
             "  { name: \"INPUT1\" data_type: TYPE_INT32 dims: [ 16 ] },\n"
             "  { name: \"INPUT2\" data_type: TYPE_INT32 dims: [ 16 ] }\n]\n"
             "output [ { name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [ 16 ] } ]\n");
  // mlp's input declared INT32.
  repo.Write("dtype/config.pbtxt",
             "platform: \"pytorch_libtorch\"\nmax_batch_size: 4\n"
             "input [ { name: \"INPUT__0\" data_type: TYPE_INT32 dims: [ 784 ] } ]\n"
             "output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 10 ] } ]\n");
  for (const auto& [model, from] :
       {std::pair<std::string, std::string>{"count", "simple"}, {"dtype", "mlp"}}) {
    repo.MakeDir(model + "/1");
    std::filesystem::copy_file(kExamples + "/" + from + "/1/model.pt",
                               repo.path() + "/" + model + "/1/model.pt");
  }
  TideProcess server({"serve", "--model-repository", repo.path(), "--http-port", "0",
                      "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0"});
  ASSERT_TRUE(server.started()) << server.Log();
  std::string index = Http(server.http_port(), "POST", "/v2/repository/index").body;
  EXPECT_NE(
      index.find(R"({"name":"count","version":"1","state":"UNAVAILABLE","reason":")" + repo.path() +
                 "/count/config.pbtxt: config declares 3 inputs (INPUT0, INPUT1, INPUT2) but the "
                 "TorchScript model's forward(a, b) takes 2\"}"),
      std::string::npos)
      << index;
  EXPECT_NE(index.find(repo.path() +
                       "/dtype/config.pbtxt: input 'INPUT__0' is declared TYPE_INT32 but the "
                       "model's forward() fails with it and runs with TYPE_FP32; "),
            std::string::npos)
      << index;
  EXPECT_EQ(Http(server.http_port(), "GET", "/v2/health/ready").status, 503);
}

}  // namespace
}  // namespace tide::testing
