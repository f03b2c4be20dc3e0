#include "circuits/neuroblox_blocks.hpp"

#include "circuits/build.hpp"
#include "circuits/description.hpp"

namespace sbx::circuits {

namespace {

void only_in_category_learning(const BlockDesc& b, BuildContext& ctx) {
  ctx.error(b.pos, "blocks." + b.name + ".type",
            "block type '" + b.type +
                "' is built by the experiment type 'category_learning' only (this circuit's "
                "experiment is '" +
                ctx.desc.experiment.type + "')");
}

// The Neuroblox trial rules are applied after each trial by the category_learning experiment,
// which builds its circuit itself; circuits::build (every other experiment) reaches this only
// when such a rule sits on an edge where nothing would ever apply it.
LearningAttachFn trial_rule_only_in_category_learning(std::string rule) {
  return [rule](const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
    ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
              "the " + rule +
                  " rule is applied after each trial by the category_learning experiment; with "
                  "experiment type '" +
                  ctx.desc.experiment.type + "' it would never change a weight");
  };
}

void edge_only_in_category_learning(const ConnectionDesc& c, BuildContext& ctx) {
  ctx.error(c.pos, c.path,
            "connection '" + c.name + "' (" + c.edge_kind +
                ") is built by the experiment type 'category_learning' only");
}

std::uint32_t one(const BlockDesc&) {
  return 1;
}

// The `integrator` key of the blocks made of Neuroblox HH cells (cortical, striatum).
ParamSpec hh_integrator_param() {
  return text("integrator", "etdrk4", {"etdrk4", "eab2", "eab3", "eab4", "etdrk4_f32"},
              "HH integrator of the block's cells (models/hh_neuroblox.hpp). etdrk4: exponential "
              "RK4, 4 rate evaluations per step, spike times within 0.02 ms of dt/10 over 1 s at "
              "dt 0.05 ms. "
              "eab2/eab3/eab4: exponential Adams-Bashforth of order 2/3/4, one rate evaluation "
              "per step (kernel ~1.7x faster) but at dt 0.05 ms spike times drift by ~4 ms per "
              "second (eab4 is unstable there); use them only with dt <= 0.0125 ms. etdrk4_f32: "
              "etdrk4 with the rate evaluation in single precision (twice the SIMD lanes, kernel "
              "~1.6x faster; state, counters and synapses stay double; spike times as etdrk4 to "
              "1e-3 ms)");
}

}  // namespace

void add_neuroblox_blocks(Registry& r) {
  const Range prob = closed(0.0, 1.0);
  r.add(BlockTypeSpec{
      "cortical",
      "superficial cortical layer (Neuroblox Cortical, §1.5): n_wta winner-take-all groups of "
      "n_exci excitatory HH cells + 1 inhibitory cell each, plus one feed-forward inhibitory "
      "cell (ff_inh) that inhibits every excitatory cell; WTA_i -> WTA_j (i != j) excitatory "
      "links drawn Bernoulli(density) per (exci, exci) pair",
      "cortical",
      {integer("n_wta", 20, at_least(1), "number of winner-take-all groups"),
       integer("n_exci", 5, at_least(1), "excitatory cells per group"),
       num("density", "", 0.05, prob, "WTA->WTA connection probability per (exci, exci) pair"),
       num("weight", "", 1.0, non_negative(), "WTA->WTA synapse weight"),
       num("G_syn_exci", "", 3.0, non_negative(),
           "transmitter drive of the excitatory cells' synapse"),
       num("G_syn_inhib", "", 4.0, non_negative(),
           "transmitter drive of the WTA interneurons' synapse"),
       num("G_syn_ff_inhib", "", 3.5, non_negative(), "transmitter drive of ff_inh's synapse"),
       num("E_syn_exci", "mV", 0.0, any_value(), "reversal of the excitatory synapse"),
       num("E_syn_inhib", "mV", -70.0, any_value(), "reversal of the inhibitory synapses"),
       num("tau_exci", "ms", 5.0, positive(), "decay of the excitatory synapse"),
       num("tau_inhib", "ms", 70.0, positive(), "decay of the inhibitory synapses"),
       num("I_bg", "uA/cm^2", 0.0, any_value(),
           "background current scale: excitatory cell k gets I_bg * U(0,1)"),
       hh_integrator_param()},
      only_in_category_learning,
      [](const BlockDesc& b) {
        return static_cast<std::uint32_t>(
            b.params.integer("n_wta") * (b.params.integer("n_exci") + 1) + 1);
      }});
  r.add(BlockTypeSpec{
      "next_generation_ei",
      "ascending next-generation E/I theta neural mass (Neuroblox NextGenerationEI, §1.6); "
      "defaults = the tutorial's 16 Hz setting. Drives the ff_inh cell of each cortical target "
      "with I = weight * R_E",
      "neural_mass_ei",
      {num("C_E", "ms", 52.0, positive(), "E time constant"),
       num("C_I", "ms", 26.0, positive(), "I time constant"),
       num("Delta_E", "", 0.5, positive(), "E heterogeneity (width)"),
       num("Delta_I", "", 0.5, positive(), "I heterogeneity (width)"),
       num("eta_E", "", 10.0, any_value(), "E mean drive"),
       num("eta_I", "", 0.0, any_value(), "I mean drive"),
       num("v_EE", "", 10.0, any_value(), "E<-E reversal-like constant"),
       num("v_EI", "", -10.0, any_value(), "E<-I reversal-like constant"),
       num("v_IE", "", 10.0, any_value(), "I<-E reversal-like constant"),
       num("v_II", "", -10.0, any_value(), "I<-I reversal-like constant"),
       num("a_EE", "1/ms", 10.0 / 26.0, positive(), "E<-E conductance rate"),
       num("a_EI", "1/ms", 0.8 / 26.0, positive(), "E<-I conductance rate"),
       num("a_IE", "1/ms", 10.0 / 26.0, positive(), "I<-E conductance rate"),
       num("a_II", "1/ms", 0.8 / 26.0, positive(), "I<-I conductance rate"),
       num("k_EE", "", 0.0, any_value(), "E<-E coupling"),
       num("k_EI", "", 15.6, any_value(), "E<-I coupling"),
       num("k_IE", "", 15.6, any_value(), "I<-E coupling"),
       num("k_II", "", 0.0, any_value(), "I<-I coupling")},
      only_in_category_learning,
      one});
  r.add(BlockTypeSpec{
      "image_stimulus",
      "image stimulus (Neuroblox ImageStimulus, §1.7): the cortical target's excitatory cells "
      "are bound to pixels cyclically and get I_in = weight * pixel while the image is on. "
      "Images come from `file` (Neuroblox CSV: pixel_1..pixel_P, category) or, when `file` is "
      "absent, from the built-in prototype-distortion dot-pattern generator (seeded by the "
      "block's stream)",
      "image_stimulus",
      {generic("file", ValueKind::string, Need::optional, "(generated)", "", {},
               "CSV file of images; relative paths are relative to the circuit file"),
       num("t_stimulus", "ms", 1000.0, positive(), "image on-time in each trial"),
       num("t_pause", "ms", 0.0, non_negative(),
           "pause after the image (trial = t_stimulus + t_pause)"),
       integer("n_images", 1000, at_least(2), "generated images"),
       integer("width", 20, at_least(1), "generated image width (pixels)"),
       integer("height", 1, at_least(1), "generated image height (pixels)"),
       integer("dots_per_prototype", 2, at_least(1), "dots of each category prototype"),
       integer("jitter", 1, non_negative(), "maximal displacement of a distorted dot (pixels)"),
       num("p_distort", "", 1.0, prob, "probability that a dot is displaced"),
       num("p_dropout", "", 0.0, prob, "probability that a dot is removed")},
      only_in_category_learning,
      one});
  r.add(BlockTypeSpec{
      "striatum",
      "striatum (Neuroblox Striatum, §1.8): n_inhib MSN-like inhibitory HH cells plus a "
      "matrisome and a striosome (discrete units)",
      "striatum",
      {integer("n_inhib", 25, at_least(1), "MSN-like cells"),
       num("G_syn_inhib", "", 1.2, non_negative(), "transmitter drive of the MSN synapse"),
       num("E_syn_inhib", "mV", -70.0, any_value(), "reversal of the MSN synapse"),
       num("tau_inhib", "ms", 70.0, positive(), "decay of the MSN synapse"), hh_integrator_param()},
      only_in_category_learning,
      [](const BlockDesc& b) { return static_cast<std::uint32_t>(b.params.integer("n_inhib")); }});
  r.add(BlockTypeSpec{"tan",
                      "tonically active interneurons (Neuroblox TAN, §1.9): rate R = min(kappa, "
                      "kappa/(lambda*S + 1.49e-8)) of the latched striosomal input S; one Poisson "
                      "draw per trial at the TAN edge's t_event",
                      "tan",
                      {num("kappa", "1/trial", 100.0, positive(), "maximal rate"),
                       num("lambda", "", 1.0, positive(), "input gain")},
                      only_in_category_learning,
                      one});
  r.add(BlockTypeSpec{
      "snc",
      "dopamine source (Neuroblox SNc, §1.10): DA = min(kappa_da, kappa_da/(lambda_da*S "
      "+ 1.49e-8)), S = latched striosomal input, snapshot at t_event",
      "snc",
      {num("kappa_da", "", 1.0, positive(), "maximal dopamine"),
       num("lambda_da", "", 0.33, positive(), "input gain"),
       num("t_event", "ms", 90.0, positive(), "snapshot time within the trial")},
      only_in_category_learning,
      one});
  r.add(
      BlockTypeSpec{"greedy_policy",
                    "action selection (Neuroblox GreedyPolicy, §1.11): argmax of the matrisome "
                    "snapshots of the connected striata (exactly two), ties -> the first",
                    "greedy_policy",
                    {num("t_decision", "ms", 180.0, positive(), "decision time within the trial")},
                    only_in_category_learning,
                    one});

  // Edge kinds of §2.2 (source kind, target kind) -> meaning.
  auto ek = [&](const char* s, const char* t, const char* name, const char* doc, bool t_event,
                bool learning, bool rule_keys) {
    r.add(EdgeKindSpec{s, t, name, doc, false, false, t_event, learning, rule_keys,
                       edge_only_in_category_learning});
  };
  ek("image_stimulus", "cortical", "pixel_map",
     "pixel k -> excitatory cell k (cyclic): I_in = w*pixel", false, false, false);
  ek("neural_mass_ei", "cortical", "ascending",
     "neural mass -> ff_inh of the cortical block: I = w*R_E", false, false, false);
  ek("cortical", "cortical", "cortico_cortical",
     "excitatory -> excitatory, hypergeometric (density), AMPA synapses of the source cells; "
     "plastic with `hebbian`",
     false, true, true);
  ek("cortical", "striatum", "corticostriatal",
     "per-source weights w_i = 2*w*U(0,1) to (a) MSNs (hypergeometric, density), (b) the "
     "matrisome, (c) the "
     "striosome; plastic with `hebbian_dopamine` (post factor = matrisome H)",
     false, true, true);
  ek("tan", "striatum", "tan_event", "TAN -> matrisome: TAN_spikes = w*Poisson(R_TAN) at t_event",
     true, false, false);
  ek("striatum", "tan", "striosome_to_tan", "striosome -> TAN input: jcn += w*H*jcn_t_block", false,
     false, false);
  ek("striatum", "snc", "striosome_to_snc", "striosome -> SNc input: jcn += w*H*jcn_t_block", false,
     false, false);
  ek("striatum", "striatum", "competition",
     "matrisome competition at t_event: the loser's matrisome and striosome are gated off and its "
     "MSNs get "
     "I_bg = -2",
     true, false, false);
  ek("striatum", "greedy_policy", "policy_input",
     "registers the striatum's matrisome snapshot as a competitor", false, false, false);

  r.add(LearningRuleSpec{
      "hebbian",
      "Neuroblox HebbianPlasticity (§3.1), once per trial: dw = K*x_pre*x_post*(W_lim - w)*r "
      "with x = cumulative spike counters at the end of the trial",
      {num_required("K", "", non_negative(), "learning rate"),
       num_required("W_lim", "", positive(), "weight limit")},
      trial_rule_only_in_category_learning("hebbian")});
  r.add(LearningRuleSpec{
      "hebbian_dopamine",
      "Neuroblox HebbianModulationPlasticity (§3.2), once per trial: eps = r - (kappa_DA - DA), "
      "f = eps*(eps+theta_m)*sigma'(alpha*(eps+theta_m)), dw = max(K*x_pre*H_post*f - decay*w, -w)",
      {num_required("K", "", non_negative(), "learning rate"),
       num("decay", "", 0.01, non_negative(), "weight decay per trial"),
       num("alpha", "", 2.5, positive(), "sigmoid slope"),
       num("theta_m", "", 1.0, any_value(), "modulation offset"),
       block_ref("modulator", Need::optional, {"snc"}, "the SNc block whose DA the rule reads")},
      trial_rule_only_in_category_learning("hebbian_dopamine")});

  r.add(ExperimentSpec{
      "category_learning",
      "Neuroblox ClassificationEnvironment + Agent (§1.12, §4): warm-up, then trials that each "
      "restart from the post-warm-up state; block latch/reset every t_block, decision, reward, "
      "learning after the trial. Closed loop: image_stimulus, 2 cortical, 2 striatum, 2 tan, 1 "
      "snc, "
      "1 greedy_policy (circuits_toml/category_learning.toml). Open loop (no striatum, tan, snc or "
      "policy block): the cortico-cortical Hebbian example, r = 1 and action 0 every trial, no "
      "block events (t_block, reward_* unused) (circuits_toml/cortical_hebbian.toml)",
      {integer("n_trials", 400, at_least(1), "number of trials"),
       num("t_warmup", "ms", 200.0, non_negative(), "warm-up length (shows image 1)"),
       num("t_block", "ms", 90.0, positive(), "block length of the latches and counter resets"),
       text("order", "sequential", {"sequential", "shuffled"}, "stimulus order"),
       num("reward_correct", "", 1.0, any_value(), "reward of a correct action"),
       num("reward_incorrect", "", 0.0, any_value(), "reward of a wrong action"),
       boolean("record_weights", true, "snapshot every plastic weight after each trial")}});
}

}  // namespace sbx::circuits
