// Next-generation neural mass of coupled excitatory/inhibitory theta-neuron populations
// (Neuroblox NGNMM_theta / NextGenerationEI, Byrne et al. 2020). Spec: neuroblox_models.md §1.6.
//
// ---- Equations (ms) --------------------------------------------------------------------------
// For X ∈ {E, I} with S_X = v_XE·g_XE + v_XI·g_XI and T_X = g_XE + g_XI:
//   dA_X/dt = [ B_X(A_X−1) − (Δ_X/2)((A_X+1)² − B_X²) − η_X·B_X(A_X+1) − S_X·B_X(A_X+1)
//               − (T_X/2)(A_X² − B_X² − 1) ] / C_X
//   dB_X/dt = [ (B_X² − (A_X−1)²)/2 − Δ_X·B_X(A_X+1) + (η_X/2)((A_X+1)² − B_X²)
//               + (S_X/2)((A_X+1)² − B_X²) − A_X·B_X·T_X ] / C_X
//   R_X = (1 − A_X² − B_X²) / (C_X·π·(1 + 2A_X + A_X² + B_X²))        (population rate)
//   dg_XY/dt = a_XY·(k_XY·R_Y − g_XY)       (g_EE, g_IE driven by R_E; g_EI, g_II by R_I)
// Output: continuous_output() = R_E, so a current coupling with weight w injects w·R_E.
//
// ---- Parameters ------------------------------------------------------------------------------
//   name            unit    default  meaning
//   C_E, C_I        ms      30, 30   time constants of the E / I populations
//   Delta_E/I       –       0.5      width (heterogeneity) of the excitabilities
//   eta_E, eta_I    –       10, 0    mean excitability
//   v_EE, v_EI      –       10, −10  reversal-like constants of the inputs to E
//   v_IE, v_II      –       10, −10  reversal-like constants of the inputs to I
//   a_EE, a_EI      1/ms    10, 0.8  synaptic rates (alpha_inv) of the inputs to E
//   a_IE, a_II      1/ms    10, 0.8  synaptic rates of the inputs to I
//   k_EE, k_EI      –       0, 0.5   coupling strengths of the inputs to E
//   k_IE, k_II      –       0.65, 0  coupling strengths of the inputs to I
// Initial state: A_E = −0.6, B_E = 0.18, A_I = 0.02, B_I = 0.21, g_EE = 0, g_EI = 0.23,
// g_IE = 0.26, g_II = 0.
// Tutorial "16 Hz" setting (NgnmmThetaParams::tutorial_16hz()): C_E = 52, C_I = 26,
// a_EE = a_IE = 10/26, a_EI = a_II = 0.8/26, k_EI = k_IE = 15.6, rest default.
//
// ---- Integrator ------------------------------------------------------------------------------
// Classic RK4. The population step dt is split into ceil(dt / max_substep_ms) equal substeps
// (max_substep_ms = 0.05; the tutorial limit cycle has a 62 ms period and the fastest rate
// a = 10/ms of the default setting gives a·h = 0.5, well inside RK4's stability region).
// The population has no inputs (nothing drives the mass in the Neuroblox circuits).
// Trajectory replay: after load_state() the trajectory is recorded, and a later load_state() of
// the same state replays it bitwise instead of integrating (a trial-based experiment restarts
// every trial from the same state; see "Trajectory replay" below).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.hpp"
#include "engine/population.hpp"

namespace sbx {

struct NgnmmThetaParams {
  double C_E = 30.0, C_I = 30.0;
  double Delta_E = 0.5, Delta_I = 0.5;
  double eta_E = 10.0, eta_I = 0.0;
  double v_EE = 10.0, v_EI = -10.0, v_IE = 10.0, v_II = -10.0;
  double a_EE = 10.0, a_EI = 0.8, a_IE = 10.0, a_II = 0.8;
  double k_EE = 0.0, k_EI = 0.5, k_IE = 0.65, k_II = 0.0;

  // The setting of the Neuroblox learning tutorial: a stable 16 Hz limit cycle.
  static NgnmmThetaParams tutorial_16hz() {
    NgnmmThetaParams p;
    p.C_E = 52.0;
    p.C_I = 26.0;
    p.a_EE = p.a_IE = 10.0 / 26.0;
    p.a_EI = p.a_II = 0.8 / 26.0;
    p.k_EI = p.k_IE = 0.6 * 26.0;
    return p;
  }
};

class NgnmmThetaPopulation : public Population {
 public:
  static constexpr double max_substep_ms = 0.05;
  static constexpr std::uint32_t n_dynamic_states = 8;
  // Order of the dynamic states in save_state() and in the state vector.
  enum Index : std::uint32_t { A_E = 0, B_E, A_I, B_I, g_EE, g_EI, g_IE, g_II };

  explicit NgnmmThetaPopulation(const NgnmmThetaParams& p = {}, std::uint32_t n_masses = 1)
      : p_(p), n_(n_masses) {
    const double all[] = {p.C_E,  p.C_I,  p.Delta_E, p.Delta_I, p.eta_E, p.eta_I,
                          p.v_EE, p.v_EI, p.v_IE,    p.v_II,    p.a_EE,  p.a_EI,
                          p.a_IE, p.a_II, p.k_EE,    p.k_EI,    p.k_IE,  p.k_II};
    for (double x : all)
      if (!std::isfinite(x)) throw UserError("NGNMM_theta: parameters must be finite");
    if (!(p.C_E > 0) || !(p.C_I > 0)) throw UserError("NGNMM_theta: C_E and C_I must be > 0 ms");
    if (p.a_EE < 0 || p.a_EI < 0 || p.a_IE < 0 || p.a_II < 0)
      throw UserError("NGNMM_theta: synaptic rates a_XY must be >= 0");
    constexpr double init[n_dynamic_states] = {-0.6, 0.18, 0.02, 0.21, 0.0, 0.23, 0.26, 0.0};
    x_.resize(std::size_t{n_dynamic_states} * n_);
    for (std::uint32_t k = 0; k < n_dynamic_states; ++k) std::fill(x(k), x(k) + n_, init[k]);
    R_E_.assign(n_, 0.0);
    R_I_.assign(n_, 0.0);
    update_rates();
  }

  std::string_view model() const override { return "ngnmm_theta"; }
  bool emits_spikes() const override { return false; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    (void)spiked;  // a neural mass does not spike
    const double dt = ctx.dt_ms;
    if (!(dt > 0.0)) throw InternalError("NgnmmThetaPopulation::step: dt must be positive");
    if (replay_step(dt)) return;
    const bool record = recording_allowed(dt);
    const int n_sub = std::max(1, static_cast<int>(std::ceil(dt / max_substep_ms - 1e-9)));
    const double h = dt / n_sub;
    for (std::uint32_t i = 0; i < n_; ++i) {
      State y;
      for (std::uint32_t k = 0; k < n_dynamic_states; ++k) y[k] = x(k)[i];
      for (int s = 0; s < n_sub; ++s) y = rk4(y, h);
      for (std::uint32_t k = 0; k < n_dynamic_states; ++k) x(k)[i] = y[k];
    }
    update_rates();
    if (record) record_step();
  }

  const double* continuous_output() const override { return R_E_.data(); }

  double* state(std::string_view name) override {
    static constexpr const char* names[n_dynamic_states] = {"A_E",  "B_E",  "A_I",  "B_I",
                                                            "g_EE", "g_EI", "g_IE", "g_II"};
    for (std::uint32_t k = 0; k < n_dynamic_states; ++k)
      if (name == names[k]) return x(k);
    if (name == "R_E") return R_E_.data();
    if (name == "R_I") return R_I_.data();
    return nullptr;
  }
  std::vector<std::string> state_names() const override {
    return {"A_E", "B_E", "A_I", "B_I", "g_EE", "g_EI", "g_IE", "g_II", "R_E", "R_I"};
  }
  void save_state(std::vector<double>& out) const override {
    out.clear();
    out.assign(x_.begin(), x_.end());
  }
  void load_state(std::span<const double> in) override {
    if (in.size() != std::size_t{n_dynamic_states} * n_)
      throw InternalError("NgnmmThetaPopulation::load_state: expected " +
                          std::to_string(std::size_t{n_dynamic_states} * n_) + " values, got " +
                          std::to_string(in.size()));
    std::copy(in.begin(), in.end(), x_.begin());
    update_rates();
    start_replay(in);
  }

  // Steps taken from the recorded trajectory since the last load_state() (for tests and tools).
  std::uint64_t replayed_steps() const { return replayed_; }
  long first_nonfinite(std::string& variable) const override {
    static constexpr const char* names[n_dynamic_states] = {"A_E",  "B_E",  "A_I",  "B_I",
                                                            "g_EE", "g_EI", "g_IE", "g_II"};
    for (std::uint32_t i = 0; i < n_; ++i)
      for (std::uint32_t k = 0; k < n_dynamic_states; ++k)
        if (!std::isfinite(x(k)[i])) {
          variable = names[k];
          return static_cast<long>(i);
        }
    return -1;
  }

  const NgnmmThetaParams& params() const { return p_; }

  // Population rate of a population with Kuramoto order parameter A + iB and time constant C.
  static double rate(double A, double B, double C) {
    return (1.0 - A * A - B * B) / (C * std::numbers::pi * (1.0 + 2.0 * A + A * A + B * B));
  }

 private:
  struct State {
    double v[n_dynamic_states];
    double& operator[](std::uint32_t k) { return v[k]; }
    double operator[](std::uint32_t k) const { return v[k]; }
  };

  // One population's (dA, dB) for inputs S (reversal-weighted) and T (total conductance).
  static void theta_rhs(double A, double B, double C, double Delta, double eta, double S, double T,
                        double& dA, double& dB) {
    const double Ap = A + 1.0;
    const double sq = Ap * Ap - B * B;
    dA = (B * (A - 1.0) - 0.5 * Delta * sq - eta * B * Ap - S * B * Ap -
          0.5 * T * (A * A - B * B - 1.0)) /
         C;
    dB = (0.5 * (B * B - (A - 1.0) * (A - 1.0)) - Delta * B * Ap + 0.5 * eta * sq + 0.5 * S * sq -
          A * B * T) /
         C;
  }

  State rhs(const State& y) const {
    State d;
    const double RE = rate(y[A_E], y[B_E], p_.C_E);
    const double RI = rate(y[A_I], y[B_I], p_.C_I);
    theta_rhs(y[A_E], y[B_E], p_.C_E, p_.Delta_E, p_.eta_E, p_.v_EE * y[g_EE] + p_.v_EI * y[g_EI],
              y[g_EE] + y[g_EI], d[A_E], d[B_E]);
    theta_rhs(y[A_I], y[B_I], p_.C_I, p_.Delta_I, p_.eta_I, p_.v_IE * y[g_IE] + p_.v_II * y[g_II],
              y[g_IE] + y[g_II], d[A_I], d[B_I]);
    d[g_EE] = p_.a_EE * (p_.k_EE * RE - y[g_EE]);
    d[g_EI] = p_.a_EI * (p_.k_EI * RI - y[g_EI]);
    d[g_IE] = p_.a_IE * (p_.k_IE * RE - y[g_IE]);
    d[g_II] = p_.a_II * (p_.k_II * RI - y[g_II]);
    return d;
  }

  State rk4(const State& y, double h) const {
    auto axpy = [](const State& a, double c, const State& b) {
      State r;
      for (std::uint32_t k = 0; k < n_dynamic_states; ++k) r[k] = a[k] + c * b[k];
      return r;
    };
    const State k1 = rhs(y);
    const State k2 = rhs(axpy(y, 0.5 * h, k1));
    const State k3 = rhs(axpy(y, 0.5 * h, k2));
    const State k4 = rhs(axpy(y, h, k3));
    State out;
    for (std::uint32_t k = 0; k < n_dynamic_states; ++k)
      out[k] = y[k] + (h / 6.0) * (k1[k] + 2.0 * (k2[k] + k3[k]) + k4[k]);
    return out;
  }

  void update_rates() {
    for (std::uint32_t i = 0; i < n_; ++i) {
      R_E_[i] = rate(x(A_E)[i], x(B_E)[i], p_.C_E);
      R_I_[i] = rate(x(A_I)[i], x(B_I)[i], p_.C_I);
    }
  }

  // ---- Trajectory replay ---------------------------------------------------------------------
  // Why: a trial-based experiment restarts every trial from the same post-warm-up state, and the
  // mass has no inputs, so its trajectory is the same in every trial. After a load_state() the
  // states after each step are recorded; a later load_state() of bitwise the same state replays
  // them instead of integrating — bitwise the same numbers. Replay and recording stop (and the
  // kernel integrates) on a different dt, or as soon as the state is not the one the last step left
  // (a write from outside, e.g. through state()). Replay beyond the recorded steps records on.
  void start_replay(std::span<const double> in) {
    replayed_ = 0;
    replay_pos_ = 0;
    if (replay_start_.size() == in.size() &&
        std::equal(in.begin(), in.end(), replay_start_.begin())) {
      mode_ = Replay::replaying;
      return;
    }
    replay_start_.assign(in.begin(), in.end());
    replay_.clear();
    replay_dt_ = 0.0;
    mode_ = Replay::recording;
  }
  // True if the state the last step left is still in x_ (nothing wrote it since).
  // (Branch-free, so that it vectorises: it runs every replayed step.)
  bool state_is(const double* expected) const {
    bool same = true;
    for (std::size_t j = 0; j < x_.size(); ++j) same &= x_[j] == expected[j];
    return same;
  }
  // Values recorded per step: the state (n_dynamic_states·n) then the rates R_E, R_I (2n), so a
  // replayed step copies them instead of recomputing two divisions per cell.
  std::size_t replay_stride() const { return std::size_t{n_dynamic_states + 2} * n_; }
  const double* replay_state(std::size_t pos) const {  // state after recorded step pos − 1
    return pos == 0 ? replay_start_.data() : replay_.data() + (pos - 1) * replay_stride();
  }
  bool replay_step(double dt) {
    if (mode_ != Replay::replaying) return false;
    // Past the recording (or none yet): integrate and record on; recording_allowed() checks dt
    // and the state. (Recorded steps = replay_.size() / values per step, compared by a multiply:
    // the division was a visible part of a replayed step.)
    if (replay_pos_ * replay_stride() == replay_.size()) {
      mode_ = Replay::recording;
      return false;
    }
    if (dt != replay_dt_ || !state_is(replay_state(replay_pos_))) {
      mode_ = Replay::off;
      return false;
    }
    const double* next = replay_state(replay_pos_ + 1);
    const std::size_t nx = x_.size();
    for (std::size_t j = 0; j < nx; ++j) x_[j] = next[j];
    for (std::uint32_t i = 0; i < n_; ++i) {
      R_E_[i] = next[nx + i];
      R_I_[i] = next[nx + n_ + i];
    }
    ++replay_pos_;
    ++replayed_;
    return true;
  }
  // Checked before a step: may this step extend the recording? (Same dt, room left, and the state
  // is the one the recording ends with — nothing wrote it since.)
  bool recording_allowed(double dt) {
    if (mode_ != Replay::recording) return false;
    if (replay_dt_ == 0.0) replay_dt_ = dt;
    if (dt != replay_dt_ || replay_.size() + replay_stride() > max_replay_values ||
        !state_is(replay_state(replay_pos_))) {
      mode_ = Replay::off;
      return false;
    }
    return true;
  }
  void record_step() {
    replay_.insert(replay_.end(), x_.begin(), x_.end());
    replay_.insert(replay_.end(), R_E_.begin(), R_E_.end());
    replay_.insert(replay_.end(), R_I_.begin(), R_I_.end());
    ++replay_pos_;
  }

  enum class Replay : std::uint8_t { off, recording, replaying };
  static constexpr std::size_t max_replay_values = std::size_t{1} << 22;  // 32 MiB
  Replay mode_ = Replay::off;
  std::vector<double> replay_start_, replay_;
  double replay_dt_ = 0.0;
  std::size_t replay_pos_ = 0;
  std::uint64_t replayed_ = 0;

  NgnmmThetaParams p_;
  std::uint32_t n_;
  std::vector<double> x_;  // variable k of cell i at [k·n + i] (the layout of save_state)
  double* x(std::uint32_t k) { return x_.data() + std::size_t{k} * n_; }
  const double* x(std::uint32_t k) const { return x_.data() + std::size_t{k} * n_; }
  std::vector<double> R_E_, R_I_;
};

}  // namespace sbx
