// Discrete striatal / dopamine units of the Neuroblox corticostriatal circuit (reference:
// ../shared/reference/neuroblox_models.md §1.8–1.11, §4.3, §4.5). These units have no ODE state:
// they are plain parameters changed by control events (block latches, snapshots, competition,
// TAN draws) and read by the policy and the between-trial learning rules.
//
// Notation: jcn = the unit's summed input at this instant (recomputed by the caller from the
// cortical block spike counts C_win and the weights); jcn_t_block = jcn latched by the "early"
// block event at the end of each block (k·t_block − √eps).
//
// Equations:
//   Matrisome   ρ = H·jcn_t_block                (current drive; what the competition compares)
//               ρ_snapshot = ρ_ = H_snapshot·jcn_snapshot   (decision variable of the policy)
//               input jcn = Σ_i w_i·C_win,i + w_TAN·TAN_spikes
//               snapshot event (t_event + √eps): H_snapshot ← H, jcn_snapshot ← jcn_t_block
//   Striosome   ρ = H·jcn_t_block;  output to TAN / SNc: w·H·jcn_t_block
//   TAN         R_TAN = min(κ, κ/(λ·jcn_t_block + √eps(1)))
//               event (t_event): TAN_spikes of the target matrisome ← w·Poisson(R_TAN)
//               (drawn from the TAN's own Rng; w enters squared because the matrisome adds
//               w·TAN_spikes again)
//   SNc         R  = min(κ_DA, κ_DA/(λ_DA·jcn_t_block  + √eps(1)))
//               R_ = min(κ_DA, κ_DA/(λ_DA·jcn_snapshot + √eps(1)))   = DA (the modulator value)
//               snapshot event (t_event): jcn_snapshot ← jcn_t_block
//   GreedyPolicy action = argmax over competitors of ρ_ (ties → the first competitor)
//   Competition (edge A → B, t_event T; applied edge by edge in insertion order with fresh reads):
//               t = 0.1 ms      : B.matrisome.H ← 1, B.striosome.H ← 1, B MSNs I_bg ← 0
//               t = T + √eps    : B.matrisome.H ← (ρ(A.mat) > ρ(B.mat)) ? 0 : 1
//               t = T + 2√eps   : B.striosome.H ← (ρ(A.mat) > ρ(B.mat)) ? 0 : 1,
//                                 B MSNs I_bg   ← (ρ(A.mat) > ρ(B.mat)) ? −2 : 0
//   With two striata and both edges this leaves exactly one loser (none on a tie): once the first
//   destination has lost, its ρ reads 0 in the second comparison.
//
// Parameters:
//   name          unit      default  meaning
//   Matrisome.H   1         1        gate (1 = winner / not yet decided, 0 = loser)
//   Matrisome.t_event ms    180      time of the snapshot event (policy reads the snapshot)
//   Tan.kappa     spikes    100      maximal Poisson mean (tutorial: 10)
//   Tan.lambda    1/count   1        sensitivity to striosomal input
//   Snc.kappa     1         1        κ_DA, maximal dopamine (= baseline expectation of reward)
//   Snc.lambda    1/count   0.33     λ_DA, sensitivity to striosomal input
//   Snc.t_event   ms        90       time of the snapshot event
//   Snc.n_time_blocks, Snc.da_reward: stored by Neuroblox but unused (5, 10); kept for fidelity
//   GreedyPolicy.t_decision ms 180   decision time (informational: the snapshot holds the values)
//   loser_current μA/cm²    −2       background current of the losing striatum's MSNs
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/rng.hpp"

namespace sbx {

// √eps(1.0) = 2^−26: the offset in the TAN/SNc rate formulas (Julia's sqrt(eps())).
inline constexpr double kSqrtEps1 = 1.4901161193847656e-08;

// min(κ, κ/(λ·x + √eps)): the saturating rate shared by TAN and SNc. For x ≤ 1/λ−ish inputs the
// rate stays at κ; above, it falls as κ/(λx).
inline double saturating_rate(double kappa, double lambda, double input) {
  return std::min(kappa, kappa / (lambda * input + kSqrtEps1));
}

struct Matrisome {
  double H = 1.0;
  double TAN_spikes = 0.0;
  double jcn_t_block = 0.0;
  double H_snapshot = 1.0;
  double jcn_snapshot = 0.0;
  double t_event = 180.0;  // ms

  double rho() const { return H * jcn_t_block; }
  double rho_snapshot() const { return H_snapshot * jcn_snapshot; }
  double H_learning() const { return H; }
  void latch(double jcn) { jcn_t_block = jcn; }
  void take_snapshot() {
    H_snapshot = H;
    jcn_snapshot = jcn_t_block;
  }
};

struct Striosome {
  double H = 1.0;
  double jcn_t_block = 0.0;

  double rho() const { return H * jcn_t_block; }
  double H_learning() const { return H; }
  // Contribution to a TAN's or the SNc's input through an edge of weight w.
  double output(double w) const { return w * H * jcn_t_block; }
  void latch(double jcn) { jcn_t_block = jcn; }
};

struct Tan {
  double kappa = 100.0;
  double lambda = 1.0;
  double jcn_t_block = 0.0;
  Rng rng{0};  // its own stream (Neuroblox: a Xoshiro seeded at construction)

  double rate() const { return saturating_rate(kappa, lambda, jcn_t_block); }
  void latch(double jcn) { jcn_t_block = jcn; }
  // w·Poisson(R_TAN): the value the TAN event writes into its matrisome's TAN_spikes. A negative
  // or NaN rate (only possible with negative inputs) draws 0 instead of failing.
  double draw_spikes(double w) {
    const double r = rate();
    const double mean = (r > 0.0 && std::isfinite(r)) ? r : 0.0;
    return w * static_cast<double>(rng.poisson(mean));
  }
};

struct Snc {
  double kappa = 1.0;    // κ_DA
  double lambda = 0.33;  // λ_DA
  double t_event = 90.0;
  double n_time_blocks = 5;  // unused (as in Neuroblox)
  double da_reward = 10;     // unused (as in Neuroblox)
  double jcn_t_block = 0.0;
  double jcn_snapshot = 0.0;

  double rate() const { return saturating_rate(kappa, lambda, jcn_t_block); }            // R
  double rate_snapshot() const { return saturating_rate(kappa, lambda, jcn_snapshot); }  // R_
  double dopamine() const { return rate_snapshot(); }  // DA = R_ (identity mapping)
  void latch(double jcn) { jcn_t_block = jcn; }
  void take_snapshot() { jcn_snapshot = jcn_t_block; }
};

struct GreedyPolicy {
  double t_decision = 180.0;  // ms

  // 0-based index of the largest value; ties (and NaNs, which never compare greater) keep the
  // earliest. Empty input → 0.
  static std::size_t argmax(std::span<const double> values) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < values.size(); ++i)
      if (values[i] > values[best]) best = i;
    return best;
  }
  // Neuroblox action numbering: 1 = first competitor, 2 = second, ...
  static int action(std::span<const double> competitor_values) {
    return static_cast<int>(argmax(competitor_values)) + 1;
  }
};

// ---- striatal competition (§1.8, §4.5) ------------------------------------------------------

// The discrete part of one Striatum block plus the background current its MSNs receive from the
// competition (the caller copies msn_background into the MSN cells' I_bg).
struct StriatumUnits {
  Matrisome matrisome;
  Striosome striosome;
  double msn_background = 0.0;
};

// One competition edge "source → destination" (indices into the StriatumUnits array).
struct CompetitionEdge {
  std::size_t source = 0;
  std::size_t destination = 0;
};

inline constexpr double kLoserMsnCurrent = -2.0;  // μA/cm²

// t = 0.1 ms: every destination is re-opened (H ← 1) and its MSNs released.
inline void competition_reset(std::span<StriatumUnits> striata,
                              std::span<const CompetitionEdge> edges) {
  for (const auto& e : edges) {
    StriatumUnits& b = striata[e.destination];
    b.matrisome.H = 1.0;
    b.striosome.H = 1.0;
    b.msn_background = 0.0;
  }
}

// t = T + √eps: matrisome gating, destination by destination in edge order; every comparison reads
// the current ρ (so a destination already closed reads ρ = 0).
inline void competition_gate_matrisomes(std::span<StriatumUnits> striata,
                                        std::span<const CompetitionEdge> edges) {
  for (const auto& e : edges) {
    const double rho_a = striata[e.source].matrisome.rho();
    Matrisome& mb = striata[e.destination].matrisome;
    mb.H = rho_a > mb.rho() ? 0.0 : 1.0;
  }
}

// t = T + 2√eps: striosome gating and the MSN shut-down current, again with fresh reads (after the
// matrisome gating the loser's ρ is 0, the winner's is its latched drive).
inline void competition_gate_striosomes(std::span<StriatumUnits> striata,
                                        std::span<const CompetitionEdge> edges,
                                        double loser_current = kLoserMsnCurrent) {
  for (const auto& e : edges) {
    const bool a_wins = striata[e.source].matrisome.rho() > striata[e.destination].matrisome.rho();
    StriatumUnits& b = striata[e.destination];
    b.striosome.H = a_wins ? 0.0 : 1.0;
    b.msn_background = a_wins ? loser_current : 0.0;
  }
}

// Both gating phases back to back (what happens at T + √eps and T + 2√eps when nothing else
// intervenes).
inline void run_competition(std::span<StriatumUnits> striata,
                            std::span<const CompetitionEdge> edges,
                            double loser_current = kLoserMsnCurrent) {
  competition_gate_matrisomes(striata, edges);
  competition_gate_striosomes(striata, edges, loser_current);
}

}  // namespace sbx
