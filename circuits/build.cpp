#include "circuits/build.hpp"

#include <limits>
#include <stdexcept>

#include "circuits/circuit_graph.hpp"
#include "circuits/connect.hpp"
#include "circuits/sources.hpp"

namespace sbx::circuits {

std::uint32_t BuiltCircuit::population(std::string_view block) const {
  auto it = blocks.find(block);
  if (it == blocks.end() || it->second.populations.empty())
    throw std::out_of_range("no built block '" + std::string(block) + "'");
  return it->second.populations[0];
}

const EdgeBuilt* BuiltCircuit::edge(std::string_view name) const {
  for (const auto& e : edges)
    if (e.name == name) return &e;
  return nullptr;
}

std::uint32_t BuildContext::add_population(const BlockDesc& block, std::string pop_name,
                                           std::unique_ptr<Population> pop) {
  const std::uint32_t id = sim.add_population(std::move(pop_name), std::move(pop));
  BlockBuilt& bb = built.blocks[block.name];
  bb.name = block.name;
  bb.type = block.type;
  bb.populations.push_back(id);
  return id;
}

std::unique_ptr<Simulator> make_simulator(const CircuitDescription& desc) {
  TimeGrid grid(desc.run.tick);
  auto sim = std::make_unique<Simulator>(grid, grid.from_ms(desc.run.dt));
  sim->set_threads(desc.run.threads);
  return sim;
}

Tick run_ticks(const CircuitDescription& desc) {
  return TimeGrid(desc.run.tick).from_ms(desc.run.duration);
}

// ---- blocks -------------------------------------------------------------------------------------

void lower_population_block(const BlockDesc& b, BuildContext& ctx) {
  const PopulationModelSpec* m = ctx.reg.model(b.model);
  if (!m || !m->make) throw InternalError("population model '" + b.model + "' cannot be built");
  std::unique_ptr<Population> pop = m->make(b, ctx);
  // Initial states, drawn from the block's stream in state-name order, neuron by neuron.
  Rng rng = ctx.block_rng(b.name);
  for (const auto& [state, dist] : b.init) {
    // A float state array (lif_cuba precision = "float"): the same draws, rounded to float.
    if (const StateView v = pop->state_view(state); v.type == StateType::f32 && v) {
      for (std::uint32_t i = 0; i < pop->size(); ++i) v.set(i, dist.sample(rng));
      continue;
    }
    double* x = pop->state(state);
    if (!x) throw InternalError("model '" + b.model + "' has no state '" + state + "'");
    for (std::uint32_t i = 0; i < pop->size(); ++i) x[i] = dist.sample(rng);
  }
  ctx.add_population(b, b.name, std::move(pop));
}

void lower_poisson_source(const BlockDesc& b, BuildContext& ctx) {
  const double stop =
      b.params.has("stop") ? b.params.number("stop") : std::numeric_limits<double>::infinity();
  ctx.add_population(
      b, b.name,
      std::make_unique<PoissonSource>(b.n, b.params.number("rate"), b.params.number("start"), stop,
                                      ctx.grid(), ctx.block_rng(b.name)));
}

void lower_current_source(const BlockDesc& b, BuildContext& ctx) {
  const Tick start = ctx.grid().round_ms(b.params.number("start"));
  const Tick stop =
      b.params.has("stop") ? ctx.grid().round_ms(b.params.number("stop")) : CurrentSource::kNever;
  ctx.add_population(
      b, b.name, std::make_unique<CurrentSource>(b.n, b.params.number("amplitude"), start, stop));
}

// ---- edges --------------------------------------------------------------------------------------

namespace {

EdgeBuilt& new_edge(const ConnectionDesc& c, BuildContext& ctx) {
  EdgeBuilt e;
  e.name = c.name;
  e.from = c.from;
  e.to = c.to;
  e.kind = c.edge_kind;
  for (std::size_t i = 0; i < ctx.desc.connections.size(); ++i)
    if (&ctx.desc.connections[i] == &c) e.connection = i;
  if (c.learning) e.learning_rule = c.learning->rule;
  ctx.built.edges.push_back(std::move(e));
  return ctx.built.edges.back();
}

}  // namespace

void lower_spike_edge(const ConnectionDesc& c, BuildContext& ctx) {
  const std::uint32_t pre = ctx.built.population(c.from), post = ctx.built.population(c.to);
  const std::uint32_t n_pre = ctx.sim.population(pre).size(),
                      n_post = ctx.sim.population(post).size();
  Rng rng = ctx.edge_rng(c);
  // Straight into CSR form (no synapse list), without the presynaptic index (4 bytes per
  // synapse): the STDP rules never read it, output reads it from the row pointers, and the rules
  // that sweep synapses by presynaptic neuron materialise it when they are set up
  // (pre_of_syn.data() / store()).
  SpikeProjection proj =
      make_spike_projection(c, pre, post, n_pre, n_post, ctx.grid(), rng, PreIndex::view);
  const std::uint32_t id = ctx.sim.add_projection(std::move(proj));
  EdgeBuilt& e = new_edge(c, ctx);
  e.projections.push_back(id);
}

namespace {

void lower_continuous_edge(const ConnectionDesc& c, BuildContext& ctx, CouplingKind kind) {
  const std::uint32_t pre = ctx.built.population(c.from), post = ctx.built.population(c.to);
  const std::uint32_t n_pre = ctx.sim.population(pre).size();
  const std::uint32_t n_post = ctx.sim.population(post).size();
  Rng rng = ctx.edge_rng(c);
  std::vector<SynapseSpec> syn = connect_structure(c, n_pre, n_post, rng);
  assign_weights(syn, c.weight, rng);
  ContinuousProjection cp;
  cp.name = c.name;
  cp.pre_population = pre;
  cp.post_population = post;
  cp.kind = kind;
  for (const auto& s : syn) {
    cp.pre.push_back(s.pre);
    cp.post.push_back(s.post);
    cp.weight.push_back(s.weight);
  }
  const std::uint32_t id = ctx.sim.add_continuous(std::move(cp));
  EdgeBuilt& e = new_edge(c, ctx);
  e.couplings.push_back(id);
}

}  // namespace

void lower_current_edge(const ConnectionDesc& c, BuildContext& ctx) {
  lower_continuous_edge(c, ctx, CouplingKind::current);
}

void lower_conductance_edge(const ConnectionDesc& c, BuildContext& ctx) {
  lower_continuous_edge(c, ctx, CouplingKind::conductance);
}

// ---- build --------------------------------------------------------------------------------------

BuiltCircuit build(const CircuitDescription& desc, Simulator& sim, const BuildOptions& opt) {
  return build(desc, sim, registry(), opt);
}

BuiltCircuit build(const CircuitDescription& desc, Simulator& sim, const Registry& reg,
                   const BuildOptions& opt) {
  BuiltCircuit built;
  DiagnosticSink sink(desc.file);
  BuildContext ctx(desc, reg, sim, built, sink);

  // Errors thrown by the engine or a model constructor become diagnostics at the element.
  auto guarded = [&](const SourcePos& pos, const std::string& path, auto&& fn) {
    try {
      fn();
    } catch (const UserError& e) {
      for (const auto& d : e.diagnostics) sink.error(pos, path, d.message);
    } catch (const std::invalid_argument& e) {
      sink.error(pos, path, e.what());
    }
  };

  for (const BlockDesc& b : desc.blocks) {
    const BlockTypeSpec* bt = reg.block_type(b.type);
    if (!bt || !bt->lower) throw InternalError("block type '" + b.type + "' cannot be built");
    guarded(b.pos, "blocks." + b.name, [&] { bt->lower(b, ctx); });
  }
  if (!sink.empty()) sink.throw_if_any();

  for (const ConnectionDesc& c : desc.connections) {
    const BlockDesc* src = desc.find_block(c.from);
    const BlockDesc* dst = desc.find_block(c.to);
    if (!src || !dst) throw InternalError("connection " + c.name + " has undefined endpoints");
    const EdgeKindSpec* ek = reg.edge_kind(src->kind, dst->kind);
    if (!ek || !ek->lower) throw InternalError("edge " + c.name + " has no lowering");
    const std::size_t n_edges = built.edges.size();
    guarded(c.pos, c.path, [&] { ek->lower(c, ctx); });
    if (c.learning && built.edges.size() > n_edges) {
      const LearningRuleSpec* lr = reg.learning_rule(c.learning->type);
      if (lr && lr->attach)
        guarded(c.learning->pos, c.path + ".learning",
                [&] { lr->attach(*c.learning, built.edges.back(), ctx); });
    }
  }

  if (sink.empty())  // (what the finishers read may be missing after an error)
    for (const BlockDesc& b : desc.blocks) {
      const BlockTypeSpec* bt = reg.block_type(b.type);
      if (bt->finish) guarded(b.pos, "blocks." + b.name, [&] { bt->finish(b, ctx); });
    }

  if (opt.add_probes) {
    for (std::size_t i = 0; i < desc.output.traces.size(); ++i) {
      const TraceDesc& t = desc.output.traces[i];
      const std::string path = "output.traces[" + std::to_string(i) + "]";
      guarded(t.pos, path, [&] {
        Probe p;
        p.population = built.population(t.block);
        p.variable = t.variable;
        p.neurons = t.neurons;
        if (p.neurons.empty())
          for (std::uint32_t k = 0; k < t.n; ++k) p.neurons.push_back(k);
        p.every = sim.grid().from_ms(t.dt > 0.0 ? t.dt : desc.run.dt);
        built.probes.push_back(sim.add_probe(std::move(p)));
      });
    }
  }
  sink.throw_if_any();
  return built;
}

}  // namespace sbx::circuits
