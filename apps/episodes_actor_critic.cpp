#include "apps/episodes_actor_critic.hpp"

#include "apps/runner_util.hpp"

#include <cmath>
#include <limits>

#include "engine/errors.hpp"

namespace sbx::app {

using circuits::BlockDesc;

ActorCriticSetup actor_critic_setup(const circuits::CircuitDescription& d,
                                    const std::string& encoder, const std::string& motor,
                                    Problems& pr) {
  ActorCriticSetup s;
  const BlockDesc* enc = d.find_block(encoder);
  for (const auto& c : d.connections) {
    if (!c.learning || c.learning->type != "td_three_factor") continue;
    const auto& lp = c.learning->params;
    const std::string key = c.path + ".learning";
    if (c.from != encoder || !enc || enc->type != "spike_encoder") {
      pr.add(c.learning->pos, key,
             "a td_three_factor edge must start at the experiment's encoder '" + encoder +
                 "' (a spike_encoder: n_pre is its spike count per window), got " + c.from +
                 " -> " + c.to);
      continue;
    }
    const std::string& critic = lp.text("critic");
    if (s.value_block.empty())
      s.value_block = critic;
    else if (critic != s.value_block) {
      pr.add(lp.position("critic"), key + ".critic",
             "every td_three_factor rule must read the same value_decoder (one TD signal): '" +
                 s.value_block + "' and '" + critic + "'");
      continue;
    }
    StepThreeFactorParams p;
    p.eta = lp.number("eta");
    p.lambda = lp.number("lambda");
    p.post = lp.text("post_factor") == "policy" ? PostFactor::policy : PostFactor::value;
    p.w_min = lp.number("w_min");
    p.w_max = lp.number("w_max");
    if (!(p.w_min <= p.w_max)) pr.add(c.learning->pos, key + ".w_min", "w_min must be <= w_max");
    if (p.post == PostFactor::policy && c.to != motor)
      pr.add(lp.position("post_factor"), key + ".post_factor",
             "post_factor = \"policy\" needs the edge to end on the action decoder's source '" +
                 motor + "', got " + c.to);
    s.edges.push_back({c.name, p});
  }
  // A value_decoder drives its modulator for every rule reading it (td_three_factor, and the
  // three_factor / rstdp rules naming the modulator): without td_three_factor edges the circuit's
  // value_decoder is still the critic. A second one would do nothing: refused.
  for (const BlockDesc& b : d.blocks) {
    if (b.type != "value_decoder") continue;
    if (s.value_block.empty()) {
      s.value_block = b.name;
    } else if (b.name != s.value_block) {
      pr.add(b.pos, "blocks." + b.name,
             "only one value_decoder per circuit (one TD signal): '" + s.value_block +
                 "' is the critic, this one would never be read");
    }
  }
  if (s.value_block.empty()) return s;
  const BlockDesc* v = d.find_block(s.value_block);
  if (!v) throw InternalError("episodes: value_decoder block missing after loading");
  const auto& vp = v->params;
  s.critic = vp.text("source");
  s.td.readout =
      vp.text("readout") == "membrane" ? DecoderReadout::membrane : DecoderReadout::spike_count;
  s.td.variable = vp.text("variable");
  s.td.scale = vp.number("scale");
  s.td.offset = vp.number("offset");
  s.td.gamma = vp.number("gamma");
  if (vp.has("failure_reward")) s.td.failure_reward = vp.number("failure_reward");
  s.td.reward_scale = vp.number("reward_scale");
  s.td.reset_each_step = vp.boolean("reset_each_step");
  s.td.modulator = vp.text("modulator");
  s.td.modulator_tau = vp.number("modulator_tau");
  if (const BlockDesc* c = d.find_block(s.critic); c &&
                                                   s.td.readout == DecoderReadout::spike_count &&
                                                   (c->kind == "rate" || c->kind == "neural_mass"))
    pr.add(vp.position("readout"), "blocks." + s.value_block + ".readout",
           "readout = \"spike_count\" counts spikes, but block '" + s.critic + "' (model " +
               c->model +
               ") never spikes: V(s) would be `offset` in every state; use readout = "
               "\"membrane\"");
  if (s.critic == motor || s.critic == encoder)
    pr.add(vp.position("source"), "blocks." + s.value_block + ".source",
           "the critic population must be its own block, not the encoder or the motor pools ('" +
               s.critic + "')");
  return s;
}

// Spike counts of the encoder and the critic in the current window; forwards everything.
struct ActorCriticRuntime::Counts final : Recorder {
  std::uint32_t encoder = 0, critic = 0;
  std::vector<std::uint32_t> pre;
  std::uint64_t critic_spikes = 0;
  Recorder* next = nullptr;
  void on_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t) override {
    if (pop == encoder)
      for (auto n : neurons) ++pre[n];
    else if (pop == critic)
      critic_spikes += neurons.size();
    if (next) next->on_spikes(pop, neurons, t);
  }
  void on_sample(std::uint32_t probe, Tick t, std::span<const double> values) override {
    if (next) next->on_sample(probe, t, values);
  }
  void flush() override {
    if (next) next->flush();
  }
};

ActorCriticRuntime::ActorCriticRuntime(const ActorCriticSetup& s,
                                       const circuits::CircuitDescription& desc, Simulator& sim,
                                       circuits::BuiltCircuit& built, std::uint32_t encoder_pop,
                                       std::uint32_t motor_pop, const DecoderParams& decoder)
    : s_(s), sim_(sim), decoder_(decoder), counts_(std::make_unique<Counts>()) {
  counts_->encoder = encoder_pop;
  counts_->pre.assign(sim.population(encoder_pop).size(), 0);
  critic_pop_ = built.population(s.critic);
  counts_->critic = critic_pop_;
  motor_pop_ = motor_pop;
  Population& motor = sim.population(motor_pop);
  pool_size_ = motor.size() / decoder.n_actions;
  Population& critic = sim.population(critic_pop_);
  if (s.td.readout == DecoderReadout::membrane)
    critic_state_ = membrane_state(critic, s.critic, s.td.variable, desc, s.value_block);
  if (s.td.reset_each_step && critic.dynamics() != Dynamics::clocked) {
    const BlockDesc* vb = desc.find_block(s.value_block);
    throw UserError(Diagnostic{
        desc.file, vb->pos.line, vb->pos.column, "blocks." + s.value_block + ".reset_each_step",
        "the critic '" + s.critic + "' is event-driven; reset_each_step needs a clocked model"});
  }
  critic.save_state(critic_initial_);
  for (const auto& e : s.edges) {
    const circuits::EdgeBuilt* eb = built.edge(e.edge);
    if (!eb || eb->projections.size() != 1)
      throw InternalError("episodes: td_three_factor edge " + e.edge + " has no single projection");
    const SpikeProjection& p = sim.projection(eb->projections[0]);
    edges_.push_back({eb->projections[0], StepThreeFactorRule(e.params, p.n_synapses()),
                      e.params.post == PostFactor::policy});
  }
  if (auto it = built.modulators.find(s.td.modulator); it != built.modulators.end())
    mod_ = it->second;
  else
    mod_ = std::make_shared<Modulator>(s.td.modulator, 0.0, s.td.modulator_tau, sim.grid());
  pi_.assign(decoder.n_actions, 0.0);
  f_policy_.assign(motor.size(), 0.0);
  std::size_t max_post = 0;
  for (const auto& e : edges_)
    max_post = std::max<std::size_t>(max_post, sim.projection(e.projection).n_post);
  f_value_.assign(max_post, 1.0);
}

ActorCriticRuntime::~ActorCriticRuntime() = default;

Recorder* ActorCriticRuntime::recorder() {
  return counts_.get();
}
void ActorCriticRuntime::set_next(Recorder* next) {
  counts_->next = next;
}

void ActorCriticRuntime::begin_episode() {
  for (auto& e : edges_) e.rule.clear();
  pending_ = false;
}

void ActorCriticRuntime::before_window() {
  if (s_.td.reset_each_step) sim_.load_population_state(critic_pop_, critic_initial_);
  std::fill(counts_->pre.begin(), counts_->pre.end(), 0u);
  counts_->critic_spikes = 0;
}

void ActorCriticRuntime::apply(double delta) {
  delta_ = delta;
  sum_abs_delta_ += std::abs(delta);
  ++n_delta_;
  mod_->set(sim_.now(), delta);
  if (learning_)
    for (auto& e : edges_) e.rule.apply(sim_.projection(e.projection), delta);
}

void ActorCriticRuntime::after_step(std::span<const double> q, std::uint32_t action,
                                    const StepResult& r) {
  prev_delta_ = terminal_delta_ = std::numeric_limits<double>::quiet_NaN();
  // V(s_t) from the window just run.
  double qc = 0.0;
  if (s_.td.readout == DecoderReadout::membrane) {
    const std::uint32_t n = sim_.population(critic_pop_).size();
    for (std::uint32_t i = 0; i < n; ++i) qc += critic_state_[i];
    qc /= static_cast<double>(n);
  } else {
    qc = static_cast<double>(counts_->critic_spikes);
  }
  v_now_ = s_.td.offset + s_.td.scale * qc;
  // The previous transition's TD error (it needed V(s_t)).
  if (pending_) apply(prev_delta_ = r_prev_ + s_.td.gamma * v_now_ - v_prev_);
  // Eligibility of (s_t, a_t).
  action_probabilities(decoder_, q, pi_);
  for (std::size_t i = 0; i < f_policy_.size(); ++i) {
    const std::uint32_t pool = static_cast<std::uint32_t>(i / pool_size_);
    f_policy_[i] = (pool == action ? 1.0 : 0.0) - pi_[pool];
  }
  for (auto& e : edges_) {
    const SpikeProjection& p = sim_.projection(e.projection);
    e.rule.accumulate(
        p, s_.td.gamma * e.rule.params().lambda, counts_->pre,
        e.policy ? std::span<const double>(f_policy_) : std::span<const double>(f_value_));
  }
  const double reward = s_.td.reward_scale * r.reward;
  pending_ = false;
  if (r.terminated && !r.truncated) {
    apply(terminal_delta_ = (s_.td.failure_reward ? *s_.td.failure_reward : reward) - v_now_);
  } else if (!r.truncated) {
    pending_ = true;
    r_prev_ = reward;
    v_prev_ = v_now_;
  }
}

}  // namespace sbx::app
