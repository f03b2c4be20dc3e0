#include "apps/run_episodes.hpp"
#include "engine/learning.hpp"

#include "apps/runner_util.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

#include "circuits/lane_blocks.hpp"
#include "circuits/loader.hpp"
#include "circuits/plasticity_registry.hpp"
#include "circuits/step_blocks.hpp"
#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/progress.hpp"
#include "envs/bandit.hpp"
#include "envs/cartpole.hpp"

namespace sbx::app {

using circuits::BlockDesc;
using circuits::CircuitDescription;

namespace {

std::string describe_obs(const StepEnvironment& env) {
  std::string names;
  for (const auto& n : env.observation_names()) names += (names.empty() ? "" : ", ") + n;
  return "environment '" + std::string(env.name()) + "' observes " +
         std::to_string(env.observation_size()) + " value" +
         (env.observation_size() == 1 ? "" : "s") + " (" + names + ")";
}

}  // namespace

std::unique_ptr<StepEnvironment> make_step_environment(const EpisodesSetup& s) {
  if (s.env == "cartpole") {
    CartPoleParams p;
    if (s.max_steps) p.max_steps = s.max_steps;
    return std::make_unique<CartPole>(p);
  }
  if (s.env == "lane_keeping") {
    LaneKeepingParams p;
    p.reward = s.lane_reward;
    if (s.max_steps) p.max_steps = s.max_steps;
    p.start_x = s.lane_start;
    p.phase = s.lane_curriculum ? 1 : 0;
    return std::make_unique<LaneKeeping>(p);
  }
  if (s.env == "bandit") {
    BanditParams p;
    p.n_arms = s.bandit_arms;
    p.change_every = s.bandit_change_every;
    p.n_contexts = s.bandit_contexts;
    p.observe_context = s.bandit_observe_context;
    p.max_steps = s.max_steps;
    return std::make_unique<NonStationaryBandit>(p);
  }
  throw InternalError("episodes: unknown environment '" + s.env + "'");
}

EpisodesSetup episodes_setup(const CircuitDescription& d) {
  Problems pr{d, {}};
  EpisodesSetup s;
  const auto& ex = d.experiment.params;
  s.env = ex.text("env");
  s.n_episodes = static_cast<std::uint64_t>(ex.integer("n_episodes"));
  s.step_window_ms = ex.number("step_window");
  s.encoder = ex.text("encoder");
  s.decoder = ex.text("decoder");
  s.reset_each_step = ex.boolean("reset_each_step");
  s.prune_every = static_cast<std::uint64_t>(ex.integer("prune_every"));
  s.prune_below = ex.number("prune_below");
  if (ex.has("prune_edges")) {
    const auto& v = ex.values.find("prune_edges")->second;
    if (const auto* one = std::get_if<std::string>(&v))
      s.prune_edges = {*one};
    else
      s.prune_edges = ex.strings("prune_edges");
  }
  s.max_steps = static_cast<std::uint32_t>(ex.integer("max_steps"));
  s.lane_reward = ex.text("lane_reward") == "original" ? LaneReward::original : LaneReward::shaped;
  s.lane_curriculum = ex.boolean("lane_curriculum");
  s.lane_start = ex.number("lane_start");
  s.bandit_arms = static_cast<std::uint32_t>(ex.integer("bandit_arms"));
  s.bandit_change_every = static_cast<std::uint32_t>(ex.integer("bandit_change_every"));
  s.bandit_contexts = static_cast<std::uint32_t>(ex.integer("bandit_contexts"));
  s.bandit_observe_context = ex.boolean("bandit_observe_context");
  s.test_episodes = static_cast<std::uint64_t>(ex.integer("test_episodes"));
  s.test_epsilon = ex.number("test_epsilon");
  s.test_lane_phase = static_cast<int>(ex.integer("test_lane_phase"));
  s.test_success_above = ex.number("test_success_above");
  s.try_each_action_first = ex.boolean("try_each_action_first");
  s.record_steps = ex.boolean("record_steps");

  // Keys of another environment did nothing (lane_start with env = "cartpole"), and a bandit
  // episode longer than 2^32 - 1 steps wrapped around (65536 x 65536 steps ended after one).
  auto other_env = [&](const char* key, bool set, const char* env) {
    if (set && s.env != env)
      pr.add(ex.position(key), std::string("experiment.") + key,
             std::string(key) + " applies to env = \"" + env + "\" only; with env = \"" + s.env +
                 "\" it has no effect (leave it out)");
  };
  other_env("lane_reward", ex.text("lane_reward") != "shaped", "lane_keeping");
  other_env("lane_curriculum", s.lane_curriculum, "lane_keeping");
  other_env("lane_start", s.lane_start != 0.0, "lane_keeping");
  other_env("test_lane_phase", s.test_lane_phase != 3, "lane_keeping");
  other_env("bandit_arms", s.bandit_arms != 8, "bandit");
  other_env("bandit_change_every", s.bandit_change_every != 400, "bandit");
  other_env("bandit_contexts", s.bandit_contexts != 8, "bandit");
  other_env("bandit_observe_context", s.bandit_observe_context, "bandit");
  if (s.env == "bandit" && s.max_steps == 0 &&
      static_cast<std::uint64_t>(s.bandit_change_every) * s.bandit_contexts > 0xFFFFFFFFull)
    pr.add(ex.position("bandit_contexts"), "experiment.bandit_contexts",
           "bandit_change_every x bandit_contexts = " + std::to_string(s.bandit_change_every) +
               " x " + std::to_string(s.bandit_contexts) +
               " steps in the episode; at most 4294967295 (2^32 - 1)");
  // (1e300 ms: "run_until: end time is in the past")
  if (const std::string beyond =
          circuits::beyond_tick_range("step_window", s.step_window_ms, d.run.tick);
      !beyond.empty())
    pr.add(ex.position("step_window"), "experiment.step_window", beyond);
  pr.throw_if_any();

  const auto env = make_step_environment(s);
  const std::uint32_t m = env->observation_size();

  // Window on the clock grid.
  const double steps = s.step_window_ms / d.run.dt;
  if (std::abs(steps - std::round(steps)) > 1e-9 * std::max(1.0, steps) || std::round(steps) < 1)
    pr.add(ex.position("step_window"), "experiment.step_window",
           "must be a positive multiple of [run].dt = " + std::to_string(d.run.dt) + " ms, got " +
               std::to_string(s.step_window_ms) + " ms");

  // Encoder: its size and ranges against the observation.
  const BlockDesc* enc = d.find_block(s.encoder);
  const BlockDesc* dec = d.find_block(s.decoder);
  if (!enc || !dec) throw InternalError("episodes: encoder/decoder block missing after loading");
  const ObsCodingParams code = circuits::obs_coding_from(*enc);
  const std::string ek = "blocks." + s.encoder;
  const std::string& coding = enc->params.text("coding");
  bool size_ok = true;
  std::string need;
  switch (code.coding) {
    case ObsCoding::direct:
      size_ok = enc->n == m;
      need = "n = " + std::to_string(m);
      break;
    case ObsCoding::signed_pair:
      size_ok = enc->n == 2 * m;
      need = "n = 2 x " + std::to_string(m) + " = " + std::to_string(2 * m);
      break;
    case ObsCoding::population:
      size_ok = enc->n >= m && enc->n % m == 0;
      need = "n = a multiple of " + std::to_string(m) + " (units per component x " +
             std::to_string(m) + ")";
      break;
  }
  if (!size_ok)
    pr.add(enc->params.position("n"), ek + ".n",
           "n = " + std::to_string(enc->n) + " does not match the observation: " +
               describe_obs(*env) + "; coding '" + coding + "' needs " + need);
  for (const char* key : {"scale", "low", "high"})
    if (enc->params.has(key) && enc->params.numbers(key).size() != m)
      pr.add(enc->params.position(key), ek + "." + key,
             "needs one value per observation component (" + std::to_string(m) + "), got " +
                 std::to_string(enc->params.numbers(key).size()) + "; " + describe_obs(*env));

  // Decoder: the action count and the pools.
  s.decoder_params = circuits::decoder_params_from(*dec);
  s.motor = dec->params.text("source");
  s.readout_variable = dec->params.text("variable");
  const std::string dk = "blocks." + s.decoder;
  if (s.decoder_params.n_actions != env->n_actions())
    pr.add(dec->params.position("n_actions"), dk + ".n_actions",
           "n_actions = " + std::to_string(s.decoder_params.n_actions) + " but environment '" +
               s.env + "' has " + std::to_string(env->n_actions()) + " actions");
  if (const BlockDesc* motor = d.find_block(s.motor);
      motor && motor->n % s.decoder_params.n_actions != 0)
    pr.add(dec->params.position("source"), dk + ".source",
           "block '" + s.motor + "' has n = " + std::to_string(motor->n) +
               " neurons, not a multiple of n_actions = " +
               std::to_string(s.decoder_params.n_actions) + " (one equal pool per action)");

  // Keys and readouts that would silently do nothing with this decoder.
  const auto& dp = dec->params;
  const std::string& policy = dp.text("policy");
  if (const BlockDesc* motor = d.find_block(s.motor);
      motor && s.decoder_params.readout == DecoderReadout::spike_count &&
      (motor->kind == "rate" || motor->kind == "neural_mass"))
    pr.add(dp.position("readout"), dk + ".readout",
           "readout = \"spike_count\" counts spikes, but block '" + s.motor + "' (model " +
               motor->model +
               ") never spikes: every pool would count 0 and the policy would "
               "never see the network; use readout = \"membrane\"");
  if (s.decoder_params.readout == DecoderReadout::spike_count && !s.readout_variable.empty())
    pr.add(dp.position("variable"), dk + ".variable",
           "variable is read by readout = \"membrane\" only; this decoder counts spikes");
  if (s.decoder_params.epsilon > 0.0 && s.decoder_params.policy != DecoderPolicy::epsilon_greedy)
    pr.add(dp.position("epsilon"), dk + ".epsilon",
           "epsilon is used by policy = \"epsilon_greedy\" only; with policy = \"" + policy +
               "\" it would never explore (set policy = \"epsilon_greedy\")");
  if (s.decoder_params.policy != DecoderPolicy::softmax &&
      (s.decoder_params.temperature != 1.0 || !s.decoder_params.temperature_from.empty())) {
    const char* key =
        s.decoder_params.temperature_from.empty() ? "temperature" : "temperature_from";
    pr.add(dp.position(key), dk + "." + key,
           std::string(key) + " is used by policy = \"softmax\" only; with policy = \"" + policy +
               "\" it has no effect (set policy = \"softmax\")");
  }

  // td_dopamine edges: encoder -> motor only.
  for (const auto& c : d.connections) {
    if (!c.learning || c.learning->type != "td_dopamine") continue;
    if (c.from != s.encoder || c.to != s.motor) {
      pr.add(c.learning->pos, c.path + ".learning",
             "a td_dopamine edge must go from the encoder '" + s.encoder +
                 "' to the decoder's source '" + s.motor + "', got " + c.from + " -> " + c.to);
      continue;
    }
    if (enc->type != "current_encoder")
      pr.add(c.learning->pos, c.path + ".learning",
             "td_dopamine needs a current_encoder (it reads the coded observation)");
    TdDopamineParams p;
    const auto& lp = c.learning->params;
    p.alpha = lp.number("alpha");
    p.gamma = lp.number("gamma");
    p.value =
        lp.text("value") == "linear" ? TdValueTerm::linear : TdValueTerm::positive_input_weight_sum;
    p.failure_reward = lp.has("failure_reward") ? std::optional<double>(lp.number("failure_reward"))
                                                : std::nullopt;
    p.bootstrap_terminal = lp.boolean("bootstrap_terminal");
    p.w_min = lp.number("w_min");
    p.w_max = lp.number("w_max");
    if (!(p.w_min <= p.w_max))
      pr.add(c.learning->pos, c.path + ".learning.w_min", "w_min must be <= w_max");
    s.td_edges.push_back({c.name, p});
  }
  for (const auto& c : d.connections) {
    if (!c.learning || c.learning->type != "ach_na") continue;
    if (c.from != s.encoder || c.to != s.motor || enc->type != "current_encoder" || enc->n != 1 ||
        code.coding != ObsCoding::direct || m != 1) {
      pr.add(c.learning->pos, c.path + ".learning",
             "an ach_na edge must go from a 1-unit direct current_encoder of a 1-value "
             "observation (the bandit's bias) to the decoder's source '" +
                 s.motor + "', got " + c.from + " -> " + c.to);
      continue;
    }
    if (!s.ach_na_edges.empty()) {
      pr.add(c.learning->pos, c.path + ".learning", "only one ach_na edge per circuit");
      continue;
    }
    const auto& lp = c.learning->params;
    AchNaParams p;
    p.ensemble = static_cast<std::uint32_t>(lp.integer("ensemble"));
    p.q0 = lp.number("q0");
    p.s0 = lp.number("s0");
    p.multiplier = lp.number("multiplier");
    p.mask_p = lp.number("mask_p");
    p.t_floor = lp.number("t_floor");
    p.fixed_member_rates = lp.text("member_rates") != "scaled";
    p.floored_member_rates = lp.text("member_rates") == "floored";
    p.ensemble_rate = lp.number("ensemble_rate");
    p.na_gain = lp.number("na_gain");
    p.aleatoric_within = lp.text("aleatoric") == "within";
    const std::string reset = lp.text("change_reset");
    p.change_reset = reset == "arm"   ? AchNaParams::Reset::arm
                     : reset == "all" ? AchNaParams::Reset::all
                                      : AchNaParams::Reset::none;
    p.shift_memory = static_cast<std::uint32_t>(lp.integer("shift_memory"));
    p.shift_threshold = lp.number("shift_threshold");
    p.reset_sd = lp.number("reset_sd");
    p.shift_geometric = lp.text("shift_mean") == "geometric";
    p.reset_to_max = lp.text("reset_prior") == "max";
    // A member rate above 2 makes q += a (r - q) overshoot and diverge (alpha_k <= 1).
    const double top_rate = p.floored_member_rates ? std::max(p.ensemble_rate, 1.0)
                            : p.fixed_member_rates ? p.ensemble_rate
                                                   : 1.0;
    if (top_rate * p.multiplier > 2.0)
      pr.add(lp.position("multiplier"), "rules." + c.learning->rule + ".multiplier",
             "the largest member rate " +
                 std::string(p.floored_member_rates ? "max(ensemble_rate, 1) x multiplier"
                             : p.fixed_member_rates ? "ensemble_rate x multiplier"
                                                    : "multiplier") +
                 " = " + std::to_string(top_rate * p.multiplier) +
                 " must be <= 2 (the estimates diverge above)");
    s.ach_na_edges.push_back({c.name, c.learning->rule, p});
  }
  // eligibility_dopamine edges: spike_encoder -> decoder source, at most one.
  for (const auto& c : d.connections) {
    if (!c.learning || c.learning->type != "eligibility_dopamine") continue;
    const BlockDesc* motor = d.find_block(s.motor);
    if (c.from != s.encoder || c.to != s.motor || enc->type != "spike_encoder") {
      pr.add(c.learning->pos, c.path + ".learning",
             "an eligibility_dopamine edge must go from the spike_encoder '" + s.encoder +
                 "' to the decoder's source '" + s.motor + "', got " + c.from + " -> " + c.to);
      continue;
    }
    if (motor && motor->n < enc->n) {
      pr.add(c.learning->pos, c.path + ".learning",
             "the encoder's units are network neurons 0.." + std::to_string(enc->n - 1) +
                 " of the source block: its n = " + std::to_string(motor->n) +
                 " must be >= the encoder's n = " + std::to_string(enc->n));
      continue;
    }
    if (!s.elig_edges.empty()) {
      pr.add(c.learning->pos, c.path + ".learning",
             "only one eligibility_dopamine edge per circuit");
      continue;
    }
    s.elig_edges.push_back({c.name, circuits::eligibility_dopamine_params_from(*c.learning)});
  }
  if (!s.decoder_params.temperature_from.empty() && s.ach_na_edges.empty())
    pr.add(dec->params.position("temperature_from"), dk + ".temperature_from",
           "modulator '" + s.decoder_params.temperature_from +
               "' is published by an ach_na edge; the circuit has none");
  if (s.prune_edges.empty() && s.prune_every > 0)
    for (const auto& c : d.connections)
      if (c.learning) s.prune_edges.push_back(c.name);
  for (const auto& name : s.prune_edges) {
    bool found = false;
    for (const auto& c : d.connections) found = found || c.name == name;
    if (!found) {
      std::string all;
      for (const auto& c : d.connections) all += (all.empty() ? "" : ", ") + c.name;
      pr.add(ex.position("prune_edges"), "experiment.prune_edges",
             "no edge named '" + name + "' (edges: " + (all.empty() ? "none" : all) + ")");
    }
  }
  s.actor_critic = actor_critic_setup(d, s.encoder, s.motor, pr);
  pr.throw_if_any();
  return s;
}

// ---- EpisodeRunner ------------------------------------------------------------------------------

// Counts the motor population's spikes of the current window; forwards everything to the file.
struct EpisodeRunner::Counter final : Recorder {
  std::uint32_t population = 0;
  std::vector<std::uint32_t> count;
  Recorder* next = nullptr;
  Recorder* tap = nullptr;  // the eligibility_dopamine runtime, if any
  void on_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t) override {
    if (pop == population)
      for (auto n : neurons) ++count[n];
    if (tap) tap->on_spikes(pop, neurons, t);
    if (next) next->on_spikes(pop, neurons, t);
  }
  void on_sample(std::uint32_t probe, Tick t, std::span<const double> values) override {
    if (next) next->on_sample(probe, t, values);
  }
  void flush() override {
    if (next) next->flush();
  }
};

EpisodeRunner::EpisodeRunner(const CircuitDescription& desc, const EpisodesSetup& s)
    : s_(s),
      sim_(circuits::make_simulator(desc)),
      env_(make_step_environment(s)),
      counter_(std::make_unique<Counter>()),
      policy_rng_(Rng::stream(desc.meta.seed, s.decoder + "/policy")),
      seed_(desc.meta.seed) {
  circuits::BuildOptions bo;
  built_ = circuits::build(desc, *sim_, bo);
  encoder_ = dynamic_cast<EncoderPopulation*>(&sim_->population(built_.population(s.encoder)));
  if (!encoder_) throw InternalError("episodes: the encoder block did not build an encoder");
  motor_pop_ = built_.population(s.motor);
  Population& motor = sim_->population(motor_pop_);
  pool_size_ = motor.size() / s.decoder_params.n_actions;
  counter_->population = motor_pop_;
  counter_->count.assign(motor.size(), 0);
  sim_->set_recorder(counter_.get());
  if (s.decoder_params.readout == DecoderReadout::membrane)
    motor_state_ = membrane_state(motor, s.motor, s.readout_variable, desc, s.decoder);
  for (const auto& te : s.td_edges) {
    const circuits::EdgeBuilt* e = built_.edge(te.edge);
    if (!e || e->couplings.size() != 1)
      throw InternalError("episodes: td_dopamine edge " + te.edge + " has no single coupling");
    td_.push_back(
        {e->couplings[0], TdDopamineRule(te.params, s.decoder_params.n_actions, pool_size_)});
  }
  for (const auto& name : s.prune_edges) {
    const circuits::EdgeBuilt* e = built_.edge(name);
    if (!e) throw InternalError("episodes: prune edge " + name + " not built");
    for (auto c : e->couplings) prune_couplings_.push_back(c);
    for (auto p : e->projections) prune_projections_.push_back(p);
  }
  decoder_ = s.decoder_params;
  if (!s.ach_na_edges.empty()) {
    const auto& an = s.ach_na_edges[0];
    const circuits::EdgeBuilt* e = built_.edge(an.edge);
    if (!e || e->couplings.size() != 1)
      throw InternalError("episodes: ach_na edge " + an.edge + " has no single coupling");
    ach_na_coupling_ = e->couplings[0];
    ach_na_rng_ = Rng::stream(desc.meta.seed, an.rule + "/ensemble");
    ach_na_ = std::make_unique<AchNaEnsemble>(an.params, s.decoder_params.n_actions, ach_na_rng_);
    ach_ = std::make_unique<Modulator>("acetylcholine", 0.0, 1e9, sim_->grid());
    na_ = std::make_unique<Modulator>("noradrenaline", 0.0, 1e9, sim_->grid());
    auto& cp = sim_->continuous(ach_na_coupling_);
    for (std::size_t k = 0; k < cp.n_synapses(); ++k)
      cp.weight[k] = ach_na_->mu(cp.post[k] / pool_size_);
    ach_->set(0, ach_na_->acetylcholine());
    na_->set(0, ach_na_->noradrenaline());
  }
  window_ = sim_->grid().round_ms(s.step_window_ms);
  if (!s.elig_edges.empty()) {
    const circuits::EdgeBuilt* e = built_.edge(s.elig_edges[0].edge);
    if (!e || e->projections.size() != 1)
      throw InternalError("episodes: eligibility_dopamine edge has no single projection");
    const Tick dt = sim_->grid().round_ms(desc.run.dt);
    elig_ = std::make_unique<EligibilityDopamineAgent>(
        s.elig_edges[0].params, sim_->projection(e->projections[0]), built_.population(s.encoder),
        motor_pop_, encoder_->size(), motor.size(), pool_size_, dt,
        static_cast<std::uint32_t>(window_ / dt));
    counter_->tap = elig_.get();
  }
  sim_->start();
  const std::uint32_t enc_id = built_.population(s.encoder);
  for (std::uint32_t p = 0; p < sim_->n_populations(); ++p) {
    if (p == enc_id || sim_->population(p).dynamics() != Dynamics::clocked) continue;
    reset_pops_.push_back(p);
    initial_state_.emplace_back();
    sim_->population(p).save_state(initial_state_.back());
  }
  motor.save_state(motor_initial_);
  if (s.actor_critic.active()) {
    ac_ = std::make_unique<ActorCriticRuntime>(s.actor_critic, desc, *sim_, built_, enc_id,
                                               motor_pop_, s.decoder_params);
    ac_->set_next(counter_.get());
    sim_->set_recorder(ac_->recorder());
  }
  q_.assign(s.decoder_params.n_actions, 0.0);
  s_now_.assign(encoder_->size(), 0.0);
  s_next_.assign(encoder_->size(), 0.0);
}

EpisodeRunner::~EpisodeRunner() = default;

double EpisodeRunner::acetylcholine() const {
  return ach_ ? ach_->value(sim_->now()) : std::nan("");
}
double EpisodeRunner::noradrenaline() const {
  return na_ ? na_->value(sim_->now()) : std::nan("");
}

void EpisodeRunner::set_recorder(Recorder* rec) {
  counter_->next = rec;
}

const std::vector<double>& EpisodeRunner::coupling_weights(const std::string& edge) const {
  const circuits::EdgeBuilt* e = built_.edge(edge);
  if (!e || e->couplings.empty()) throw InternalError("no coupling edge " + edge);
  return std::as_const(*sim_).continuous(e->couplings[0]).weight;
}

EpisodeResult EpisodeRunner::run_episode(std::uint64_t episode) {
  auto* lane = dynamic_cast<LaneKeeping*>(env_.get());
  auto* bandit = dynamic_cast<NonStationaryBandit*>(env_.get());
  if (lane && s_.lane_curriculum) lane->set_phase(curriculum_.phase());
  if (lane && test_lane_phase_ >= 0) lane->set_phase(test_lane_phase_);
  if (elig_) elig_->begin_episode();
  if (episode == 0)
    env_->reset(seed_);
  else
    env_->reset();
  for (std::size_t k = 0; k < reset_pops_.size(); ++k)
    sim_->load_population_state(reset_pops_[k], initial_state_[k]);
  if (ac_) ac_->begin_episode();

  EpisodeResult res;
  double sum_abs_delta = 0.0;
  std::uint64_t n_delta = 0;
  const std::uint32_t n_actions = s_.decoder_params.n_actions;
  while (!env_->done()) {
    encoder_->set_observation(env_->observe());
    std::copy(encoder_->values().begin(), encoder_->values().end(), s_now_.begin());
    if (s_.reset_each_step) sim_->load_population_state(motor_pop_, motor_initial_);
    std::fill(counter_->count.begin(), counter_->count.end(), 0u);
    if (elig_) elig_->begin_step(sim_->now());
    if (ac_) ac_->before_window();
    sim_->run_until(sim_->now() + window_);
    for (auto c : counter_->count) source_spikes_ += c;
    for (std::uint32_t a = 0; a < n_actions; ++a) {
      double v = 0.0;
      for (std::uint32_t j = a * pool_size_; j < (a + 1) * pool_size_; ++j)
        v += s_.decoder_params.readout == DecoderReadout::membrane ? motor_state_[j]
                                                                   : counter_->count[j];
      q_[a] = s_.decoder_params.readout == DecoderReadout::membrane ? v / pool_size_ : v;
    }
    if (elig_) elig_->pathway(q_);
    if (na_ && decoder_.temperature_from == "noradrenaline")
      decoder_.temperature = na_->value(sim_->now());
    std::uint32_t action = choose_action(decoder_, q_, policy_rng_);
    // try_each_action_first: the bandit agents' play() pulls every arm once before the policy acts.
    if (s_.try_each_action_first && global_step_ < n_actions)
      action = static_cast<std::uint32_t>(global_step_);
    const StepResult r = env_->act(action);
    if (ac_) ac_->after_step(q_, action, r);
    res.ret += r.reward;
    if (elig_) elig_->end_step(action, r.reward);
    if (bandit) {
      res.regret += bandit->last_regret();
      res.best_choices += bandit->last_was_best() ? 1 : 0;
    }
    if (!learning_) last_delta_ = std::numeric_limits<double>::quiet_NaN();  // no update: none
    if (!td_.empty() && learning_) {
      encode_observation(encoder_->coding(), env_->observe(), s_next_);
      for (auto& t : td_) {
        const double delta = t.rule.update(sim_->continuous(t.coupling), s_now_, action, r.reward,
                                           s_next_, r.terminated, r.truncated);
        sum_abs_delta += std::abs(delta);
        if (&t == &td_.front()) last_delta_ = delta;
        ++n_delta;
      }
    }
    if (ach_na_ && learning_) {  // test episodes: the values and signals stay frozen
      ach_na_->update(action, r.reward, ach_na_rng_);
      auto& cp = sim_->continuous(ach_na_coupling_);
      // Every arm's weight: a change reset (change_reset = all) also moves arms not pulled.
      for (std::size_t k = 0; k < cp.n_synapses(); ++k)
        cp.weight[k] = ach_na_->mu(cp.post[k] / pool_size_);
      ach_->set(sim_->now(), ach_na_->acetylcholine());
      na_->set(sim_->now(), ach_na_->noradrenaline());
    }
    if (on_step) on_step(global_step_, action, r);
    ++global_step_;
    if (within_episode && !env_->done() && env_->steps() % within_episode_every == 0)
      within_episode(episode, env_->steps());
  }
  res.length = env_->steps();
  res.terminated = env_->terminated();
  res.truncated = env_->truncated();
  res.mean_abs_delta = n_delta ? sum_abs_delta / static_cast<double>(n_delta) : 0.0;
  if (elig_) elig_->end_episode();
  sim_->check_finite();
  if (sleep_due(episode, s_.prune_every)) {
    for (auto c : prune_couplings_)
      res.pruned += sleep_prune(sim_->continuous(c).weight, s_.prune_below);
    for (std::uint32_t id : prune_projections_) {
      SpikeProjection& p = sim_->projection(id);
      // A rule may hold weights relative to a pending integral (rstdp): make them current first.
      if (p.rule) p.rule->sync_weights(p, sim_->now());
      res.pruned += sleep_prune(p.weight, s_.prune_below);
    }
  }
  if (lane && s_.lane_curriculum && learning_) curriculum_.end_episode(res.ret);
  return res;
}

void EpisodeRunner::set_test_mode(bool on, double epsilon, int lane_phase) {
  learning_ = !on;
  // Spike-timing rules on spike edges (stdp, rstdp, three_factor) learn inside the simulation at
  // every spike: stopped for good, their weights kept as training left them (test episodes are
  // the run's last phase, so nothing needs them again).
  if (on)
    for (std::uint32_t pid = 0; pid < sim_->n_projections(); ++pid) sim_->stop_learning(pid);
  if (elig_) elig_->set_learning(!on);
  if (ac_) ac_->set_learning(!on);
  decoder_ = s_.decoder_params;
  if (on && epsilon > 0.0) {
    decoder_.policy = DecoderPolicy::epsilon_greedy;
    decoder_.epsilon = epsilon;
  } else if (on) {
    decoder_.policy = DecoderPolicy::argmax;
  }
  test_lane_phase_ = on ? lane_phase : -1;
}

// ---- runner -------------------------------------------------------------------------------------

RunSummary run_episodes(const CircuitDescription& desc, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const EpisodesSetup setup = episodes_setup(desc);
  std::vector<std::string> driven;  // the value_decoder's TD error, with td_three_factor edges
  if (setup.actor_critic.active()) driven.push_back(setup.actor_critic.td.modulator);
  print_notes(circuits::check_modulators_driven(
      desc, driven,
      driven.empty()
          ? std::string("the episodes experiment (no value_decoder drives a modulator)")
          : "the episodes experiment (its value_decoder sets only '" + driven[0] + "')"));
  EpisodeRunner runner(desc, setup);
  if (opt.dry_run) return {};

  RunFile file(opt.out_path, runner.simulator().grid(), run_file_options(desc, opt));
  // Plastic spike edges (e.g. td_three_factor rules): /weights/<edge> with the initial and final
  // weights and one per output.weights_every ms (taken at the end of the episode it falls in).
  PlasticWeightSnapshots spike_weights(
      desc, runner.simulator(), file,
      declare_common(desc, runner.built(), runner.simulator(), file, opt));
  file.enable_episodes();
  // Plastic couplings (td_dopamine edges; the ach_na edge, whose weights are the learnt arm
  // values): /edges + /weights (initial, then after the last episode), so the learnt map can be
  // analysed.
  std::vector<std::string> coupling_edges;
  for (const auto& te : setup.td_edges) coupling_edges.push_back(te.edge);
  for (const auto& an : setup.ach_na_edges) coupling_edges.push_back(an.edge);
  std::vector<std::pair<std::uint32_t, std::string>> weight_edges;
  for (const std::string& edge : coupling_edges) {
    const circuits::EdgeBuilt* e = runner.built().edge(edge);
    const ContinuousProjection& cp = runner.simulator().continuous(e->couplings[0]);
    const std::uint32_t id =
        file.add_edges(edge, runner.simulator().population_name(cp.pre_population),
                       runner.simulator().population_name(cp.post_population),
                       std::vector<std::uint64_t>(cp.pre.begin(), cp.pre.end()),
                       std::vector<std::uint64_t>(cp.post.begin(), cp.post.end()), cp.weight,
                       std::vector<double>(cp.weight.size(), 0.0), e->learning_rule, true);
    weight_edges.emplace_back(id, edge);
  }
  // Optional per-step rows (/steps, experiment.record_steps): action, reward and the named values
  // the agent and environment publish; buffered per episode, written before its /episodes row
  // and flushed with it.
  std::vector<StepRow> step_rows;
  std::vector<double> step_values;
  if (setup.record_steps) {
    std::vector<std::string> names;
    if (!setup.ach_na_edges.empty()) names = {"acetylcholine", "noradrenaline"};
    if (!setup.td_edges.empty()) names.push_back("dopamine");
    // The spiking actor-critic: V(s_t) of the step's window and the TD error of the transition
    // from this step, r + γ·V(s_{t+1}) − V(s_t) (filled in when the next step has run; at a
    // terminal step failure_reward − V(s_t); NaN for a truncated episode's last step).
    const ActorCriticRuntime* ac = runner.actor_critic();
    if (ac) names.insert(names.end(), {"value", "td_error"});
    const std::size_t td_col = names.size() - 1;
    if (setup.env == "bandit") names.insert(names.end(), {"regret", "best_arm"});
    const std::size_t n_values = names.size();
    file.enable_steps(names);
    auto* bandit = dynamic_cast<NonStationaryBandit*>(&runner.environment());
    runner.on_step = [&, bandit, ac, n_values, td_col](std::uint64_t, std::uint32_t action,
                                                       const StepResult& r) {
      step_rows.push_back({0, static_cast<std::uint32_t>(step_rows.size()),
                           static_cast<std::int32_t>(action), r.reward});
      if (!setup.ach_na_edges.empty()) {
        step_values.push_back(runner.acetylcholine());
        step_values.push_back(runner.noradrenaline());
      }
      if (!setup.td_edges.empty()) step_values.push_back(runner.last_dopamine());
      if (ac) {
        step_values.push_back(ac->value());
        step_values.push_back(ac->terminal_delta());
        // This step ran V(s_t): the previous row's transition error is now known.
        if (step_rows.size() >= 2)
          step_values[(step_rows.size() - 2) * n_values + td_col] = ac->previous_transition_delta();
      }
      if (bandit) {
        step_values.push_back(bandit->last_regret());
        step_values.push_back(bandit->last_was_best() ? 1.0 : 0.0);
      }
    };
  }
  auto write_steps = [&](std::uint64_t episode) {
    if (!setup.record_steps || step_rows.empty()) return;
    for (auto& row : step_rows) row.episode = static_cast<std::uint32_t>(episode);
    file.append_steps(step_rows, step_values);
    step_rows.clear();
    step_values.clear();
  };
  file.start();
  runner.set_recorder(&file);
  spike_weights.initial();

  RunSummary sum;
  sum.build_s = seconds_since(t0);
  const std::uint64_t n_all = setup.n_episodes + setup.test_episodes;
  ProgressLine progress(static_cast<double>(n_all), "episodes", opt.quiet ? nullptr : stderr);
  std::vector<double> returns;
  std::vector<std::uint32_t> lengths;
  std::vector<double> test_returns;
  std::uint64_t steps = 0;
  std::uint64_t current = 0;  // the episode being run
  auto where = [&](std::uint64_t e) {
    return e < setup.n_episodes
               ? "episode " + std::to_string(e + 1) + " of " + std::to_string(setup.n_episodes)
               : "test episode " + std::to_string(e - setup.n_episodes + 1) + " of " +
                     std::to_string(setup.test_episodes);
  };
  // Inside long episodes (a bandit run is one episode of thousands of steps): progress, and a
  // Ctrl-C / SIGTERM stops at the next step boundary instead of being ignored until the end.
  runner.within_episode = [&](std::uint64_t e, std::uint32_t k) {
    progress.update(static_cast<double>(e), where(e) + ": step " + std::to_string(k));
    throw_if_interrupted("step " + std::to_string(k) + " of " + where(e) +
                         " (unfinished: its steps so far are in /steps with record_steps, it "
                         "has no /episodes row)");
  };
  auto append_row = [&](std::uint64_t e, const EpisodeResult& r) {
    EpisodeRow row;
    row.episode = static_cast<std::uint32_t>(e);
    row.ret = r.ret;
    row.length = r.length;
    row.terminated = r.terminated ? 1 : 0;
    row.truncated = r.truncated ? 1 : 0;
    file.append_episode(row);
    file.flush();
    progress.update(static_cast<double>(e + 1));
  };
  double regret = 0.0;             // bandit: summed over the training episodes
  std::uint64_t best_choices = 0;  // bandit: training steps on the best arm
  const auto tl = std::chrono::steady_clock::now();
  try {
    for (std::uint64_t e = 0; e < setup.n_episodes; ++e) {
      current = e;
      const EpisodeResult r = runner.run_episode(e);
      write_steps(e);
      returns.push_back(r.ret);
      steps += r.length;
      lengths.push_back(r.length);
      regret += r.regret;
      best_choices += r.best_choices;
      append_row(e, r);
      spike_weights.at_now();
      if (e + 1 < n_all) throw_if_interrupted("the end of " + where(e));
    }
    spike_weights.final();  // after training (test episodes do not learn)
    // Test episodes (learning frozen), after the training rows.
    if (setup.test_episodes > 0) {
      runner.set_test_mode(true, setup.test_epsilon, setup.test_lane_phase);
      for (std::uint64_t e = setup.n_episodes; e < n_all; ++e) {
        current = e;
        const EpisodeResult r = runner.run_episode(e);
        write_steps(e);
        test_returns.push_back(r.ret);
        append_row(e, r);
        if (e + 1 < n_all) throw_if_interrupted("the end of " + where(e));
      }
      runner.set_test_mode(false, 0.0, 0);
    }
  } catch (const Interrupted&) {
    write_steps(current);  // the unfinished episode's steps so far (record_steps)
    if (current < setup.n_episodes) spike_weights.final_after_error();  // keep the weights reached
    file.flush();
    throw;
  } catch (...) {
    if (current < setup.n_episodes) spike_weights.final_after_error();
    file.flush();
    throw;
  }
  sum.loop_s = seconds_since(tl);
  progress.finish();
  const std::size_t n = returns.size();
  const std::size_t last = std::min<std::size_t>(100, n);
  double tail = 0.0, all = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    all += returns[k];
    if (k >= n - last) tail += returns[k];
  }
  std::uint64_t steps_last = 0;
  for (std::size_t k = n - last; k < n; ++k) steps_last += lengths[k];
  sum.simulated_ms = runner.simulator().grid().to_ms(runner.simulator().now());
  sum.spikes = runner.simulator().stats().spikes;
  sum.synaptic_events = runner.simulator().stats().synaptic_events;
  sum.figures["episodes"] = static_cast<double>(n);
  sum.figures["steps"] = static_cast<double>(steps);
  sum.figures["mean_return"] = n ? all / static_cast<double>(n) : 0.0;
  sum.figures["mean_return_last100"] = last ? tail / static_cast<double>(last) : 0.0;
  sum.figures["episodes_per_s"] =
      sum.loop_s > 0 ? static_cast<double>(n + test_returns.size()) / sum.loop_s : 0.0;
  // Best training episode, mean length of the last 100, spikes of the decoder's source block
  // (the lane-keeping structural check: the Neuro-Encoder's network never fires), test figures.
  if (n) {
    const auto best = std::max_element(returns.begin(), returns.end());
    sum.figures["best_return"] = *best;
    sum.figures["best_episode"] = static_cast<double>(best - returns.begin());
  }
  sum.figures["mean_length_last100"] = last ? static_cast<double>(steps_last) / last : 0.0;
  sum.figures["source_spikes"] = static_cast<double>(runner.source_spikes());
  if (!test_returns.empty()) {
    double tsum = 0.0;
    std::size_t ok = 0;
    for (double r : test_returns) {
      tsum += r;
      ok += r > setup.test_success_above ? 1 : 0;
    }
    sum.figures["test_mean_return"] = tsum / static_cast<double>(test_returns.size());
    sum.figures["test_success_rate"] =
        static_cast<double>(ok) / static_cast<double>(test_returns.size());
  }
  if (setup.env == "bandit") {
    sum.figures["regret"] = regret;
    sum.figures["best_arm_rate"] =
        steps ? static_cast<double>(best_choices) / static_cast<double>(steps) : 0.0;
  }
  for (const auto& [id, edge] : weight_edges)
    file.append_weights(id, static_cast<int>(n) - 1, runner.coupling_weights(edge));
  file.flush();
  sum.wall_s = seconds_since(t0);
  file.finish({}, sum.wall_s);
  std::fprintf(stderr, "%s\n", episodes_result_line(setup.env, sum.figures).c_str());
  return sum;
}

// The result in words, as the category job prints its accuracy (--json has every figure).
std::string episodes_result_line(const std::string& env, const std::map<std::string, double>& f) {
  auto at = [&](const char* k) {
    const auto it = f.find(k);
    return it == f.end() ? 0.0 : it->second;
  };
  char buf[512];
  const auto n = static_cast<unsigned long long>(at("episodes"));
  int len = std::snprintf(buf, sizeof buf, "%s: %llu episode%s, %llu steps, mean return %.4g",
                          env.c_str(), n, n == 1 ? "" : "s",
                          static_cast<unsigned long long>(at("steps")), at("mean_return"));
  auto add = [&](const char* fmt, auto... args) {
    if (len >= 0 && static_cast<std::size_t>(len) < sizeof buf)
      len += std::snprintf(buf + len, sizeof buf - static_cast<std::size_t>(len), fmt, args...);
  };
  if (n > 100) add(" (last 100: %.4g)", at("mean_return_last100"));
  if (n > 1 && f.count("best_return"))
    add(", best %.4g (episode %llu)", at("best_return"),
        static_cast<unsigned long long>(at("best_episode")));
  if (f.count("regret"))
    add("; regret %.4g, best arm chosen on %.1f %% of steps", at("regret"),
        100.0 * at("best_arm_rate"));
  if (f.count("test_mean_return"))
    add("; test episodes: mean return %.4g, success %.1f %%", at("test_mean_return"),
        100.0 * at("test_success_rate"));
  return buf;
}

}  // namespace sbx::app
