#include "circuits/actor_critic_blocks.hpp"

#include "circuits/build.hpp"
#include "circuits/description.hpp"

namespace sbx::circuits {

void add_actor_critic_blocks(Registry& r) {
  r.add(BlockTypeSpec{
      "value_decoder",
      "the critic of a spiking TD actor-critic (envs/td_actor_critic.hpp): after each environment "
      "step's window V(s) = offset + scale·q, q = the source population's mean state variable at "
      "the window end (membrane) or its spike count in the window (spike_count); the TD error "
      "delta = r + gamma·V(s') − V(s) is published as the modulator `modulator` and read by "
      "td_three_factor rules and by three_factor / rstdp rules naming that modulator (with or "
      "without td_three_factor edges). One per circuit, used by the episodes experiment; builds "
      "nothing",
      "value_decoder",
      {block_ref("source", Need::required, {"population"}, "the critic population block"),
       text("readout", "membrane", {"spike_count", "membrane"},
            "membrane: mean of `variable` over the source at the window end; spike_count: its "
            "spikes during the window"),
       text("variable", "", {}, "state variable of the membrane readout (\"\" = V, x or v)"),
       num("scale", "", 1.0, any_value(), "V = offset + scale·q"),
       num("offset", "", 0.0, any_value(), "V = offset + scale·q"),
       num("gamma", "", 0.99, closed(0.0, 1.0), "discount"),
       num_optional("failure_reward", "", any_value(),
                    "reward replacing r on termination (before the time limit)"),
       num("reward_scale", "", 1.0, any_value(), "factor on the environment's reward"),
       boolean("reset_each_step", true,
               "restore the source's initial state at the start of every window (V(s) then "
               "depends on the current observation only)"),
       text("modulator", "dopamine", {},
            "name of the modulator the TD error is published as (three_factor rules naming it "
            "read it too)"),
       num("modulator_tau", "ms", 20.0, positive(),
           "decay time of the published signal when no rule created the modulator")},
      [](const BlockDesc&, BuildContext&) {},
      [](const BlockDesc&) { return 1u; },
      nullptr,
      false,  // builds no neurons
      {"episodes"}});

  r.add(LearningRuleSpec{
      "td_three_factor",
      "per-environment-step three-factor rule on a spike edge from the episodes experiment's "
      "spike_encoder (envs/td_actor_critic.hpp): e ← gamma·lambda·e + n_pre·f_post each step, "
      "w += eta·delta·e when the value decoder's TD error delta arrives; f_post = 1 (value: the "
      "critic) or 1[pool = chosen action] − pi(pool) (policy: the actor, on the decoder's source)",
      {block_ref("critic", Need::required, {"value_decoder"},
                 "the value_decoder whose TD error is the third factor"),
       text("post_factor", "value", {"value", "policy"},
            "value: f = 1 (critic weights); policy: f = 1[pool = action] − pi(pool) (actor "
            "weights; the edge must end on the decoder's source)"),
       num("eta", "1/spike", 1e-3, non_negative(), "learning rate per presynaptic spike"),
       num("lambda", "", 0.9, closed(0.0, 1.0), "eligibility decay per step (times gamma)"),
       num("w_min", "target's unit", -10.0, any_value(), "lower weight bound"),
       num("w_max", "target's unit", 10.0, any_value(), "upper weight bound")},
      [](const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
        if (ctx.desc.experiment.type != "episodes")
          ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
                    "the td_three_factor rule is applied after environment steps by the episodes "
                    "experiment; with experiment type '" +
                        ctx.desc.experiment.type + "' it would never change a weight");
        if (e.kind != "spike" || e.projections.size() != 1)
          ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
                    "the td_three_factor rule needs a spike edge from a spike_encoder, got a " +
                        e.kind + " edge");
      }});
}

}  // namespace sbx::circuits
