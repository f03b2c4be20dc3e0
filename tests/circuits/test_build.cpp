// Lowering TOML circuits into the simulator, and running them.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "circuit_test_util.hpp"
#include "circuits/build.hpp"
#include "circuits/circuit_graph.hpp"
#include "circuits/loader.hpp"
#include "circuits/sources.hpp"
#include "engine/recorder.hpp"
#include "models/lif_cuba.hpp"
#include "models/lif_exact.hpp"
#include "models/traub_miles_hh.hpp"

using namespace sbx;
using namespace sbx::circuits;
using namespace sbx::circuits::test;

namespace {

struct Run {
  CircuitDescription desc;
  std::unique_ptr<Simulator> sim;
  BuiltCircuit built;
  MemoryRecorder rec;
};

std::unique_ptr<Run> build_text(const std::string& text, const std::vector<std::string>& ov = {},
                                const Registry& reg = registry()) {
  auto r = std::make_unique<Run>();
  r->desc = load_circuit_string(text, "test.toml", ov, reg);
  r->sim = make_simulator(r->desc);
  r->built = build(r->desc, *r->sim, reg);
  r->sim->set_recorder(&r->rec);
  return r;
}

std::size_t spikes_of(const MemoryRecorder& rec, std::uint32_t pop) {
  std::size_t n = 0;
  for (const auto& s : rec.spikes) n += s.population == pop;
  return n;
}

// A clocked test population integrating its current input: x += I·dt (takes current couplings).
class Integrator final : public Population {
 public:
  explicit Integrator(std::uint32_t n) : x_(n, 0.0), i_(n, 0.0) {}
  std::string_view model() const override { return "integrator"; }
  std::uint32_t size() const override { return static_cast<std::uint32_t>(x_.size()); }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  void step(const StepContext& ctx, std::vector<std::uint32_t>&) override {
    for (std::size_t k = 0; k < x_.size(); ++k) x_[k] += i_[k] * ctx.dt_ms;
  }
  double* current_input() override { return i_.data(); }
  double* state(std::string_view n) override { return n == "x" ? x_.data() : nullptr; }
  std::vector<std::string> state_names() const override { return {"x"}; }
  void save_state(std::vector<double>&) const override {}
  void load_state(std::span<const double>) override {}

 private:
  std::vector<double> x_, i_;
};

Registry registry_with_integrator() {
  Registry reg = make_builtin_registry();
  PopulationModelSpec m;
  m.name = "integrator";
  m.doc = "test model";
  m.takes_current = true;
  m.receptors = {};
  m.recordables = {"x"};
  m.make = [](const BlockDesc& b, BuildContext&) { return std::make_unique<Integrator>(b.n); };
  reg.add(std::move(m));
  return reg;
}

const std::string kPoissonLif = R"(connections = [
  { from = "P", to = "E", rule = "fixed_indegree", indegree = 10, weight = 300.0, delay = 1.5 },
  { from = "E", to = "E", rule = "bernoulli", density = 0.2, weight = -50.0, receptor = "inh" },
]
[meta]
seed = 11
[run]
duration = 1000.0
[blocks.P]
type = "poisson_source"
n = 50
rate = 20.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 20
V_init = { dist = "uniform", low = -70.0, high = -56.0 }
[output]
traces = [{ block = "E", variable = "V", n = 3, dt = 1.0 }]
)";

}  // namespace

TEST_CASE("a Poisson-driven LIF circuit builds, runs, and its source fires at its rate") {
  auto r = build_text(kPoissonLif);
  Simulator& sim = *r->sim;
  REQUIRE(sim.n_populations() == 2);
  const std::uint32_t e = r->built.population("E"), p = r->built.population("P");
  CHECK(sim.population_name(e) == "E");  // blocks are built in name order: E, P
  CHECK(e == 0);
  CHECK(p == 1);
  REQUIRE(r->built.edges.size() == 2);
  const SpikeProjection& pe = sim.projection(r->built.edge("P->E")->projections[0]);
  CHECK(pe.n_synapses() == 200);  // 20 targets × indegree 10
  for (std::uint32_t j = 0; j < 20; ++j) CHECK(pe.col_ptr[j + 1] - pe.col_ptr[j] == 10);
  CHECK(pe.min_delay() == 1500);
  CHECK(pe.receptor == 0);
  const SpikeProjection& ee = sim.projection(r->built.edge("E->E")->projections[0]);
  CHECK(ee.receptor == 1);
  for (std::uint32_t k = 0; k < ee.n_synapses(); ++k) CHECK(ee.pre_of_syn[k] != ee.post[k]);
  // Initial V drawn from the block's stream within the distribution's bounds.
  const double* V = sim.population(e).state("V");
  for (int i = 0; i < 20; ++i) {
    CHECK(V[i] >= -70.0);
    CHECK(V[i] < -56.0);
  }
  CHECK(V[0] != V[1]);

  sim.run_until(run_ticks(r->desc));
  // 50 trains × 20 Hz × 1 s = 1000 expected spikes, Poisson sd = sqrt(1000).
  const double n_p = static_cast<double>(spikes_of(r->rec, p));
  CHECK(std::fabs(n_p - 1000.0) < 4.0 * std::sqrt(1000.0));
  CHECK(spikes_of(r->rec, e) > 0);  // 10 inputs × 300 pA drive the LIF cells over threshold
  // One probe, sampled every ms at t = 0..999.
  REQUIRE(r->built.probes.size() == 1);
  std::size_t samples = 0;
  for (const auto& s : r->rec.samples) samples += s.probe == r->built.probes[0];
  CHECK(samples == 1000);
}

TEST_CASE("same seed, same network, another seed (via --set), another network") {
  auto a = build_text(kPoissonLif), b = build_text(kPoissonLif);
  auto c = build_text(kPoissonLif, {"meta.seed=12"});
  auto post_of = [](Run& r) {
    return r.sim->projection(r.built.edge("E->E")->projections[0]).post;
  };
  CHECK(post_of(*a) == post_of(*b));
  CHECK(post_of(*a) != post_of(*c));
  a->sim->run_until(a->sim->grid().from_ms(200.0));
  b->sim->run_until(b->sim->grid().from_ms(200.0));
  REQUIRE(a->rec.spikes.size() == b->rec.spikes.size());
  for (std::size_t i = 0; i < a->rec.spikes.size(); ++i)
    CHECK((a->rec.spikes[i].neuron == b->rec.spikes[i].neuron &&
           a->rec.spikes[i].t == b->rec.spikes[i].t));
}

TEST_CASE("Poisson source: exponential intervals (count and CV), start and stop respected") {
  auto r = build_text(R"([blocks.P]
type = "poisson_source"
n = 1
rate = 100.0
start = 100.0
stop = 10100.0
[run]
duration = 11000.0
)");
  r->sim->run_until(run_ticks(r->desc));
  const auto& sp = r->rec.spikes;
  // 10 s at 100 Hz: 1000 ± 4·sqrt(1000).
  CHECK(std::fabs(static_cast<double>(sp.size()) - 1000.0) < 4.0 * std::sqrt(1000.0));
  REQUIRE(sp.size() > 2);
  CHECK(sp.front().t >= 100000);
  CHECK(sp.back().t < 10100000);
  double sum = 0, sum2 = 0;
  for (std::size_t i = 1; i < sp.size(); ++i) {
    const double isi = static_cast<double>(sp[i].t - sp[i - 1].t) * 0.001;
    sum += isi, sum2 += isi * isi;
  }
  const double n = static_cast<double>(sp.size() - 1), mean = sum / n;
  const double cv = std::sqrt(sum2 / n - mean * mean) / mean;
  CHECK(mean == doctest::Approx(10.0).epsilon(0.15));
  CHECK(cv == doctest::Approx(1.0).epsilon(0.1));
}

TEST_CASE("current source drives a clocked target through a current coupling") {
  const Registry reg = registry_with_integrator();
  auto r = build_text(R"(connections = [{ from = "I", to = "X", weight = 0.5, rule = "one_to_one" }]
[run]
duration = 5.0
dt = 0.1
[blocks.I]
type = "current_source"
n = 2
amplitude = 2.0
start = 1.0
stop = 3.0
[blocks.X]
type = "population"
model = "integrator"
n = 2
)",
                      {}, reg);
  REQUIRE(r->built.edges.size() == 1);
  CHECK(r->built.edges[0].kind == "current");
  REQUIRE(r->built.edges[0].couplings.size() == 1);
  r->sim->run_until(run_ticks(r->desc));
  const double* x = r->sim->population(r->built.population("X")).state("x");
  // On for 2 ms: 0.5 × 2 × 2 ms = 2 (20 steps of 0.1 ms).
  CHECK(x[0] == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(x[1] == doctest::Approx(2.0).epsilon(1e-12));
}

TEST_CASE("current couplings are refused at load time for models without a current input") {
  const auto d = only_diagnostic(R"(connections = [{ from = "I", to = "E" }]
[blocks.I]
type = "current_source"
amplitude = 1.0
[blocks.E]
type = "population"
model = "lif_cuba"
n = 2
)");
  CHECK(d.key_path == "connections[0].to");
  CHECK(contains(d.message, "takes no current coupling"));
  // ...and a delay makes no sense on a continuous coupling.
  const auto reg = registry_with_integrator();
  std::vector<Diagnostic> ds;
  try {
    load_circuit_string(R"(connections = [{ from = "I", to = "X", delay = 1.0 }]
[blocks.I]
type = "current_source"
amplitude = 1.0
[blocks.X]
type = "population"
model = "integrator"
n = 1
)",
                        "t.toml", {}, reg);
  } catch (const UserError& e) {
    ds = e.diagnostics;
  }
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].key_path == "connections[0].delay");
  CHECK(contains(ds[0].message, "'delay' is not used by a current edge"));
}

TEST_CASE("hypergeometric through TOML: the tutorial VAC(20) -> AC(10) degrees") {
  auto r = build_text(
      R"(connections = [{ from = "VAC", to = "AC", rule = "hypergeometric", density = 0.1 }]
[blocks.VAC]
type = "population"
model = "lif_exact"
n = 20
[blocks.AC]
type = "population"
model = "lif_exact"
n = 10
)");
  const SpikeProjection& p = r->sim->projection(r->built.edge("VAC->AC")->projections[0]);
  CHECK(p.n_synapses() == 20);
  for (std::uint32_t i = 0; i < 20; ++i) CHECK(p.row_ptr[i + 1] - p.row_ptr[i] == 1);
  for (std::uint32_t j = 0; j < 10; ++j) CHECK(p.col_ptr[j + 1] - p.col_ptr[j] == 2);
}

TEST_CASE("model parameters map 1:1 from TOML keys to the params structs") {
  auto r = build_text(R"([blocks]
A = { type = "population", model = "lif_exact", n = 2, tau_m = 12.0, C_m = 100.0, tau_syn_i = 4.0 }
B = { type = "population", model = "lif_cuba", n = 3, tau_e = 6.0, E_L = -48.0 }
C = { type = "population", model = "traub_miles_hh", n = 4, g_Na = 19000.0, V_T = -62.0 }
D = { type = "population", model = "lif_coba", n = 5, I_bias = 20.0 }
)");
  auto& a = dynamic_cast<LifExactPopulation&>(r->sim->population(r->built.population("A")));
  CHECK(a.params().tau_m == 12.0);
  CHECK(a.params().C_m == 100.0);
  CHECK(a.params().tau_syn_i == 4.0);
  CHECK(a.params().tau_syn_e == LifExactParams{}.tau_syn_e);
  auto& b = dynamic_cast<LifCubaPopulation&>(r->sim->population(r->built.population("B")));
  CHECK(b.params().tau_e == 6.0);
  CHECK(b.params().E_L == -48.0);
  auto& c = dynamic_cast<TraubMilesHHPopulation&>(r->sim->population(r->built.population("C")));
  CHECK(c.params().g_Na == 19000.0);
  CHECK(c.params().V_T == -62.0);
  CHECK(c.size() == 4);
  CHECK(r->sim->population(r->built.population("D")).state("I_bias")[4] == 20.0);
}

TEST_CASE("build errors are collected with the element's position") {
  // 'rate' is a state of poisson sources but not listed as recordable, so the trace passes the
  // loader and fails when the probe is created.
  std::vector<Diagnostic> ds;
  try {
    build_text(R"([blocks.P]
type = "poisson_source"
rate = 1.0
[output]
traces = [{ block = "P", variable = "volts" }]
)");
  } catch (const UserError& e) {
    ds = e.diagnostics;
  }
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].line == 5);
  CHECK(ds[0].column == 11);
  CHECK(ds[0].key_path == "output.traces[0]");
  CHECK(contains(ds[0].message, "has no variable 'volts'"));
}

TEST_CASE("the circuit graph: vertices, edges, streams and dot output") {
  auto desc = load_circuit_string(kPoissonLif, "t.toml");
  DiagnosticSink sink("t.toml");
  const CircuitGraph g = CircuitGraph::build(desc, registry(), sink);
  CHECK(sink.empty());
  CHECK(g.n_blocks() == 2);
  CHECK(g.n_edges() == 2);
  const auto e = *g.vertex("E");
  CHECK(boost::in_degree(e, g.graph()) == 2);  // P->E and E->E
  CHECK(boost::out_degree(e, g.graph()) == 1);
  CHECK(g.graph()[e].size == 20);
  CHECK(g.graph()[e].kind == "population");
  Rng s1 = g.block_rng("E"), s2 = Rng::stream(11, "E");
  CHECK(s1.next_u64() == s2.next_u64());
  std::ostringstream dot;
  g.write_dot(dot);
  CHECK(contains(dot.str(), "\"P\" -> \"E\" [label=\"fixed_indegree, spike\"]"));
}

TEST_CASE("Neuroblox HH cells: current drive makes them fire, conductance coupling to a target") {
  const std::string text = R"(connections = [
  { from = "I", to = "E", weight = 1.0 },
  { from = "E", to = "S", weight = 0.5 },
  { from = "theta", to = "S", weight = 0.0 },
]
[run]
duration = 200.0
dt = 0.05
[blocks.I]
type = "current_source"
amplitude = 5.0
[blocks.E]
type = "population"
model = "hh_exci"
n = 2
[blocks.S]
type = "population"
model = "hh_inhib"
n = 3
[blocks.theta]
type = "population"
model = "ngnmm_theta"
n = 1
C_E = 52.0
)";
  auto r = build_text(text);
  CHECK(r->built.edge("I->E")->kind == "current");
  CHECK(r->built.edge("E->S")->kind == "conductance");
  CHECK(r->built.edge("theta->S")->kind == "current");
  const ContinuousProjection& es = r->sim->continuous(r->built.edge("E->S")->couplings[0]);
  CHECK(es.kind == CouplingKind::conductance);
  CHECK(es.n_synapses() == 6);
  r->sim->run_until(run_ticks(r->desc));
  const std::size_t e_spikes = spikes_of(r->rec, r->built.population("E"));
  CHECK(e_spikes >= 4);  // both cells fire repetitively under 5 µA/cm²
  // Without the drive the excitatory cells stay silent.
  auto quiet = build_text(text, {"blocks.I.amplitude=0.0"});
  quiet->sim->run_until(run_ticks(quiet->desc));
  CHECK(spikes_of(quiet->rec, quiet->built.population("E")) == 0);
  // The coupled inhibitory cells feel the excitatory synapse (their V differs from the quiet run).
  const double v_driven = r->sim->population(r->built.population("S")).state("V")[0];
  const double v_quiet = quiet->sim->population(quiet->built.population("S")).state("V")[0];
  CHECK(v_driven != v_quiet);
  // Spike projections cannot end on Neuroblox cells: they have no receptors.
  const auto d = only_diagnostic(R"(connections = [{ from = "P", to = "E" }]
[blocks.P]
type = "poisson_source"
rate = 1.0
[blocks.E]
type = "population"
model = "hh_exci"
n = 1
)");
  CHECK(contains(d.message, "cannot connect 'P' (kind poisson_source) to 'E' (kind neuroblox_hh)"));
}
