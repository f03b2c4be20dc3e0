// The "dnms" experiment: Miconi's (2017) delayed non-match-to-sample training of a recurrent rate
// network with the exploratory-perturbation + eligibility-trace rule (seed_systems.md §4.2).
//
// The circuit is built by the generic builder (so every weight is drawn by the standard edge
// machinery from the edge's named random stream), then the recurrent coupling and the input
// coupling are copied into dense matrices and the trials run on a dense kernel: a 200-unit fully
// connected network is a matrix-vector product per step, and the rule needs the whole matrix at
// trial end. Per step (dt = [run].dt, k = dt/tau), exactly Miconi's dnms/net.cpp:
//   r_prev = r;  I = J·r + W_in·u(step) + I_bias + p(step);  x += k·(−x + I);  clamp;  r = tanh(x)
//   eligibility += f(r_prev, x, p)   (models/rate_rules.hpp)
// tests/rate checks that this kernel reproduces the generic simulator's trajectory of the same
// TOML circuit (no perturbation, no clamps).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/run_plain.hpp"
#include "envs/dnms.hpp"
#include "models/rate_rules.hpp"
#include "models/rate_unit.hpp"

namespace sbx::app {

struct DnmsSetup {
  DnmsParams task;
  MiconiParams rule;
  std::uint32_t n = 0;
  RateParams unit;
  RateTransfer transfer = RateTransfer::tanh;
  double dt_ms = 1.0;
  circuits::Distribution x_init = circuits::Distribution::constant(0.0);
  std::vector<double> J;     // n x n row-major, J[i*n + j] = weight j -> i
  std::vector<double> W_in;  // n x 2 row-major
  std::uint32_t output = 0;
  std::vector<std::uint32_t> clamp;
  std::vector<double> clamp_value;
  std::uint64_t n_trials = 0;
  std::uint64_t seed = 1;
  std::uint64_t snapshot_every = 0;
  std::string network, task_block, recurrent_edge, rule_name;
};

// Validates the experiment against the circuit and draws the weights (builds the circuit).
// Throws UserError with positions.
DnmsSetup dnms_setup(const circuits::CircuitDescription& desc);

struct DnmsTrialResult {
  std::uint32_t type = 0;
  double error = 0.0;           // mean |r_out − target| over the response window
  double mean_output = 0.0;     // mean r_out over the response window
  double expected_error = 0.0;  // ē of the trial type before this trial
  double modulator = 0.0;  // −η·ē·(error − ē) applied to the eligibility (0 = no change)
};

class DnmsNetwork {
 public:
  explicit DnmsNetwork(const DnmsSetup& s);
  // Runs trial `trial` (type trial mod 4). learn = false: no perturbation, no eligibility, no
  // weight change (the running error is still updated). `x_trace`, if given, receives x after
  // every step (n values per step). fresh_state = false keeps x as set by set_x (no redraw from
  // x_init, no clamp at the start), to compare with the generic simulator.
  DnmsTrialResult run_trial(std::uint64_t trial, bool learn = true,
                            std::vector<double>* x_trace = nullptr, bool fresh_state = true);
  void set_x(const std::vector<double>& x);
  const std::vector<double>& J() const { return J_; }
  const std::vector<double>& x() const { return x_; }
  const MiconiRule& rule() const { return rule_; }
  const DnmsTask& task() const { return task_; }

 private:
  DnmsSetup s_;
  DnmsTask task_;
  MiconiRule rule_;
  std::vector<double> J_, Jt_;  // J (post, pre) and its transpose (pre-major) for the mat-vec
  std::vector<double> x_, r_, r_prev_, input_, p_, r_out_;
  Rng init_rng_, explore_rng_;
};

// Summary statistics of a run's per-trial errors (for the figures and the acceptance script).
struct DnmsStats {
  long criterion_trial = -1;     // first trial where > 95 of the last 100 have error < 1
  double median_error_last = 0;  // median error over the last 1000 trials (or last 10 %)
  double mean_error_last = 0;
  std::size_t last_trials = 0;  // how many trials those two figures cover
};
DnmsStats dnms_stats(const std::vector<double>& errors);

RunSummary run_dnms(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
