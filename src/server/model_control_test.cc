#include "server/model_control.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "backends/simulated/simulated_backend.h"
#include "gtest/gtest.h"

namespace tide::server {
namespace {

namespace fs = std::filesystem;

class ModelControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("tide_control_" + std::to_string(::getpid()));
    fs::remove_all(base_);
    root_ = base_ / "repo";
    fs::create_directories(root_);
    backends_.Register("simulated", backends::LoadSimulatedModel);
  }
  void TearDown() override {
    control_.reset();
    service_.Shutdown();
    fs::remove_all(base_);
  }
  void Model(const std::string& name, int compute_ms) {
    fs::create_directories(root_ / name / "1");
    std::ofstream(root_ / name / "config.pbtxt")
        << "backend: \"simulated\"\n"
        << "input { name: \"A\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
        << "output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
        << "instance_group { count: 2 }\n"
        << "parameters { key: \"compute_ms\" value { string_value: \"" << compute_ms << "\" } }\n";
  }
  void StartControl(bool enabled, bool trust_loopback = false, std::string token = "s3cret") {
    ModelControlService::Options o;
    o.enabled = enabled;
    o.token = std::move(token);
    o.trust_loopback = trust_loopback;
    o.service = &service_;
    o.load.repository = root_.string();
    o.load.backends = &backends_;
    o.load.metrics = &metrics_;
    o.requests = metrics_.model_control;
    auto c = ModelControlService::Create(std::move(o));
    ASSERT_TRUE(c.ok()) << c.status();
    control_ = *std::move(c);
  }
  absl::Status Load(const std::string& name, const std::string& auth = "Bearer s3cret") {
    std::promise<absl::Status> p;
    control_->Load(name, auth, false, [&p](absl::Status s) { p.set_value(s); });
    return p.get_future().get();
  }
  absl::Status Unload(const std::string& name, const std::string& auth = "Bearer s3cret") {
    std::promise<absl::Status> p;
    control_->Unload(name, auth, [&p](absl::Status s) { p.set_value(s); });
    return p.get_future().get();
  }
  // A gRPC caller: `auth` metadata from `peer`.
  absl::Status LoadFrom(const std::string& name, const std::string& auth, const std::string& peer) {
    std::promise<absl::Status> p;
    control_->Load(name, core::ControlCaller{auth, peer}, false,
                   [&p](absl::Status s) { p.set_value(s); });
    return p.get_future().get();
  }
  absl::Status UnloadFrom(const std::string& name, const std::string& auth,
                          const std::string& peer) {
    std::promise<absl::Status> p;
    control_->Unload(name, core::ControlCaller{auth, peer},
                     [&p](absl::Status s) { p.set_value(s); });
    return p.get_future().get();
  }
  // Sends one request; the future holds its answer.
  std::future<absl::Status> Infer(const std::string& model) {
    auto p = std::make_shared<std::promise<absl::Status>>();
    core::InferRequest r;
    r.model_name = model;
    core::Tensor t;
    t.name = "A";
    t.shape = {1};
    t.data.assign(4, '\0');
    r.inputs.push_back(t);
    service_.Infer(std::move(r),
                   [p](absl::StatusOr<core::InferResponse> resp) { p->set_value(resp.status()); });
    return p->get_future();
  }
  double Count(const std::string& action, const std::string& result) {
    return metrics_.model_control->WithLabels({action, result})->Value();
  }

  fs::path base_, root_;
  backends::BackendRegistry backends_;
  metrics::Registry registry_;
  ServerMetrics metrics_ = ServerMetrics::Register(&registry_);
  core::InferenceService service_{{}};
  std::unique_ptr<ModelControlService> control_;
};

TEST(ConstantTimeEquals, Table) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcabc", "abc"));  // cycling must not make it equal
  EXPECT_FALSE(ConstantTimeEquals("", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", ""));  // no token configured matches nothing
}

TEST(CheckBearer, Table) {
  struct Case {
    const char* header;
    absl::StatusCode code;
  } cases[] = {
      {"Bearer s3cret", absl::StatusCode::kOk},
      {"bearer s3cret", absl::StatusCode::kOk},
      {"  BEARER   s3cret  ", absl::StatusCode::kOk},
      {"", absl::StatusCode::kUnauthenticated},
      {"Bearer", absl::StatusCode::kUnauthenticated},
      {"Bearer ", absl::StatusCode::kUnauthenticated},
      {"Basic czNjcmV0", absl::StatusCode::kUnauthenticated},
      {"s3cret", absl::StatusCode::kUnauthenticated},
      {"Bearer s3cre", absl::StatusCode::kPermissionDenied},
      {"Bearer s3cretX", absl::StatusCode::kPermissionDenied},
      {"Bearer S3CRET", absl::StatusCode::kPermissionDenied},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    EXPECT_EQ(CheckBearer(c.header, "s3cret").code(), c.code);
  }
}

TEST_F(ModelControlTest, NameChecksRefuseEscapesWithoutTouchingThem) {
  Model("good", 0);
  fs::create_directories(base_ / "outside");
  std::ofstream(base_ / "outside" / "config.pbtxt") << "not read";
  fs::create_directory_symlink(base_ / "outside", root_ / "out");       // absolute, outside
  fs::create_directory_symlink("../outside", root_ / "rel_out");        // relative, outside
  fs::create_directory_symlink(root_ / "good", root_ / "alias");        // inside: allowed
  fs::create_directory_symlink(base_ / "nowhere", root_ / "dangling");  // cannot be resolved
  const std::string repo = root_.string();
  struct Case {
    std::string name;
    bool must_exist;
    absl::StatusCode code;
    std::string message;  // "" = not checked
  } cases[] = {
      {"good", true, absl::StatusCode::kOk, ""},
      {"alias", true, absl::StatusCode::kOk, ""},
      {"missing", true, absl::StatusCode::kNotFound,
       "no model folder 'missing' in the model repository " + repo},
      {"missing", false, absl::StatusCode::kOk, ""},
      {"..", true, absl::StatusCode::kInvalidArgument, "model name '..' must not start with '.'"},
      {"../outside", true, absl::StatusCode::kInvalidArgument,
       "model name '../outside' must not start with '.'"},
      {"/etc", true, absl::StatusCode::kInvalidArgument,
       "model name '/etc' may only contain letters, digits, '_', '-' and '.'"},
      {"a/../good", true, absl::StatusCode::kInvalidArgument,
       "model name 'a/../good' may only contain letters, digits, '_', '-' and '.'"},
      {std::string("good\0x", 6), true, absl::StatusCode::kInvalidArgument,
       "model name must not contain a NUL byte"},
      {".hidden", false, absl::StatusCode::kInvalidArgument,
       "model name '.hidden' must not start with '.'"},
      {"", true, absl::StatusCode::kInvalidArgument, "model name must be 1 to 128 characters"},
      {"out", true, absl::StatusCode::kInvalidArgument,
       "model name 'out' is refused: " + repo +
           "/out: symlink escapes the model repository (it "
           "resolves to " +
           (base_ / "outside").string() + ", outside " + repo + ")"},
      {"out", false, absl::StatusCode::kInvalidArgument, ""},
      {"rel_out", true, absl::StatusCode::kInvalidArgument, ""},
      {"dangling", true, absl::StatusCode::kInvalidArgument, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + (c.must_exist ? " (load)" : " (unload)"));
    absl::Status s = CheckControlName(repo, c.name, c.must_exist);
    EXPECT_EQ(s.code(), c.code) << s;
    if (!c.message.empty()) {
      EXPECT_EQ(s.message(), c.message);
    }
  }
  // The refused folder outside was never written to.
  EXPECT_EQ(fs::file_size(base_ / "outside" / "config.pbtxt"), 8u);
}

TEST_F(ModelControlTest, AdminTokenFileWinsOverTheEnvironment) {
  const std::string file = (base_ / "token").string();
  std::ofstream(file) << "  from-file \nsecond line\n";
  EXPECT_EQ(*ReadAdminToken(file, "from-env"), "from-file");
  EXPECT_EQ(*ReadAdminToken("", "from-env"), "from-env");
  EXPECT_EQ(ReadAdminToken("", nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAdminToken("", " ").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAdminToken((base_ / "absent").string(), "from-env").status().message(),
            "--admin-token-file " + (base_ / "absent").string() + ": cannot be read");
  std::ofstream(file, std::ios::trunc) << "\n";
  EXPECT_EQ(ReadAdminToken(file, "from-env").status().message(),
            "--admin-token-file " + file + ": the first line holds no token");
}

TEST_F(ModelControlTest, ModeNoneRefusesAndCounts) {
  Model("good", 0);
  StartControl(false);
  absl::Status s = Load("good");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.message(), "--model-control-mode explicit")) << s;
  EXPECT_EQ(Unload("good").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("load", "disabled"), 1);
  EXPECT_EQ(Count("unload", "disabled"), 1);
  EXPECT_TRUE(control_->Index("").ok());  // the index stays open without model control
  EXPECT_EQ(Count("index", "ok"), 1);
}

TEST_F(ModelControlTest, RefusalsAreCountedOnceEach) {
  Model("good", 0);
  StartControl(true);
  EXPECT_EQ(Load("good", "").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Load("good", "Bearer nope").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Load("..").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("missing").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Unload("good", "Bearer nope").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(control_->Index("").status().code(), absl::StatusCode::kUnauthenticated);
  std::promise<absl::Status> p;
  control_->Load("good", "Bearer s3cret", true, [&p](absl::Status s) { p.set_value(s); });
  EXPECT_EQ(p.get_future().get().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("load", "unauthenticated"), 1);
  EXPECT_EQ(Count("load", "permission_denied"), 1);
  EXPECT_EQ(Count("load", "invalid_name"), 1);
  EXPECT_EQ(Count("load", "not_found"), 1);
  EXPECT_EQ(Count("load", "unsupported"), 1);
  EXPECT_EQ(Count("unload", "permission_denied"), 1);
  EXPECT_EQ(Count("index", "unauthenticated"), 1);
  EXPECT_EQ(Count("load", "ok"), 0);
  // Nothing was loaded by any of them.
  EXPECT_TRUE(service_.Models().empty());
}

TEST_F(ModelControlTest, LoadUnloadAndTheIndex) {
  Model("m", 0);
  Model("other", 0);
  StartControl(true);
  auto index = control_->Index("Bearer s3cret");
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->size(), 2u);
  EXPECT_EQ((*index)[0].name, "m");
  EXPECT_EQ((*index)[0].reason, "not loaded");
  ASSERT_TRUE(Load("m").ok());
  EXPECT_TRUE(Infer("m").get().ok());
  index = control_->Index("Bearer s3cret");
  EXPECT_EQ((*index)[0].state, "READY");
  EXPECT_EQ((*index)[0].version, "1");
  ASSERT_TRUE(Unload("m").ok());
  absl::Status gone = Infer("m").get();
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gone.message(),
            "model 'm' is not loaded (unloaded; POST /v2/repository/models/m/load loads it)");
  index = control_->Index("Bearer s3cret");
  EXPECT_EQ((*index)[0].state, "UNAVAILABLE");
  EXPECT_EQ((*index)[0].reason, "unloaded");
  EXPECT_TRUE(Unload("m").ok());  // unloading again is harmless
  EXPECT_EQ(Unload("never").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(Load("m").ok());  // and it comes back
  EXPECT_TRUE(Infer("m").get().ok());
  EXPECT_EQ(Count("load", "ok"), 2);
  EXPECT_EQ(Count("unload", "ok"), 2);
  EXPECT_EQ(Count("unload", "not_found"), 1);
}

// Requests already admitted when the unload starts are all answered OK; the
// unload returns only after that; later requests are NotFound.
TEST_F(ModelControlTest, UnloadWaitsForAdmittedRequests) {
  Model("slow", 50);
  StartControl(true);
  ASSERT_TRUE(Load("slow").ok());
  std::vector<std::future<absl::Status>> inflight;
  for (int i = 0; i < 6; ++i) inflight.push_back(Infer("slow"));
  ASSERT_TRUE(Unload("slow").ok());
  for (auto& f : inflight) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  EXPECT_EQ(Infer("slow").get().code(), absl::StatusCode::kNotFound);
}

// A reload while requests flow: every request is answered OK, by the old
// version or by the new one.
TEST_F(ModelControlTest, ReloadUnderLoadDropsNothing) {
  Model("m", 2);
  StartControl(true);
  ASSERT_TRUE(Load("m").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        absl::Status s = Infer("m").get();
        (s.ok() ? ok : failed)++;
        if (!s.ok()) ADD_FAILURE() << s;
      }
    });
  }
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Load("m").ok());
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(Count("load", "ok"), 5);
  EXPECT_EQ(service_.Models().size(), 1u);
}

TEST_F(ModelControlTest, TrustLoopbackAdmitsOnlyTokenlessGrpcFromLoopbackAndCountsIt) {
  Model("m", 0);
  StartControl(true, /*trust_loopback=*/true);
  // The agent: gRPC from 127.0.0.1 or ::1, no token.
  EXPECT_EQ(LoadFrom("m", "", "ipv4:127.0.0.1:40000"), absl::OkStatus());
  EXPECT_EQ(Count("load", "loopback_trusted"), 1);
  EXPECT_EQ(Count("load", "ok"), 1);
  EXPECT_TRUE(service_.FindModel("m", "1").ok());
  auto index = control_->Index(core::ControlCaller{"", "ipv6:%5B::1%5D:40001"});
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->size(), 1u);
  EXPECT_EQ((*index)[0].name, "m");
  EXPECT_EQ((*index)[0].state, "READY");
  EXPECT_EQ(Count("index", "loopback_trusted"), 1);
  EXPECT_EQ(UnloadFrom("m", "", "ipv6:[::1]:40002"), absl::OkStatus());
  EXPECT_EQ(Count("unload", "loopback_trusted"), 1);
  EXPECT_EQ(Count("unload", "ok"), 1);
  EXPECT_FALSE(service_.FindModel("m", "1").ok());

  // Everyone else still needs the token: other addresses (Istio's 127.0.0.6
  // included), and HTTP (no peer) even when it came over loopback.
  for (const std::string peer :
       {"ipv4:127.0.0.6:40003", "ipv4:10.0.0.7:40004", "ipv6:[fd00::2]:40005", "unix:/tmp/x", ""}) {
    absl::Status s = LoadFrom("m", "", peer);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << peer;
  }
  EXPECT_EQ(Load("m", "").code(), absl::StatusCode::kUnauthenticated);  // the HTTP form
  EXPECT_EQ(Count("load", "unauthenticated"), 6);
  EXPECT_EQ(LoadFrom("m", "Bearer nope", "ipv4:10.0.0.7:40006").code(),
            absl::StatusCode::kPermissionDenied);
  // A token sent from loopback is judged as a token: a wrong one is refused.
  EXPECT_EQ(LoadFrom("m", "Bearer nope", "ipv4:127.0.0.1:40007").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("load", "permission_denied"), 2);
  EXPECT_EQ(LoadFrom("m", "Bearer s3cret", "ipv4:10.0.0.7:40008"), absl::OkStatus());
  EXPECT_EQ(Count("load", "ok"), 2);
  EXPECT_EQ(Count("load", "loopback_trusted"), 1);
  // Admitted, then refused by the name check: counted both ways.
  EXPECT_EQ(LoadFrom("../m", "", "ipv4:127.0.0.1:40009").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("load", "loopback_trusted"), 2);
  EXPECT_EQ(Count("load", "invalid_name"), 1);
}

TEST_F(ModelControlTest, WithoutTrustLoopbackLoopbackNeedsTheToken) {
  Model("m", 0);
  StartControl(true);
  EXPECT_EQ(LoadFrom("m", "", "ipv4:127.0.0.1:40000").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count("load", "unauthenticated"), 1);
  EXPECT_EQ(Count("load", "loopback_trusted"), 0);
  EXPECT_FALSE(service_.FindModel("m", "1").ok());
}

TEST_F(ModelControlTest, TrustLoopbackWithoutATokenRefusesEveryoneElse) {
  Model("m", 0);
  StartControl(true, /*trust_loopback=*/true, /*token=*/"");
  absl::Status s = LoadFrom("m", "", "ipv4:192.0.2.2:40000");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(),
            "model control is open only to gRPC callers on this host's loopback address "
            "(127.0.0.1, ::1; --model-control-trust-loopback) because tide serve was given no "
            "admin token");
  // No token configured: no bearer value matches (not even an empty one).
  EXPECT_EQ(LoadFrom("m", "Bearer ", "ipv4:192.0.2.2:40001").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count("load", "unauthenticated"), 2);
  EXPECT_EQ(LoadFrom("m", "", "ipv4:127.0.0.1:40002"), absl::OkStatus());
  EXPECT_TRUE(service_.FindModel("m", "1").ok());
}

TEST_F(ModelControlTest, TrustLoopbackNeedsExplicitMode) {
  ModelControlService::Options o;
  o.enabled = false;
  o.trust_loopback = true;
  o.service = &service_;
  o.load.repository = root_.string();
  o.load.backends = &backends_;
  o.load.metrics = &metrics_;
  auto c = ModelControlService::Create(std::move(o));
  EXPECT_EQ(c.status(), absl::InvalidArgumentError(
                            "--model-control-trust-loopback needs --model-control-mode explicit"));
}

}  // namespace
}  // namespace tide::server
