#include "circuits/lane_blocks.hpp"

#include <memory>

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "models/lif_euler.hpp"

namespace sbx::circuits {

EligibilityDopamineParams eligibility_dopamine_params_from(const LearningDesc& l) {
  EligibilityDopamineParams p;
  const std::string& v = l.params.text("variant");
  p.variant = v == "original_step"   ? EligVariant::original_step
              : v == "action_tagged" ? EligVariant::action_tagged
                                     : EligVariant::original_episode;
  p.lr = l.params.number("lr");
  p.baseline_lr = l.params.number("baseline_lr");
  p.lookback = static_cast<std::uint32_t>(l.params.integer("lookback"));
  p.tau = l.params.number("tau");
  p.decay = l.params.number("decay");
  p.w_min = l.params.number("w_min");
  p.w_max = l.params.number("w_max");
  p.flip_sign_p = l.params.number("flip_sign_p");
  return p;
}

void add_lane_blocks(Registry& r) {
  // ---- the Neuro-Encoder's neuron (models/lif_euler.hpp) ----
  PopulationModelSpec m;
  m.name = "lif_euler";
  m.doc =
      "forward-Euler LIF of the Neuro-Encoder lane-keeping agent (seed_systems.md §2.2), "
      "dimensionless: V += (dt/tau)(-V + I_bias + noise_sd·xi + sum w), spike at V >= V_th, reset "
      "to V_reset, no refractory period; a spike weight w is a current for the one step after "
      "delivery (both receptors add); xi ~ N(0, 1) per neuron and step from '<block>/noise'";
  m.dynamics = Dynamics::clocked;
  const LifEulerParams d{};
  m.params = {
      num("tau", "ms", d.tau, positive(), "membrane time constant"),
      num("V_th", "", d.V_th, any_value(), "spike threshold"),
      num("V_reset", "", d.V_reset, any_value(), "reset value (< V_th)"),
      num("I_bias", "", d.I_bias, any_value(), "constant input current"),
      num("noise_sd", "", d.noise_sd, non_negative(),
          "sd of the Gaussian input current drawn every step"),
  };
  m.init_states = {{"V", ""}};
  m.recordables = {"V"};
  m.receptors = {"exc", "inh"};
  auto params_of = [](const BlockDesc& b) {
    LifEulerParams p;
    p.tau = b.params.number("tau"), p.V_th = b.params.number("V_th");
    p.V_reset = b.params.number("V_reset"), p.I_bias = b.params.number("I_bias");
    p.noise_sd = b.params.number("noise_sd");
    return p;
  };
  m.make = [params_of](const BlockDesc& b, BuildContext& ctx) -> std::unique_ptr<Population> {
    return std::make_unique<LifEulerPopulation>(b.n, params_of(b),
                                                Rng::stream(ctx.seed(), b.name + "/noise"));
  };
  m.check = [params_of](const BlockDesc& b) { return params_of(b).validate(); };
  r.add(std::move(m));

  // ---- the eligibility x dopamine rule (envs/eligibility_dopamine.hpp) ----
  r.add(LearningRuleSpec{
      "eligibility_dopamine",
      "the Neuro-Encoder's rule (envs/eligibility_dopamine.hpp, seed_systems.md §2.3) on the spike "
      "edge from a spike_encoder (the sensors = network neurons 0..m-1) to the decoder's source "
      "(the network); applied by the episodes experiment, which also reads the action from this "
      "edge's 'pathway' (pool mean of the synaptic current it carries over the window) instead "
      "of spike counts. Dopamine DA_t = r_t - b with an EMA baseline b; original_episode: one "
      "episode-level eligibility from the last sub-step's spikes (the 290.8 run); original_step: "
      "per-step eligibility (the curriculum version); action_tagged: e = sensor counts x chosen "
      "pool, online (ours)",
      {text("variant", "original_episode", {"original_episode", "original_step", "action_tagged"},
            "original_episode (290.8 run), original_step (curriculum version), action_tagged "
            "(ours)"),
       num("lr", "target's unit", 1e-4, non_negative(),
           "learning rate on w (the original's 0.01 on W = N·w, N = 100)"),
       num("baseline_lr", "", 0.1, closed(0.0, 1.0),
           "rate of the reward baseline, an EMA updated every environment step"),
       integer("lookback", 20, at_least(1),
               "eligibility look-back L in environment steps (sub-steps for original_step)"),
       num("tau", "steps", 20.0, positive(), "time constant of the look-back kernel e^(-d/tau)"),
       num("decay", "", 0.95, closed(0.0, 1.0),
           "per-step decay of the eligibility (original variants: after each step's increment; "
           "action_tagged: lambda)"),
       num("w_min", "target's unit", 0.0, any_value(), "lower clip (original 0)"),
       num("w_max", "target's unit", 0.1, any_value(), "upper clip (original 10/N)"),
       num("flip_sign_p", "", 0.2, closed(0.0, 1.0),
           "at build, each initial weight is negated with this probability (stream "
           "'<edge>/sign'; the original: U[0,1) weights, 20 % negated)")},
      [](const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
        const std::string key = ctx.desc.connections[e.connection].path + ".learning";
        if (ctx.desc.experiment.type != "episodes")
          ctx.error(l.pos, key,
                    "the eligibility_dopamine rule is applied by the episodes experiment; with "
                    "experiment type '" +
                        ctx.desc.experiment.type + "' it would never change a weight");
        if (e.kind != "spike" || e.projections.size() != 1) {
          ctx.error(l.pos, key,
                    "the eligibility_dopamine rule needs one spike projection (from a "
                    "spike_encoder), got a " +
                        e.kind + " edge");
          return;
        }
        if (!(l.params.number("w_min") <= l.params.number("w_max")))
          ctx.error(l.pos, key + ".w_min", "w_min must be <= w_max");
        const double flip = l.params.number("flip_sign_p");
        if (flip > 0.0) {
          Rng rng = Rng::stream(ctx.seed(), e.name + "/sign");
          for (float& w : ctx.sim.projection(e.projections[0]).weight)
            if (rng.uniform() < flip) w = -w;
        }
      }});
}

}  // namespace sbx::circuits
