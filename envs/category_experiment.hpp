// The Neuroblox corticostriatal category-learning experiment on an sbx::Simulator (reference:
// ../shared/reference/neuroblox_models.md §1.4–1.12, §2.2–2.4, §3, §4, §5.1).
//
// Circuit (tutorial defaults, §5.1):
//   stimulus ──w 14──▶ VAC (4 WTA × 5 exci + 4 WTA inh + ff_inh)
//   ASC (ascending neural mass) ──w 44·R_E──▶ ff_inh of VAC and of AC
//   VAC ──hypergeometric d 0.1, w 3, Hebbian K 5e−4, W_lim 7──▶ AC (2 WTA × 5 exci + 2 inh + ff)
//   AC ──per-source w_i = 2·0.075·U(0,1), dopamine-Hebbian K 0.06, decay 0.01, α 2.5, θ_m 1──▶
//         STR_s: (a) MSNs (hypergeometric d 0.04), (b) matrisome, (c) striosome, s = 1, 2
//   TAN_s ──t_event 90, w 1──▶ matrisome_s;  striosome_1,2 ──w 1──▶ TAN_1, TAN_2, SNc
//   STR_1 ⇄ STR_2 competition (t_event 180);  GreedyPolicy over the matrisome snapshots.
// Populations (one NeurobloxHHPopulation per block): a cortical block lists its excitatory cells
// first, WTA by WTA (exci e of WTA w at index w·n_exci + e, Neuroblox's order), then the WTA
// interneurons (n_wta·n_exci + w), then ff_inh (last). A striatum block holds its MSNs. All
// synapses are continuous conductance couplings (the (z, G) synapse of §1.3); the ascending drive
// is a current coupling from output `ascending_output` of the ascending population.
//
// Within-trial timeline (§4.3; the √eps offsets of Neuroblox become an order among controls at one
// tick: latch < TAN draw < SNc snapshot < matrisome snapshot < matrisome gating < striosome gating
// < window reset < stimulus off). Times are relative to the trial start:
//   0.1            competition reset: H ← 1 for matrisomes and striosomes, MSN I_bg ← 0
//   k·t_block      early latch (matrisome, striosome, TAN, SNc, in this order) of
//                  jcn = Σ w·C_win (+ w_TAN·TAN_spikes for matrisomes; Σ w·H·jcn_t_block of the
//                  striosomes for TAN / SNc), then the late reset C_win ← 0 of every cortical cell
//   tan_t_event    TAN_spikes_s ← w_TAN·Poisson(R_TAN_s)
//   snc_t_event    SNc snapshot (DA = R_ from here on)
//   matrisome_t_event   matrisome snapshots, then (competition_t_event) the two gating phases
//   t_stimulus     image off
// Experiment loop (§4.2): warm-up over [0, t_warmup) with the same events, showing the
// environment's warm-up image; save every population's state u_w. Each trial k then starts at
// absolute time t_warmup + k·t_trial (the clock keeps running, so recorded spike times are
// monotonic) from u_w: load_state, show the image, run t_trial, action = argmax of the matrisome
// snapshots (ties → 1), r = environment reward, learning (§3) in place, one row to the callback.
// Discrete-unit parameters (H, TAN_spikes, latches, snapshots) persist across trials as in
// Neuroblox; every one that is read is re-set by an event of the same trial.
//
// Randomness: streams Rng::stream(seed, name) with names "<block>/wta" (WTA→WTA Bernoulli
// matrices), "<block>/I_bg", "<VAC>-><AC>" (hypergeometric), "<AC>-><STR>/weights" (w_i),
// "<AC>-><STR>/msn" (hypergeometric to the MSNs), "TAN1", "TAN2" (Poisson draws).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/population.hpp"
#include "engine/rng.hpp"
#include "engine/simulator.hpp"
#include "engine/state_stream.hpp"
#include "envs/category_learning.hpp"
#include "models/ngnmm_theta.hpp"
#include "models/striatal_units.hpp"
#include "models/trial_rules.hpp"

namespace sbx {

class NeurobloxHHPopulation;

struct CorticalBlockSpec {
  std::string name;
  std::uint32_t n_wta = 4;
  std::uint32_t n_exci = 5;
  double density = 0.05;  // WTA→WTA Bernoulli probability per (exci, exci) pair
  double weight = 1.0;    // WTA→WTA synapse weight
  double G_syn_exci = 3.0, G_syn_inhib = 4.0, G_syn_ff_inhib = 3.5;
  double E_syn_exci = 0.0, E_syn_inhib = -70.0;
  double tau_exci = 5.0, tau_inhib = 70.0;  // ms
  double I_bg = 0.0;                        // μA/cm²; excitatory cell k gets I_bg·U(0,1)
  std::string integrator = "etdrk4";        // HH integrator (neuroblox_integrator_names)
};

struct StriatumBlockSpec {
  std::string name;
  std::uint32_t n_inhib = 5;
  double G_syn_inhib = 1.2, E_syn_inhib = -70.0, tau_inhib = 70.0;
  std::string integrator = "etdrk4";  // HH integrator (neuroblox_integrator_names)
};

struct CategoryExperimentSpec {
  std::uint64_t seed = 0;
  // false = the open-loop cortico-cortical Hebbian example (§5.1, last paragraph): stimulus, VAC,
  // AC and the ascending mass only — no striata, TAN, SNc or policy, no block events, r = 1 and
  // action 0 every trial, only VAC→AC learns.
  bool closed_loop = true;
  CorticalBlockSpec vac{"VAC", 4, 5};
  CorticalBlockSpec ac{"AC", 2, 5};
  std::array<StriatumBlockSpec, 2> striata{{{"STR1"}, {"STR2"}}};

  // Ascending neural mass (NGNMM_theta, tutorial 16 Hz setting): its E-rate R_E drives the
  // ff_inh cells of VAC and AC with I = ascending_weight·R_E. `make_ascending` replaces it by any
  // clocked population with a continuous output at index ascending_output (e.g. a test drive).
  bool use_ascending = true;
  std::string ascending_name = "ASC";
  NgnmmThetaParams ascending_params = NgnmmThetaParams::tutorial_16hz();
  std::function<std::unique_ptr<Population>()> make_ascending;
  std::uint32_t ascending_output = 0;
  double ascending_weight = 44.0;

  double stimulus_weight = 14.0;
  double vac_ac_weight = 3.0, vac_ac_density = 0.1;
  bool vac_ac_plastic = true;
  HebbianRule vac_ac_rule{5e-4, 7.0};
  double ac_str_weight = 0.075, ac_str_density = 0.04;
  bool ac_str_plastic = true;
  HebbianDopamineRule ac_str_rule{0.06, 0.01, 2.5, 1.0};

  double tan_kappa = 10.0, tan_lambda = 1.0, tan_weight = 1.0, tan_t_event = 90.0;
  double striosome_tan_weight = 1.0, striosome_snc_weight = 1.0;
  double snc_kappa = 1.0, snc_lambda = 0.33, snc_t_event = 90.0;
  double matrisome_t_event = 180.0, competition_t_event = 180.0, policy_t_decision = 180.0;
  double competition_reset_time = 0.1;
  double loser_current = kLoserMsnCurrent;

  double t_block = 90.0, t_stimulus = 1000.0, t_pause = 0.0, t_warmup = 200.0;  // ms
  double dt = 0.05, tick = 0.001;                                               // ms

  double t_trial() const { return t_stimulus + t_pause; }
};

// Throws UserError (key_path = the field) on an invalid spec.
void validate(const CategoryExperimentSpec& spec);

struct CorticalLayout {
  std::uint32_t population = 0;
  std::uint32_t n_wta = 0, n_exci = 0;
  std::uint32_t internal_coupling = 0;
  std::uint32_t n_excitatory() const { return n_wta * n_exci; }
  std::uint32_t exci(std::uint32_t wta, std::uint32_t e) const { return wta * n_exci + e; }
  std::uint32_t wta_inh(std::uint32_t wta) const { return n_wta * n_exci + wta; }
  std::uint32_t ff_inh() const { return n_wta * n_exci + n_wta; }
  std::uint32_t n_cells() const { return ff_inh() + 1; }
};

struct CategoryCircuitLayout {
  CorticalLayout vac, ac;
  std::array<std::uint32_t, 2> striatum_population{};
  long ascending_population = -1;  // -1 = none
  std::vector<std::uint32_t> ascending_couplings;
  std::uint32_t vac_ac_coupling = 0;
  std::array<std::uint32_t, 2> ac_msn_coupling{};
  std::vector<std::uint32_t> pixel_of_vac_exci;  // pixel index bound to VAC excitatory cell k
};

// One per-trial result row (fields of the run file's /trials table) plus the quantities of §8.2
// that decide choices and learning.
struct CategoryTrialRow {
  std::uint32_t trial = 0;     // 0-based
  std::uint32_t stimulus = 0;  // image index
  int category = 0;
  int action = 0;  // 1 or 2
  bool correct = false;
  double reward = 0.0;                       // r (feedback)
  double dopamine = 0.0;                     // r + R_ (Neuroblox DA trace, = ε + κ_DA)
  double rpe = 0.0;                          // ε = r − (κ_DA − DA)
  double decision_time = 0.0;                // ms, absolute (start_time + t_decision)
  double start_time = 0.0, stop_time = 0.0;  // ms, absolute
  // diagnostics
  std::array<double, 2> striosome_block1{};  // striosome latches at the first block end
  std::array<double, 2> tan_rate{};          // R_TAN at the TAN draw
  std::array<double, 2> tan_spikes{};        // TAN_spikes written by the draw
  std::array<double, 2> matrisome_drive{};   // matrisome ρ_ at the decision (snapshot)
  double snc_dopamine = 0.0;                 // DA = R_ (read by learning)
};

// Identifies one control event for tracing (tests, debugging).
enum class ExperimentEvent : std::uint8_t {
  competition_reset,
  latch,
  tan_draw,
  snc_snapshot,
  matrisome_snapshot,
  gate_matrisomes,
  gate_striosomes,
  reset_windows,
  stimulus_off
};
const char* to_string(ExperimentEvent e);
struct ExperimentEventRecord {
  double t_ms = 0.0;  // absolute
  ExperimentEvent event{};
};

// A plastic weight set (flat, in place) with its per-synapse pre/post cell indices.
struct PlasticWeights {
  std::string name;  // "VAC->AC", "AC->STR1.msn", "AC->STR1.matrisome", "AC->STR1.striosome"
  std::span<double> weight;
  std::span<const std::uint32_t> pre;   // local index in the source block
  std::span<const std::uint32_t> post;  // local index in the target block (0 for discrete units)
};

class CategoryExperiment {
 public:
  // Builds the circuit (throws UserError on an invalid spec or an environment whose categories
  // are not within {1, 2}).
  CategoryExperiment(CategoryExperimentSpec spec, ClassificationEnvironment env);
  ~CategoryExperiment();
  CategoryExperiment(const CategoryExperiment&) = delete;
  CategoryExperiment& operator=(const CategoryExperiment&) = delete;

  Simulator& simulator() { return *sim_; }
  const CategoryCircuitLayout& layout() const { return layout_; }
  const CategoryExperimentSpec& spec() const { return spec_; }
  ClassificationEnvironment& environment() { return env_; }

  // Runs the warm-up (once; run_trial() calls it when needed).
  void warm_up();
  bool warmed_up() const { return warmed_up_; }
  // One trial: stimulus, simulation, decision, reward, learning. Throws NumericalError if a state
  // became non-finite during the trial.
  CategoryTrialRow run_trial();
  // The remaining trials of the environment (env.n_trials() in total), one callback per row.
  void run(const std::function<void(const CategoryTrialRow&)>& on_trial);

  // Discrete units (read-only views for tracing and tests).
  const StriatumUnits& striatum(std::size_t s) const { return units_[s]; }
  const Tan& tan(std::size_t s) const { return tans_[s]; }
  const Snc& snc() const { return snc_; }
  // Every plastic weight set, in the order VAC->AC, then per striatum msn, matrisome, striosome.
  std::vector<PlasticWeights> plastic_weights();

  // Records every control event (nullptr = off).
  void set_event_log(std::vector<ExperimentEventRecord>* log) { event_log_ = log; }

  // ---- checkpoint / resume (envs/category_checkpoint.cpp) ----------------------------------
  // Trials finished so far (the next row's trial index).
  std::uint32_t trials_done() const { return trial_; }
  // Appends the full learning state between two trials (after warm-up): clock, post-warm-up
  // state, every population's state and named arrays, every coupling's weights, the discrete
  // units with the TAN Rng streams, the unit weights and the environment position.
  void save_checkpoint(StateWriter& w) const;
  // Restores it into an experiment freshly built from the same spec and environment; throws
  // std::runtime_error if the checkpoint does not fit this circuit.
  void load_checkpoint(StateReader& r);

 private:
  void build();
  void schedule_segment(Tick t0, double length_ms);
  void on_event(Tick t, ExperimentEvent e, std::uint32_t arg);
  void show_image(std::size_t index);
  void set_msn_background();
  void learn(double r, double eps);

  CategoryExperimentSpec spec_;
  ClassificationEnvironment env_;
  std::unique_ptr<Simulator> sim_;
  CategoryCircuitLayout layout_;
  // The HH blocks (NeurobloxHHBlock views of one or more pools, hh_neuroblox_pool.hpp).
  Population* vac_ = nullptr;
  Population* ac_ = nullptr;
  std::array<Population*, 2> str_{};
  std::uint32_t control_ = 0;

  std::array<StriatumUnits, 2> units_{};
  std::array<Tan, 2> tans_{};
  Snc snc_{};
  std::array<CompetitionEdge, 2> competition_edges_{{{0, 1}, {1, 0}}};
  std::array<std::vector<double>, 2> w_matrisome_, w_striosome_;  // per AC excitatory cell
  std::vector<std::uint32_t> ac_exci_index_;                      // 0..n_exc−1
  std::vector<std::uint32_t> zeros_;                              // post index of unit synapses

  std::vector<std::vector<double>> warm_state_;  // u_w per population
  bool warmed_up_ = false;
  std::uint32_t trial_ = 0;
  int latches_in_segment_ = 0;
  CategoryTrialRow diag_;
  std::vector<ExperimentEventRecord>* event_log_ = nullptr;
};

}  // namespace sbx
