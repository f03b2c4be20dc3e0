#include "circuits/step_blocks.hpp"

#include <algorithm>
#include <memory>

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "engine/errors.hpp"

namespace sbx::circuits {

ObsCodingParams obs_coding_from(const BlockDesc& b) {
  ObsCodingParams p;
  const std::string& c = b.params.text("coding");
  p.coding = c == "signed"       ? ObsCoding::signed_pair
             : c == "population" ? ObsCoding::population
                                 : ObsCoding::direct;
  p.gain = b.params.number("gain");
  if (b.params.has("scale")) p.scale = b.params.numbers("scale");
  if (b.params.has("low")) p.low = b.params.numbers("low");
  if (b.params.has("high")) p.high = b.params.numbers("high");
  p.width = b.params.number("width");
  return p;
}

DecoderParams decoder_params_from(const BlockDesc& b) {
  DecoderParams d;
  d.n_actions = static_cast<std::uint32_t>(b.params.integer("n_actions"));
  d.readout = b.params.text("readout") == "membrane" ? DecoderReadout::membrane
                                                     : DecoderReadout::spike_count;
  const std::string& pol = b.params.text("policy");
  d.policy = pol == "softmax"          ? DecoderPolicy::softmax
             : pol == "epsilon_greedy" ? DecoderPolicy::epsilon_greedy
                                       : DecoderPolicy::argmax;
  d.epsilon = b.params.number("epsilon");
  d.temperature = b.params.number("temperature");
  d.temperature_from = b.params.text("temperature_from");
  return d;
}

namespace {

std::vector<ParamSpec> encoder_keys(bool spiking) {
  std::vector<ParamSpec> k = {
      integer_required("n", at_least(1),
                       "number of units: the observation size (direct), twice it (signed) or a "
                       "multiple of it (population: units per component = n / size); checked "
                       "against the experiment's environment"),
      text("coding", "direct", {"direct", "signed", "population"},
           "direct: u = gain·o/scale; signed: on/off pair per component; population: Gaussian "
           "tuning curves over [low, high] (envs/step_coding.hpp)"),
      num("gain", spiking ? "" : "target's current unit", 1.0, any_value(),
          "factor on every coded value"),
      generic("scale", ValueKind::number_list, Need::optional, "all 1", "", positive(),
              "per observation component: o is divided by it (direct, signed)"),
      generic("low", ValueKind::number_list, Need::optional, "unset", "", any_value(),
              "population coding: lowest tuning-curve centre per component"),
      generic("high", ValueKind::number_list, Need::optional, "unset", "", any_value(),
              "population coding: highest tuning-curve centre per component (> low)"),
      num("width", "", 1.0, positive(),
          "population coding: tuning-curve sigma in units of the centre spacing"),
  };
  if (spiking)
    k.push_back(num("rate_max", "Hz", 100.0, non_negative(),
                    "rate of a unit whose coded value is >= 1 (Bernoulli per [run].dt step, "
                    "p = clip(u, 0, 1)·rate_max·dt <= 1)"));
  return k;
}

void lower_encoder(const BlockDesc& b, BuildContext& ctx, bool spiking) {
  ObsCodingParams p = obs_coding_from(b);
  if (p.coding == ObsCoding::population && (p.low.empty() || p.high.empty())) {
    ctx.error(b.pos, "blocks." + b.name + ".coding",
              "population coding needs low and high (one value per observation component)");
    return;
  }
  if (p.coding == ObsCoding::population)
    for (std::size_t i = 0; i < std::min(p.low.size(), p.high.size()); ++i)
      if (!(p.high[i] > p.low[i])) {
        // sigma = width·(high − low)/(k − 1) would be 0 or negative: every unit codes 0 (or NaN).
        ctx.error(b.params.position("high"), "blocks." + b.name + ".high",
                  "population coding needs high > low for every component; component " +
                      std::to_string(i) + " has low = " + format_number(p.low[i]) +
                      ", high = " + format_number(p.high[i]));
        return;
      }
  if (spiking) {
    const double rate = b.params.number("rate_max");
    const double pmax = rate * ctx.desc.run.dt * 1e-3;
    if (pmax > 1.0) {
      ctx.error(b.params.position("rate_max"), "blocks." + b.name + ".rate_max",
                "rate_max·dt = " + std::to_string(pmax) +
                    " spikes per step; must be <= 1 (lower rate_max or [run].dt)");
      return;
    }
    ctx.add_population(b, b.name,
                       std::make_unique<SpikeEncoder>(b.n, std::move(p), rate,
                                                      Rng::stream(ctx.seed(), b.name + "/spikes")));
  } else {
    ctx.add_population(b, b.name, std::make_unique<CurrentEncoder>(b.n, std::move(p)));
  }
}

}  // namespace

void add_step_blocks(Registry& r) {
  r.add(BlockTypeSpec{
      "current_encoder",
      "observation of the episodes experiment's environment as currents: n units whose output "
      "(held over each environment step) drives populations through current couplings, "
      "I_post += w·u (envs/step_coding.hpp)",
      "current_encoder", encoder_keys(false),
      [](const BlockDesc& b, BuildContext& ctx) { lower_encoder(b, ctx, false); }, nullptr});
  r.add(BlockTypeSpec{
      "spike_encoder",
      "observation of the episodes experiment's environment as spike trains: unit i spikes in "
      "each [run].dt step with probability clip(u_i, 0, 1)·rate_max·dt (rate / population coding)",
      "spike_encoder", encoder_keys(true),
      [](const BlockDesc& b, BuildContext& ctx) { lower_encoder(b, ctx, true); }, nullptr});
  r.add(BlockTypeSpec{
      "action_decoder",
      "reads an action from motor pools after each environment step's window: the source block "
      "is split into n_actions equal contiguous pools; q_a = spike count or mean state variable "
      "of pool a; the policy picks the action (envs/step_coding.hpp). Builds nothing",
      "action_decoder",
      {block_ref("source", Need::required, {"population"}, "the motor population block"),
       integer_required("n_actions", closed(1.0, kMaxNeurons),
                        "number of actions: must equal the environment's; the source's n must be "
                        "a multiple of it"),
       text("readout", "spike_count", {"spike_count", "membrane"},
            "spike_count: spikes of the pool during the window (a spiking source only); "
            "membrane: mean of `variable` over the pool at the window end"),
       text("variable", "", {},
            "state variable of the membrane readout (\"\" = V, or x for rate units)"),
       text("policy", "argmax", {"argmax", "epsilon_greedy", "softmax"},
            "argmax (ties -> lowest action), epsilon_greedy, softmax"),
       num("epsilon", "", 0.0, closed(0.0, 1.0),
           "epsilon_greedy: random-action probability (other policies: must stay 0)"),
       num("temperature", "", 1.0, positive(),
           "softmax temperature (units of q; other policies: must stay 1)"),
       text("temperature_from", "", {"", "noradrenaline"},
            "softmax: read the temperature from this modulator each step (published by an "
            "ach_na edge) instead of `temperature`")},
      [](const BlockDesc&, BuildContext&) {},
      [](const BlockDesc& b) { return static_cast<std::uint32_t>(b.params.integer("n_actions")); },
      nullptr,
      false,  // builds no neurons
      {"episodes"}});

  r.add(EdgeKindSpec{"current_encoder", "population", "current",
                     "continuous coupling: I_post += w·u (targets with a current input: rate, "
                     "rate_linear, hh_exci, hh_inhib)",
                     false, false, false, true, true, lower_current_edge});
  r.add(EdgeKindSpec{"current_encoder", "rate", "current", "continuous coupling: input_post += w·u",
                     false, false, false, true, true, lower_current_edge});
  r.add(EdgeKindSpec{"spike_encoder", "population", "spike",
                     "spike projection from the encoder's trains", true, true, false, true, true,
                     lower_spike_edge});

  r.add(LearningRuleSpec{
      "td_dopamine",
      "the CartPole agent's TD 'dopamine' rule (envs/td_dopamine.hpp, seed_systems.md §1.2) on a "
      "current coupling from a current_encoder to the decoder's motor pools; applied after every "
      "environment step by the episodes experiment: delta = r + gamma·max_b Q(s', b) - current, "
      "w += alpha·delta·s_i for the chosen pool, w clipped to [w_min, w_max]",
      {num("alpha", "", 0.02, non_negative(), "learning rate"),
       num("gamma", "", 0.99, closed(0.0, 1.0), "discount"),
       text("value", "positive_input_weight_sum", {"positive_input_weight_sum", "linear"},
            "current-value term: the original's sum of weights over positive inputs, or Q(s, a)"),
       num_optional("failure_reward", "", any_value(),
                    "reward replacing r on termination before the time limit (original: -10)"),
       boolean("bootstrap_terminal", true,
               "bootstrap Q(s') on the last step of an episode too (the original does)"),
       num("w_min", "", -5.0, any_value(), "lower clip"),
       num("w_max", "", 5.0, any_value(), "upper clip")},
      [](const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
        if (ctx.desc.experiment.type != "episodes")
          ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
                    "the td_dopamine rule is applied after environment steps by the episodes "
                    "experiment; with experiment type '" +
                        ctx.desc.experiment.type + "' it would never change a weight");
        if (e.kind != "current")
          ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
                    "the td_dopamine rule needs a current coupling (from a current_encoder), got "
                    "a " +
                        e.kind + " edge");
      }});

  r.add(LearningRuleSpec{
      "ach_na",
      "the acetylcholine / noradrenaline ensemble learner of Lee et al. 2024 "
      "(envs/ach_na_bandit.hpp, "
      "seed_systems.md §3.2) on a current coupling from a 1-unit bias current_encoder to the "
      "decoder's motor pools: per arm an ensemble of E estimates; ACh = U/(U + A) is the learning "
      "rate, NA = the softmax-weighted epistemic uncertainty minus its running minimum is the "
      "temperature the decoder reads (temperature_from = \"noradrenaline\"); the pool weights "
      "are the ensemble means. Applied after every step by the episodes experiment",
      {integer("ensemble", 20, at_least(2), "ensemble members E"),
       num("q0", "", 0.5, non_negative(), "initial spread of the mean estimates (sd)"),
       num("s0", "", 0.01, non_negative(), "initial spread of the second moments (sd)"),
       num("multiplier", "", 1.25, positive(),
           "learning-rate spread of the members: alpha_e = alpha_k·multiplier·u_e"),
       num("mask_p", "", 0.5, left_open(0.0, 1.0),
           "bootstrap mask: a member updates with this probability"),
       num("t_floor", "", 1e-3, positive(), "lowest temperature"),
       text("member_rates", "scaled", {"scaled", "fixed", "floored"},
            "scaled: member rates alpha_e = alpha_k·multiplier·u_e and the policy reads the "
            "ensemble means (the authors' code); fixed: alpha_e = ensemble_rate·multiplier·u_e and "
            "ACh alpha_k is the learning rate of the values the policy reads (our variant, "
            "envs/ach_na_bandit.hpp); floored: as fixed with alpha_e = max(alpha_k, "
            "ensemble_rate)·multiplier·u_e"),
       num("ensemble_rate", "", 1.0, positive(),
           "member_rates = fixed / floored: base (lowest) learning rate of the ensemble members"),
       num("na_gain", "", 1.0, positive(),
           "factor on the noradrenaline temperature (1 in the authors' code)"),
       text("aleatoric", "total", {"total", "within"},
            "aleatoric A: total = mean_e S - mu^2 (the authors' code; contains U, so ACh <= 1/2); "
            "within = mean_e (S_e - Q_e^2), the members' own noise (envs/ach_na_bandit.hpp)"),
       text("change_reset", "none", {"none", "arm", "all"},
            "when the likelihood-shift detector exceeds shift_threshold, re-spread the ensemble "
            "of the pulled arm (arm: one detector memory per arm) or of every arm (all: one "
            "memory over every pull) by reset_sd, raising U and so ACh and NA (our addition, "
            "envs/ach_na_bandit.hpp); none = the authors' code"),
       integer("shift_memory", 20, at_least(1),
               "likelihood-shift detector window m (pulls): present = the newest m likelihoods, "
               "past = the m before"),
       num("shift_threshold", "", 0.5, positive(),
           "detector level l_past/l_present + l_present/l_past - 2 that declares a change"),
       text("shift_mean", "arithmetic", {"arithmetic", "geometric"},
            "how l_present / l_past average the window's likelihoods: arithmetic (the authors' "
            "code) or geometric (exp of the mean log-likelihood)"),
       num("reset_sd", "", 1.0, positive(),
           "sd of the members re-spread around the prior value after a declared change"),
       text("reset_prior", "mean", {"mean", "max"},
            "the value re-spread arms revert to: the mean or the largest value over arms "
            "(max: optimistic, every re-spread arm is tried again)")},
      [](const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
        if (ctx.desc.experiment.type != "episodes")
          ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
                    "the ach_na rule is applied after environment steps by the episodes "
                    "experiment; with experiment type '" +
                        ctx.desc.experiment.type + "' it would never change a weight");
        if (e.kind != "current")
          ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
                    "the ach_na rule needs a current coupling (from a current_encoder), got a " +
                        e.kind + " edge");
      }});

  r.add(ExperimentSpec{
      "episodes",
      "episodes of a step-based environment (apps/run_episodes.hpp): each environment step is a "
      "simulation window of step_window ms; the encoder block presents the observation, the "
      "decoder block reads the action at the window end; learning rules of kind td_dopamine "
      "update after each step; one /episodes row per episode (flushed per episode)",
      {text_required("env", {"cartpole", "lane_keeping", "bandit"}, "the environment"),
       integer("n_episodes", 100, at_least(1), "number of episodes"),
       num("step_window", "ms", 20.0, positive(),
           "simulated time per environment step (a multiple of [run].dt)"),
       block_ref("encoder", Need::required, {"current_encoder", "spike_encoder"},
                 "the observation encoder block"),
       block_ref("decoder", Need::required, {"action_decoder"}, "the action decoder block"),
       boolean("reset_each_step", false,
               "restore the decoder source's initial state at the start of every step (a "
               "memoryless read-out of the current observation)"),
       integer("prune_every", 0, non_negative(),
               "sleep pruning after episode e (0-based) when e > 0 and e % prune_every == 0 (0 = "
               "never)"),
       num("prune_below", "", 0.05, non_negative(), "sleep pruning: |w| below this becomes 0"),
       generic("prune_edges", ValueKind::string_or_list, Need::optional, "every plastic edge", "",
               {}, "edges (\"A->B\") the sleep pruning acts on"),
       integer("max_steps", 0, closed(0.0, kMaxSteps),
               "episode time limit (0 = the environment's: CartPole-v1 500, lane keeping 100, "
               "bandit change_every·n_contexts)"),
       text("lane_reward", "shaped", {"shaped", "original"}, "lane keeping: reward version"),
       boolean("lane_curriculum", false,
               "lane keeping: the 4-phase curriculum (else every episode starts at lane_start)"),
       num("lane_start", "", 0.0, closed(-1.0, 1.0), "lane keeping: start position"),
       // (each arm is an action of the decoder and holds its reward distribution: 2^20 is far
       // beyond any bandit study and keeps `check` from allocating gigabytes first)
       integer("bandit_arms", 8, closed(1.0, 1048576.0), "bandit: number of arms"),
       integer("bandit_change_every", 400, closed(1.0, kMaxSteps), "bandit: steps per context"),
       integer("bandit_contexts", 8, closed(1.0, kMaxSteps), "bandit: contexts per episode"),
       boolean("bandit_observe_context", false,
               "bandit: observation = one-hot context (else a constant 1)"),
       integer("test_episodes", 0, non_negative(),
               "test episodes after training with learning frozen: the episode rules "
               "(td_dopamine, td_three_factor, eligibility_dopamine, ach_na) and stdp / rstdp / "
               "three_factor on spike edges (their weights stay as training left them) (rows "
               "after the training rows in /episodes; figures test_mean_return, "
               "test_success_rate)"),
       num("test_epsilon", "", 0.1, closed(0.0, 1.0),
           "test episodes: random-action probability (epsilon_greedy; 0 = argmax)"),
       integer("test_lane_phase", 3, closed(0, 4),
               "test episodes, lane keeping: start distribution of this curriculum phase (3 = "
               "U(-0.5, 0.5); 0 = lane_start)"),
       num("test_success_above", "", 100.0, any_value(),
           "test episodes: an episode succeeds when its return is above this"),
       boolean("try_each_action_first", false,
               "the first n_actions steps of the run play actions 0, 1, ..., n_actions-1 before "
               "the decoder's policy acts (the bandit agents' 'each arm once first', "
               "seed_systems.md §3.2)"),
       boolean("record_steps", false,
               "write per-step rows to the run file's /steps (episode, step, action, reward, then "
               "acetylcholine and noradrenaline with an ach_na edge, dopamine = the first "
               "td_dopamine edge's delta, value = V(s_t) and td_error = r + gamma V(s_t+1) - "
               "V(s_t) with a value_decoder, regret and best_arm for the bandit), written and "
               "flushed with each /episodes row")}});
}

}  // namespace sbx::circuits
