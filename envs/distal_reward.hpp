// The distal-reward experiment of Izhikevich (2007), Fig. 1 (daspnet.m; seed_systems.md §5.2):
// 1000 Izhikevich neurons (800 RS excitatory, 200 FS inhibitory), 100 outgoing synapses per
// neuron (excitatory targets uniform over all 1000 neurons, inhibitory targets uniform over the
// 800 excitatory ones, duplicates allowed), all delays 1 ms in daspnet's sense (a spike acts on
// its targets' next 1-ms update: engine delay 0), excitatory weights 1 (plastic, [0, 4]),
// inhibitory −1 (fixed), input noise U(−6.5, 6.5) per neuron and ms, dopamine-modulated STDP
// (circuits/plasticity.hpp ThreeFactorStdp with the Izhikevich defaults, modulator "dopamine":
// baseline 0.002, τ_d = 200 ms, +0.5 per reward).
//
// The environment: neuron n1 = excitatory neuron 0; the chosen synapse is its first synapse
// (target n2 = a uniformly drawn neuron), whose weight starts at 0. Contingent protocol: when n2
// fires within `window` ms after the last spike of n1 (strictly after it), a reward is scheduled
// delay_min + ceil(delay_span·U) ms later (daspnet: 1000 + ceil(2000·rand), several may be
// pending). Control protocol: rewards at random (Poisson) times at `control_rate` per second,
// independent of the network.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "circuits/plasticity.hpp"
#include "engine/modulator.hpp"
#include "engine/recorder.hpp"
#include "engine/simulator.hpp"
#include "models/izhikevich.hpp"

namespace sbx {

struct DistalRewardConfig {
  std::uint32_t n_exc = 800, n_inh = 200, synapses_per_neuron = 100;
  double w_exc = 1.0, w_inh = -1.0;  // initial excitatory weight, fixed inhibitory weight
  IzhikevichParams exc{0.02, 0.2, -65.0, 8.0, 30.0, 0.0, 6.5};
  IzhikevichParams inh{0.1, 0.2, -65.0, 2.0, 30.0, 0.0, 6.5};
  ThreeFactorParams rule{};  // Izhikevich 2007 defaults
  std::string modulator = "dopamine";
  double da_baseline = 0.002, da_tau = 200.0, reward_amount = 0.5;
  double window = 20.0;                            // ms, n1 -> n2 coincidence window
  double delay_min = 1000.0, delay_span = 2000.0;  // ms, reward delay = min + ceil(span·U)
  bool contingent = true;
  double control_rate = 0.0;    // rewards per second in the control protocol
  double duration = 3600e3;     // ms
  double sample_every = 100.0;  // ms, chosen-synapse samples
  // > 0: every progress_every ms (a multiple of sample_every) one line to stderr with the rates
  // per population over the last interval and the excitatory weight statistics (fidelity checks).
  double progress_every = 0.0;
  std::uint64_t seed = 1;
  bool plastic = true;  // false: static excitatory synapses (benchmark baseline)
  // daspnet.m's delivery I(ind) = I(ind) + s(n, del)': MATLAB keeps only the LAST of repeated
  // indices, so when a neuron has several synapses onto one target only the last one carries
  // current. Those earlier duplicates see exactly the same pre and post spikes as the last one
  // and start at the same weight, so their tags and weights stay equal to it: dropping them and
  // counting the last one with their multiplicity in the weight statistics is the same network
  // and the same statistics. Exception: the chosen synapse starts at 0, so it is always kept; if
  // a later synapse of n1 also targets n2 (chosen_shadowed, ~9 % of seeds), MATLAB delivers only
  // that one's weight: the chosen synapse stays plastic but its current is taken back out of
  // n2's input at every n1 spike. false: every synapse adds its weight (the default).
  bool matlab_duplicates = false;
};

struct DistalRewardSample {
  double t_ms, w, c, d;
};

struct DistalRewardResult {
  std::uint64_t seed = 0;
  bool contingent = true;
  std::uint32_t n2 = 0;
  bool n2_excitatory = true;
  std::uint64_t coincidences = 0, rewards_delivered = 0, spikes = 0, synaptic_events = 0;
  double rate_hz = 0.0;                          // mean firing rate of all neurons
  std::uint64_t spikes_exc = 0, spikes_inh = 0;  // per population
  double rate_exc_hz = 0.0, rate_inh_hz = 0.0;
  double t_reach_90 = -1.0, t_reach_95 = -1.0;  // ms; −1 = never (on the sample grid)
  double w_final = 0.0;
  double percentile_final = 0.0;  // % of excitatory weights strictly below the chosen one
  double median_exc = 0.0, mean_exc = 0.0, p90_exc = 0.0, p99_exc = 0.0, frac_at_max = 0.0;
  double loop_s = 0.0;  // wall time of the simulation loop
  // matlab_duplicates: synapses dropped (carried no current in daspnet.m) per kind. In either
  // mode: whether a later synapse of n1 onto n2 shadows the chosen synapse in daspnet.m.
  std::uint64_t dropped_exc = 0, dropped_inh = 0;
  bool chosen_shadowed = false;
  // Excitatory synapses whose neuron has another synapse onto the same target ("duplicates",
  // about 9.5 %) vs the others: share at w_max and mean weight at the end (each counted with its
  // multiplicity), to see where the saturated tail comes from.
  double frac_dup = 0.0, frac_at_max_dup = 0.0, frac_at_max_single = 0.0;
  double mean_dup = 0.0, mean_single = 0.0;
  std::vector<DistalRewardSample> samples;
};

// Builds the network in `sim` (dt = 1 ms) and runs the protocol. `extra` (may be null) also
// receives every spike and sample (e.g. a run file). `on_sample` (may be null) is called at every
// chosen-synapse sample.
class DistalRewardExperiment {
 public:
  // Builds its own simulator (1-ms tick and step) with populations "exc" and "inh" (Izhikevich,
  // cfg.exc / cfg.inh, noise streams "exc" / "inh" of cfg.seed).
  explicit DistalRewardExperiment(const DistalRewardConfig& cfg);
  // Uses populations already in `sim` (e.g. built from TOML blocks; inh = -1: none); cfg.n_exc /
  // cfg.n_inh are taken from them. The simulator's step should be 1 ms (daspnet's scheme).
  DistalRewardExperiment(const DistalRewardConfig& cfg, Simulator& sim, std::uint32_t exc,
                         long inh);
  ~DistalRewardExperiment();

  Simulator& simulator() { return *sim_; }
  const DistalRewardConfig& config() const { return cfg_; }
  std::uint32_t exc_population() const { return exc_; }
  std::uint32_t inh_population() const { return inh_; }
  // Projection ids: E->E, E->I (plastic), I->E (static).
  std::uint32_t proj_ee() const { return ee_; }
  std::uint32_t proj_ei() const { return ei_; }
  std::uint32_t proj_ie() const { return ie_; }
  // The excitatory (plastic unless cfg.plastic = false) projections: E->E, and E->I if n_inh > 0.
  std::vector<std::uint32_t> plastic_projections() const {
    return cfg_.n_inh > 0 ? std::vector<std::uint32_t>{ee_, ei_} : std::vector<std::uint32_t>{ee_};
  }
  std::uint32_t chosen_projection() const { return chosen_proj_; }
  std::uint32_t chosen_synapse() const { return chosen_syn_; }
  ThreeFactorStdp* chosen_rule() { return chosen_rule_; }
  Modulator& dopamine() { return *da_; }
  void set_extra_recorder(Recorder* r) { extra_ = r; }
  // Called with every chosen-synapse sample (e.g. to write it to a run file).
  void set_sample_callback(std::function<void(const DistalRewardSample&)> fn) {
    sample_cb_ = std::move(fn);
  }
  std::uint32_t n2() const { return n2_; }  // target of the chosen synapse, in its population

  // Runs to cfg.duration (may be called once).
  DistalRewardResult run();

 private:
  class Observer;
  void on_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t);
  void take_sample(Tick t);
  void print_progress(Tick t);
  // Every excitatory weight at tick t (brought up to date), each repeated by its multiplicity.
  std::vector<float> excitatory_weights(Tick t);
  void wire(std::uint32_t exc, long inh);
  Tick control_gap(double u) const;

  DistalRewardConfig cfg_;
  std::unique_ptr<Simulator> own_sim_;
  Simulator* sim_ = nullptr;
  std::unique_ptr<Modulator> da_;
  std::unique_ptr<Observer> observer_;
  Recorder* extra_ = nullptr;
  std::function<void(const DistalRewardSample&)> sample_cb_;
  std::uint32_t exc_ = 0, inh_ = 0, ee_ = 0, ei_ = 0, ie_ = 0;
  std::uint32_t chosen_proj_ = 0, chosen_syn_ = 0;
  std::uint32_t n2_pop_ = 0, n2_ = 0;
  ThreeFactorStdp* chosen_rule_ = nullptr;
  std::vector<ThreeFactorStdp*> rules_;
  // Per synapse of E->E and E->I (CSR order): how many daspnet synapses it stands for (all 1
  // unless matlab_duplicates).
  std::vector<std::uint32_t> mult_ee_, mult_ei_;
  std::vector<std::uint8_t> dup_ee_, dup_ei_;  // 1: the neuron has another synapse onto the target
  Rng reward_rng_;
  std::uint32_t reward_ctl_ = 0, sample_ctl_ = 0;
  long shadow_ctl_ = -1;  // matlab_duplicates with a shadowed chosen synapse: removes its current
  Tick last_n1_ = -1000000000;
  Tick t_start_ = 0, last_progress_ = 0;
  std::uint64_t progress_exc_ = 0, progress_inh_ = 0;
  DistalRewardResult res_;
};

}  // namespace sbx
