#include "apps/run_plain.hpp"

#include "apps/runner_util.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "circuits/plasticity_registry.hpp"
#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/learning.hpp"
#include "engine/progress.hpp"

namespace sbx::app {

RunFileOptions run_file_options(const circuits::CircuitDescription& desc, const RunOptions& opt) {
  RunFileOptions fo;
  fo.force = opt.force;
  fo.swmr = desc.output.swmr;
  fo.threads = desc.run.threads;
  return fo;
}

void write_run_meta(const circuits::CircuitDescription& desc, RunFile& file,
                    const RunOptions& opt) {
  RunMeta meta;
  meta.circuit_toml = desc.toml_text;
  meta.circuit_file = desc.file;
  meta.resolved_config_json = desc.resolved_json;
  meta.command_line = opt.command_line;
  meta.seed = desc.meta.seed;
  file.write_meta(meta);
}

bool spikes_recorded(const circuits::CircuitDescription& desc, const std::string& block) {
  using S = circuits::OutputDesc::Spikes;
  if (desc.output.spikes == S::all) return true;
  if (desc.output.spikes == S::none) return false;
  for (const auto& b : desc.output.spike_blocks)
    if (b == block) return true;
  return false;
}

bool spikes_recorded(const circuits::CircuitDescription& desc, const std::string& block,
                     const Population& pop) {
  return pop.emits_spikes() && spikes_recorded(desc, block);
}

std::vector<DeclaredSpikeEdge> declare_common(const circuits::CircuitDescription& desc,
                                              const circuits::BuiltCircuit& built, Simulator& sim,
                                              RunFile& file, const RunOptions& opt) {
  std::vector<DeclaredSpikeEdge> spike_edges;
  write_run_meta(desc, file, opt);
  for (const auto& [name, b] : built.blocks) {
    if (!spikes_recorded(desc, name)) continue;
    for (std::uint32_t pid : b.populations) {
      const Population& pop = sim.population(pid);
      if (pop.emits_spikes())  // asked for (above); one that never spikes: its /nodes entry only
        file.add_spike_population(pid, sim.population_name(pid), pop.size(), b.type);
      else
        file.add_node_population(sim.population_name(pid), pop.size(), b.type, pid);
    }
  }
  for (std::size_t k = 0; k < built.probes.size(); ++k) {
    const circuits::TraceDesc& tr = desc.output.traces[k];
    const std::uint32_t probe_id = built.probes[k];
    const std::uint32_t pop = built.population(tr.block);
    std::vector<std::uint64_t> ids;
    if (!tr.neurons.empty())
      ids.assign(tr.neurons.begin(), tr.neurons.end());
    else
      for (std::uint32_t i = 0; i < std::min(tr.n, sim.population(pop).size()); ++i)
        ids.push_back(i);
    const double dt = tr.dt > 0 ? tr.dt : sim.grid().to_ms(sim.dt());
    file.add_report(probe_id, sim.population_name(pop), tr.variable, tr.variable == "V" ? "mV" : "",
                    std::move(ids), 0.0, dt);
  }
  // Spike projections as SONATA edge populations (initial weights and delays), streamed in blocks
  // (RunFile::add_edges_streamed): whole u64/f64 columns built in memory cost ~48 bytes per
  // synapse at the peak, 4x the synapse itself (10^8 synapses: 4.8 GB). Blocks are requested
  // in ascending order, so the row of synapse j (the source) and its delay segment are cursors
  // that only move forward.
  for (const auto& e : built.edges) {
    for (std::size_t k = 0; k < e.projections.size(); ++k) {
      const SpikeProjection& p = sim.projection(e.projections[k]);
      const TimeGrid grid = sim.grid();
      std::uint32_t row = 0, seg = 0;
      auto fill = [&](std::size_t first, std::size_t count, const RunFile::EdgeBlock& out) {
        for (std::size_t c = 0; c < count; ++c) {
          const std::size_t j = first + c;
          while (p.row_ptr[row + 1] <= j) ++row;
          while (p.seg_begin[seg + 1] <= j) ++seg;
          out.src[c] = row;
          out.tgt[c] = p.post[j];
          out.w[c] = p.weight[j];
          out.delay_ms[c] = grid.to_ms(p.seg_delay[seg]);
        }
      };
      const std::string name =
          e.projections.size() == 1 ? e.name : e.name + "#" + std::to_string(k);
      const std::uint32_t id = file.add_edges_streamed(name, sim.population_name(p.pre_population),
                                                       sim.population_name(p.post_population),
                                                       p.n_synapses(), fill, e.learning_rule);
      spike_edges.push_back({e.projections[k], id, !e.learning_rule.empty()});
    }
  }
  return spike_edges;
}

void weights_now(const SpikeProjection& p, Tick t, std::vector<float>& out) {
  out.resize(p.n_synapses());
  if (p.rule)
    p.rule->current_weights(p, t, out.data());
  else
    std::copy(p.weight.begin(), p.weight.end(), out.begin());
}

PlasticWeightSnapshots::PlasticWeightSnapshots(const circuits::CircuitDescription& desc,
                                               Simulator& sim, RunFile& file,
                                               const std::vector<DeclaredSpikeEdge>& spike_edges)
    : sim_(sim), file_(file) {
  if (desc.output.weights == circuits::OutputDesc::Weights::none) return;
  for (const DeclaredSpikeEdge& e : spike_edges)
    if (e.learning || sim.projection(e.projection).rule) {
      file.enable_weight_snapshots(e.edge_id);
      edges_.emplace_back(e.projection, e.edge_id);
    }
  if (desc.output.weights_every > 0.0 && !edges_.empty())
    next_ = every_ = std::max<Tick>(sim.grid().round_ms(desc.output.weights_every), 1);
}

Tick PlasticWeightSnapshots::next() const {
  return every_ > 0 ? next_ : std::numeric_limits<Tick>::max();
}

void PlasticWeightSnapshots::at_now() {
  if (every_ <= 0 || next_ > sim_.now()) return;
  write(index_++);  // at the period's end, or the first safe point after it
  while (next_ <= sim_.now()) next_ += every_;
}

void PlasticWeightSnapshots::final() {
  if (!edges_.empty() && last_ != sim_.now()) write(index_++);
}

void PlasticWeightSnapshots::final_after_error() noexcept {
  try {
    final();
  } catch (...) {  // the file itself failed: the first error is the one to report
  }
}

void PlasticWeightSnapshots::write(int index) {
  for (const auto& [pid, id] : edges_) {
    weights_now(sim_.projection(pid), sim_.now(), scratch_);
    file_.append_weights(id, index, sim_.grid().to_ms(sim_.now()), scratch_);
  }
  last_ = sim_.now();
}

RunSummary run_plain(const circuits::CircuitDescription& desc, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  auto sim = circuits::make_simulator(desc);
  circuits::BuiltCircuit built = circuits::build(desc, *sim);
  print_notes(circuits::check_modulators_driven(desc, {}, "a plain run (experiment 'run')"));
  if (opt.dry_run) return {};
  RunFile file(opt.out_path, sim->grid(), run_file_options(desc, opt));
  PlasticWeightSnapshots weights(desc, *sim, file, declare_common(desc, built, *sim, file, opt));
  // Every modulator's changes in /modulators/<name> (between them it decays analytically): its
  // state at the start, then one row per pulse or set.
  std::vector<std::pair<Modulator*, std::uint32_t>> logs;
  for (const auto& [name, m] : built.modulators)
    logs.emplace_back(m.get(), file.add_modulator_log(name, m->baseline(), m->tau_ms()));
  struct StopLogging {  // the observers point at `file`: detached however the run ends
    std::vector<std::pair<Modulator*, std::uint32_t>>& logs;
    ~StopLogging() {
      for (auto& [m, id] : logs) m->set_change_observer({});
    }
  } stop_logging{logs};
  file.start();
  sim->set_recorder(&file);
  weights.initial();
  const TimeGrid grid = sim->grid();
  for (auto& [m, id] : logs) {
    file.append_modulator_change(id, {grid.to_ms(m->t0()), m->value(m->t0())});
    m->set_change_observer([&file, id = id, grid](Tick t, double value) {
      file.append_modulator_change(id, {grid.to_ms(t), value});
    });
  }

  RunSummary s;
  s.build_s = seconds_since(t0);
  const Tick end = circuits::run_ticks(desc);
  ProgressLine progress(desc.run.duration, "ms", opt.quiet ? nullptr : stderr);
  sim->set_progress([&](Tick t) { progress.update(sim->grid().to_ms(t)); },
                    std::max<Tick>(end / 1000, 1));
  const auto tl = std::chrono::steady_clock::now();
  try {
    // Numerical guard: every state is checked for NaN/inf after each chunk of ~10 ms of simulated
    // time (a whole number of dt steps). The simulator's own per-step check only sees clocked
    // populations; this one also covers event-driven ones, and names the interval of the blow-up.
    const Tick dt = std::max<Tick>(sim->dt(), 1);
    const Tick chunk = std::max<Tick>(sim->grid().round_ms(10.0) / dt, 1) * dt;
    Tick last_ok = sim->now();
    sim->set_stop_on_interrupt(true);  // (a chunk ends early on Ctrl-C; thrown below)
    while (sim->now() < end) {
      const Tick remaining = end - sim->now();
      sim->run_until(std::min(sim->now() + (remaining > chunk ? chunk : remaining),
                              std::max(weights.next(), sim->now() + 1)));
      try {
        sim->check_finite();
      } catch (const NumericalError& e) {
        throw NumericalError(std::string(e.what()) + " (every state was finite at t = " +
                             std::to_string(sim->grid().to_ms(last_ok)) + " ms)");
      }
      last_ok = sim->now();
      weights.at_now();
      throw_if_interrupted_at_ms(sim->grid().to_ms(sim->now()));
    }
    weights.final();
  } catch (...) {
    weights.final_after_error();  // keep everything up to the failure, with the weights reached
    file.flush();
    throw;
  }
  s.loop_s = seconds_since(tl);
  progress.update(desc.run.duration);
  progress.finish();
  s.simulated_ms = desc.run.duration;
  s.spikes = sim->stats().spikes;
  s.synaptic_events = sim->stats().synaptic_events;
  file.flush();
  s.wall_s = seconds_since(t0);
  file.finish({}, s.wall_s);
  return s;
}

}  // namespace sbx::app
