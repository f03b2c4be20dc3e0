// Neuromodulators: named scalar signals (dopamine, acetylcholine, noradrenaline, rpe, ...) that
// plasticity rules read as their third factor.
//
// Dynamics (seed_systems.md §6.3 item 3):
//   m(t) = baseline + p(t),   dp/dt = −p/τ   between events,
//   pulse(t, A):  p ← p(t) + A     (a phasic release: a reward, a circuit signal)
//   set(t, x):    p ← x − baseline (the signal is driven to a value, e.g. an RPE computed
//   elsewhere)
// The signal is stored as (t0, p0) and evaluated analytically, m(t) = baseline + p0·e^{−(t−t0)/τ},
// so it costs nothing between events. Izhikevich (2007): baseline 0.002 (his tonic term), τ = 200
// ms (daspnet.m: ×0.995 per ms, τ = −1/ln 0.995 = 199.5 ms), pulse 0.5 per reward.
//
// Rules that integrate m(t) lazily (circuits/plasticity.hpp) register as listeners: before the
// signal changes at t they are told, so they can close their running integral of m up to t with
// the old (t0, p0).
//
// Parameters:
//   name      unit  meaning
//   baseline  -     tonic level the signal decays to
//   tau       ms    decay time constant of the phasic part (> 0)
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/time.hpp"

namespace sbx {

class ModulatorListener {
 public:
  virtual ~ModulatorListener() = default;
  // The modulator is about to change at tick t (its old state still holds up to t).
  virtual void before_modulator_change(Tick t) = 0;
};

class Modulator {
 public:
  Modulator(std::string name, double baseline, double tau_ms, const TimeGrid& grid)
      : name_(std::move(name)), baseline_(baseline), tau_ms_(tau_ms), tick_ms_(grid.tick_ms()) {
    if (!(tau_ms > 0.0) || !std::isfinite(tau_ms))
      throw std::invalid_argument("modulator " + name_ + ": tau must be > 0 ms");
    if (!std::isfinite(baseline))
      throw std::invalid_argument("modulator " + name_ + ": baseline must be finite");
  }

  const std::string& name() const { return name_; }
  double baseline() const { return baseline_; }
  double tau_ms() const { return tau_ms_; }
  double tick_ms() const { return tick_ms_; }
  Tick t0() const { return t0_; }
  double p0() const { return p0_; }

  // Phasic part p(t) for t >= t0().
  double phasic(Tick t) const {
    return p0_ * std::exp(-static_cast<double>(t - t0_) * tick_ms_ / tau_ms_);
  }
  double value(Tick t) const { return baseline_ + phasic(t); }

  void pulse(Tick t, double amount) {
    const double p0 = phasic(t) + amount;
    const bool negative = !(baseline_ + p0 >= 0.0);  // (NaN counts as negative)
    if (nonnegative_ && negative) throw_negative("a pulse of " + std::to_string(amount));
    ever_negative_ = ever_negative_ || negative;
    notify(t);
    p0_ = p0;
    t0_ = t;
    ++n_pulses_;
    if (on_change_) on_change_(t, baseline_ + p0_);
  }
  void set(Tick t, double value) {
    const bool negative = !(value >= 0.0);
    if (nonnegative_ && negative) throw_negative("setting it to " + std::to_string(value));
    ever_negative_ = ever_negative_ || negative;
    notify(t);
    p0_ = value - baseline_;
    t0_ = t;
    if (on_change_) on_change_(t, baseline_ + p0_);
  }
  // Called after every pulse or set with (t, value after the change): a log of the changes
  // describes the whole signal (it decays analytically between them). One observer; empty = none.
  void set_change_observer(std::function<void(Tick, double)> fn) { on_change_ = std::move(fn); }
  // Declares that this modulator never goes below zero, for rules that rely on it
  // (ThreeFactorStdp then skips negligible potentiation exactly). Enforced: a pulse or set that
  // would make it negative throws. m(t) = b + p0·e^{-(t-t0)/τ} lies between b and b + p0, so
  // b >= 0 and b + p0 >= 0 at every change suffice.
  // Refused if the modulator has ever been below 0 (a rule relying on the declaration assumes
  // m >= 0 since its synapses' last events).
  void declare_nonnegative() {
    if (ever_negative_ || !(baseline_ >= 0.0) || !(baseline_ + p0_ >= 0.0))
      throw std::invalid_argument("modulator " + name_ +
                                  ": cannot be declared non-negative, its value is or was below 0");
    nonnegative_ = true;
  }
  bool nonnegative() const { return nonnegative_; }
  std::uint64_t n_pulses() const { return n_pulses_; }

  void add_listener(ModulatorListener* l) { listeners_.push_back(l); }

  // State for checkpoints: t0, p0.
  void save_state(std::vector<double>& out) const {
    out = {static_cast<double>(t0_), p0_, static_cast<double>(n_pulses_)};
  }
  void load_state(const std::vector<double>& in) {
    if (in.size() != 3) throw std::invalid_argument("Modulator::load_state: expected 3 values");
    if (nonnegative_ && !(baseline_ + in[1] >= 0.0)) throw_negative("the loaded state");
    t0_ = static_cast<Tick>(in[0]);
    p0_ = in[1];
    n_pulses_ = static_cast<std::uint64_t>(in[2]);
  }

 private:
  [[noreturn]] void throw_negative(const std::string& what) const {
    throw std::invalid_argument("modulator " + name_ + " is declared non-negative, but " + what +
                                " would make it negative");
  }
  void notify(Tick t) {
    if (t < t0_) throw std::invalid_argument("modulator " + name_ + ": change in the past");
    for (ModulatorListener* l : listeners_) l->before_modulator_change(t);
  }

  std::string name_;
  double baseline_, tau_ms_, tick_ms_;
  Tick t0_ = 0;
  double p0_ = 0.0;
  std::uint64_t n_pulses_ = 0;
  bool nonnegative_ = false;
  bool ever_negative_ = false;  // set by a pulse or set that made it negative
  std::vector<ModulatorListener*> listeners_;
  std::function<void(Tick, double)> on_change_;
};

}  // namespace sbx
