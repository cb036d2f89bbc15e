#include "autoscaler/controller.h"

#include <string>
#include <utility>

#include "absl/strings/str_join.h"

namespace tide::autoscaler {

absl::StatusOr<std::unique_ptr<Controller>> Controller::Create(Options options) {
  if (options.target == nullptr || options.metrics == nullptr) {
    return absl::InvalidArgumentError("Controller needs a ScaleTarget and a MetricsSource");
  }
  ValidationOptions vo;
  vo.hpa_scale_to_zero = options.config.hpa_scale_to_zero;
  vo.require_scale_target_ref = false;
  std::vector<FieldError> errors = Validate(options.spec, vo);
  if (!errors.empty()) {
    std::vector<std::string> lines;
    for (const FieldError& e : errors) lines.push_back(e.ToString());
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  ApplyDefaults(&options.spec);
  return std::unique_ptr<Controller>(new Controller(std::move(options)));
}

Controller::Controller(Options options)
    : spec_(std::move(options.spec)),
      config_(options.config),
      target_(options.target),
      metrics_(options.metrics),
      clock_(options.clock) {}

ReconcileResult Controller::RunOnce(absl::Time now) {
  ReconcileResult result;
  result.time = now;
  next_sync_ = now + config_.sync_period;
  absl::StatusOr<ScaleState> scale = target_->GetScale();
  if (!scale.ok()) {
    result.status = scale.status();
    last_ = result;
    return result;
  }
  Snapshot snapshot;
  snapshot.current_replicas = scale->spec_replicas;
  snapshot.status_replicas = scale->status_replicas;
  snapshot.scaled_to_zero_condition = scaled_to_zero_;
  if (absl::Status s = metrics_->Observe(spec_, now, &snapshot); !s.ok()) {
    result.status = s;
    last_ = result;
    return result;
  }
  Decision d = Decide(spec_, config_, snapshot, now, &history_);
  if (d.rescale) {
    absl::Status s = target_->SetReplicas(d.desired_replicas);
    if (s.ok()) {
      RecordScale(spec_, d.current_replicas, d.desired_replicas, now, &history_);
      scaled_to_zero_ =
          ScaledToZeroAfterScale(spec_, config_, d.current_replicas, d.desired_replicas);
      result.scaled = true;
    } else {
      result.status = s;
    }
  }
  result.decision = std::move(d);
  last_ = result;
  return result;
}

std::optional<ReconcileResult> Controller::RunIfDue() {
  if (clock_ == nullptr) return std::nullopt;
  absl::Time now = clock_->Now();
  if (next_sync_.has_value() && now < *next_sync_) return std::nullopt;
  return RunOnce(now);
}

}  // namespace tide::autoscaler
