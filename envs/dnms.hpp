// Delayed non-match-to-sample (DNMS) task of Miconi (2017), seed_systems.md §4.2, exactly as in
// his dnms/net.cpp (github.com/ThomasMiconi/BiologicallyPlausibleLearningRNN):
//
//   * two input channels, A (channel 0) and B (channel 1); a trial lasts trial_steps steps of
//     dt (1000 × 1 ms);
//   * stimulus 1 is on during steps [stim1_start, stim1_start + stim_steps) = [1, 201),
//     stimulus 2 during [stim2_start, stim2_start + stim_steps) = [400, 600); the active channel
//     carries 1, the other 0;
//   * the response window is the last response_steps = 200 steps ([800, 1000));
//   * target = +0.98 if the two stimuli differ (non-match), −0.98 if they match;
//   * error = mean over the response window of |r_out − target|;
//   * trial types cycle deterministically: type = trial mod 4, type = 2·first + second with
//     A = 0, B = 1, i.e. AA, AB, BA, BB (Miconi's patterns 0..3).
//
// DnmsInputPopulation makes the task's input a block of a circuit (block type "dnms_input"): a
// clocked "population" of 2 channels whose continuous output is the current trial's input, so a
// current coupling carries W_in·u to a rate population in a plain simulator run as well.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.hpp"
#include "engine/population.hpp"

namespace sbx {

struct DnmsParams {
  std::int64_t trial_steps = 1000;
  std::int64_t stim1_start = 1;
  std::int64_t stim2_start = 400;
  std::int64_t stim_steps = 200;
  std::int64_t response_steps = 200;
  double target = 0.98;

  // Problems with the timing (empty = fine), for load-time checks.
  std::vector<std::string> validate() const;
};

class DnmsTask {
 public:
  static constexpr std::uint32_t n_types = 4;
  static constexpr std::uint32_t n_channels = 2;

  explicit DnmsTask(const DnmsParams& p = {});  // throws UserError if !p.validate().empty()

  const DnmsParams& params() const { return p_; }
  static std::uint32_t type_of_trial(std::uint64_t trial) {
    return static_cast<std::uint32_t>(trial % n_types);
  }
  static std::uint32_t first_stimulus(std::uint32_t type) { return type / 2; }   // 0 = A, 1 = B
  static std::uint32_t second_stimulus(std::uint32_t type) { return type % 2; }  // 0 = A, 1 = B
  static bool is_match(std::uint32_t type) { return first_stimulus(type) == second_stimulus(type); }
  double target(std::uint32_t type) const { return is_match(type) ? -p_.target : p_.target; }

  // Input of both channels at `step` of a trial of `type`.
  void input(std::uint32_t type, std::int64_t step, double out[n_channels]) const;
  bool in_response(std::int64_t step) const {
    return step >= p_.trial_steps - p_.response_steps && step < p_.trial_steps;
  }
  std::int64_t response_start() const { return p_.trial_steps - p_.response_steps; }
  // Mean |r_out − target| over the response window; `r_out` holds the output of the
  // response_steps steps of the window, in order.
  double error(std::uint32_t type, std::span<const double> r_out) const;

 private:
  DnmsParams p_;
};

// Criterion of Miconi's figure: the first trial t (0-based) such that more than `needed` of the
// `window` trials ending at t (t − window + 1 .. t) have error < threshold; -1 if never.
long dnms_criterion_trial(std::span<const double> errors, std::size_t window = 100,
                          std::size_t needed = 95, double threshold = 1.0);

class DnmsInputPopulation final : public Population {
 public:
  explicit DnmsInputPopulation(const DnmsParams& p);

  std::string_view model() const override { return "dnms_input"; }
  std::uint32_t size() const override { return DnmsTask::n_channels; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  // Moves to the next step of the trial sequence (trial k has type k mod 4).
  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override;
  const double* continuous_output() const override { return u_; }
  double* state(std::string_view name) override { return name == "u" ? u_ : nullptr; }
  std::vector<std::string> state_names() const override { return {"u"}; }
  void save_state(std::vector<double>& out) const override;
  void load_state(std::span<const double> in) override;

  // Restart the sequence at step 0 of `trial`.
  void set_position(std::uint64_t trial, std::int64_t step = 0);
  std::uint64_t trial() const { return trial_; }

 private:
  void refresh();
  DnmsTask task_;
  std::uint64_t trial_ = 0;
  std::int64_t step_ = 0;
  double u_[DnmsTask::n_channels] = {0.0, 0.0};
};

// ---- definitions (header-only: the circuit registry builds dnms_input blocks) ----

inline std::vector<std::string> DnmsParams::validate() const {
  std::vector<std::string> e;
  if (trial_steps < 1) e.push_back("trial_steps must be >= 1");
  if (stim_steps < 0) e.push_back("stim_steps must be >= 0");
  if (stim1_start < 0 || stim1_start + stim_steps > trial_steps)
    e.push_back("stimulus 1 must lie inside the trial");
  if (stim2_start < stim1_start + stim_steps || stim2_start + stim_steps > trial_steps)
    e.push_back("stimulus 2 must start after stimulus 1 ends and lie inside the trial");
  if (response_steps < 1 || response_steps > trial_steps)
    e.push_back("response_steps must be in [1, trial_steps]");
  if (!std::isfinite(target)) e.push_back("target must be finite");
  return e;
}

inline DnmsTask::DnmsTask(const DnmsParams& p) : p_(p) {
  const auto e = p.validate();
  if (!e.empty()) throw UserError("dnms: " + e.front());
}

inline void DnmsTask::input(std::uint32_t type, std::int64_t step, double out[n_channels]) const {
  out[0] = out[1] = 0.0;
  if (step >= p_.stim1_start && step < p_.stim1_start + p_.stim_steps)
    out[first_stimulus(type)] = 1.0;
  if (step >= p_.stim2_start && step < p_.stim2_start + p_.stim_steps)
    out[second_stimulus(type)] = 1.0;
}

inline double DnmsTask::error(std::uint32_t type, std::span<const double> r_out) const {
  if (r_out.size() != static_cast<std::size_t>(p_.response_steps))
    throw InternalError("DnmsTask::error: expected " + std::to_string(p_.response_steps) +
                        " outputs, got " + std::to_string(r_out.size()));
  const double tgt = target(type);
  double s = 0.0;
  for (double r : r_out) s += std::abs(r - tgt);
  return s / static_cast<double>(r_out.size());
}

inline long dnms_criterion_trial(std::span<const double> errors, std::size_t window,
                                 std::size_t needed, double threshold) {
  std::size_t good = 0;
  for (std::size_t t = 0; t < errors.size(); ++t) {
    if (errors[t] < threshold) ++good;
    if (t >= window && errors[t - window] < threshold) --good;
    if (t + 1 >= window && good > needed) return static_cast<long>(t);
  }
  return -1;
}

inline DnmsInputPopulation::DnmsInputPopulation(const DnmsParams& p) : task_(p) {
  refresh();
}

inline void DnmsInputPopulation::step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) {
  (void)ctx, (void)spiked;
  if (++step_ >= task_.params().trial_steps) {
    step_ = 0;
    ++trial_;
  }
  refresh();
}

inline void DnmsInputPopulation::refresh() {
  task_.input(DnmsTask::type_of_trial(trial_), step_, u_);
}

inline void DnmsInputPopulation::set_position(std::uint64_t trial, std::int64_t step) {
  trial_ = trial;
  step_ = step;
  refresh();
}

inline void DnmsInputPopulation::save_state(std::vector<double>& out) const {
  out = {static_cast<double>(trial_), static_cast<double>(step_)};
}

inline void DnmsInputPopulation::load_state(std::span<const double> in) {
  if (in.size() != 2) throw InternalError("DnmsInputPopulation::load_state: expected 2 values");
  set_position(static_cast<std::uint64_t>(in[0]), static_cast<std::int64_t>(in[1]));
}

}  // namespace sbx
