#include "server/model_control.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/text.h"
#include "core/model_repository.h"
#include "server/loopback_peer.h"
#include "spdlog/spdlog.h"

namespace tide::server {
namespace {

constexpr const char* kActions[] = {"index", "load", "unload"};
constexpr const char* kResults[] = {
    "ok",        "disabled",    "unauthenticated", "permission_denied", "invalid_name",
    "not_found", "unsupported", "failed",          "loopback_trusted"};

const char* ResultFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kNotFound:
      return "not_found";
    default:
      return "invalid_name";
  }
}

}  // namespace

bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  if (expected.empty()) return false;
  // Every byte of `given` is compared (against the expected byte at the same
  // place, cycling), and the length difference is folded in: no early exit.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return diff == 0;
}

absl::Status CheckBearer(std::string_view authorization, std::string_view token) {
  std::string_view a = common::Trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (a.size() <= kScheme.size() ||
      !common::EqualsIgnoreCase(a.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "model control needs the admin token: send 'Authorization: Bearer <token>' (gRPC: "
        "metadata 'authorization')");
  }
  std::string_view given = common::TrimLeft(a.substr(kScheme.size()));
  if (!ConstantTimeEquals(given, token)) {
    return absl::PermissionDeniedError("the admin token is not the one tide serve was given");
  }
  return absl::OkStatus();
}

absl::Status CheckControlName(const std::string& repository, const std::string& name,
                              bool must_exist) {
  if (name.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("model name must not contain a NUL byte");
  }
  if (absl::Status s = core::ValidateModelName(name); !s.ok()) return s;
  const std::string dir = absl::StrCat(repository, "/", name);
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    if (!must_exist) return absl::OkStatus();
    return absl::NotFoundError(
        absl::StrCat("no model folder '", name, "' in the model repository ", repository));
  }
  // realpath of the folder (symlinks followed) must stay under the
  // repository's realpath; nothing inside is opened.
  absl::StatusOr<std::string> real = core::ResolveInRepository(repository, dir);
  if (!real.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model name '", name, "' is refused: ", real.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAdminToken(const std::string& token_file, const char* env_token) {
  std::string token;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--admin-token-file ", token_file, ": cannot be read"));
    }
    std::getline(in, token);
    token = std::string(absl::StripAsciiWhitespace(token));
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--admin-token-file ", token_file, ": the first line holds no token"));
    }
    return token;
  }
  if (env_token != nullptr) token = std::string(absl::StripAsciiWhitespace(env_token));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        "--model-control-mode explicit needs an admin token: --admin-token-file FILE or the "
        "environment variable TIDE_ADMIN_TOKEN");
  }
  return token;
}

absl::StatusOr<std::unique_ptr<ModelControlService>> ModelControlService::Create(Options o) {
  if (o.service == nullptr || o.load.backends == nullptr || o.load.metrics == nullptr) {
    return absl::InvalidArgumentError("ModelControlService needs a service, backends and metrics");
  }
  if (o.trust_loopback && !o.enabled) {
    return absl::InvalidArgumentError(
        "--model-control-trust-loopback needs --model-control-mode explicit");
  }
  if (o.enabled && o.token.empty() && !o.trust_loopback) {
    return absl::InvalidArgumentError("explicit model control needs an admin token");
  }
  auto c = std::unique_ptr<ModelControlService>(new ModelControlService(std::move(o)));
  // Every series exists from the start (at 0), so a refusal shows as 0 → 1.
  if (c->options_.requests) {
    for (const char* a : kActions) {
      for (const char* r : kResults) c->options_.requests->WithLabels({a, r});
    }
  }
  c->thread_ = std::thread([p = c.get()] { p->Run(); });
  return c;
}

ModelControlService::ModelControlService(Options options) : options_(std::move(options)) {}

ModelControlService::~ModelControlService() { Stop(); }

bool ModelControlService::Stop(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // Nothing under way or queued: true at once, even with the deadline
    // passed (the thread then only has to notice stopping_).
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !busy_ && work_.empty(); };
    if (!mu_.AwaitWithDeadline(absl::Condition(&done), deadline)) return false;
  }
  if (thread_.joinable()) thread_.join();
  return true;
}

void ModelControlService::Count(const char* action, const char* result) {
  if (options_.requests) options_.requests->WithLabels({action, result})->Increment();
}

absl::Status ModelControlService::Admit(const char* action, const core::ControlCaller& caller,
                                        std::string_view name) {
  absl::Status s;
  if (!options_.enabled) {
    s = absl::FailedPreconditionError(
        "explicit model load / unload is not allowed: model control is off "
        "(--model-control-mode none, the default). Start tide serve with "
        "--model-control-mode explicit and an admin token (--admin-token-file FILE or "
        "TIDE_ADMIN_TOKEN) to load and unload models");
    Count(action, "disabled");
    return s;
  }
  // A request that brings a token is judged by it, wherever it comes from.
  if (options_.trust_loopback && common::Trim(caller.authorization).empty() &&
      IsLoopbackGrpcPeer(caller.grpc_peer)) {
    Count(action, "loopback_trusted");
    // The name is not checked yet: keep control characters out of the log.
    bool printable = std::all_of(name.begin(), name.end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    });
    if (!printable) name = "(a name with control characters)";
    if (name.size() > 128) name = "(a name longer than 128 characters)";
    spdlog::info(
        "model control: {}{}{} admitted without a token from gRPC peer {} "
        "(--model-control-trust-loopback)",
        action, name.empty() ? "" : " ", name, caller.grpc_peer);
    return absl::OkStatus();
  }
  if (options_.token.empty()) {
    s = absl::UnauthenticatedError(
        "model control is open only to gRPC callers on this host's loopback address (127.0.0.1, "
        "::1; --model-control-trust-loopback) because tide serve was given no admin token");
  } else {
    s = CheckBearer(caller.authorization, options_.token);
  }
  if (!s.ok()) Count(action, ResultFor(s));
  return s;
}

absl::StatusOr<std::vector<core::ModelState>> ModelControlService::Index(
    const core::ControlCaller& caller) {
  std::vector<core::ModelState> index = options_.service->Index();
  if (!options_.enabled) {  // open, as without model control
    Count("index", "ok");
    return index;
  }
  if (absl::Status s = Admit("index", caller); !s.ok()) return s;
  // Repository folders the server has not seen yet (added after startup).
  std::set<std::string> known;
  for (const core::ModelState& m : index) known.insert(m.name);
  std::vector<std::string> warnings;
  if (auto names = core::ListModels(options_.load.repository, &warnings); names.ok()) {
    for (const std::string& n : *names) {
      if (!known.count(n)) index.push_back({n, "", "UNAVAILABLE", "not loaded"});
    }
  }
  std::sort(index.begin(), index.end(), [](const core::ModelState& a, const core::ModelState& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  Count("index", "ok");
  return index;
}

void ModelControlService::Load(const std::string& name, const core::ControlCaller& caller,
                               bool with_parameters, core::ControlCallback done) {
  if (absl::Status s = Admit("load", caller, name); !s.ok()) return done(s);
  if (with_parameters) {
    Count("load", "unsupported");
    return done(absl::InvalidArgumentError(
        "load parameters (Triton's 'config' override and 'file:' contents) are not supported by "
        "tide: put the configuration in the repository and send the load without parameters"));
  }
  if (absl::Status s = CheckControlName(options_.load.repository, name, true); !s.ok()) {
    Count("load", ResultFor(s));
    return done(s);
  }
  bool posted = Post([this, name, done] {
    absl::Status s = DoLoad(name);
    Count("load", s.ok() ? "ok" : "failed");
    done(s);
  });
  if (!posted) done(absl::UnavailableError("tide serve is shutting down"));
}

void ModelControlService::Unload(const std::string& name, const core::ControlCaller& caller,
                                 core::ControlCallback done) {
  if (absl::Status s = Admit("unload", caller, name); !s.ok()) return done(s);
  if (absl::Status s = CheckControlName(options_.load.repository, name, false); !s.ok()) {
    Count("unload", ResultFor(s));
    return done(s);
  }
  bool posted = Post([this, name, done] {
    absl::Status s = DoUnload(name);
    Count("unload", s.ok() ? "ok" : ResultFor(s));
    done(s);
  });
  if (!posted) done(absl::UnavailableError("tide serve is shutting down"));
}

bool ModelControlService::Post(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  work_.push_back(std::move(work));
  return true;
}

void ModelControlService::Run() {
  for (;;) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !work_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (work_.empty()) return;  // stopping, nothing left
      work = std::move(work_.front());
      work_.pop_front();
      busy_ = true;
    }
    work();
    absl::MutexLock lock(&mu_);
    busy_ = false;
  }
}

absl::Status ModelControlService::DoLoad(const std::string& name) {
  const ServerMetrics& sm = *options_.load.metrics;
  LoadResult r;
  LoadModel(options_.load, name, &r);
  for (const std::string& w : r.warnings) spdlog::warn("{}", w);
  bool serving = false;
  for (const auto& m : options_.service->Models()) serving |= m->spec.name == name;
  if (!r.failed.empty() || r.loaded.empty()) {
    std::vector<std::string> why;
    for (const core::ModelState& f : r.failed) {
      why.push_back(f.version.empty() ? f.reason
                                      : absl::StrCat("version ", f.version, ": ", f.reason));
    }
    // The versions that did load are dropped (their schedulers shut down);
    // a version number still served by the old load keeps its ready gauge.
    for (const auto& m : r.loaded) {
      if (!options_.service->FindModel(name, absl::StrCat(m->version)).ok()) {
        sm.model_ready->WithLabels({name, absl::StrCat(m->version)})->Set(0);
      }
    }
    r.loaded.clear();
    if (!serving) options_.service->SetModelFailed(name, r.failed);
    std::string msg = absl::StrCat("failed to load '", name, "': ", absl::StrJoin(why, "; "),
                                   serving ? " (the versions loaded before keep serving)" : "");
    spdlog::error("model control: {}", msg);
    return absl::InvalidArgumentError(msg);
  }
  std::set<int64_t> now;
  for (const auto& m : r.loaded) now.insert(m->version);
  auto old = options_.service->ReplaceModel(name, std::move(r.loaded));
  for (const auto& m : old) {
    if (!now.count(m->version))
      sm.model_ready->WithLabels({name, absl::StrCat(m->version)})->Set(0);
  }
  spdlog::info("model control: {} '{}' ({} version(s) replaced)",
               old.empty() ? "loaded" : "reloaded", name, old.size());
  return absl::OkStatus();
}

absl::Status ModelControlService::DoUnload(const std::string& name) {
  bool known = false;
  for (const core::ModelState& m : options_.service->Index()) known |= m.name == name;
  if (!known) {
    struct stat st;
    if (lstat(absl::StrCat(options_.load.repository, "/", name).c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("unknown model '", name, "'"));
    }
  }
  auto old = options_.service->UnloadModel(name);
  for (const auto& m : old) {
    options_.load.metrics->model_ready->WithLabels({name, absl::StrCat(m->version)})->Set(0);
  }
  spdlog::info("model control: unloaded '{}' ({} version(s))", name, old.size());
  return absl::OkStatus();
}

}  // namespace tide::server
