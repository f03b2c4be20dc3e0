#include "circuits/rate_blocks.hpp"

#include <cmath>
#include <memory>

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "circuits/plasticity_registry.hpp"
#include "models/rate_rules.hpp"
#include "models/rate_unit.hpp"

namespace sbx::circuits {

DnmsParams dnms_params_from(const BlockDesc& b, double dt_ms, std::vector<std::string>* problems) {
  auto steps = [&](const char* key) -> std::int64_t {
    const double v = b.params.number(key);
    const double s = v / dt_ms;
    const auto r = static_cast<std::int64_t>(std::llround(s));
    if (problems && std::abs(s - static_cast<double>(r)) > 1e-9 * std::max(1.0, std::abs(s)))
      problems->push_back(std::string(key) + ": " + format_number(v) +
                          " ms is not a multiple of [run].dt = " + format_number(dt_ms) + " ms");
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

// The §4.1 neuromodulated Hebbian trace on every coupling of a rate edge, run by a control event
// once per step just before the step's couplings are summed (Simulator phase 1 precedes phase 2):
// at tick t it reads r_pre(t) and the post rates stored at t - dt, updates H, writes w0 + H into
// the coupling, and stores r_post(t) for the next step. State lives in the control's closure.
struct HebbianTraceState {
  HebbianTraceState(std::vector<double> w0, double eta) : syn(std::move(w0), eta) {}
  HebbianTraceSynapses syn;
  std::uint32_t coupling = 0, control = 0;
  std::vector<double> post_prev;
  bool have_prev = false;
  double m_const = 1.0;
  std::shared_ptr<Modulator> modulator;  // null: the constant m_const
  Tick reset_ticks = 0;                  // 0: never reset
};

// Control order of the trace update: after controls of the same tick that may pulse the
// modulator (rewards, stimuli), so the step sees the tick's modulator value.
constexpr std::uint8_t kHebbianTraceOrder = 60;

void attach_hebbian_trace(const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
  const std::string where = ctx.desc.connections[e.connection].path + ".learning";
  if (e.couplings.empty()) {
    ctx.error(l.pos, where,
              "the hebbian_trace rule needs a current edge between rate blocks (got a " + e.kind +
                  " edge " + e.name + ")");
    return;
  }
  const double eta = l.params.number("eta");
  const std::string& mod_name = l.params.text("modulator");
  std::shared_ptr<Modulator> mod;
  if (!mod_name.empty()) {
    modulator_for(l.params, ctx.built, ctx.grid());
    mod = ctx.built.modulators.at(mod_name);
  }
  Tick reset_ticks = 0;
  if (const double every = l.params.number("reset_every"); every > 0.0) {
    reset_ticks = ctx.grid().round_ms(every);
    if (reset_ticks % ctx.sim.dt() != 0) {
      ctx.error(
          l.pos, where + ".reset_every",
          "must be a multiple of [run].dt = " + std::to_string(ctx.grid().to_ms(ctx.sim.dt())) +
              " ms, got " + std::to_string(every) + " ms");
      return;
    }
  }
  Simulator* sim = &ctx.sim;
  for (std::uint32_t cid : e.couplings) {
    const ContinuousProjection& cp = sim->continuous(cid);
    if (!sim->population(cp.post_population).continuous_output() ||
        !sim->population(cp.pre_population).continuous_output()) {
      ctx.error(l.pos, where,
                "the hebbian_trace rule needs rate outputs on both sides of edge " + e.name);
      return;
    }
    auto st = std::make_shared<HebbianTraceState>(cp.weight, eta);
    st->coupling = cid;
    st->m_const = l.params.number("m");
    st->modulator = mod;
    st->reset_ticks = reset_ticks;
    st->post_prev.assign(sim->population(cp.post_population).size(), 0.0);
    st->control = sim->add_control([st, sim](Tick t, std::uint32_t, std::uint32_t) {
      ContinuousProjection& c = sim->continuous(st->coupling);
      const double* r_post = sim->population(c.post_population).continuous_output();
      const double* r_pre = sim->population(c.pre_population).continuous_output();
      if (st->reset_ticks > 0 && t % st->reset_ticks == 0) {
        st->syn.reset();
        st->have_prev = false;
      }
      if (st->have_prev) {
        const double m = st->modulator ? st->modulator->value(t) : st->m_const;
        st->syn.update(c.pre.data(), c.post.data(), st->post_prev.data(), r_pre, m,
                       c.weight.data());
      } else {
        st->syn.write_weights(c.weight.data());
      }
      std::copy(r_post, r_post + st->post_prev.size(), st->post_prev.begin());
      st->have_prev = true;
      sim->schedule_control(t + sim->dt(), st->control, kHebbianTraceOrder);
    });
    sim->schedule_control(sim->now(), st->control, kHebbianTraceOrder);
  }
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
          ctx.error(l.pos, ctx.desc.connections[e.connection].path + ".learning",
                    "the miconi rule is applied at trial ends by the dnms experiment; with "
                    "experiment type '" +
                        ctx.desc.experiment.type + "' it would never change a weight");
        if (e.from != e.to)
          ctx.error(
              l.pos, ctx.desc.connections[e.connection].path + ".learning",
              "the miconi rule needs a recurrent edge (from == to), got " + e.from + " -> " + e.to);
      }};
  r.add(std::move(miconi));

  r.add(LearningRuleSpec{
      "hebbian_trace",
      "neuromodulated Hebbian trace (seed_systems.md §4.1, Ria-Chaudhry/Hebbian-RNN-Model-) on a "
      "rate -> rate current edge (models/rate_rules.hpp HebbianTraceSynapses): every synapse k "
      "(pre j -> post i) carries a trace H_k and acts with weight w_k + H_k; once per step, "
      "before the couplings are summed, H_k <- (1 - eta)·H_k + eta·m·r_post_i(t - dt)·r_pre_j(t) "
      "(the repo's h_t ⊗ h_{t+1}); m is the constant `m` or the named `modulator` at tick t. "
      "With tau = dt a tanh rate block runs h_{t+1} = tanh(W·h_t + H_t·h_t + input) exactly. "
      "The trace is not part of checkpoints; recorded weights are w + H",
      {num("eta", "", 0.1, closed(0.0, 1.0), "trace rate: decay 1 - eta and gain eta per step"),
       num("m", "", 1.0, any_value(),
           "constant gate m_t (the repo: 1 at test; used when `modulator` is empty)"),
       text("modulator", "", {},
            "name of a modulator gating the trace (m_t = its value at the step's tick); empty = "
            "the constant m"),
       num("modulator_baseline", "", 0.0, any_value(),
           "tonic level of the named modulator (rules sharing it must agree)"),
       num("modulator_tau", "ms", 200.0, positive(),
           "decay time of the named modulator's phasic part"),
       num("reset_every", "ms", 0.0, non_negative(),
           "set H to 0 at every multiple of this time (the repo's per-sequence reset; a multiple "
           "of [run].dt); 0 = never")},
      attach_hebbian_trace});

  r.add(ExperimentSpec{
      "dnms",
      "Miconi's delayed non-match-to-sample training (apps/run_dnms.cpp): one rate block with a "
      "recurrent `miconi` edge, driven by a dnms_input block; n_trials trials of the task, x "
      "redrawn from x_init at each trial start, one /trials row per trial (flushed per trial)",
      {block_ref("network", Need::required, {"population"}, "the recurrent rate block"),
       integer("n_trials", 10000, at_least(1), "number of trials"),
       integer("output_neuron", 0, closed(0.0, kMaxNeurons), "unit whose r is the response"),
       generic("clamp_neurons", ValueKind::integer_list, Need::defaulted, "[1, 10, 11]", "",
               closed(0.0, kMaxNeurons), "units whose x is held fixed (biases)"),
       generic("clamp_values", ValueKind::number_list, Need::defaulted, "[1.0, 1.0, -1.0]", "", {},
               "their x values (same length as clamp_neurons)"),
       boolean("input_to_output", false,
               "keep the input weights onto the output unit (Miconi zeroes them)"),
       integer("snapshot_every", 1000, non_negative(),
               "write the recurrent weights to /weights every this many trials (0 = only the "
               "initial and final ones)")}});
}

}  // namespace sbx::circuits
