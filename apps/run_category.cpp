#include "apps/run_category.hpp"

#include "apps/runner_util.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "apps/checkpoint.hpp"
#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/state_stream.hpp"
#include "models/hh_neuroblox.hpp"

namespace sbx::app {

using circuits::BlockDesc;
using circuits::CircuitDescription;
using circuits::ConnectionDesc;

namespace {

std::vector<const BlockDesc*> blocks_of(const CircuitDescription& d, const std::string& type) {
  std::vector<const BlockDesc*> out;
  for (const auto& b : d.blocks)
    if (b.type == type) out.push_back(&b);
  return out;
}

double constant_weight(const ConnectionDesc& c, Problems& pr) {
  if (!c.weight.is_constant())
    pr.add(c.pos, c.path + ".weight",
           "this edge kind (" + c.edge_kind + ") takes a single number as weight, got " +
               c.weight.describe());
  return c.weight.mean();
}

const BlockDesc* block(const CircuitDescription& d, const std::string& name) {
  return d.find_block(name);
}

}  // namespace

CategorySetup category_setup(const CircuitDescription& d) {
  Problems pr{d, {}};
  CategorySetup s;
  CategoryExperimentSpec& sp = s.spec;
  sp.seed = d.meta.seed;
  sp.dt = d.run.dt;
  sp.tick = d.run.tick;
  const auto& ex = d.experiment.params;
  sp.t_warmup = ex.number("t_warmup");
  sp.t_block = ex.number("t_block");
  s.n_trials = static_cast<std::size_t>(ex.integer("n_trials"));
  s.order = parse_trial_order(ex.text("order"));
  s.reward = {ex.number("reward_correct"), ex.number("reward_incorrect")};

  auto need = [&](const std::string& type, std::size_t n) {
    auto v = blocks_of(d, type);
    if (v.size() != n)
      pr.add(d.experiment.pos, "experiment.type",
             "the category_learning experiment needs exactly " + std::to_string(n) +
                 " block(s) of type '" + type + "', found " + std::to_string(v.size()));
    return v;
  };
  auto stims = need("image_stimulus", 1);
  auto corts = need("cortical", 2);
  auto masses = blocks_of(d, "next_generation_ei");
  // Without any striatum, TAN, SNc or policy block the circuit is the open-loop cortico-cortical
  // Hebbian example (Neuroblox tutorial, first part): r = 1 every trial, only VAC -> AC learns.
  const bool open_loop = blocks_of(d, "striatum").empty() && blocks_of(d, "tan").empty() &&
                         blocks_of(d, "snc").empty() && blocks_of(d, "greedy_policy").empty();
  sp.closed_loop = !open_loop;
  if (open_loop)
    for (const char* key : {"t_block", "reward_correct", "reward_incorrect"})
      if (const auto at = ex.position(key);  // defaults carry the table's own position
          at.line != d.experiment.pos.line || at.column != d.experiment.pos.column)
        pr.add(ex.position(key), std::string("experiment.") + key,
               "has no effect in an open-loop circuit (no striatum, tan, snc or greedy_policy "
               "block: no block events, r = 1 every trial); remove it");
  auto strs = open_loop ? blocks_of(d, "striatum") : need("striatum", 2);
  auto tans = open_loop ? blocks_of(d, "tan") : need("tan", 2);
  auto sncs = open_loop ? blocks_of(d, "snc") : need("snc", 1);
  auto pols = open_loop ? blocks_of(d, "greedy_policy") : need("greedy_policy", 1);
  if (masses.size() > 1)
    pr.add(masses[1]->pos, "blocks." + masses[1]->name,
           "at most one next_generation_ei block is supported");
  if (!pr.list.empty()) throw UserError(pr.list);

  // Roles from the wiring.
  std::string vac, ac;
  std::vector<std::string> policy_inputs;
  for (const auto& c : d.connections) {
    if (c.edge_kind == "pixel_map") vac = c.to;
    if (c.edge_kind == "policy_input") policy_inputs.push_back(c.from);
  }
  if (vac.empty()) {
    pr.add(stims[0]->pos, "connections", "the image stimulus must connect to a cortical block");
    throw UserError(pr.list);
  }
  ac = corts[0]->name == vac ? corts[1]->name : corts[0]->name;
  if (!open_loop && policy_inputs.size() != 2) {
    pr.add(pols[0]->pos, "blocks." + pols[0]->name,
           "a greedy_policy needs exactly two competitors (striatum -> policy edges), got " +
               std::to_string(policy_inputs.size()));
    throw UserError(pr.list);
  }
  const std::array<std::string, 2> str =
      open_loop ? std::array<std::string, 2>{"STR1", "STR2"}
                : std::array<std::string, 2>{policy_inputs[0], policy_inputs[1]};
  if (!open_loop && str[0] == str[1])
    pr.add(pols[0]->pos, "blocks." + pols[0]->name, "the two competitors must differ");

  auto cortical_spec = [&](const BlockDesc& b) {
    CorticalBlockSpec c;
    c.name = b.name;
    const auto& p = b.params;
    // (the experiment's limit on the block's size, checked here where the keys' positions are
    // known: validate() would name neither the file nor the key that was set)
    if (static_cast<double>(p.integer("n_wta")) * static_cast<double>(p.integer("n_exci")) >
        100000.0)
      pr.add(p.has("n_exci") ? p.position("n_exci") : b.pos, "blocks." + b.name + ".n_exci",
             "n_wta * n_exci = " + std::to_string(p.integer("n_wta")) + " * " +
                 std::to_string(p.integer("n_exci")) +
                 " excitatory cells; the category_learning experiment allows at most 100000");
    c.n_wta = static_cast<std::uint32_t>(p.integer("n_wta"));
    c.n_exci = static_cast<std::uint32_t>(p.integer("n_exci"));
    c.density = p.number("density");
    c.weight = p.number("weight");
    c.G_syn_exci = p.number("G_syn_exci");
    c.G_syn_inhib = p.number("G_syn_inhib");
    c.G_syn_ff_inhib = p.number("G_syn_ff_inhib");
    c.E_syn_exci = p.number("E_syn_exci");
    c.E_syn_inhib = p.number("E_syn_inhib");
    c.tau_exci = p.number("tau_exci");
    c.tau_inhib = p.number("tau_inhib");
    c.I_bg = p.number("I_bg");
    c.integrator = p.text("integrator");
    return c;
  };
  sp.vac = cortical_spec(*block(d, vac));
  sp.ac = cortical_spec(*block(d, ac));
  for (int k = 0; k < (open_loop ? 0 : 2); ++k) {
    const BlockDesc& b = *block(d, str[k]);
    sp.striata[k].name = b.name;
    sp.striata[k].n_inhib = static_cast<std::uint32_t>(b.params.integer("n_inhib"));
    sp.striata[k].G_syn_inhib = b.params.number("G_syn_inhib");
    sp.striata[k].E_syn_inhib = b.params.number("E_syn_inhib");
    sp.striata[k].tau_inhib = b.params.number("tau_inhib");
    sp.striata[k].integrator = b.params.text("integrator");
  }
  sp.use_ascending = !masses.empty();
  if (sp.use_ascending) {
    const auto& p = masses[0]->params;
    sp.ascending_name = masses[0]->name;
    NgnmmThetaParams& a = sp.ascending_params;
    a.C_E = p.number("C_E"), a.C_I = p.number("C_I");
    a.Delta_E = p.number("Delta_E"), a.Delta_I = p.number("Delta_I");
    a.eta_E = p.number("eta_E"), a.eta_I = p.number("eta_I");
    a.v_EE = p.number("v_EE"), a.v_EI = p.number("v_EI"), a.v_IE = p.number("v_IE"),
    a.v_II = p.number("v_II");
    a.a_EE = p.number("a_EE"), a.a_EI = p.number("a_EI"), a.a_IE = p.number("a_IE"),
    a.a_II = p.number("a_II");
    a.k_EE = p.number("k_EE"), a.k_EI = p.number("k_EI"), a.k_IE = p.number("k_IE"),
    a.k_II = p.number("k_II");
  }
  const BlockDesc& stim = *stims[0];
  sp.t_stimulus = stim.params.number("t_stimulus");
  sp.t_pause = stim.params.number("t_pause");

  if (!open_loop) {
    // TAN and SNc parameters (one value each in the experiment; both TANs must agree).
    const auto& t0 = tans[0]->params;
    const auto& t1 = tans[1]->params;
    sp.tan_kappa = t0.number("kappa");
    sp.tan_lambda = t0.number("lambda");
    if (t1.number("kappa") != sp.tan_kappa || t1.number("lambda") != sp.tan_lambda)
      pr.add(tans[1]->pos, "blocks." + tans[1]->name,
             "both TAN blocks must have the same kappa and lambda (the experiment shares them)");
    sp.snc_kappa = sncs[0]->params.number("kappa_da");
    sp.snc_lambda = sncs[0]->params.number("lambda_da");
    sp.snc_t_event = sncs[0]->params.number("t_event");
    sp.policy_t_decision = pols[0]->params.number("t_decision");
  }

  // Edges.
  bool have_vac_ac = false, have_ac_str[2] = {false, false}, have_tan[2] = {false, false};
  bool have_comp[2] = {false, false};  // STR1 -> STR2, STR2 -> STR1
  for (const auto& c : d.connections) {
    const std::string& k = c.edge_kind;
    if ((k == "cortico_cortical" || k == "corticostriatal") && c.rule != "hypergeometric")
      pr.add(c.rule_pos.line ? c.rule_pos : c.pos, c.path + ".rule",
             "the category_learning experiment wires " + k +
                 " edges with rule 'hypergeometric' (Neuroblox §2.3), got '" + c.rule + "'");
    if (k == "pixel_map")
      sp.stimulus_weight = constant_weight(c, pr);
    else if (k == "ascending")
      sp.ascending_weight = constant_weight(c, pr);
    else if (k == "cortico_cortical") {
      if (c.from != vac || c.to != ac) {
        pr.add(c.pos, c.path, "the only cortico-cortical edge supported is " + vac + " -> " + ac);
        continue;
      }
      have_vac_ac = true;
      sp.vac_ac_weight = constant_weight(c, pr);
      sp.vac_ac_density = c.density;
      sp.vac_ac_plastic = c.learning.has_value();
      if (c.learning) {
        if (c.learning->type != "hebbian")
          pr.add(c.learning->pos, c.path + ".learning",
                 "cortico-cortical edges take the 'hebbian' rule, got '" + c.learning->type + "'");
        else
          sp.vac_ac_rule =
              HebbianRule{c.learning->params.number("K"), c.learning->params.number("W_lim")};
      }
    } else if (k == "corticostriatal") {
      if (c.from != ac) {
        pr.add(c.pos, c.path,
               "corticostriatal edges must start at " + ac + " (the cortical block fed by " + vac +
                   ")");
        continue;
      }
      const int s_idx = c.to == str[0] ? 0 : 1;
      have_ac_str[s_idx] = true;
      sp.ac_str_weight = constant_weight(c, pr);
      sp.ac_str_density = c.density;
      sp.ac_str_plastic = c.learning.has_value();
      if (c.learning) {
        if (c.learning->type != "hebbian_dopamine")
          pr.add(c.learning->pos, c.path + ".learning",
                 "corticostriatal edges take the 'hebbian_dopamine' rule, got '" +
                     c.learning->type + "'");
        else {
          const auto& p = c.learning->params;
          sp.ac_str_rule = HebbianDopamineRule{p.number("K"), p.number("decay"), p.number("alpha"),
                                               p.number("theta_m")};
        }
      }
    } else if (k == "tan_event") {
      const int s_idx = c.to == str[0] ? 0 : 1;
      have_tan[s_idx] = true;
      sp.tan_weight = constant_weight(c, pr);
      if (c.t_event) sp.tan_t_event = *c.t_event;
    } else if (k == "striosome_to_tan")
      sp.striosome_tan_weight = constant_weight(c, pr);
    else if (k == "striosome_to_snc")
      sp.striosome_snc_weight = constant_weight(c, pr);
    else if (k == "competition") {
      if (c.from == c.to) {
        pr.add(c.pos, c.path,
               "a competition edge goes from one striatum to the other (" + str[0] + " -> " +
                   str[1] + " and " + str[1] + " -> " + str[0] + "), got " + c.from + " -> " +
                   c.to);
        continue;
      }
      have_comp[c.from == str[0] ? 0 : 1] = true;
      if (c.t_event) sp.competition_t_event = sp.matrisome_t_event = *c.t_event;
    }
  }
  // Event times are offsets into a trial of t_stimulus + t_pause ms: a later one never happens
  // (the next trial starts first), and /trials would record a decision that was never taken.
  const double trial_ms = sp.t_trial();
  // (Compared in ticks: an event at the trial's end would be cleared with the trial, unfired.)
  auto within_trial = [&](double t, const circuits::SourcePos& pos, const std::string& key) {
    if (std::llround(t / sp.tick) < std::llround(trial_ms / sp.tick)) return;
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "%g ms is not within the trial (t_stimulus + t_pause = %g ms, block '%s'); "
                  "allowed: 0 <= t < %g ms",
                  t, trial_ms, stim.name.c_str(), trial_ms);
    pr.add(pos, key, msg);
  };
  if (!open_loop) {
    within_trial(sp.policy_t_decision, pols[0]->pos, "blocks." + pols[0]->name + ".t_decision");
    within_trial(sp.snc_t_event, sncs[0]->pos, "blocks." + sncs[0]->name + ".t_event");
  }
  for (const auto& c : d.connections)
    if (c.t_event) within_trial(*c.t_event, c.pos, c.path + ".t_event");
  if (!have_vac_ac)
    pr.add(d.experiment.pos, "connections", "missing the " + vac + " -> " + ac + " edge");
  for (int k = 0; k < (open_loop ? 0 : 2); ++k) {
    if (!have_ac_str[k])
      pr.add(d.experiment.pos, "connections", "missing the " + ac + " -> " + str[k] + " edge");
    if (!have_tan[k])
      pr.add(d.experiment.pos, "connections", "missing a tan -> " + str[k] + " edge");
  }
  for (int k = 0; k < (open_loop ? 0 : 2); ++k)
    if (!have_comp[k])
      pr.add(d.experiment.pos, "connections",
             "missing the " + str[k] + " -> " + str[1 - k] +
                 " competition edge (the striata compete both ways)");

  // Images.
  const std::string stim_key = "blocks." + stim.name;
  if (stim.params.has("file")) {
    std::filesystem::path f = stim.params.text("file");
    if (f.is_relative()) f = std::filesystem::path(d.file).parent_path() / f;
    std::error_code ec;
    if (!std::filesystem::exists(f, ec) || std::filesystem::is_directory(f, ec)) {
      // Named at the key's value (or its --set argument; relative paths resolve against the
      // circuit file's folder, which is easy to forget on the command line); the CSV reader's
      // own errors name the file and row.
      pr.add(stim.params.position("file"), stim_key + ".file",
             (std::filesystem::is_directory(f, ec)
                  ? "the stimulus file '" + f.string() + "' is a directory; give a CSV file"
                  : "no stimulus file '" + f.string() + "'") +
                 (std::filesystem::path(stim.params.text("file")).is_relative()
                      ? " (a relative path is taken from the circuit file's folder)"
                      : ""));
      throw UserError(pr.list);
    }
    s.images = read_image_csv(f.string());
  } else {
    DotPatternSpec g;
    g.width = static_cast<std::size_t>(stim.params.integer("width"));
    g.height = static_cast<std::size_t>(stim.params.integer("height"));
    g.n_images = static_cast<std::size_t>(stim.params.integer("n_images"));
    g.dots_per_prototype = static_cast<std::size_t>(stim.params.integer("dots_per_prototype"));
    g.jitter = static_cast<std::size_t>(stim.params.integer("jitter"));
    g.p_distort = stim.params.number("p_distort");
    g.p_dropout = stim.params.number("p_dropout");
    Rng rng = Rng::stream(d.meta.seed, stim.name);
    s.images = generate_dot_patterns(g, rng);
  }
  if (s.images.n_categories() > 2)
    pr.add(stim.params.has("file") ? stim.params.position("file") : stim.pos,
           stim_key + (stim.params.has("file") ? ".file" : ""),
           "the stimulus set's largest category label is " +
               std::to_string(s.images.n_categories()) +
               "; the category_learning experiment has two actions (one per striatum), so the "
               "labels must be 1 or 2");
  if (const long long dt_ticks = std::llround(sp.dt / sp.tick);
      dt_ticks > 0 && trial_ms > 0.0 && std::llround(trial_ms / sp.tick) % dt_ticks != 0) {
    char msg[200];
    std::snprintf(msg, sizeof msg,
                  "the trial t_stimulus + t_pause = %g ms must be a whole number of run.dt = "
                  "%g ms steps",
                  trial_ms, sp.dt);
    pr.add(stim.pos, stim_key + ".t_stimulus", msg);
  }
  if (!pr.list.empty()) throw UserError(pr.list);
  validate(sp);
  return s;
}

namespace {

// Adjacency over every cell and discrete unit (Neuroblox §2.5: sorted by full name).
struct Adjacency {
  std::vector<std::string> names;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::size_t> cell_index;  // (pop, i) -> node
  std::map<std::string, std::size_t> unit_index;
};

Adjacency make_nodes(CategoryExperiment& ex) {
  Simulator& sim = ex.simulator();
  std::vector<std::pair<std::string, std::pair<long, long>>> raw;  // name, (pop, i) or (-1, unit)
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p)
    for (std::uint32_t i = 0; i < sim.population(p).size(); ++i)
      raw.push_back({sim.population_name(p) + "." + std::to_string(i), {p, i}});
  for (int s = 0; s < (ex.spec().closed_loop ? 2 : 0); ++s) {
    const std::string& n = ex.spec().striata[s].name;
    raw.push_back({n + ".matrisome", {-1, 0}});
    raw.push_back({n + ".striosome", {-1, 0}});
  }
  std::sort(raw.begin(), raw.end());
  Adjacency a;
  for (std::size_t k = 0; k < raw.size(); ++k) {
    a.names.push_back(raw[k].first);
    if (raw[k].second.first >= 0)
      a.cell_index[{static_cast<std::uint32_t>(raw[k].second.first),
                    static_cast<std::uint32_t>(raw[k].second.second)}] = k;
    else
      a.unit_index[raw[k].first] = k;
  }
  return a;
}

std::vector<double> adjacency_matrix(CategoryExperiment& ex, const Adjacency& a) {
  Simulator& sim = ex.simulator();
  const std::size_t n = a.names.size();
  std::vector<double> m(n * n, 0.0);
  for (std::uint32_t c = 0; c < sim.n_continuous(); ++c) {
    const ContinuousProjection& cp = sim.continuous(c);
    for (std::size_t k = 0; k < cp.n_synapses(); ++k) {
      const auto i = a.cell_index.at({cp.pre_population, cp.pre[k]});
      const auto j = a.cell_index.at({cp.post_population, cp.post[k]});
      m[i * n + j] += cp.weight[k];
    }
  }
  // AC excitatory cells -> matrisome / striosome (the plastic unit weights).
  const std::uint32_t ac_pop = ex.layout().ac.population;
  for (auto& pw : ex.plastic_weights()) {
    const auto dot = pw.name.rfind('.');
    if (dot == std::string::npos) continue;
    const std::string unit = pw.name.substr(dot + 1);
    if (unit != "matrisome" && unit != "striosome") continue;
    const std::string str = pw.name.substr(pw.name.find("->") + 2, dot - pw.name.find("->") - 2);
    const auto j = a.unit_index.at(str + "." + unit);
    for (std::size_t k = 0; k < pw.weight.size(); ++k)
      m[a.cell_index.at({ac_pop, pw.pre[k]}) * n + j] += pw.weight[k];
  }
  return m;
}

}  // namespace

namespace {

// Forwards to the run file and counts the spikes of each population it was given (a checkpoint
// records how many spikes of the run file it covers).
class CountingRecorder final : public Recorder {
 public:
  CountingRecorder(RunFile& file, std::size_t n_populations) : file_(file), n_(n_populations, 0) {}
  void on_spikes(std::uint32_t population, std::span<const std::uint32_t> neurons,
                 Tick t) override {
    n_[population] += neurons.size();
    file_.on_spikes(population, neurons, t);
  }
  void on_sample(std::uint32_t probe, Tick t, std::span<const double> values) override {
    file_.on_sample(probe, t, values);
  }
  // The simulator asks for a flush every simulated second; the trial loop below already flushes
  // after every trial (spikes + weights, then the trial row), which is what crash safety needs, so
  // the periodic request is not passed on (an extra H5Fflush recompresses every partly filled
  // chunk: ~1 % of a category run). Buffers stay bounded: RunFile writes beyond 65 536 spikes.
  void flush() override {}
  std::uint64_t& count(std::uint32_t population) { return n_[population]; }

 private:
  RunFile& file_;
  std::vector<std::uint64_t> n_;
};

}  // namespace

RunSummary run_category(const CircuitDescription& desc, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  auto secs = [](std::chrono::steady_clock::time_point a) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
  };
  CategorySetup setup = category_setup(desc);
  ClassificationEnvironment env(setup.images, setup.n_trials, setup.order,
                                Rng::stream(desc.meta.seed, "environment"), setup.reward);
  CategoryExperiment ex(setup.spec, std::move(env));
  if (opt.dry_run) return {};
  Simulator& sim = ex.simulator();

  // A resumed run writes a new file next to the interrupted one and renames it over it once the
  // rows before the checkpoint are copied (apps/checkpoint.hpp).
  const bool resuming = opt.resume != nullptr;
  const std::string& final_path = opt.out_path;
  RunFileOptions fo = run_file_options(desc, opt);
  fo.force = fo.force || resuming;
  RunFile file(resuming ? final_path + ".resume.tmp" : final_path, sim.grid(), fo);
  write_run_meta(desc, file, opt);
  std::vector<std::pair<std::uint32_t, std::string>> recorded;  // populations with /spikes
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p) {
    const std::string& name = sim.population_name(p);
    const BlockDesc* b = desc.find_block(name);
    if (spikes_recorded(desc, name, sim.population(p))) {
      file.add_spike_population(p, name, sim.population(p).size(), b ? b->type : "population");
      recorded.emplace_back(p, name);
    } else {  // edges still refer to it
      file.add_node_population(name, sim.population(p).size(), b ? b->type : "population", p);
    }
  }
  // The matrisome and striosome of each striatum are one node each (the plastic AC -> unit edges
  // point at them).
  if (setup.spec.closed_loop)
    for (std::size_t s = 0; s < 2; ++s)
      for (const char* unit : {"matrisome", "striosome"})
        file.add_node_population(setup.spec.striata[s].name + "." + unit, 1, unit,
                                 sim.n_populations() + static_cast<std::uint32_t>(s));
  file.enable_trials();
  const bool snap = desc.experiment.params.boolean("record_weights");
  std::vector<std::uint32_t> edge_ids;
  auto plastic = ex.plastic_weights();
  for (auto& pw : plastic) {
    std::vector<std::uint64_t> src(pw.pre.begin(), pw.pre.end()),
        tgt(pw.post.begin(), pw.post.end());
    std::vector<double> w(pw.weight.begin(), pw.weight.end()), delay(w.size(), 0.0);
    const bool cortical = pw.name.find('.') == std::string::npos;
    const std::string src_pop = pw.name.substr(0, pw.name.find("->"));
    std::string tgt_pop = pw.name.substr(pw.name.find("->") + 2);
    // "STR1.msn" names the edge set; its targets are the MSNs, i.e. the nodes of STR1.
    if (tgt_pop.ends_with(".msn")) tgt_pop.resize(tgt_pop.size() - 4);
    edge_ids.push_back(file.add_edges(pw.name, src_pop, tgt_pop, std::move(src), std::move(tgt),
                                      std::move(w), std::move(delay),
                                      cortical ? "hebbian" : "hebbian_dopamine", snap));
  }
  Adjacency adj = make_nodes(ex);
  file.set_adjacency(adj.names, adjacency_matrix(ex, adj));
  file.start();
  if (opt.checkpoint_every && !resuming) {
    // A stale checkpoint of an earlier run at this path; removed only now that this run has
    // replaced its file (a set-up that fails keeps both).
    std::error_code ec;
    std::filesystem::remove(checkpoint_path(final_path), ec);
  }
  CountingRecorder recorder(file, sim.n_populations());
  sim.set_recorder(&recorder);
  // NaN/inf guard every 100 steps (5 ms at the default dt) besides the end-of-trial check, so the
  // reported time is within 100 steps of the blow-up (every 20 steps the scan was ~ 1 % of a run).
  sim.set_nan_check(100);

  RunSummary sum;
  std::vector<int> correct;
  std::uint64_t restored_spikes = 0;  // spikes before the checkpoint (recorded populations)
  if (resuming) {
    // Restore the learning state, then copy the rows the checkpoint covers from the interrupted
    // file: weight snapshots, spikes, trial rows.
    const CheckpointInfo& c = *opt.resume;
    // (a failure here left the half-written NAME.resume.tmp behind; the interrupted file and its
    // checkpoint stay as they were)
    try {
      try {
        StateReader r(c.experiment_state);
        ex.load_checkpoint(r);
        if (!r.at_end()) StateReader::fail("trailing bytes after the experiment state");
      } catch (const std::runtime_error& e) {
        throw UserError(Diagnostic{checkpoint_path(final_path), 0, 0, "--resume", e.what()});
      }
      {
        OldRunFile old(final_path);
        if (snap) {
          for (std::size_t k = 0; k < plastic.size(); ++k) {
            const std::string g = "weights/" + plastic[k].name;
            const std::size_t E = plastic[k].weight.size();
            const auto values = old.doubles(g + "/values", c.weight_snapshots, E);
            const auto after = old.i32(g + "/after_trial", c.weight_snapshots);
            for (std::size_t i = 1; i < after.size(); ++i)  // row 0 (initial) is already there
              file.append_weights(edge_ids[k], after[i],
                                  std::span<const double>(values.data() + i * E, E));
          }
        }
        for (const auto& [pid, name] : recorded) {
          std::uint64_t n = 0;
          bool found = false;
          for (const auto& [pn, count] : c.spike_counts)
            if (pn == name) n = count, found = true;
          if (!found)
            throw UserError(Diagnostic{checkpoint_path(final_path), 0, 0, "--resume",
                                       "the checkpoint has no spike count for '" + name + "'"});
          const auto ts = old.doubles("spikes/" + name + "/timestamps", n);
          const auto ids64 = old.u64("spikes/" + name + "/node_ids", n);
          std::vector<std::uint32_t> ids;
          for (std::size_t i = 0; i < ts.size();) {  // one call per time step, as the engine does
            std::size_t j = i;
            ids.clear();
            for (; j < ts.size() && ts[j] == ts[i]; ++j)
              ids.push_back(static_cast<std::uint32_t>(ids64[j]));
            file.on_spikes(pid, ids, sim.grid().round_ms(ts[i]));
            i = j;
          }
          recorder.count(pid) = n;
          restored_spikes += n;
        }
        for (const TrialRow& row : RunFile::read_trials(old.id(), c.trials_done)) {
          file.append_trial(row);
          correct.push_back(row.correct ? 1 : 0);
        }
        file.flush();
      }
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(final_path + ".resume.tmp", ec);
      throw;
    }
    file.rename(final_path);
  }
  auto write_checkpoint_now = [&]() {
    CheckpointInfo c;
    c.version = SBX_VERSION;
    c.circuit_toml = desc.toml_text;
    c.circuit_file = desc.file;
    c.overrides = opt.overrides;
    c.command_line = resuming ? opt.resume->command_line : opt.command_line;
    c.run_path = std::filesystem::absolute(final_path).string();
    c.cwd = std::filesystem::current_path().string();
    c.checkpoint_every = opt.checkpoint_every;
    c.trials_done = ex.trials_done();
    c.weight_snapshots = snap ? c.trials_done + 1 : 0;
    for (const auto& [pid, name] : recorded) c.spike_counts.emplace_back(name, recorder.count(pid));
    StateWriter w;
    ex.save_checkpoint(w);
    c.experiment_state = w.bytes();
    write_checkpoint(checkpoint_path(final_path), c);
  };
  auto drop_checkpoint = [&]() {  // the finished file needs no checkpoint
    std::error_code ec;
    if (opt.checkpoint_every || resuming) std::filesystem::remove(checkpoint_path(final_path), ec);
  };
  sum.build_s = secs(t0);
  const auto tl = std::chrono::steady_clock::now();
  auto acc = [&](std::size_t from, std::size_t to) {  // mean over [from, to)
    to = std::min(to, correct.size());
    if (to <= from) return std::nan("");
    double s = 0;
    for (std::size_t k = from; k < to; ++k) s += correct[k];
    return s / static_cast<double>(to - from);
  };
  try {
    ex.run([&](const CategoryTrialRow& r) {
      TrialRow row;
      row.trial = r.trial;
      row.start_time = r.start_time;
      row.stop_time = r.stop_time;
      row.stimulus = r.stimulus;
      row.category = static_cast<std::uint8_t>(r.category);
      row.action = static_cast<std::int8_t>(r.action);
      row.correct = r.correct ? 1 : 0;
      row.reward = r.reward;
      row.dopamine = r.dopamine;
      row.rpe = r.rpe;
      row.decision_time = r.decision_time;
      const bool closed = setup.spec.closed_loop;
      auto diag = [&](const std::array<double, 2>& v, double& a, double& b) {
        a = closed ? v[0] : std::nan("");
        b = closed ? v[1] : std::nan("");
      };
      diag(r.striosome_block1, row.striosome_1, row.striosome_2);
      diag(r.tan_rate, row.tan_rate_1, row.tan_rate_2);
      diag(r.tan_spikes, row.tan_spikes_1, row.tan_spikes_2);
      diag(r.matrisome_drive, row.drive_1, row.drive_2);
      // Crash safety: spikes and weight snapshots reach the file first, the trial row last (a
      // separate flush each), so a process killed at any moment leaves no trial row without its
      // weights; /trials is the commit record (tests/reliability/crash_test.py).
      if (snap) {
        auto pws = ex.plastic_weights();
        for (std::size_t k = 0; k < pws.size(); ++k)
          file.append_weights(edge_ids[k], static_cast<int>(r.trial),
                              std::span<const double>(pws[k].weight.data(), pws[k].weight.size()));
      }
      file.flush();
      file.append_trial(row);
      file.flush();
      // After the flush, so the checkpoint never covers rows the file does not hold yet.
      if (opt.checkpoint_every && ex.trials_done() % opt.checkpoint_every == 0 &&
          ex.trials_done() < setup.n_trials)
        write_checkpoint_now();
      correct.push_back(r.correct ? 1 : 0);
      char detail[96];
      const std::size_t n = correct.size();
      if (setup.spec.closed_loop) {
        std::snprintf(detail, sizeof detail, "accuracy %.3f total, %.3f last 50", acc(0, n),
                      acc(n > 50 ? n - 50 : 0, n));
      } else {  // open loop: no policy, so report the learning cortico-cortical weights instead
        const auto w = ex.plastic_weights().front().weight;
        double mean = 0.0;
        for (double x : w) mean += x / static_cast<double>(w.size());
        std::snprintf(detail, sizeof detail, "open loop, mean %s weight %.3f",
                      plastic.front().name.c_str(), mean);
      }
      if (!opt.quiet && (n % 50 == 0 || n == setup.n_trials || !setup.spec.closed_loop))
        std::fprintf(stderr, "trial %zu/%zu: %s (%.1f s)\n", n, setup.n_trials, detail, secs(tl));
      // Ctrl-C / SIGTERM: stop after this trial (its row, weights and spikes are in the file); with
      // checkpoints on, one more at this trial so that --resume continues from here.
      if (interrupt_signal() != 0 && ex.trials_done() < setup.n_trials) {
        if (opt.checkpoint_every && ex.trials_done() % opt.checkpoint_every != 0)
          write_checkpoint_now();
        throw_if_interrupted("the end of trial " + std::to_string(n) + " of " +
                             std::to_string(setup.n_trials));
      }
    });
  } catch (...) {
    file.flush();
    throw;
  }
  sum.loop_s = secs(tl);
  const std::size_t n = correct.size();
  sum.simulated_ms = setup.spec.t_warmup + static_cast<double>(n) * setup.spec.t_trial();
  sum.spikes = sim.stats().spikes + restored_spikes;
  sum.synaptic_events = sim.stats().synaptic_events;
  sum.figures["trials"] = static_cast<double>(n);
  sum.wall_s = secs(t0);
  if (!setup.spec.closed_loop) {
    file.finish(adjacency_matrix(ex, adj), sum.wall_s);
    drop_checkpoint();
    std::fprintf(stderr, "open loop: %zu trials, no policy (r = 1 every trial)\n", n);
    return sum;
  }
  sum.figures["accuracy"] = acc(0, n);
  sum.figures["accuracy_last50"] = acc(n > 50 ? n - 50 : 0, n);
  sum.figures["accuracy_1_20"] = acc(0, 20);
  if (n >= 400) sum.figures["accuracy_100_400"] = acc(99, 400);
  sum.wall_s = secs(t0);
  file.finish(adjacency_matrix(ex, adj), sum.wall_s);
  drop_checkpoint();
  std::fprintf(stderr, "accuracy: %.3f over %zu trials (last 50: %.3f)\n", acc(0, n), n,
               acc(n > 50 ? n - 50 : 0, n));
  return sum;
}

}  // namespace sbx::app
