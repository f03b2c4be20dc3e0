#include "apps/run_distal.hpp"

#include "apps/runner_util.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "circuits/build.hpp"
#include "circuits/loader.hpp"
#include "circuits/plasticity_registry.hpp"
#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/learning.hpp"
#include "engine/progress.hpp"

namespace sbx::app {

using circuits::CircuitDescription;

DistalSetup distal_setup(const CircuitDescription& d) {
  std::vector<Diagnostic> problems;
  const auto& ex = d.experiment.params;
  auto add = [&](const std::string& key, const std::string& msg) {
    circuits::SourcePos p = ex.has(key) ? ex.position(key) : d.experiment.pos;
    problems.push_back(
        {p.file.empty() ? d.file : p.file, p.line, p.column, "experiment." + key, msg});
  };
  DistalSetup s;
  s.exc_block = ex.text("excitatory");
  if (ex.has("inhibitory")) s.inh_block = ex.text("inhibitory");
  for (const char* key : {"excitatory", "inhibitory"}) {
    if (!ex.has(key)) continue;
    const circuits::BlockDesc* b = d.find_block(ex.text(key));
    if (b && b->model != "izhikevich")
      add(key, "block '" + b->name + "' must be a population of model izhikevich (got model '" +
                   b->model + "')");
  }
  if (!s.inh_block.empty() && s.inh_block == s.exc_block)
    add("inhibitory", "must be another block than experiment.excitatory");
  // [[connections]] may add inputs, but the experiment wires exc->exc, exc->inh and inh->exc
  // itself (the same edge names: the run file refused the second), and only its own wired
  // synapses see the rewards (its modulator is not the one a rule on a connection creates).
  for (const circuits::ConnectionDesc& c : d.connections) {
    const auto at = [&](const circuits::SourcePos& p, const std::string& key,
                        const std::string& msg) {
      problems.push_back({p.file.empty() ? d.file : p.file, p.line, p.column, key, msg});
    };
    const bool exc_from = c.from == s.exc_block, exc_to = c.to == s.exc_block;
    const bool inh_from = !s.inh_block.empty() && c.from == s.inh_block;
    const bool inh_to = !s.inh_block.empty() && c.to == s.inh_block;
    if ((exc_from && (exc_to || inh_to)) || (inh_from && exc_to))
      at(c.pos, c.path,
         "the distal_reward experiment wires " + c.from + " -> " + c.to +
             " itself (daspnet's connectivity, experiment.synapses_per_neuron); remove this "
             "connection");
    else if (c.learning && c.learning->params.has("modulator"))
      at(c.learning->pos, c.path + ".learning",
         "in the distal_reward experiment only the wired excitatory synapses (experiment.rule) "
         "see the rewards; a " +
             c.learning->type +
             " rule on a connection would read a "
             "modulator nothing drives");
  }
  s.rule_name = ex.text("rule");
  const circuits::RuleDesc* rule = d.find_rule(s.rule_name);
  if (!rule) {
    std::vector<std::string> names;
    for (const auto& r : d.rules) names.push_back(r.name);
    add("rule", "no rule '" + s.rule_name + "' in [rules] (defined: " +
                    (names.empty() ? std::string("none") : circuits::join_names(names)) + ")");
  } else if (rule->type != "rstdp" && rule->type != "three_factor") {
    add("rule", "rule '" + s.rule_name + "' is of type " + rule->type +
                    "; the distal_reward experiment needs an rstdp or three_factor rule");
  }
  if (!problems.empty()) throw UserError(problems);

  s.rule_type = rule->type;
  DistalRewardConfig& c = s.cfg;
  c.rule = circuits::three_factor_params_from(rule->params);
  c.modulator = rule->params.text("modulator");
  c.da_baseline = rule->params.number("modulator_baseline");
  c.da_tau = rule->params.number("modulator_tau");
  // Each neuron draws its targets from all N neurons (daspnet.m: M = 100 of N = 1000); more
  // synapses than neurons only repeats targets, and the build's duplicate scan is O(M^2) per
  // neuron (an absurd M ran for hours, or out of memory, instead of failing here).
  {
    std::uint64_t n = 0;
    for (const std::string& name : {s.exc_block, s.inh_block})
      if (const circuits::BlockDesc* b = name.empty() ? nullptr : d.find_block(name)) n += b->n;
    if (n > 0 && ex.integer("synapses_per_neuron") > static_cast<std::int64_t>(n))
      add("synapses_per_neuron",
          "synapses_per_neuron = " + std::to_string(ex.integer("synapses_per_neuron")) +
              " is more than the " + std::to_string(n) + " neurons they are drawn from; at most " +
              std::to_string(n));
  }
  c.synapses_per_neuron = static_cast<std::uint32_t>(
      std::min<std::int64_t>(ex.integer("synapses_per_neuron"), UINT32_MAX));
  c.w_exc = ex.number("w_exc");
  c.w_inh = ex.number("w_inh");
  c.contingent = ex.text("protocol") == "contingent";
  c.control_rate = ex.number("control_rate") * (c.contingent ? 0.0 : 1.0);
  // (a control_rate given with the contingent protocol did nothing; in the control protocol
  // reward intervals are whole ms, so a rate above 1000 Hz became one reward per ms)
  if (c.contingent && ex.number("control_rate") != 200.0 / 3600.0)
    add("control_rate",
        "control_rate is used by protocol = \"control\" only; with protocol = "
        "\"contingent\" it has no effect (set protocol = \"control\")");
  if (!c.contingent && c.control_rate > 1000.0)
    add("control_rate", "control_rate = " + format_number(c.control_rate) +
                            " Hz: reward intervals are whole ms (at most one reward per ms); "
                            "at most 1000 Hz");
  c.window = ex.number("window");
  c.delay_min = ex.number("delay_min");
  c.delay_span = ex.number("delay_span");
  c.reward_amount = ex.number("reward");
  c.sample_every = ex.number("sample_every");
  // (Other times off the tick grid are errors; this one was rounded to the nearest tick.)
  if (!circuits::on_grid(c.sample_every, d.run.tick))
    add("sample_every", "sample_every = " + format_number(c.sample_every) +
                            " ms is not a whole number >= 1 of ticks (run.tick = " +
                            format_number(d.run.tick) + " ms)");
  // daspnet.m's duplicate-target delivery (DistalRewardConfig::matlab_duplicates).
  c.matlab_duplicates = ex.boolean("matlab_duplicates");
  c.duration = d.run.duration;
  c.seed = d.meta.seed;
  if (c.w_exc < c.rule.w_min || c.w_exc > c.rule.w_max)
    add("w_exc", "initial excitatory weight " + format_number(c.w_exc) +
                     " is outside the rule's [w_min, w_max] = [" + format_number(c.rule.w_min) +
                     ", " + format_number(c.rule.w_max) + "]");
  if (!problems.empty()) throw UserError(problems);
  return s;
}

RunSummary run_distal(const CircuitDescription& desc, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const DistalSetup setup = distal_setup(desc);
  // (Rules on connections that read a modulator are refused by distal_setup: nothing drives
  // theirs; only the experiment's own modulator gets the rewards.)
  auto sim = circuits::make_simulator(desc);
  circuits::BuiltCircuit built = circuits::build(desc, *sim);
  const std::uint32_t exc = built.population(setup.exc_block);
  const long inh =
      setup.inh_block.empty() ? -1 : static_cast<long>(built.population(setup.inh_block));
  DistalRewardExperiment x(setup.cfg, *sim, exc, inh);
  if (opt.dry_run) return {};

  RunFile file(opt.out_path, sim->grid(), run_file_options(desc, opt));
  declare_common(desc, built, *sim, file, opt);
  // The wired edges (declare_common only knows the TOML's connections).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> plastic_edge_ids;  // (projection, edge id)
  std::string chosen_edge;
  std::vector<std::uint32_t> wired = x.plastic_projections();
  if (inh >= 0) wired.push_back(x.proj_ie());
  for (std::uint32_t pid : wired) {
    const SpikeProjection& p = sim->projection(pid);
    const bool plastic = pid != x.proj_ie() || inh < 0;
    std::vector<std::uint64_t> src(p.pre_of_syn.begin(), p.pre_of_syn.end());
    std::vector<std::uint64_t> tgt(p.post.begin(), p.post.end());
    std::vector<double> w(p.weight.begin(), p.weight.end());
    std::vector<double> delay(p.n_synapses(), 0.0);
    const std::uint32_t id =
        file.add_edges(p.name, sim->population_name(p.pre_population),
                       sim->population_name(p.post_population), std::move(src), std::move(tgt),
                       std::move(w), std::move(delay), plastic ? setup.rule_name : "", plastic);
    if (plastic) plastic_edge_ids.emplace_back(pid, id);
    if (pid == x.chosen_projection()) chosen_edge = p.name;
  }
  const std::uint32_t probe = file.add_synapse_probe("chosen", chosen_edge, x.chosen_synapse(), 0,
                                                     x.n2(), setup.rule_name, setup.cfg.modulator);
  x.set_sample_callback([&](const DistalRewardSample& s) {
    file.append_synapse_sample(probe, {s.t_ms, s.w, s.c, s.d});
    throw_if_interrupted_at_ms(s.t_ms);  // Ctrl-C / SIGTERM: stop here (every sample_every ms)
  });
  file.start();
  x.set_extra_recorder(&file);

  RunSummary s;
  s.build_s = seconds_since(t0);
  ProgressLine progress(desc.run.duration, "ms", opt.quiet ? nullptr : stderr);
  const Tick end = circuits::run_ticks(desc);
  sim->set_progress([&](Tick t) { progress.update(sim->grid().to_ms(t)); },
                    std::max<Tick>(end / 1000, 1));
  // The plastic weights reached (after x.run() the rules have synced: the same values).
  auto append_weights_reached = [&] {
    std::vector<float> w;
    for (const auto& [pid, id] : plastic_edge_ids) {
      weights_now(sim->projection(pid), sim->now(), w);
      file.append_weights(id, 0, std::vector<double>(w.begin(), w.end()));
    }
  };
  DistalRewardResult r;
  try {
    r = x.run();
  } catch (const Interrupted&) {
    append_weights_reached();
    file.flush();
    throw;
  } catch (...) {
    file.flush();
    throw;
  }
  progress.finish();
  append_weights_reached();
  s.loop_s = r.loop_s;
  s.simulated_ms = desc.run.duration;
  s.spikes = sim->stats().spikes;
  s.synaptic_events = sim->stats().synaptic_events;
  s.figures = {{"rate_hz", r.rate_hz},
               {"coincidences", static_cast<double>(r.coincidences)},
               {"rewards", static_cast<double>(r.rewards_delivered)},
               {"t_reach_90_ms", r.t_reach_90},
               {"t_reach_95_ms", r.t_reach_95},
               {"w_final", r.w_final},
               {"percentile_final", r.percentile_final},
               {"p90_exc", r.p90_exc},
               {"median_exc", r.median_exc},
               {"mean_exc", r.mean_exc}};
  file.flush();
  s.wall_s = seconds_since(t0);
  file.finish({}, s.wall_s);
  // The result in words (--json has every figure).
  char reach[96] = "never reached 95 % of w_max";
  if (r.t_reach_95 >= 0)
    std::snprintf(reach, sizeof reach, "reached 95 %% of w_max at %.0f s", r.t_reach_95 / 1000.0);
  std::fprintf(stderr,
               "distal reward: chosen synapse %.3f at the end (percentile %.1f of the excitatory "
               "weights), %s; coincidences %.0f, rewards %.0f, rate %.3f Hz\n",
               r.w_final, r.percentile_final, reach, static_cast<double>(r.coincidences),
               static_cast<double>(r.rewards_delivered), r.rate_hz);
  return s;
}

}  // namespace sbx::app
