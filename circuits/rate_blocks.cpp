#include "circuits/rate_blocks.hpp"

#include <cmath>
#include <memory>

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "models/rate_unit.hpp"

namespace sbx::circuits {

DnmsParams dnms_params_from(const BlockDesc& b, double dt_ms, std::vector<std::string>* problems) {
  auto steps = [&](const char* key) -> std::int64_t {
    const double v = b.params.number(key);
    const double s = v / dt_ms;
    const auto r = static_cast<std::int64_t>(std::llround(s));
    if (problems && std::abs(s - static_cast<double>(r)) > 1e-9 * std::max(1.0, std::abs(s)))
      problems->push_back(std::string(key) + ": " + std::to_string(v) +
                          " ms is not a multiple of [run].dt = " + std::to_string(dt_ms) + " ms");
    return r;
  };
  DnmsParams p;
  p.trial_steps = steps("trial");
  p.stim1_start = steps("stim1_start");
  p.stim2_start = steps("stim2_start");
  p.stim_steps = steps("stim_duration");
  p.response_steps = steps("response");
  p.target = b.params.number("target");
  return p;
}

namespace {

std::unique_ptr<Population> make_rate(const BlockDesc& b, RateTransfer f) {
  RateParams p;
  p.tau = b.params.number("tau");
  p.I_bias = b.params.number("I_bias");
  return std::make_unique<RatePopulation>(b.n, p, f);
}

PopulationModelSpec rate_model(std::string name, RateTransfer f, std::string doc) {
  PopulationModelSpec m;
  m.name = std::move(name);
  m.doc = std::move(doc);
  m.dynamics = Dynamics::clocked;
  m.kind = "rate";
  m.params = {num("tau", "ms", 30.0, positive(), "time constant of the activation x"),
              num("I_bias", "", 0.0, any_value(), "constant input added to every unit")};
  m.init_states = {{"x", ""}};
  m.recordables = {"x", "r"};
  m.receptors = {};
  m.takes_current = true;
  m.make = [f](const BlockDesc& b, BuildContext&) { return make_rate(b, f); };
  m.check = [](const BlockDesc& b) {
    RateParams p;
    p.tau = b.params.number("tau");
    p.I_bias = b.params.number("I_bias");
    return p.validate();
  };
  return m;
}

void lower_dnms_input(const BlockDesc& b, BuildContext& ctx) {
  std::vector<std::string> problems;
  const DnmsParams p = dnms_params_from(b, ctx.desc.run.dt, &problems);
  for (const auto& s : DnmsParams(p).validate()) problems.push_back(s);
  if (!problems.empty()) {
    for (const auto& m : problems) ctx.error(b.pos, "blocks." + b.name, m);
    return;
  }
  ctx.add_population(b, b.name, std::make_unique<DnmsInputPopulation>(p));
}

}  // namespace

void add_rate_models(Registry& r) {
  r.add(rate_model("rate", RateTransfer::tanh,
                   "firing-rate units (Miconi 2017): tau dx/dt = -x + sum_j w_ij r_j + I_bias, "
                   "r = tanh(x); forward Euler at [run].dt (dt < 2 tau); output r drives other "
                   "rate units through current couplings (models/rate_unit.hpp)"));
  r.add(rate_model("rate_linear", RateTransfer::linear,
                   "linear rate units: as `rate` with r = x (for linear analyses and tests)"));

  r.add(BlockTypeSpec{
      "dnms_input",
      "the 2 input channels (A, B) of Miconi's delayed non-match-to-sample task "
      "(envs/dnms.hpp): trial k has type k mod 4 = AA, AB, BA, BB; the active channel of "
      "stimulus 1 / 2 carries 1 during its window; drives rate units through a current coupling",
      "dnms_input",
      {num("trial", "ms", 1000.0, positive(), "trial length (multiple of [run].dt)"),
       num("stim1_start", "ms", 1.0, non_negative(), "onset of stimulus 1"),
       num("stim2_start", "ms", 400.0, non_negative(), "onset of stimulus 2"),
       num("stim_duration", "ms", 200.0, non_negative(), "duration of each stimulus"),
       num("response", "ms", 200.0, positive(),
           "response window = the last `response` ms of the trial"),
       num("target", "", 0.98, any_value(),
           "target output: +target for non-match, -target for match")},
      lower_dnms_input,
      [](const BlockDesc&) { return DnmsTask::n_channels; }});

  r.add(EdgeKindSpec{"rate", "rate", "current",
                     "continuous coupling between rate units: input_post += w·r_pre", false, false,
                     false, true, true, lower_current_edge});
  r.add(EdgeKindSpec{"dnms_input", "rate", "current",
                     "continuous coupling: input_post += w·u_channel", false, false, false, false,
                     true, lower_current_edge});
  r.add(EdgeKindSpec{"current_source", "rate", "current",
                     "continuous coupling: input_post += w·amplitude", false, false, false, false,
                     true, lower_current_edge});

  LearningRuleSpec miconi{
      "miconi",
      "Miconi (2017) exploratory-perturbation + eligibility-trace rule on a dense recurrent rate "
      "edge (models/rate_rules.hpp): perturbations U[-A, A] with probability perturb_prob per "
      "unit and step; DELTAX eligibility e_ij += (r_j(t-1)·(x_i - xbar_i))^3 or node "
      "perturbation e_ij += r_j(t-1)·p_i; at trial end dJ = clip(-eta·ebar·e·(error - ebar), "
      "±max_dw) with the per-trial-type running error ebar. Applied by the dnms experiment",
      {text("method", "deltax", {"deltax", "node_perturbation"},
            "eligibility: cubed fluctuation (deltax) or pre × perturbation (node_perturbation)"),
       num_optional("eta", "", non_negative(),
                    "learning rate (unset: 0.1 for deltax, 0.001 for node_perturbation)"),
       num("max_dw", "", 3e-4, non_negative(), "elementwise clip of a trial's weight change"),
       num("trace_alpha", "", 0.05, closed(0.0, 1.0),
           "xbar <- trace_alpha·xbar + (1 - trace_alpha)·x every step"),
       num("perturb_prob", "", 0.003, closed(0.0, 1.0),
           "perturbation probability per unit per step"),
       num("perturb_amplitude", "", 16.0, non_negative(), "perturbation ~ U[-A, A] (input units)"),
       integer("perturb_after", 3, non_negative(),
               "no perturbation on trial steps 0..perturb_after"),
       integer("eligibility_after", 2, non_negative(),
               "no eligibility on trial steps 0..eligibility_after"),
       num("baseline_alpha", "", 0.75, closed(0.0, 1.0),
           "ebar <- baseline_alpha·ebar + (1 - baseline_alpha)·error after each trial"),
       integer("learn_after", 100, non_negative(), "weights change only on trials > learn_after")},
      [](const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
        // The rule acts at trial ends, which only the dnms experiment has; anywhere else the edge
        // would silently stay static.
        if (ctx.desc.experiment.type != "dnms")
          ctx.error(l.pos, "connections." + e.name + ".learning",
                    "the miconi rule is applied at trial ends by the dnms experiment; with "
                    "experiment type '" +
                        ctx.desc.experiment.type + "' it would never change a weight");
        if (e.from != e.to)
          ctx.error(
              l.pos, "connections." + e.name + ".learning",
              "the miconi rule needs a recurrent edge (from == to), got " + e.from + " -> " + e.to);
      }};
  r.add(std::move(miconi));

  r.add(ExperimentSpec{
      "dnms",
      "Miconi's delayed non-match-to-sample training (apps/run_dnms.cpp): one rate block with a "
      "recurrent `miconi` edge, driven by a dnms_input block; n_trials trials of the task, x "
      "redrawn from x_init at each trial start, one /trials row per trial (flushed per trial)",
      {block_ref("network", Need::required, {"population"}, "the recurrent rate block"),
       integer("n_trials", 10000, at_least(1), "number of trials"),
       integer("output_neuron", 0, non_negative(), "unit whose r is the response"),
       generic("clamp_neurons", ValueKind::integer_list, Need::defaulted, "[1, 10, 11]", "",
               non_negative(), "units whose x is held fixed (biases)"),
       generic("clamp_values", ValueKind::number_list, Need::defaulted, "[1.0, 1.0, -1.0]", "", {},
               "their x values (same length as clamp_neurons)"),
       boolean("input_to_output", false,
               "keep the input weights onto the output unit (Miconi zeroes them)"),
       integer("snapshot_every", 1000, non_negative(),
               "write the recurrent weights to /weights every this many trials (0 = only the "
               "initial and final ones)")}});
}

}  // namespace sbx::circuits
