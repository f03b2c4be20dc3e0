#include "circuits/plasticity_registry.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include "engine/errors.hpp"

#include "models/izhikevich.hpp"

namespace sbx::circuits {

namespace {

TraceMode trace_mode(const ParamMap& p) {
  return p.text("trace") == "set" ? TraceMode::set : TraceMode::add;
}

// Every projection of a spike edge; initial weights must lie within the rule's bounds (a weight
// outside would be clipped at its first spike, silently changing the circuit).
void check_edge(const EdgeBuilt& e, BuildContext& ctx, double w_min, double w_max,
                const char* rule) {
  if (e.projections.empty())
    throw std::invalid_argument(std::string(rule) + " needs a spike edge (got a " + e.kind +
                                " edge " + e.name + ")");
  for (std::uint32_t pid : e.projections)
    for (float w : ctx.sim.projection(pid).weight)
      if (!(w >= w_min && w <= w_max))
        throw std::invalid_argument(std::string(rule) + ": initial weight " + format_number(w) +
                                    " of edge " + e.name + " is outside [w_min, w_max] = [" +
                                    format_number(w_min) + ", " + format_number(w_max) + "]");
}

// ---- the modulator block: a neuromodulator driven by a circuit signal in a plain run ----

// The modulator a `modulator` block drives ("" = the block's name).
std::string driven_name(const BlockDesc& b) {
  const std::string& m = b.params.text("modulator");
  return m.empty() ? b.name : m;
}

// Runs after the rules are attached (BlockTypeSpec::finish): the rules create the modulator
// (with their modulator_baseline / modulator_tau), the block connects its drives to it.
void finish_modulator_block(const BlockDesc& b, BuildContext& ctx) {
  const std::string path = "blocks." + b.name;
  auto at = [&](const char* key) {
    const SourcePos p = b.params.position(key);
    return p.line > 0 ? p : b.pos;
  };
  const std::string name = driven_name(b);
  const auto it = ctx.built.modulators.find(name);
  if (it == ctx.built.modulators.end()) {
    ctx.error(at("modulator"), path + ".modulator",
              "no learning rule reads the modulator '" + name +
                  "', so driving it would change nothing (an rstdp or three_factor rule on a "
                  "spike edge reads it when it has modulator = \"" +
                  name + "\")");
    return;
  }
  const std::shared_ptr<Modulator> m = it->second;
  const bool from_spikes = b.params.has("source"), scheduled = b.params.has("pulse_times");
  if (!from_spikes && !scheduled) {
    ctx.error(b.pos, path,
              "the modulator block drives nothing: give source (a block whose spikes pulse the "
              "modulator, with per_spike) or pulse_times (with pulse_amount), or both");
    return;
  }
  // Keys that only mean something together: the one given is reported, the other named.
  const auto given_together = [&](const std::string& key, const std::string& partner,
                                  const std::string& partner_is, const std::string& key_is) {
    const bool has_key = b.params.has(key);
    if (has_key == b.params.has(partner)) return true;
    const std::string& given = has_key ? key : partner;
    const std::string& missing = has_key ? partner : key;
    ctx.error(at(given.c_str()), path + "." + missing,
              given + " needs " + missing + " (" + (has_key ? partner_is : key_is) + ")");
    return false;
  };
  if (!given_together("source", "per_spike", "the pulse each of its spikes gives the modulator",
                      "the block whose spikes pulse the modulator"))
    return;
  if (b.params.number("delay") != 0.0 && !from_spikes) {
    ctx.error(at("delay"), path + ".delay",
              "delay needs source (it is the time from a source spike to its pulse; scheduled "
              "pulses come at their pulse_times)");
    return;
  }
  if (!given_together("pulse_times", "pulse_amount", "the size of each scheduled pulse",
                      "when the pulses come, ms"))
    return;
  const TimeGrid& g = ctx.grid();
  const double dt = ctx.desc.run.dt;
  // On the step grid: pulses then come after the step's spikes at the same time, never before
  // an event the rules have already handled (see Simulator::add_spike_pulses).
  const auto on_step_grid = [dt](double ms) {
    return std::fabs(std::round(ms / dt) * dt - ms) <= 1e-9 * std::max(1.0, std::fabs(ms));
  };
  if (from_spikes) {
    const double delay = b.params.number("delay");
    if (!on_step_grid(delay)) {
      ctx.error(at("delay"), path + ".delay",
                "delay " + format_number(delay) + " ms is not a multiple of [run].dt = " +
                    format_number(dt) + " ms (pulses come at step boundaries)");
      return;
    }
    ctx.sim.add_spike_pulses(ctx.built.population(b.params.text("source")), *m,
                             b.params.number("per_spike"), g.round_ms(delay));
  }
  if (scheduled) {
    const double amount = b.params.number("pulse_amount");
    std::vector<Tick> ticks;
    for (double ms : b.params.numbers("pulse_times")) {
      if (!(ms < ctx.desc.run.duration)) {
        ctx.error(at("pulse_times"), path + ".pulse_times",
                  "pulse time " + format_number(ms) + " ms is not before the end of the run (" +
                      "run.duration = " + format_number(ctx.desc.run.duration) +
                      " ms): it would never come");
        return;
      }
      const Tick t = g.round_ms(ms);
      if (!on_step_grid(ms)) {
        ctx.error(at("pulse_times"), path + ".pulse_times",
                  "pulse time " + format_number(ms) + " ms is not a multiple of [run].dt = " +
                      format_number(dt) + " ms (pulses come at step boundaries)");
        return;
      }
      ticks.push_back(t);
    }
    const std::uint32_t id = ctx.sim.add_control(
        [m, amount](Tick t, std::uint32_t, std::uint32_t) { m->pulse(t, amount); });
    for (Tick t : ticks) ctx.sim.schedule_control(t, id);
  }
  // Nothing else drives a plain run's modulator: when no driver can make it negative, declaring
  // it lets R-STDP skip the negligible potentiations (circuits/plasticity.hpp; exact then).
  bool nonnegative = m->baseline() >= 0.0;
  for (const BlockDesc& o : ctx.desc.blocks)
    if (o.type == "modulator" && driven_name(o) == name)
      nonnegative = nonnegative && o.params.number_or("per_spike", 0.0) >= 0.0 &&
                    o.params.number_or("pulse_amount", 0.0) >= 0.0;
  if (nonnegative && !m->nonnegative()) m->declare_nonnegative();
}

std::vector<ParamSpec> pairing_keys(double A_plus, double A_minus, const char* trace,
                                    double w_max) {
  return {
      num("A_plus", "target's unit", A_plus, non_negative(),
          "potentiation amplitude per pre-before-post pair: the jump of w (stdp) or of the "
          "eligibility c (rstdp, three_factor), in the weight's unit"),
      num("A_minus", "target's unit", A_minus, non_negative(),
          "depression amplitude per post-before-pre pair, a magnitude (same unit as A_plus)"),
      num("tau_plus", "ms", 20.0, positive(), "presynaptic trace time constant"),
      num("tau_minus", "ms", 20.0, positive(), "postsynaptic trace time constant"),
      text("trace", trace, {"add", "set"},
           "a spike adds 1 to its trace (all-to-all pairing) or sets it to 1 (nearest spike, "
           "Izhikevich 2007)"),
      num("w_min", "target's unit", 0.0, any_value(), "lower weight bound"),
      num("w_max", "target's unit", w_max, any_value(), "upper weight bound (>= w_min)"),
  };
}

std::vector<ParamSpec> three_factor_keys(bool rstdp) {
  // Izhikevich (2007) values for both: A+ = 0.1, A- = 1.5 A+, nearest-spike traces, w in [0, 4].
  std::vector<ParamSpec> k = pairing_keys(0.1, 0.15, "set", 4.0);
  k.push_back(num("tau_c", "ms", 1000.0, positive(),
                  "eligibility time constant (daspnet: x0.99 every 10 ms)"));
  k.push_back(num("eta", "1/ms", 0.1, any_value(),
                  "dw/dt = eta*c*m (daspnet: w += (0.002 + DA)*c every 10 ms, eta = 1/(10 ms))"));
  k.push_back(text("ltp_read", "current_tick", {"current_tick", "previous_tick"},
                   "presynaptic trace read by potentiation: at the postsynaptic spike's tick, or "
                   "one tick earlier as daspnet.m does (a pre spike one tick before the post "
                   "spike then counts the full A_plus)"));
  if (rstdp) {
    k.push_back(
        text("modulator", "dopamine", {}, "name of the modulator read as the third factor"));
    k.push_back(num("modulator_baseline", "", 0.002, any_value(),
                    "tonic level of the modulator (daspnet's 0.002)"));
  } else {
    k.push_back(text_required("modulator", {},
                              "name of the modulator read as the third factor (dopamine, rpe, "
                              "acetylcholine, noradrenaline, ... any name)"));
    k.push_back(num("modulator_baseline", "", 0.0, any_value(), "tonic level of the modulator"));
  }
  k.push_back(num("modulator_tau", "ms", 200.0, positive(),
                  "decay time of the modulator's phasic part (dopamine: 200 ms)"));
  return k;
}

void attach_stdp(const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
  const StdpParams p = stdp_params_from(l.params);
  detail::check_stdp_common(p.A_plus, p.A_minus, p.tau_plus, p.tau_minus, p.w_min, p.w_max);
  check_edge(e, ctx, p.w_min, p.w_max, "stdp");
  for (std::uint32_t pid : e.projections)
    ctx.sim.set_rule(pid, std::make_unique<PairStdp>(ctx.sim.projection(pid), p, ctx.grid()));
}

void attach_three_factor(const LearningDesc& l, const EdgeBuilt& e, BuildContext& ctx) {
  const ThreeFactorParams p = three_factor_params_from(l.params);
  detail::check_stdp_common(p.A_plus, p.A_minus, p.tau_plus, p.tau_minus, p.w_min, p.w_max);
  check_edge(e, ctx, p.w_min, p.w_max, l.type.c_str());
  Modulator& m = modulator_for(l.params, ctx.built, ctx.grid());
  for (std::uint32_t pid : e.projections)
    ctx.sim.set_rule(pid,
                     std::make_unique<ThreeFactorStdp>(ctx.sim.projection(pid), p, m, ctx.grid()));
}

}  // namespace

StdpParams stdp_params_from(const ParamMap& p) {
  StdpParams s;
  s.A_plus = p.number("A_plus");
  s.A_minus = p.number("A_minus");
  s.tau_plus = p.number("tau_plus");
  s.tau_minus = p.number("tau_minus");
  s.trace = trace_mode(p);
  s.w_min = p.number("w_min");
  s.w_max = p.number("w_max");
  s.bounds = p.text("bounds") == "multiplicative" ? BoundMode::multiplicative : BoundMode::additive;
  return s;
}

ThreeFactorParams three_factor_params_from(const ParamMap& p) {
  ThreeFactorParams s;
  s.A_plus = p.number("A_plus");
  s.A_minus = p.number("A_minus");
  s.tau_plus = p.number("tau_plus");
  s.tau_minus = p.number("tau_minus");
  s.trace = trace_mode(p);
  s.w_min = p.number("w_min");
  s.w_max = p.number("w_max");
  s.tau_c = p.number("tau_c");
  s.eta = p.number("eta");
  s.ltp_previous_tick = p.text("ltp_read") == "previous_tick";
  return s;
}

Modulator& modulator_for(const ParamMap& rp, BuiltCircuit& built, const TimeGrid& grid) {
  const std::string& name = rp.text("modulator");
  const double base = rp.number("modulator_baseline"), tau = rp.number("modulator_tau");
  auto it = built.modulators.find(name);
  if (it == built.modulators.end())
    it = built.modulators.emplace(name, std::make_shared<Modulator>(name, base, tau, grid)).first;
  Modulator& m = *it->second;
  if (m.baseline() != base || m.tau_ms() != tau)
    throw std::invalid_argument(
        "modulator '" + name + "' is already defined by another rule with modulator_baseline = " +
        format_number(m.baseline()) + " and modulator_tau = " + format_number(m.tau_ms()) +
        " ms, this one has modulator_baseline = " + format_number(base) +
        " and modulator_tau = " + format_number(tau) + " ms; rules sharing a modulator must agree");
  return m;
}

std::vector<Diagnostic> check_modulators_driven(const CircuitDescription& desc,
                                                const std::vector<std::string>& driven,
                                                const std::string& experiment) {
  struct Use {
    const LearningDesc* l;
    const ConnectionDesc* c;
  };
  std::map<std::string, std::vector<Use>> readers;  // undriven modulator -> the rules reading it
  for (const ConnectionDesc& c : desc.connections) {
    if (!c.learning) continue;
    const ParamMap& p = c.learning->params;
    if (!p.has("modulator") || !p.has("modulator_baseline")) continue;
    const std::string& name = p.text("modulator");
    if (name.empty() || std::find(driven.begin(), driven.end(), name) != driven.end()) continue;
    const bool block_drives = std::any_of(desc.blocks.begin(), desc.blocks.end(), [&](auto& b) {
      return b.type == "modulator" && driven_name(b) == name;
    });  // (the loader refuses a modulator block outside a plain run)
    if (block_drives) continue;
    readers[name].push_back({&*c.learning, &c});
  }
  std::vector<Diagnostic> errors, notes;
  for (const auto& [name, uses] : readers) {
    const LearningDesc& l = *uses.front().l;
    const SourcePos given = l.params.position("modulator");
    const SourcePos pos = given.line > 0 ? given : l.pos;
    const std::string key =
        (l.inline_rule ? uses.front().c->path + ".learning" : "rules." + l.rule) + ".modulator";
    std::vector<std::string> rules;
    for (const Use& u : uses)
      if (std::find(rules.begin(), rules.end(), u.l->rule) == rules.end())
        rules.push_back(u.l->rule);
    std::string who;
    for (const std::string& r : rules) who += (who.empty() ? "'" : ", '") + r + "'";
    const double base = l.params.number("modulator_baseline");
    std::string msg = "modulator '" + name + "' (read by " +
                      (rules.size() == 1 ? "rule " : "rules ") + who + ") is never driven in " +
                      experiment +
                      ": nothing pulses or sets it, so it stays at its modulator_baseline = " +
                      format_number(base) + " for the whole run";
    const std::string how =
        "; modulators are driven by a modulator block in a plain run (type = \"modulator\": "
        "spikes of a source block, or scheduled pulses), by the distal_reward experiment "
        "(rewards on its rule's modulator) and by a value_decoder in an episodes experiment (its "
        "TD error)";
    Diagnostic d{pos.file.empty() ? desc.file : pos.file, pos.line, pos.column, key, {}};
    if (base == 0.0) {
      d.message = msg + " and the rule can never change a weight" + how +
                  ". For unmodulated learning use type = \"stdp\"; for a constant third "
                  "factor give modulator_baseline a non-zero value";
      errors.push_back(std::move(d));
    } else {
      d.message = msg + ", a constant third factor" + how;
      notes.push_back(std::move(d));
    }
  }
  if (!errors.empty()) throw UserError(std::move(errors));
  return notes;
}

void add_plasticity(Registry& r) {
  // ---- the Izhikevich (2003) neuron, 2007 integration scheme (models/izhikevich.hpp) ----
  PopulationModelSpec iz;
  iz.name = "izhikevich";
  iz.doc =
      "Izhikevich (2003) neuron, integrated as in the 2007 code (two v half-steps, one u step "
      "per dt; daspnet.m uses dt = 1 ms); a spike weight w is the current w/dt for one step, "
      "both receptors add to I (inhibitory weights negative); input noise U(-noise, noise) drawn "
      "every step from the block's stream '<block>/noise'";
  iz.dynamics = Dynamics::clocked;
  const IzhikevichParams d{};
  iz.params = {
      num("a", "1/ms", d.a, positive(), "recovery rate (RS 0.02, FS 0.1)"),
      num("b", "", d.b, any_value(), "sensitivity of u to v"),
      num("c", "mV", d.c, any_value(), "reset potential (< v_peak)"),
      num("d", "mV/ms", d.d, any_value(), "reset increment of u (RS 8, FS 2)"),
      num("v_peak", "mV", d.v_peak, any_value(), "spike cut-off"),
      num("I_bias", "mV/ms", d.I_bias, any_value(), "constant input current"),
      num("noise", "mV/ms", d.noise, non_negative(),
          "half-width of the uniform input noise drawn every step (daspnet: 6.5)"),
  };
  iz.init_states = {{"v", "mV"}, {"u", "mV/ms"}};
  iz.recordables = {"v", "u"};
  iz.receptors = {"exc", "inh"};
  auto params_of = [](const BlockDesc& b) {
    IzhikevichParams p;
    p.a = b.params.number("a"), p.b = b.params.number("b"), p.c = b.params.number("c");
    p.d = b.params.number("d"), p.v_peak = b.params.number("v_peak");
    p.I_bias = b.params.number("I_bias"), p.noise = b.params.number("noise");
    return p;
  };
  iz.make = [params_of](const BlockDesc& b, BuildContext& ctx) -> std::unique_ptr<Population> {
    return std::make_unique<IzhikevichPopulation>(b.n, params_of(b),
                                                  Rng::stream(ctx.seed(), b.name + "/noise"));
  };
  iz.check = [params_of](const BlockDesc& b) { return params_of(b).validate(); };
  r.add(std::move(iz));

  // ---- learning rules (circuits/plasticity.hpp) ----
  std::vector<ParamSpec> stdp_keys = pairing_keys(0.01, 0.0105, "add", 1.0);
  stdp_keys.push_back(text("bounds", "additive", {"additive", "multiplicative"},
                           "additive: w += dw then clip; multiplicative (soft): potentiation "
                           "scaled by (w_max - w), depression by (w - w_min)"));
  r.add(LearningRuleSpec{
      "stdp",
      "pair-based STDP on a spike edge with exponential pre/post traces, updated lazily when a "
      "spike touches a synapse: pre spike w -= A_minus*y_post, post spike w += A_plus*x_pre, "
      "w clipped to [w_min, w_max]. A presynaptic spike counts at its arrival (emission + the "
      "synapse's delay). Signed weights: on an inhibitory edge with negative weights (w_max <= "
      "0) potentiation moves w towards w_max, i.e. weakens the inhibition",
      std::move(stdp_keys), attach_stdp});
  r.add(LearningRuleSpec{
      "rstdp",
      "reward-modulated STDP (Izhikevich 2007): the STDP pairing feeds an eligibility c "
      "(dc/dt = -c/tau_c), dw/dt = eta*c*d with d the dopamine modulator (baseline 0.002, "
      "tau 200 ms), w in [w_min, w_max]. A modulator is driven by a modulator block in a plain "
      "run (spikes of a source block, scheduled pulses), by the distal_reward experiment (reward "
      "pulses) or by an episodes experiment's value_decoder (TD error); one nothing drives stays "
      "at modulator_baseline: 0 is refused (the rule could never change a weight), another "
      "value is printed as a note (a constant third factor). Lazily evaluated, the "
      "c*d integral is exact between events. When the modulator can never go negative (the "
      "distal-reward experiment's reward-fed dopamine), a postsynaptic spike skips the inputs "
      "whose presynaptic trace is below 2^-24 (their potentiation is below the float "
      "resolution of c; exact for the weights otherwise)",
      three_factor_keys(true), attach_three_factor});
  r.add(LearningRuleSpec{
      "three_factor",
      "generic three-factor STDP (Fremaux & Gerstner 2016): as rstdp, but the third factor is "
      "the named modulator (any name; rules naming the same modulator share it and must agree "
      "on its baseline and tau). As for rstdp, a modulator nothing drives (see rstdp) with "
      "baseline 0 is refused",
      three_factor_keys(false), attach_three_factor});

  // ---- a modulator driven by a circuit signal or a schedule (plain runs) ----
  BlockTypeSpec modulator{
      "modulator",
      "drives a named neuromodulator in a plain run (experiment 'run'), for the rstdp / "
      "three_factor rules that read it (modulator = the same name): every spike of `source` "
      "adds per_spike to it (delay ms later), and at each of pulse_times it gets pulse_amount. The "
      "modulator is "
      "m = modulator_baseline + p, a pulse adds to p, p decays with modulator_tau (both set on "
      "the rules; engine/modulator.hpp). Pulses take effect at step boundaries: a spike of an "
      "event-driven source inside a step pulses at the step's end, pulse_times are multiples of "
      "[run].dt. When no driver can make it negative it is declared "
      "non-negative (R-STDP then skips negligible potentiations, exactly). The run file logs its "
      "changes in /modulators/<name>. Builds no neurons",
      "modulator",
      {text("modulator", "", {}, "name of the modulator driven (\"\" = the block's name)"),
       block_ref("source", Need::optional, {"population", "poisson_source"},
                 "block whose spikes pulse the modulator (any of its neurons)"),
       num_optional("per_spike", "", any_value(), "pulse per spike of source"),
       num("delay", "ms", 0.0, non_negative(),
           "time from a spike of source to its pulse (a multiple of [run].dt): the latency of "
           "the dopamine signal"),
       generic("pulse_times", ValueKind::number_list, Need::optional, "unset", "ms", non_negative(),
               "times of scheduled pulses, multiples of [run].dt, before the "
               "run's end"),
       num_optional("pulse_amount", "", any_value(), "size of each scheduled pulse")},
      [](const BlockDesc&, BuildContext&) {},
      [](const BlockDesc&) { return 1u; },
      finish_modulator_block};
  modulator.builds_neurons = false;
  modulator.experiments = {"run"};
  r.add(std::move(modulator));

  // ---- the distal-reward experiment (envs/distal_reward.hpp) ----
  r.add(ExperimentSpec{
      "distal_reward",
      "Izhikevich (2007) Fig. 1 (apps/run_distal.cpp): wires daspnet's connectivity between the "
      "excitatory and inhibitory Izhikevich blocks (each neuron synapses_per_neuron outgoing "
      "synapses, excitatory targets uniform over both blocks, inhibitory ones over the excitatory "
      "block, duplicates allowed, delay 0 = daspnet's D = 1), the excitatory synapses plastic "
      "under `rule`; the chosen synapse (excitatory neuron 0's first synapse) starts at 0; when "
      "its target fires within `window` after neuron 0 a reward (a pulse of the rule's "
      "modulator) follows delay_min + ceil(delay_span*U) ms later (protocol contingent), or "
      "rewards come at random at control_rate (protocol control); runs [run].duration and "
      "records the chosen synapse's (w, c, d) in /synapses/chosen",
      {block_ref("excitatory", Need::required, {"population"},
                 "block of excitatory izhikevich neurons (neuron 0 is n1)"),
       block_ref("inhibitory", Need::optional, {"population"},
                 "block of inhibitory izhikevich neurons (unset: none)"),
       text_required("rule", {},
                     "[rules] name of the rstdp / three_factor rule of the "
                     "excitatory synapses"),
       integer("synapses_per_neuron", 100, at_least(1),
               "outgoing synapses of every neuron; at most the number of neurons"),
       num("w_exc", "mV", 1.0, any_value(), "initial excitatory weight"),
       num("w_inh", "mV", -1.0, any_value(), "fixed inhibitory weight"),
       text("protocol", "contingent", {"contingent", "control"},
            "rewards contingent on n1 -> n2 coincidences, or at random times"),
       num("control_rate", "Hz", 200.0 / 3600.0, non_negative(),
           "reward rate of the control protocol"),
       num("window", "ms", 20.0, positive(), "n2 must fire less than this after n1"),
       num("delay_min", "ms", 1000.0, non_negative(), "shortest reward delay"),
       num("delay_span", "ms", 2000.0, non_negative(), "delay = delay_min + ceil(delay_span*U)"),
       num("reward", "", 0.5, any_value(), "modulator pulse per reward"),
       num("sample_every", "ms", 100.0, positive(),
           "period of the chosen-synapse samples; a multiple of [run].tick"),
       boolean("matlab_duplicates", false,
               "daspnet.m's delivery I(ind) += s: of several synapses from one neuron onto one "
               "target only the last carries current; the others are not built (they always "
               "have the last one's weight, which counts with their multiplicity in the weight "
               "statistics); a shadowed chosen synapse stays plastic but carries no current")}});
}

}  // namespace sbx::circuits
