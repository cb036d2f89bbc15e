#pragma once

// Arrival processes for open-loop load: the intended send times of requests,
// as offsets from the start of a run. Pure and deterministic: a process built
// with the same parameters (and seed) yields the same sequence, and never
// reads a clock. The load engine asks each worker's own copy for the next
// offset and sends when the wall clock reaches it.

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tide::workload {

class ArrivalProcess {
 public:
  virtual ~ArrivalProcess() = default;
  // The next intended send time (offset from the run's start, non-decreasing),
  // or nullopt when the process has no more arrivals.
  virtual std::optional<absl::Duration> Next() = 0;
  // A fresh process that yields the same sequence from the beginning.
  virtual std::unique_ptr<ArrivalProcess> Clone() const = 0;
};

// Evenly spaced at `rate` per second: k / rate for k = 0, 1, 2, ...
// Offsets are computed from k (no accumulated rounding).
class ConstantArrivals final : public ArrivalProcess {
 public:
  explicit ConstantArrivals(double rate) : rate_(rate) {}
  std::optional<absl::Duration> Next() override;
  std::unique_ptr<ArrivalProcess> Clone() const override;

 private:
  double rate_;
  int64_t k_ = 0;
};

// A Poisson process of `rate` per second: exponential inter-arrival times
// drawn from a 64-bit Mersenne Twister seeded with `seed`.
class PoissonArrivals final : public ArrivalProcess {
 public:
  PoissonArrivals(double rate, uint64_t seed);
  std::optional<absl::Duration> Next() override;
  std::unique_ptr<ArrivalProcess> Clone() const override;

 private:
  double rate_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  double t_s_ = 0;  // seconds
};

// A fixed list of offsets (e.g. a replayed trace), in order.
class ListArrivals final : public ArrivalProcess {
 public:
  explicit ListArrivals(std::shared_ptr<const std::vector<absl::Duration>> offsets)
      : offsets_(std::move(offsets)) {}
  std::optional<absl::Duration> Next() override;
  std::unique_ptr<ArrivalProcess> Clone() const override;

 private:
  std::shared_ptr<const std::vector<absl::Duration>> offsets_;
  size_t i_ = 0;
};

// "poisson" or "constant" at `rate` (> 0). InvalidArgument otherwise.
absl::StatusOr<std::unique_ptr<ArrivalProcess>> MakeArrivals(const std::string& kind, double rate,
                                                             uint64_t seed);

// Synthetic load shapes for `tide sim`: a Poisson process whose rate varies
// with time, drawn by thinning (Lewis and Shedler: candidates at the peak
// rate, each kept with probability rate(t) / peak), or switched by a hidden
// two-state Markov chain (MMPP). Seeded, deterministic, never ending.
struct ShapeParams {
  double rate = 0;  // base rate, requests/s (diurnal: the mean)
  double peak_rate =
      0;  // step: after; spike: during; ramp: at the end; diurnal: the maximum; mmpp: high state
  double at_s = 60;         // step, spike, ramp: when the change starts
  double length_s = 60;     // spike: how long; ramp: how long the climb takes
  double period_s = 86400;  // diurnal: one cycle
  double mmpp_low_s = 60;   // mmpp: mean stay in the base state
  double mmpp_high_s = 10;  // mmpp: mean stay in the peak state
};

class ShapedArrivals final : public ArrivalProcess {
 public:
  enum class Shape { kStep, kSpike, kRamp, kDiurnal, kMmpp };
  ShapedArrivals(Shape shape, const ShapeParams& params, uint64_t seed);
  std::optional<absl::Duration> Next() override;
  std::unique_ptr<ArrivalProcess> Clone() const override;
  // The rate at `t_s` (not for MMPP, whose rate is random).
  double RateAt(double t_s) const;

 private:
  double Exponential(double rate);
  double Uniform();

  Shape shape_;
  ShapeParams p_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  double t_s_ = 0;
  bool high_ = false;        // mmpp: in the peak state
  double switch_at_s_ = -1;  // mmpp: when the state changes next
};

// "step", "spike", "ramp", "diurnal" or "mmpp", checked (rates > 0 and
// finite, diurnal peak <= 2 x mean, durations > 0). InvalidArgument names the
// parameter.
absl::StatusOr<std::unique_ptr<ArrivalProcess>> MakeShapedArrivals(const std::string& kind,
                                                                   const ShapeParams& params,
                                                                   uint64_t seed);

}  // namespace tide::workload
