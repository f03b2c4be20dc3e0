#include "envs/distal_reward.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace sbx {

// Sees every spike (for the n1 -> n2 contingency and the firing rate) and forwards it.
class DistalRewardExperiment::Observer final : public Recorder {
 public:
  explicit Observer(DistalRewardExperiment& x) : x_(x) {}
  void on_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t) override {
    x_.on_spikes(pop, neurons, t);
    if (x_.extra_) x_.extra_->on_spikes(pop, neurons, t);
  }
  void on_sample(std::uint32_t probe, Tick t, std::span<const double> values) override {
    if (x_.extra_) x_.extra_->on_sample(probe, t, values);
  }
  void flush() override {
    if (x_.extra_) x_.extra_->flush();
  }

 private:
  DistalRewardExperiment& x_;
};

DistalRewardExperiment::DistalRewardExperiment(const DistalRewardConfig& cfg)
    : cfg_(cfg), reward_rng_(Rng::stream(cfg.seed, "reward")) {
  if (cfg.n_exc < 1) throw std::invalid_argument("distal reward: need n_exc >= 1");
  // One tick = one ms = one step: daspnet's time grid.
  own_sim_ = std::make_unique<Simulator>(TimeGrid(1.0), 1);
  sim_ = own_sim_.get();
  const auto exc =
      sim_->add_population("exc", std::make_unique<IzhikevichPopulation>(
                                      cfg.n_exc, cfg.exc, Rng::stream(cfg.seed, "exc/noise")));
  long inh = -1;
  if (cfg.n_inh > 0)
    inh = sim_->add_population("inh", std::make_unique<IzhikevichPopulation>(
                                          cfg.n_inh, cfg.inh, Rng::stream(cfg.seed, "inh/noise")));
  wire(exc, inh);
}

DistalRewardExperiment::DistalRewardExperiment(const DistalRewardConfig& cfg, Simulator& sim,
                                               std::uint32_t exc, long inh)
    : cfg_(cfg), sim_(&sim), reward_rng_(Rng::stream(cfg.seed, "reward")) {
  cfg_.n_exc = sim.population(exc).size();
  cfg_.n_inh = inh >= 0 ? sim.population(static_cast<std::uint32_t>(inh)).size() : 0;
  wire(exc, inh);
}

void DistalRewardExperiment::wire(std::uint32_t exc, long inh) {
  const DistalRewardConfig& cfg = cfg_;
  if (cfg.synapses_per_neuron < 1)
    throw std::invalid_argument("distal reward: need synapses_per_neuron >= 1");
  const TimeGrid& grid = sim_->grid();
  exc_ = exc;
  inh_ = inh >= 0 ? static_cast<std::uint32_t>(inh) : exc;
  // daspnet.m: post = ceil([N·rand(Ne,M); Ne·rand(Ni,M)]), row by row.
  Rng conn = Rng::stream(cfg.seed, "connect");
  const std::uint32_t N = cfg.n_exc + cfg.n_inh, M = cfg.synapses_per_neuron;
  std::vector<SynapseSpec> ee, ei, ie;
  n2_pop_ = exc_;
  for (std::uint32_t i = 0; i < cfg.n_exc; ++i)
    for (std::uint32_t m = 0; m < M; ++m) {
      const auto tgt = static_cast<std::uint32_t>(conn.below(N));
      const bool chosen = i == 0 && m == 0;
      const double w = chosen ? 0.0 : cfg.w_exc;
      if (tgt < cfg.n_exc) {
        if (chosen) n2_pop_ = exc_, n2_ = tgt;
        ee.push_back({i, tgt, w, 0});
      } else {
        if (chosen) n2_pop_ = inh_, n2_ = tgt - cfg.n_exc;
        ei.push_back({i, tgt - cfg.n_exc, w, 0});
      }
    }
  for (std::uint32_t i = 0; i < cfg.n_inh; ++i)
    for (std::uint32_t m = 0; m < M; ++m)
      ie.push_back({i, static_cast<std::uint32_t>(conn.below(cfg.n_exc)), cfg.w_inh, 0});
  const bool chosen_in_ee = n2_pop_ == exc_;
  // Synapse 0 of row 0 keeps index 0 in the CSR arrays (rows are in order, delays all 0).
  chosen_syn_ = 0;
  // No stored presynaptic index (4 B per synapse): the R-STDP rule never reads it, and the run
  // file's /edges reads it from the row pointers.
  ee_ = sim_->add_projection(build_spike_projection("exc->exc", exc_, exc_, cfg.n_exc, cfg.n_exc, 0,
                                                    std::move(ee), PreIndex::view));
  if (cfg.n_inh > 0) {
    ei_ = sim_->add_projection(build_spike_projection("exc->inh", exc_, inh_, cfg.n_exc, cfg.n_inh,
                                                      0, std::move(ei), PreIndex::view));
    ie_ = sim_->add_projection(build_spike_projection("inh->exc", inh_, exc_, cfg.n_inh, cfg.n_exc,
                                                      0, std::move(ie), PreIndex::view));
  }
  chosen_proj_ = chosen_in_ee ? ee_ : ei_;
  if (sim_->projection(chosen_proj_).weight.at(chosen_syn_) != 0.0f)
    throw std::logic_error("distal reward: chosen synapse not at CSR index 0");

  da_ = std::make_unique<Modulator>(cfg.modulator, cfg.da_baseline, cfg.da_tau, grid);
  if (cfg.plastic) {
    for (std::uint32_t pid : plastic_projections()) {
      auto rule = std::make_unique<ThreeFactorStdp>(sim_->projection(pid), cfg.rule, *da_, grid);
      rules_.push_back(rule.get());
      if (pid == chosen_proj_) chosen_rule_ = rule.get();
      sim_->set_rule(pid, std::move(rule));
    }
  }

  observer_ = std::make_unique<Observer>(*this);
  sim_->set_recorder(observer_.get());
  reward_ctl_ = sim_->add_control([this](Tick t, std::uint32_t, std::uint32_t) {
    da_->pulse(t, cfg_.reward_amount);
    ++res_.rewards_delivered;
    if (!cfg_.contingent && cfg_.control_rate > 0.0) {
      // Next Poisson reward: exponential interval, on the 1-ms grid, at least 1 ms later.
      const double u = 1.0 - reward_rng_.uniform();
      sim_->schedule_control(t + control_gap(u), reward_ctl_);
    }
  });
  sample_ctl_ = sim_->add_control([this](Tick t, std::uint32_t, std::uint32_t) {
    take_sample(t);
    sim_->schedule_control(t + std::max<Tick>(1, sim_->grid().round_ms(cfg_.sample_every)),
                           sample_ctl_, 1);
  });
  res_.seed = cfg.seed;
  res_.contingent = cfg.contingent;
  res_.n2 = n2_pop_ == exc_ ? n2_ : cfg.n_exc + n2_;
  res_.n2_excitatory = n2_pop_ == exc_;
}

DistalRewardExperiment::~DistalRewardExperiment() = default;

void DistalRewardExperiment::on_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons,
                                       Tick t) {
  res_.spikes += neurons.size();
  if (pop == exc_ && !neurons.empty() && neurons.front() == 0) last_n1_ = t;  // n1 = exc 0
  if (pop != n2_pop_ || !cfg_.contingent) return;
  if (!std::binary_search(neurons.begin(), neurons.end(), n2_)) return;
  // daspnet: (t − n1f(end) < interval) & (n2f(end) > n1f(end)).
  if (last_n1_ < t && sim_->grid().to_ms(t - last_n1_) < cfg_.window) {
    ++res_.coincidences;
    const double u = reward_rng_.uniform();
    const double delay_ms = cfg_.delay_min + std::ceil(cfg_.delay_span * (u > 0.0 ? u : 1e-300));
    sim_->schedule_control(t + sim_->grid().round_ms(delay_ms), reward_ctl_);
  }
}

// Exponential interval of the control protocol's Poisson rewards, rounded up to the 1-ms grid
// (daspnet's time resolution), at least 1 ms.
Tick DistalRewardExperiment::control_gap(double u) const {
  const double ms = std::max(1.0, std::ceil(-std::log(u) * 1000.0 / cfg_.control_rate));
  return std::max<Tick>(1, sim_->grid().round_ms(ms));
}

void DistalRewardExperiment::take_sample(Tick t) {
  DistalRewardSample s{sim_->grid().to_ms(t), 0.0, 0.0, da_->value(t)};
  if (chosen_rule_) {
    s.w = chosen_rule_->weight(sim_->projection(chosen_proj_), chosen_syn_, t);
    s.c = chosen_rule_->eligibility(chosen_syn_, t);
  } else {
    s.w = sim_->projection(chosen_proj_).weight[chosen_syn_];
  }
  const double wmax = cfg_.rule.w_max;
  if (res_.t_reach_90 < 0 && s.w >= 0.9 * wmax) res_.t_reach_90 = s.t_ms;
  if (res_.t_reach_95 < 0 && s.w >= 0.95 * wmax) res_.t_reach_95 = s.t_ms;
  res_.samples.push_back(s);
  if (sample_cb_) sample_cb_(s);
}

DistalRewardResult DistalRewardExperiment::run() {
  const Tick t_start = sim_->now();
  const Tick end = t_start + sim_->grid().round_ms(cfg_.duration);
  sim_->schedule_control(t_start, sample_ctl_, 1);
  if (!cfg_.contingent && cfg_.control_rate > 0.0)
    sim_->schedule_control(t_start + control_gap(1.0 - reward_rng_.uniform()), reward_ctl_);
  const auto t0 = std::chrono::steady_clock::now();
  sim_->run_until(end);
  res_.loop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  take_sample(end);

  for (std::size_t k = 0; k < rules_.size(); ++k)
    rules_[k]->sync_all(sim_->projection(plastic_projections()[k]), end);
  std::vector<float> w;
  for (std::uint32_t pid : plastic_projections()) {
    const auto& p = sim_->projection(pid);
    w.insert(w.end(), p.weight.begin(), p.weight.end());
  }
  const double wc = sim_->projection(chosen_proj_).weight[chosen_syn_];
  res_.w_final = wc;
  std::size_t below = 0, at_max = 0;
  double sum = 0.0;
  for (float x : w) {
    below += x < wc;
    at_max += x >= cfg_.rule.w_max;
    sum += x;
  }
  std::sort(w.begin(), w.end());
  auto quant = [&](double q) {
    return static_cast<double>(w[static_cast<std::size_t>(q * (w.size() - 1))]);
  };
  res_.percentile_final = 100.0 * static_cast<double>(below) / static_cast<double>(w.size());
  res_.median_exc = quant(0.5);
  res_.p90_exc = quant(0.9);
  res_.p99_exc = quant(0.99);
  res_.mean_exc = sum / static_cast<double>(w.size());
  res_.frac_at_max = static_cast<double>(at_max) / static_cast<double>(w.size());
  res_.synaptic_events = sim_->stats().synaptic_events;
  res_.rate_hz = static_cast<double>(res_.spikes) / (static_cast<double>(cfg_.n_exc + cfg_.n_inh) *
                                                     sim_->grid().to_ms(end - t_start) * 1e-3);
  return res_;
}

}  // namespace sbx
