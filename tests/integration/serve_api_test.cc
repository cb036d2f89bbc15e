// The V2 API of the real `tide serve` binary: metadata, inference with values
// computed here, every documented error, and exact metric deltas.

#include <cstring>
#include <string>

#include <zlib.h>

#include "gtest/gtest.h"
#include "support/shared_serve.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

std::string Examples() { return std::string(TIDE_SOURCE_DIR) + "/examples/models"; }

class ServeApi : public SharedServe<ServeApi> {
 protected:
  static void SetUpTestSuite() {
    StartServe({"--model-repository", Examples(), "--max-body-bytes", "100000"});
  }
};

std::string Row(int start, int step) {
  std::string s = "[";
  for (int i = 0; i < 16; ++i) s += (i ? "," : "") + std::to_string(start + i * step);
  return s + "]";
}

std::string SimpleRequest(const std::string& a, const std::string& b,
                          const std::string& extra = "") {
  return R"({"id":"req-7","inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":)" +
         a + R"(},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" + b + "}]" + extra +
         "}";
}

TEST_F(ServeApi, HealthAndServerMetadata) {
  EXPECT_EQ(Http(port(), "GET", "/v2/health/live").body, R"({"live":true})");
  auto ready = Http(port(), "GET", "/v2/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"ready":true})");
  EXPECT_EQ(Http(port(), "GET", "/v2").body,
            R"({"name":"tide","version":"0.1.0","extensions":["binary_tensor_data","statistics",)"
            R"("model_repository","model_configuration"]})");
  auto index = Http(port(), "POST", "/v2/repository/index");
  EXPECT_EQ(
      index.body,
      R"([{"name":"cnn","version":"1","state":"READY"},{"name":"mlp","version":"1","state":"READY"},)"
      R"({"name":"simple","version":"1","state":"READY"},{"name":"simulated","version":"1","state":"READY"}])");
}

TEST_F(ServeApi, ModelMetadataAndReadiness) {
  auto m = Http(port(), "GET", "/v2/models/simple");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(
      m.body.find(
          R"("name":"simple","versions":["1"],"platform":"pytorch_libtorch","inputs":[{"name":"INPUT0","datatype":"INT32","shape":[-1,16]},{"name":"INPUT1","datatype":"INT32","shape":[-1,16]}],"outputs":[{"name":"OUTPUT0","datatype":"INT32","shape":[-1,16]},{"name":"OUTPUT1","datatype":"INT32","shape":[-1,16]}])"),
      std::string::npos)
      << m.body;
  EXPECT_EQ(Http(port(), "GET", "/v2/models/simple/versions/1/ready").body,
            R"({"name":"simple","ready":true})");
  auto missing = Http(port(), "GET", "/v2/models/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"unknown model 'nope'"})");
  EXPECT_EQ(Http(port(), "GET", "/v2/models/simple/versions/9").status, 404);
}

TEST_F(ServeApi, SimpleAddsAndSubtracts) {
  // OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1, computed here.
  std::string want0 = "[", want1 = "[";
  for (int i = 0; i < 16; ++i) {
    int a = 10 + i * 3, b = -5 + i;
    want0 += (i ? "," : "") + std::to_string(a + b);
    want1 += (i ? "," : "") + std::to_string(a - b);
  }
  auto r = Http(port(), "POST", "/v2/models/simple/infer", SimpleRequest(Row(10, 3), Row(-5, 1)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"model_name":"simple","model_version":"1","id":"req-7","outputs":[)"
                    R"({"name":"OUTPUT0","datatype":"INT32","shape":[1,16],"data":)" +
                        want0 + "]}," +
                        R"({"name":"OUTPUT1","datatype":"INT32","shape":[1,16],"data":)" + want1 +
                        "]}]}");
}

TEST_F(ServeApi, RequestedOutputsNestedDataAndBinaryOutput) {
  std::string nested = "[[" + Row(1, 1).substr(1, Row(1, 1).size() - 2) + "],[" +
                       Row(100, 0).substr(1, Row(100, 0).size() - 2) + "]]";
  std::string body = R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[2,16],"data":)" +
                     nested + R"(},{"name":"INPUT1","datatype":"INT32","shape":[2,16],"data":)" +
                     nested +
                     R"(}],"outputs":[{"name":"OUTPUT1","parameters":{"binary_data":true}}]})";
  auto r = Http(port(), "POST", "/v2/models/simple/versions/1/infer", body);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.headers["content-type"], "application/octet-stream");
  size_t json_len = std::stoul(r.headers["inference-header-content-length"]);
  EXPECT_EQ(
      r.body.substr(0, json_len),
      R"({"model_name":"simple","model_version":"1","outputs":[{"name":"OUTPUT1","datatype":"INT32","shape":[2,16],"parameters":{"binary_data_size":128}}]})");
  ASSERT_EQ(r.body.size() - json_len, 128u);
  std::vector<int32_t> diff(32);
  std::memcpy(diff.data(), r.body.data() + json_len, 128);
  EXPECT_EQ(diff, std::vector<int32_t>(32, 0));
}

TEST_F(ServeApi, PerOutputBinaryDataWinsOverTheRequestLevelParameter) {
  std::string want0 = "[", bytes1;
  for (int32_t i = 0; i < 16; ++i) {
    want0 += (i ? "," : "") + std::to_string(i);
    bytes1.append(reinterpret_cast<const char*>(&i), 4);
  }
  want0 += "]";
  auto on = Http(port(), "POST", "/v2/models/simple/infer",
                 SimpleRequest(Row(0, 1), Row(0, 0),
                               R"(,"parameters":{"binary_data_output":true},"outputs":[)"
                               R"({"name":"OUTPUT0","parameters":{"binary_data":false}},)"
                               R"({"name":"OUTPUT1"}])"));
  ASSERT_EQ(on.status, 200) << on.body;
  size_t json_len = std::stoul(on.headers["inference-header-content-length"]);
  EXPECT_EQ(on.body.substr(0, json_len),
            R"({"model_name":"simple","model_version":"1","id":"req-7","outputs":[)"
            R"({"name":"OUTPUT0","datatype":"INT32","shape":[1,16],"data":)" +
                want0 +
                R"(},{"name":"OUTPUT1","datatype":"INT32","shape":[1,16],)"
                R"("parameters":{"binary_data_size":64}}]})");
  EXPECT_EQ(on.body.substr(json_len), bytes1);
  auto off = Http(port(), "POST", "/v2/models/simple/infer",
                  SimpleRequest(Row(0, 1), Row(0, 0),
                                R"(,"parameters":{"binary_data_output":false},"outputs":[)"
                                R"({"name":"OUTPUT0"},)"
                                R"({"name":"OUTPUT1","parameters":{"binary_data":true}}])"));
  ASSERT_EQ(off.status, 200) << off.body;
  json_len = std::stoul(off.headers["inference-header-content-length"]);
  EXPECT_EQ(off.body.substr(0, json_len), on.body.substr(0, json_len));
  EXPECT_EQ(off.body.substr(json_len), bytes1);
}

TEST_F(ServeApi, BinaryInputsGiveTheSameOutputsAsJson) {
  std::vector<int32_t> a(16), b(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = i * i;
    b[i] = 7 - i;
  }
  std::string header =
      R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"parameters":{"binary_data_size":64}},)"
      R"({"name":"INPUT1","datatype":"INT32","shape":[1,16],"parameters":{"binary_data_size":64}}]})";
  std::string body = header + std::string(reinterpret_cast<char*>(a.data()), 64) +
                     std::string(reinterpret_cast<char*>(b.data()), 64);
  auto bin = Http(port(), "POST", "/v2/models/simple/infer", body,
                  {{"Inference-Header-Content-Length", std::to_string(header.size())},
                   {"Content-Type", "application/octet-stream"}});
  std::string ja = "[", jb = "[";
  for (int i = 0; i < 16; ++i) {
    ja += (i ? "," : "") + std::to_string(a[i]);
    jb += (i ? "," : "") + std::to_string(b[i]);
  }
  ja += "]";
  jb += "]";
  auto json =
      Http(port(), "POST", "/v2/models/simple/infer",
           R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":)" + ja +
               R"(},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" + jb + "}]}");
  ASSERT_EQ(bin.status, 200) << bin.body;
  EXPECT_EQ(bin.body, json.body);
}

TEST_F(ServeApi, SimulatedEchoesItsInput) {
  std::string data = "[0.5,1,1.5,2,2.5,3,3.5,4,4.5,5,5.5,6,6.5,7,7.5,8]";
  auto r = Http(
      port(), "POST", "/v2/models/simulated/infer",
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":)" + data + "}]}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      r.body,
      R"({"model_name":"simulated","model_version":"1","outputs":[{"name":"OUTPUT0","datatype":"FP32","shape":[1,16],"data":)" +
          data + "}]}");
}

TEST_F(ServeApi, BadInputGets4xxNamingTheProblem) {
  struct Case {
    std::string method, path, body;
    std::map<std::string, std::string> headers;
    int status;
    std::string error;
  } cases[] = {
      {"POST",
       "/v2/models/simple/infer",
       "{not json",
       {},
       400,
       "request body is not valid JSON: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {"POST",
       "/v2/models/nope/infer",
       SimpleRequest(Row(0, 1), Row(0, 1)),
       {},
       404,
       "unknown model 'nope'"},
      {"POST",
       "/v2/models/simple/infer",
       R"({"inputs":[{"name":"INPUT9","datatype":"INT32","shape":[1,16],"data":)" + Row(0, 1) +
           "}]}",
       {},
       400,
       "unknown input 'INPUT9' for model 'simple' (inputs: INPUT0, INPUT1)"},
      {"POST",
       "/v2/models/simple/infer",
       R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":)" + Row(0, 1) +
           R"(},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" + Row(0, 1) + "}]}",
       {},
       400,
       "input 'INPUT0': datatype FP32 does not match the model's INT32"},
      {"POST",
       "/v2/models/simple/infer",
       R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,15],"data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" +
           Row(0, 1) + "}]}",
       {},
       400,
       "input 'INPUT0': shape [1,15] does not match the model's [-1(batch),16]"},
      {"POST",
       "/v2/models/simple/infer",
       R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":[1,2]},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" +
           Row(0, 1) + "}]}",
       {},
       400,
       "input 'INPUT0': shape [1,16] needs 16 elements, data has 2"},
      {"POST",
       "/v2/models/simple/infer",
       R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[9,1],"data":[1,2,3,4,5,6,7,8,9]}]})",
       {},
       400,
       "input 'INPUT0': shape [9,1] does not match the model's [-1(batch),16]"},
      {"POST",
       "/v2/models/simple/infer",
       SimpleRequest(Row(0, 1), Row(0, 1), R"(,"outputs":[{"name":"OUT"}])"),
       {},
       400,
       "unknown requested output 'OUT' for model 'simple'"},
      {"GET",
       "/v2/models/simple/infer",
       "",
       {},
       405,
       "method GET is not allowed on /v2/models/simple/infer (allowed: POST)"},
      {"POST",
       "/v2/models/simple/infer",
       std::string(100001, ' '),
       {},
       413,
       "request body of 100001 bytes is over the limit of 100000 bytes (--max-body-bytes)"},
      {"POST",
       "/v2/models/simple/infer",
       "{}xx",
       {{"Inference-Header-Content-Length", "abc"}},
       400,
       "Inference-Header-Content-Length 'abc' is not a number"},
      {"POST",
       "/v2/models/..%2F..%2Fetc/infer",
       "{}",
       {},
       400,
       "model name '../../etc' must not start with '.'"},
      {"GET", "/v2/nothing", "", {}, 404, "no such endpoint: GET /v2/nothing"},
      // Bytes that are not UTF-8 are echoed as visible \xNN text.
      {"GET",
       "/v2/models/%ff%fe",
       "",
       {},
       400,
       "model name '\\\\xff\\\\xfe' may only contain letters, digits, '_', '-' and '.'"},
      // A claimed shape is checked against the body before anything is allocated.
      {"POST",
       "/v2/models/simple/infer",
       R"({"inputs":[{"name":"x","datatype":"INT64","shape":[2147483647],"data":[1]}]})",
       {},
       400,
       "input 'x': shape [2147483647] needs 2147483647 elements, more than a JSON body of 76 "
       "bytes can hold"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    auto r = Http(port(), c.method, c.path, c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(r.body, R"({"error":")" + c.error + R"("})");
  }
  // Batch over max_batch_size (8).
  std::string big = "[";
  for (int i = 0; i < 9 * 16; ++i) big += (i ? "," : "") + std::string("1");
  big += "]";
  auto r =
      Http(port(), "POST", "/v2/models/simple/infer",
           R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[9,16],"data":)" + big +
               R"(},{"name":"INPUT1","datatype":"INT32","shape":[9,16],"data":)" + big + "}]}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            R"x({"error":"input 'INPUT0': batch size 9 is outside 1..8 (max_batch_size)"})x");
  // The server is still healthy after all of it.
  EXPECT_EQ(Http(port(), "GET", "/v2/health/live").status, 200);
}

TEST_F(ServeApi, MetricsMoveByExactlyTheRequestsSent) {
  const std::string ok =
      R"(tide_inference_requests_total{model="simple",version="1",outcome="success"})";
  const std::string fail =
      R"(tide_inference_requests_total{model="simple",version="1",outcome="failure"})";
  const std::string count = R"(tide_inference_count_total{model="simple",version="1"})";
  const std::string hist =
      R"(tide_inference_request_duration_seconds_count{model="simple",version="1"})";
  std::string before = Metrics();
  for (int i = 0; i < 25; ++i) {
    ASSERT_EQ(
        Http(port(), "POST", "/v2/models/simple/infer", SimpleRequest(Row(i, 1), Row(0, 0))).status,
        200);
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Http(port(), "POST", "/v2/models/simple/infer",
                   R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":)" +
                       Row(0, 1) + "}]}")
                  .status,
              400);
  }
  std::string after = Metrics();
  EXPECT_EQ(MetricValue(after, ok) - MetricValue(before, ok), 25);
  EXPECT_EQ(MetricValue(after, fail) - MetricValue(before, fail), 3);
  EXPECT_EQ(MetricValue(after, count) - MetricValue(before, count), 25);
  EXPECT_EQ(MetricValue(after, hist) - MetricValue(before, hist), 25);
  EXPECT_EQ(MetricValue(after, R"(tide_inference_queue_depth{model="simple",version="1"})"), 0);
  EXPECT_EQ(MetricValue(after, R"(tide_inference_in_flight{model="simple",version="1"})"), 0);
  EXPECT_EQ(MetricValue(after, R"(tide_model_ready{model="simulated",version="1"})"), 1);
  EXPECT_NE(after.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(after.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
  EXPECT_NE(after.find("# TYPE process_start_time_seconds gauge"), std::string::npos);
  auto stats = Http(port(), "GET", "/v2/models/simple/stats");
  EXPECT_EQ(stats.status, 200);
  EXPECT_NE(stats.body.find(R"({"model_stats":[{"name":"simple","version":"1",)"),
            std::string::npos)
      << stats.body;
}

// Triton's statistics extension: one batch_stats entry per executed batch
// size, and cache_hit/cache_miss (tide has no response cache: always 0). A
// model without dynamic_batching runs each request as it came, so the batch
// sizes are the clients'.
TEST(ServeStats, BatchStatsCountEachExecutedBatchSize) {
  TempDir repo;
  repo.Write("echo/config.pbtxt",
             "name: \"echo\"\nbackend: \"simulated\"\nmax_batch_size: 8\n"
             "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
             "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
             "parameters { key: \"mode\" value { string_value: \"sleep\" } }\n"
             "parameters { key: \"compute_ms\" value { string_value: \"1\" } }\n");
  repo.MakeDir("echo/1");
  TideProcess server({"serve", "--model-repository", repo.path(), "--http-port", "0",
                      "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0"});
  ASSERT_TRUE(server.started()) << server.Log();
  auto stats = Http(server.http_port(), "GET", "/v2/models/echo/stats");
  ASSERT_EQ(stats.status, 200);
  EXPECT_NE(stats.body.find(R"("cache_hit":{"count":0,"ns":0},"cache_miss":{"count":0,"ns":0}},)"
                            R"("batch_stats":[]}]})"),
            std::string::npos)
      << stats.body;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Http(server.http_port(), "POST", "/v2/models/echo/infer",
                   R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,1],"data":[1]}]})")
                  .status,
              200);
  }
  ASSERT_EQ(Http(server.http_port(), "POST", "/v2/models/echo/infer",
                 R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[2,1],"data":[1,2]}]})")
                .status,
            200);
  stats = Http(server.http_port(), "GET", "/v2/models/echo/stats");
  ASSERT_EQ(stats.status, 200);
  const std::string& b = stats.body;
  EXPECT_NE(b.find(R"("inference_count":5,"execution_count":4,)"), std::string::npos) << b;
  EXPECT_NE(b.find(R"("cache_hit":{"count":0,"ns":0},"cache_miss":{"count":0,"ns":0}})"),
            std::string::npos)
      << b;
  // Exactly two entries, ascending: three executions of 1 row, one of 2.
  size_t at = b.find(R"("batch_stats":[{"batch_size":1,"compute_input":{"count":3,"ns":)");
  ASSERT_NE(at, std::string::npos) << b;
  size_t second = b.find(R"(},{"batch_size":2,"compute_input":{"count":1,"ns":)", at);
  ASSERT_NE(second, std::string::npos) << b;
  EXPECT_NE(b.find(R"("compute_infer":{"count":3,"ns":)", at), std::string::npos) << b;
  EXPECT_NE(b.find(R"("compute_output":{"count":3,"ns":)", at), std::string::npos) << b;
  EXPECT_NE(b.find(R"("compute_infer":{"count":1,"ns":)", second), std::string::npos) << b;
  EXPECT_NE(b.find(R"("compute_output":{"count":1,"ns":)", second), std::string::npos) << b;
  EXPECT_EQ(b.find(R"("batch_size":3)"), std::string::npos) << b;
  EXPECT_EQ(b.substr(b.size() - 5), "}]}]}") << b;
  // The sleeping model's compute_infer: at least 1 ms per execution.
  const std::string infer3 = R"("compute_infer":{"count":3,"ns":)";
  EXPECT_GE(std::stoull(b.substr(b.find(infer3, at) + infer3.size())), 3'000'000u) << b;
}

TEST_F(ServeApi, ModelConfigIsTritonsJsonForm) {
  const std::string want =
      R"({"name":"simple","platform":"pytorch_libtorch","backend":"pytorch","max_batch_size":8,)"
      R"("input":[{"name":"INPUT0","data_type":"TYPE_INT32","dims":[16],"optional":false},)"
      R"({"name":"INPUT1","data_type":"TYPE_INT32","dims":[16],"optional":false}],)"
      R"("output":[{"name":"OUTPUT0","data_type":"TYPE_INT32","dims":[16],"label_filename":""},)"
      R"({"name":"OUTPUT1","data_type":"TYPE_INT32","dims":[16],"label_filename":""}],)"
      R"("instance_group":[{"name":"","kind":"KIND_CPU","count":1,"gpus":[]}],)"
      R"("parameters":{"INTRA_OP_THREAD_COUNT":{"string_value":"1"}},"model_warmup":[]})";
  auto c = Http(port(), "GET", "/v2/models/simple/config");
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(c.body, want);
  EXPECT_EQ(Http(port(), "GET", "/v2/models/simple/versions/1/config").body, want);
  auto missing = Http(port(), "GET", "/v2/models/nope/config");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"unknown model 'nope'"})");
  EXPECT_EQ(Http(port(), "GET", "/v2/models/simple/versions/9/config").status, 404);
  EXPECT_EQ(Http(port(), "POST", "/v2/models/simple/config").status, 405);
}

// `text` compressed by zlib: gzip (window_bits 31), zlib-wrapped deflate (15)
// or raw deflate (-15).
std::string Compress(const std::string& text, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(ServeApi, CompressedRequestBodiesAreDecodedWithABound) {
  const std::string body = SimpleRequest(Row(10, 3), Row(-5, 1));
  auto plain = Http(port(), "POST", "/v2/models/simple/infer", body);
  ASSERT_EQ(plain.status, 200) << plain.body;
  for (auto [encoding, bits] : std::vector<std::pair<std::string, int>>{
           {"gzip", 31}, {"deflate", 15}, {"deflate", -15}, {"GZip", 31}}) {
    auto r = Http(port(), "POST", "/v2/models/simple/infer", Compress(body, bits),
                  {{"Content-Encoding", encoding}});
    EXPECT_EQ(r.status, 200) << encoding << " " << bits << ": " << r.body;
    EXPECT_EQ(r.body, plain.body) << encoding << " " << bits;
  }
  // 200,000 bytes (over --max-body-bytes 100000) in a few hundred: refused.
  std::string big =
      SimpleRequest(Row(10, 3), Row(-5, 1), ",\"pad\":\"" + std::string(200000, ' ') + "\"");
  std::string bomb = Compress(big, 31);
  ASSERT_LT(bomb.size(), 1000u);
  auto r = Http(port(), "POST", "/v2/models/simple/infer", bomb, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"error":"decompressed request body is over the limit of 100000 bytes"})");
  r = Http(port(), "POST", "/v2/models/simple/infer", "not gzip at all",
           {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":"request body is not valid gzip data: incorrect header check"})");
  std::string gz = Compress(body, 31);
  r = Http(port(), "POST", "/v2/models/simple/infer", gz.substr(0, gz.size() / 2),
           {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":"request body is not valid gzip data: truncated stream"})");
  r = Http(port(), "POST", "/v2/models/simple/infer", body, {{"Content-Encoding", "br"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(
      r.body,
      R"j({"error":"unsupported Content-Encoding 'br' (supported: gzip, deflate, identity)"})j");
}

}  // namespace
}  // namespace tide::testing
