#include "envs/distal_reward.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
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
  // matlab_duplicates: which synapses of a row carry current in daspnet.m (the last of each
  // repeated target) and how many synapses each kept one stands for.
  std::vector<std::uint32_t> tg(M), mult(M);
  std::vector<std::uint8_t> dup(M);
  auto mark_row = [&](bool first_row_has_chosen) {
    std::fill(mult.begin(), mult.end(), 1u);
    for (std::uint32_t m = 0; m < M; ++m) {
      dup[m] = 0;
      for (std::uint32_t q = 0; q < M; ++q) dup[m] |= q != m && tg[q] == tg[m];
    }
    if (first_row_has_chosen)
      for (std::uint32_t q = 1; q < M; ++q) res_.chosen_shadowed |= tg[q] == tg[0];
    if (!cfg.matlab_duplicates) return;
    for (std::uint32_t m = 0; m < M; ++m) {
      if (first_row_has_chosen && m == 0) continue;  // the chosen synapse is always kept
      for (std::uint32_t q = m + 1; q < M; ++q)
        if (tg[q] == tg[m]) {  // a later synapse onto the same target: m carries no current
          mult[q] += mult[m];
          mult[m] = 0;
          break;
        }
    }
  };
  for (std::uint32_t i = 0; i < cfg.n_exc; ++i) {
    for (std::uint32_t m = 0; m < M; ++m) tg[m] = static_cast<std::uint32_t>(conn.below(N));
    mark_row(i == 0);
    for (std::uint32_t m = 0; m < M; ++m) {
      const std::uint32_t t = tg[m];
      const bool chosen = i == 0 && m == 0;
      if (mult[m] == 0) {
        ++res_.dropped_exc;
        continue;
      }
      const double w = chosen ? 0.0 : cfg.w_exc;
      if (t < cfg.n_exc) {
        if (chosen) n2_pop_ = exc_, n2_ = t;
        ee.push_back({i, t, w, 0});
        mult_ee_.push_back(mult[m]);
        dup_ee_.push_back(dup[m]);
      } else {
        if (chosen) n2_pop_ = inh_, n2_ = t - cfg.n_exc;
        ei.push_back({i, t - cfg.n_exc, w, 0});
        mult_ei_.push_back(mult[m]);
        dup_ei_.push_back(dup[m]);
      }
    }
  }
  for (std::uint32_t i = 0; i < cfg.n_inh; ++i) {
    for (std::uint32_t m = 0; m < M; ++m) tg[m] = static_cast<std::uint32_t>(conn.below(cfg.n_exc));
    mark_row(false);
    for (std::uint32_t m = 0; m < M; ++m) {
      if (mult[m] == 0) {
        ++res_.dropped_inh;
        continue;
      }
      ie.push_back({i, tg[m], cfg.w_inh, 0});
    }
  }
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
  // Rewards only add dopamine: with a baseline and a reward >= 0 it never goes negative, which
  // lets the rule skip negligible potentiation exactly (circuits/plasticity.hpp).
  if (cfg.da_baseline >= 0.0 && cfg.reward_amount >= 0.0) da_->declare_nonnegative();
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
  if (cfg.matlab_duplicates && res_.chosen_shadowed) {
    // daspnet.m: a later synapse of n1 onto n2 overwrites the chosen one's I(n2) += s. At every
    // n1 spike (scheduled by on_spikes at its tick, run before the next step like the delivery)
    // the chosen synapse's weight of that tick is subtracted from n2's input again. The weight
    // is the one the delivery adds: both are w(t) = clip(v + η·ĉ·(K(t) − K_s)), whatever their
    // order within the tick.
    shadow_ctl_ = sim_->add_control([this](Tick t, std::uint32_t, std::uint32_t) {
      SpikeProjection& p = sim_->projection(chosen_proj_);
      const double w = chosen_rule_ ? chosen_rule_->weight(p, chosen_syn_, t)
                                    : static_cast<double>(p.weight[chosen_syn_]);
      double* buf = sim_->population(n2_pop_).receptor_buffer(p.receptor);
      if (!buf) throw std::logic_error("distal reward: n2's population has no double buffer");
      buf[n2_] -= static_cast<double>(static_cast<float>(w));
    });
  }
  res_.seed = cfg.seed;
  res_.contingent = cfg.contingent;
  res_.n2 = n2_pop_ == exc_ ? n2_ : cfg.n_exc + n2_;
  res_.n2_excitatory = n2_pop_ == exc_;
}

DistalRewardExperiment::~DistalRewardExperiment() = default;

void DistalRewardExperiment::on_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons,
                                       Tick t) {
  res_.spikes += neurons.size();
  (pop == exc_ ? res_.spikes_exc : res_.spikes_inh) += neurons.size();
  if (pop == exc_ && !neurons.empty() && neurons.front() == 0) {  // n1 = exc 0
    last_n1_ = t;
    if (shadow_ctl_ >= 0) sim_->schedule_control(t, static_cast<std::uint32_t>(shadow_ctl_));
  }
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
  if (cfg_.progress_every > 0.0 && t > last_progress_ &&
      sim_->grid().to_ms(t - last_progress_) >= cfg_.progress_every - 1e-9)
    print_progress(t);
}

// Computed from the rules' virtual weights without storing anything (current_weights), so that
// progress lines do not change the run.
std::vector<float> DistalRewardExperiment::excitatory_weights(Tick t) {
  std::vector<float> w, now;
  w.reserve(static_cast<std::size_t>(cfg_.n_exc) * cfg_.synapses_per_neuron);
  const std::vector<std::uint32_t> pids = plastic_projections();
  for (std::size_t j = 0; j < pids.size(); ++j) {
    const auto& p = sim_->projection(pids[j]);
    now.assign(p.weight.begin(), p.weight.end());
    if (j < rules_.size()) rules_[j]->current_weights(p, t, now.data());
    const auto& mult = pids[j] == ee_ ? mult_ee_ : mult_ei_;
    for (std::size_t k = 0; k < now.size(); ++k) w.insert(w.end(), mult[k], now[k]);
  }
  return w;
}

void DistalRewardExperiment::print_progress(Tick t) {
  std::vector<float> w = excitatory_weights(t);
  double sum = 0.0;
  std::size_t at_max = 0;
  for (float x : w) sum += x, at_max += x >= cfg_.rule.w_max;
  std::sort(w.begin(), w.end());
  const double secs = sim_->grid().to_ms(t - last_progress_) * 1e-3;
  std::fprintf(
      stderr,
      "progress t_s=%.0f rate_exc_hz=%.4f rate_inh_hz=%.4f median=%.4f mean=%.4f "
      "p99=%.4f frac_at_max=%.5f rewards=%llu\n",
      sim_->grid().to_ms(t - t_start_) * 1e-3,
      static_cast<double>(res_.spikes_exc - progress_exc_) / (cfg_.n_exc * secs),
      cfg_.n_inh ? static_cast<double>(res_.spikes_inh - progress_inh_) / (cfg_.n_inh * secs) : 0.0,
      static_cast<double>(w[w.size() / 2]), sum / static_cast<double>(w.size()),
      static_cast<double>(w[static_cast<std::size_t>(0.99 * (w.size() - 1))]),
      static_cast<double>(at_max) / static_cast<double>(w.size()),
      static_cast<unsigned long long>(res_.rewards_delivered));
  last_progress_ = t;
  progress_exc_ = res_.spikes_exc;
  progress_inh_ = res_.spikes_inh;
}

DistalRewardResult DistalRewardExperiment::run() {
  const Tick t_start = sim_->now();
  t_start_ = last_progress_ = t_start;
  const Tick end = t_start + sim_->grid().round_ms(cfg_.duration);
  sim_->schedule_control(t_start, sample_ctl_, 1);
  if (!cfg_.contingent && cfg_.control_rate > 0.0)
    sim_->schedule_control(t_start + control_gap(1.0 - reward_rng_.uniform()), reward_ctl_);
  const auto t0 = std::chrono::steady_clock::now();
  sim_->run_until(end);
  res_.loop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  take_sample(end);

  // proj.weight holds the weights from here on (statistics below, the run file's /weights).
  for (std::size_t k = 0; k < rules_.size(); ++k)
    rules_[k]->sync_all(sim_->projection(plastic_projections()[k]), end);
  std::vector<float> w = excitatory_weights(end);
  {
    double n[2] = {0, 0}, cap[2] = {0, 0}, sum[2] = {0, 0};
    for (std::uint32_t pid : plastic_projections()) {
      const auto& p = sim_->projection(pid);
      const auto& mult = pid == ee_ ? mult_ee_ : mult_ei_;
      const auto& dup = pid == ee_ ? dup_ee_ : dup_ei_;
      for (std::size_t k = 0; k < p.weight.size(); ++k) {
        const int g = dup[k];
        n[g] += mult[k];
        cap[g] += mult[k] * (p.weight[k] >= cfg_.rule.w_max);
        sum[g] += mult[k] * static_cast<double>(p.weight[k]);
      }
    }
    res_.frac_dup = n[1] / std::max(1.0, n[0] + n[1]);
    res_.frac_at_max_single = cap[0] / std::max(1.0, n[0]);
    res_.frac_at_max_dup = cap[1] / std::max(1.0, n[1]);
    res_.mean_single = sum[0] / std::max(1.0, n[0]);
    res_.mean_dup = sum[1] / std::max(1.0, n[1]);
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
  const double secs = sim_->grid().to_ms(end - t_start) * 1e-3;
  res_.rate_exc_hz = static_cast<double>(res_.spikes_exc) / (cfg_.n_exc * secs);
  res_.rate_inh_hz =
      cfg_.n_inh > 0 ? static_cast<double>(res_.spikes_inh) / (cfg_.n_inh * secs) : 0.0;
  return res_;
}

}  // namespace sbx
