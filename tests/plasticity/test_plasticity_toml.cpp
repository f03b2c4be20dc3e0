// The plasticity rules, the izhikevich model and the distal_reward experiment through TOML:
// rules composed on edges, shared named modulators, bad-input diagnostics, and the ready circuit
// circuits_toml/izhikevich_distal_reward.toml run for 20 s against the direct C++ build.
#include <doctest/doctest.h>

#include <H5Cpp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "apps/run_distal.hpp"
#include "apps/run_plain.hpp"
#include "circuits/build.hpp"
#include "circuits/loader.hpp"
#include "circuits/plasticity_registry.hpp"
#include "engine/errors.hpp"
#include "engine/recorder.hpp"

using namespace sbx;
using namespace sbx::circuits;

namespace {

const char* kSmall = R"(
schema = "spikeblox/1"
connections = [
  { from = "src", to = "net", rule = "all_to_all", weight = 0.5, delay = 1.0, learning = "hebb" },
  { from = "net", to = "net", rule = "bernoulli", density = 0.2, weight = 1.0, delay = 1.0, learning = "ach" },
  { from = "net", to = "out", rule = "all_to_all", weight = 1.0, delay = 1.0, learning = "da" },
]
[meta]
seed = 3
[run]
duration = 8000.0   # crosses an epoch rebase of the three-factor rules (6 s)
dt = 1.0
tick = 1.0
[blocks.src]
type = "poisson_source"
n = 20
rate = 20.0
[blocks.net]
type = "population"
model = "izhikevich"
n = 30
noise = 6.5
[blocks.out]
type = "population"
model = "izhikevich"
n = 5
[rules.hebb]
type = "stdp"
bounds = "multiplicative"
[rules.ach]
type = "three_factor"
modulator = "acetylcholine"
modulator_baseline = 0.01
modulator_tau = 500.0
[rules.da]
type = "rstdp"
)";

std::string first_message(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    const CircuitDescription d = load_circuit_string(text, "test.toml", overrides);
    auto sim = make_simulator(d);
    (void)build(d, *sim);
    if (d.experiment.type == "distal_reward") (void)app::distal_setup(d);
  } catch (const UserError& e) {
    return e.diagnostics.at(0).format();
  }
  return "";
}

}  // namespace

TEST_CASE("toml: stdp, three_factor and rstdp rules compose on edges and create named modulators") {
  const CircuitDescription d = load_circuit_string(kSmall, "test.toml");
  auto sim = make_simulator(d);
  BuiltCircuit built = build(d, *sim);
  REQUIRE(built.modulators.size() == 2);
  CHECK(built.modulators.at("acetylcholine")->baseline() == 0.01);
  CHECK(built.modulators.at("acetylcholine")->tau_ms() == 500.0);
  CHECK(built.modulators.at("dopamine")->baseline() == 0.002);  // rstdp default
  for (const EdgeBuilt& e : built.edges)
    for (std::uint32_t pid : e.projections) CHECK(sim->projection(pid).rule != nullptr);
  const auto& in = sim->projection(built.edge("src->net")->projections.at(0));
  const std::vector<float> w0(in.weight.begin(), in.weight.end());
  sim->run_until(run_ticks(d));
  CHECK(sim->stats().spikes > 0);
  CHECK(in.weight != w0);  // the STDP edge learned
  for (float w : in.weight) {
    CHECK(w >= 0.0f);
    CHECK(w <= 1.0f);
  }
}

TEST_CASE("toml: plasticity keys are validated with file:line, key path and allowed values") {
  std::string m = first_message(kSmall, {"rules.hebb.bounds=soft"});
  CHECK(m.find("rules.hebb.bounds") != std::string::npos);
  CHECK(m.find("multiplicative") != std::string::npos);
  m = first_message(kSmall, {"rules.ach.tau_c=-5"});
  CHECK(m.find("rules.ach.tau_c") != std::string::npos);
  m = first_message(kSmall, {"rules.da.w_max=0.5"});  // initial weights 1 > w_max
  CHECK(m.find("outside [w_min, w_max]") != std::string::npos);
  CHECK(m.find("test.toml:") == 0);
  // A misspelt key is an error, not a silent default.
  std::string text = kSmall;
  text += "tau_cc = 3.0\n";
  m = first_message(text);
  CHECK(m.find("tau_cc") != std::string::npos);
  // Two rules naming one modulator must agree on its dynamics.
  m = first_message(kSmall, {"rules.da.modulator=acetylcholine"});
  CHECK(m.find("modulator 'acetylcholine' is already defined by another rule with "
               "modulator_baseline = 0.01 and modulator_tau = 500 ms, this one has "
               "modulator_baseline = 0.002 and modulator_tau = 200 ms") != std::string::npos);
  // A unit that is a description is said once, not after both numbers.
  m = first_message(kSmall, {"rules.hebb.A_plus=-1"});
  CHECK(m.find("'rules.hebb.A_plus': value -1 is out of range: must be >= 0 (in the target's "
               "unit)") != std::string::npos);
  // The izhikevich model checks c < v_peak.
  m = first_message(kSmall, {"blocks.net.c=40"});
  CHECK(m.find("c (reset) must be < v_peak") != std::string::npos);
}

TEST_CASE("toml: a modulator nothing drives is refused at baseline 0 and noted otherwise") {
  // A plain run never pulses or sets a modulator: three_factor's default baseline 0 left the
  // rule silently unable to change any weight.
  auto notes_or_error = [](const std::vector<std::string>& ov, std::vector<std::string> driven,
                           std::string& error) {
    error.clear();
    const CircuitDescription d = load_circuit_string(kSmall, "test.toml", ov);
    try {
      return check_modulators_driven(d, driven, "a plain run");
    } catch (const UserError& e) {
      for (const auto& dg : e.diagnostics) error += dg.format() + "\n";
    }
    return std::vector<Diagnostic>{};
  };
  std::string err;
  // kSmall: acetylcholine (baseline 0.01) and dopamine (rstdp, 0.002) run, each with a note.
  std::vector<Diagnostic> notes = notes_or_error({}, {}, err);
  CHECK(err.empty());
  REQUIRE(notes.size() == 2);
  CHECK(notes[0].key_path == "rules.ach.modulator");
  CHECK(notes[0].line == 32);  // the rule's modulator key (line 32 of kSmall)
  CHECK(notes[0].message.find("modulator 'acetylcholine' (read by rule 'ach') is never driven "
                              "in a plain run") != std::string::npos);
  CHECK(notes[0].message.find("modulator_baseline = 0.01") != std::string::npos);
  CHECK(notes[1].key_path == "rules.da.modulator");
  CHECK(notes[1].format("note").find("test.toml:35:1: note: 'rules.da.modulator'") == 0);
  // Driven modulators need no note.
  CHECK(notes_or_error({}, {"acetylcholine", "dopamine"}, err).empty());
  CHECK(err.empty());
  // Baseline 0: an error naming the modulator, its rules and the way out.
  notes = notes_or_error({"rules.ach.modulator_baseline=0"}, {}, err);
  CHECK(err.find("test.toml:32:13: error: 'rules.ach.modulator': modulator 'acetylcholine'") == 0);
  CHECK(err.find("can never change a weight") != std::string::npos);
  CHECK(err.find("type = \"stdp\"") != std::string::npos);
  CHECK(notes_or_error({"rules.ach.modulator_baseline=0"}, {"acetylcholine"}, err).size() == 1);
  CHECK(err.empty());
  // Two rules on one undriven modulator: one error naming both; an inline rule by its edge.
  notes_or_error({"rules.da.modulator_baseline=0", "rules.ach.modulator=\"dopamine\"",
                  "rules.ach.modulator_baseline=0", "rules.ach.modulator_tau=200"},
                 {}, err);
  CHECK(err.find("(read by rules 'ach', 'da')") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  notes_or_error({"connections[2].learning={ type = \"three_factor\", modulator = \"rpe\" }"}, {},
                 err);
  CHECK(err.find("'connections[2].learning.modulator': modulator 'rpe' (read by rule "
                 "'net->out.learning')") != std::string::npos);
  // The plain runner applies it: run (and so check) refuse the inert rule, no file written.
  const CircuitDescription d =
      load_circuit_string(kSmall, "test.toml", {"rules.ach.modulator_baseline=0"});
  app::RunOptions opt;
  opt.out_path = "test_undriven_modulator.h5";
  opt.force = true;
  opt.quiet = true;
  std::remove(opt.out_path.c_str());
  CHECK_THROWS_AS((void)app::run_plain(d, opt), UserError);
  CHECK_FALSE(std::ifstream(opt.out_path).good());
}

namespace {

// kSmall with a VTA Poisson block and a modulator block `DA` whose keys are `keys`.
std::string with_modulator_block(const std::string& keys) {
  return std::string(kSmall) +
         "[blocks.VTA]\ntype = \"poisson_source\"\nn = 4\nrate = 30.0\n"
         "[blocks.DA]\ntype = \"modulator\"\n" +
         keys;
}

}  // namespace

TEST_CASE(
    "toml: a modulator block drives its modulator by a source's spikes and scheduled pulses") {
  const std::string keys =
      "modulator = \"dopamine\"\nsource = \"VTA\"\nper_spike = 0.05\n"
      "pulse_times = [1500.0, 4000.0]\npulse_amount = 0.5\n";
  const CircuitDescription d = load_circuit_string(with_modulator_block(keys), "test.toml");
  // Only acetylcholine is left undriven (a note); dopamine is the block's.
  const std::vector<Diagnostic> notes = check_modulators_driven(d, {}, "a plain run");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].key_path == "rules.ach.modulator");
  auto sim = make_simulator(d);
  BuiltCircuit built = build(d, *sim);
  MemoryRecorder rec;
  sim->set_recorder(&rec);
  const Modulator& da = *built.modulators.at("dopamine");
  CHECK(da.nonnegative());  // no driver can make it negative: R-STDP may skip
  CHECK_FALSE(built.modulators.at("acetylcholine")->nonnegative());
  const std::uint32_t vta = built.population("VTA");
  const double tick = sim->grid().tick_ms();
  std::size_t n_vta = 0;
  // run_until(t) stops before the events of tick t: the pulse at 1500 ms is in from 1501 ms.
  for (double t_ms : {1000.0, 1500.0, 1501.0, 3999.0, 6000.0, 8000.0}) {
    const Tick t = sim->grid().round_ms(t_ms);
    sim->run_until(t);
    // m(t) = baseline + sum of every pulse so far decayed to t (analytic, per spike and per
    // scheduled pulse).
    double expected = da.baseline();
    n_vta = 0;
    for (const auto& s : rec.spikes)
      if (s.population == vta && s.t <= t) {
        expected += 0.05 * std::exp(-static_cast<double>(t - s.t) * tick / da.tau_ms());
        ++n_vta;
      }
    for (double p : {1500.0, 4000.0})
      if (p < t_ms) expected += 0.5 * std::exp(-(t_ms - p) / da.tau_ms());
    CHECK(da.value(t) == doctest::Approx(expected).epsilon(1e-9));
  }
  CHECK(n_vta > 500);  // 4 trains at 30 Hz for 8 s

  // A negative drive: not declared non-negative (rules then do the full, exact pass).
  const CircuitDescription dn = load_circuit_string(
      with_modulator_block("modulator = \"dopamine\"\nsource = \"VTA\"\nper_spike = -0.01\n"),
      "test.toml");
  auto simn = make_simulator(dn);
  BuiltCircuit builtn = build(dn, *simn);
  CHECK_FALSE(builtn.modulators.at("dopamine")->nonnegative());
  simn->run_until(simn->grid().round_ms(2000.0));
  CHECK(builtn.modulators.at("dopamine")->value(simn->grid().round_ms(2000.0)) < 0.0);
}

TEST_CASE("toml: a modulator block's delay moves every spike's pulse by that much") {
  // VTA spikes pulse dopamine 20 ms later: m(t) = baseline + the pulses of the spikes up to
  // t - 20 ms, each decayed from its spike time + 20 ms; the scheduled pulses are not delayed.
  const std::string keys =
      "modulator = \"dopamine\"\nsource = \"VTA\"\nper_spike = 0.05\ndelay = 20.0\n"
      "pulse_times = [1500.0]\npulse_amount = 0.5\n";
  const CircuitDescription d = load_circuit_string(with_modulator_block(keys), "test.toml");
  auto sim = make_simulator(d);
  BuiltCircuit built = build(d, *sim);
  MemoryRecorder rec;
  sim->set_recorder(&rec);
  const Modulator& da = *built.modulators.at("dopamine");
  CHECK(da.nonnegative());
  const std::uint32_t vta = built.population("VTA");
  const Tick delay = sim->grid().round_ms(20.0);
  const double tick = sim->grid().tick_ms();
  std::size_t in_flight_seen = 0;
  for (double t_ms : {10.0, 500.0, 1500.0, 1501.0, 3000.0, 3017.0, 6000.0}) {
    const Tick t = sim->grid().round_ms(t_ms);
    sim->run_until(t);  // the events of tick t are not yet handled
    double expected = da.baseline();
    std::size_t in_flight = 0;
    for (const auto& s : rec.spikes) {
      if (s.population != vta) continue;
      if (s.t + delay < t)
        expected += 0.05 * std::exp(-static_cast<double>(t - s.t - delay) * tick / da.tau_ms());
      else
        ++in_flight;
    }
    if (1500.0 < t_ms) expected += 0.5 * std::exp(-(t_ms - 1500.0) / da.tau_ms());
    CAPTURE(t_ms);
    CHECK(da.value(t) == doctest::Approx(expected).epsilon(1e-9));
    in_flight_seen += in_flight;
  }
  CHECK(in_flight_seen > 0);  // some pulses were still pending at a check: the delay mattered
  // The engine refuses a negative delay, or one off the step grid (here dt = 10 ticks).
  Modulator m("x", 0.0, 100.0, sim->grid());
  CHECK_THROWS_AS(sim->add_spike_pulses(vta, m, 0.1, -sim->dt()), std::invalid_argument);
  const CircuitDescription d10 =
      load_circuit_string(with_modulator_block(keys), "test.toml", {"run.tick=0.1"});
  auto sim10 = make_simulator(d10);
  BuiltCircuit built10 = build(d10, *sim10);
  REQUIRE(sim10->dt() == 10);
  Modulator m10("x", 0.0, 100.0, sim10->grid());
  const std::uint32_t vta10 = built10.population("VTA");
  CHECK_THROWS_AS(sim10->add_spike_pulses(vta10, m10, 0.1, 5), std::invalid_argument);
  CHECK_NOTHROW(sim10->add_spike_pulses(vta10, m10, 0.1, 30));
}

TEST_CASE("toml: modulator pulses come at step boundaries when dt > tick") {
  // dt 0.1 ms, tick 0.001 ms: the clocked population's spikes are emitted at step ends, the
  // Poisson source's anywhere on the tick grid and handled after the step's end; their pulses
  // come at that end, so the modulator never changes "in the past" (it threw before) and the
  // rstdp rule never integrates a change earlier than an event it handled.
  const char* text = R"(
connections = [ { from = "net", to = "out", rule = "all_to_all", weight = 0.5, delay = 0.35, learning = "da" } ]
[run]
duration = 2000.0
[blocks.net]
type = "population"
model = "izhikevich"
n = 10
I_bias = 10.0
[blocks.out]
type = "population"
model = "izhikevich"
n = 3
[blocks.VTA]
type = "poisson_source"
n = 5
rate = 40.0
[rules.da]
type = "rstdp"
[blocks.DA_vta]
type = "modulator"
modulator = "dopamine"
source = "VTA"
per_spike = 0.01
pulse_times = [500.0, 1234.5]
pulse_amount = 0.2
[blocks.DA_net]
type = "modulator"
modulator = "dopamine"
source = "net"
per_spike = 0.001
)";
  const CircuitDescription d = load_circuit_string(text, "dt.toml");
  auto sim = make_simulator(d);
  BuiltCircuit built = build(d, *sim);
  MemoryRecorder rec;
  sim->set_recorder(&rec);
  const Tick end = run_ticks(d);
  REQUIRE_NOTHROW(sim->run_until(end));
  const Modulator& da = *built.modulators.at("dopamine");
  const Tick dt = sim->dt();
  const double tick = sim->grid().tick_ms();
  const std::uint32_t vta = built.population("VTA"), net = built.population("net");
  double expected = da.baseline();
  std::size_t off_grid = 0;
  for (const auto& sp : rec.spikes) {
    if (sp.population != vta && sp.population != net) continue;
    const Tick at = (sp.t + dt - 1) / dt * dt;  // the end of the step the spike falls in
    off_grid += sp.population == vta && at != sp.t;
    const double amount = sp.population == vta ? 0.01 : 0.001;
    expected += amount * std::exp(-static_cast<double>(end - at) * tick / da.tau_ms());
  }
  for (double p : {500.0, 1234.5}) expected += 0.2 * std::exp(-(2000.0 - p) / da.tau_ms());
  CHECK(off_grid > 100);  // the rounding was exercised
  CHECK(da.value(end) == doctest::Approx(expected).epsilon(1e-9));
  // Scheduled pulses must lie on the step grid.
  std::string m = first_message(text, {"blocks.DA_vta.pulse_times=[500.05]"});
  CHECK(m.find("pulse time 500.05 ms is not a multiple of [run].dt = 0.1 ms") != std::string::npos);
  // No neurons to record on a modulator block.
  m = first_message(std::string(text) +
                    "[[output.traces]]\nblock = \"DA_vta\"\nvariable = \"v\"\n");
  CHECK(m.find("'output.traces[0].block': block 'DA_vta' (type modulator) has no neurons") !=
        std::string::npos);
  m = first_message(text, {"output.spikes=[\"net\", \"DA_net\"]"});
  CHECK(m.find("'output.spikes[1]': block 'DA_net' (type modulator) has no neurons") !=
        std::string::npos);
}

TEST_CASE("toml: a modulator block's mistakes are reported at its keys") {
  std::string m = first_message(
      with_modulator_block("modulator = \"serotonin\"\nsource = \"VTA\"\nper_spike = 0.1\n"));
  CHECK(m.find("'blocks.DA.modulator': no learning rule reads the modulator 'serotonin'") !=
        std::string::npos);
  m = first_message(with_modulator_block("modulator = \"dopamine\"\n"));
  CHECK(m.find("'blocks.DA': the modulator block drives nothing") != std::string::npos);
  m = first_message(with_modulator_block("modulator = \"dopamine\"\nsource = \"VTA\"\n"));
  CHECK(m.find("'blocks.DA.per_spike': source needs per_spike") != std::string::npos);
  m = first_message(with_modulator_block("modulator = \"dopamine\"\npulse_times = [100.0]\n"));
  CHECK(m.find("'blocks.DA.pulse_amount': pulse_times needs pulse_amount") != std::string::npos);
  m = first_message(with_modulator_block(
      "modulator = \"dopamine\"\npulse_times = [100.5]\npulse_amount = 1.0\n"));
  CHECK(m.find("pulse time 100.5 ms is not a multiple of [run].dt = 1 ms") != std::string::npos);
  m = first_message(with_modulator_block(
      "modulator = \"dopamine\"\npulse_times = [8000.0]\npulse_amount = 1.0\n"));
  CHECK(m.find("is not before the end of the run") != std::string::npos);
  m = first_message(
      with_modulator_block("modulator = \"dopamine\"\nsource = \"nowhere\"\nper_spike = 0.1\n"));
  CHECK(m.find("blocks.DA.source") != std::string::npos);
  m = first_message(with_modulator_block(
      "modulator = \"dopamine\"\nsource = \"VTA\"\nper_spike = 0.1\ndelay = 2.5\n"));
  CHECK(m.find("'blocks.DA.delay': delay 2.5 ms is not a multiple of [run].dt = 1 ms") !=
        std::string::npos);
  m = first_message(with_modulator_block(
      "modulator = \"dopamine\"\npulse_times = [100.0]\npulse_amount = 1.0\ndelay = 2.0\n"));
  CHECK(m.find("'blocks.DA.delay': delay needs source") != std::string::npos);
  m = first_message(with_modulator_block(
      "modulator = \"dopamine\"\nsource = \"VTA\"\nper_spike = 0.1\ndelay = -1.0\n"));
  CHECK(m.find("blocks.DA.delay") != std::string::npos);
  CHECK(m.find(">= 0") != std::string::npos);
  // Both drivers well formed: no error.
  CHECK(first_message(with_modulator_block(
            "modulator = \"dopamine\"\npulse_times = [100.0]\npulse_amount = 1.0\n")) == "");
}

TEST_CASE("toml: rule weight bounds w_min <= w_max are checked at the key, used or not") {
  std::string m = first_message(kSmall, {"rules.hebb.w_min=2"});
  CHECK(m.find("'rules.hebb.w_min': the weight bounds need w_min <= w_max, got w_min = 2 and "
               "w_max = 1") != std::string::npos);
  std::string text = kSmall;
  text += "[rules.unused]\ntype = \"stdp\"\nw_max = -1.0\n";
  m = first_message(text);
  CHECK(m.find("test.toml:39:9: error: 'rules.unused.w_max': the weight bounds") == 0);
  // A per-edge override is reported at the override.
  m = first_message(kSmall, {"connections[0].learning={ rule = \"hebb\", w_max = -0.5 }"});
  CHECK(m.find("'connections[0].learning.w_max': the weight bounds need w_min <= w_max, got "
               "w_min = 0 and w_max = -0.5") != std::string::npos);
  // A rule for inhibitory edges: w_max = -0.1 in [rules] (w_min's default 0 is above it) is fine
  // when each edge gives its own w_min; an edge that does not is reported at its learning table.
  text = kSmall;
  text += "[rules.inh]\ntype = \"stdp\"\nw_max = -0.1\n";
  CHECK(first_message(text, {"connections[0].learning={ rule = \"inh\", w_min = -2.0 }",
                             "connections[0].weight=-1.0"}) == "");
  // No edge overrides a bound: the conflict is reported where the rule writes its bound.
  m = first_message(text, {"connections[0].learning={ rule = \"inh\", A_plus = 0.02 }",
                           "connections[0].weight=-1.0"});
  CHECK(m.find("'rules.inh.w_max': the weight bounds need w_min <= w_max") != std::string::npos);
  // One edge gives its w_min, another does not: that one is reported at its learning table.
  m = first_message(
      text,
      {"connections[0].learning={ rule = \"inh\", w_min = -2.0 }", "connections[0].weight=-1.0",
       "connections[2].learning={ rule = \"inh\", A_plus = 0.02 }", "connections[2].weight=-1.0"});
  CHECK(m.find("'connections[2].learning': the weight bounds need w_min <= w_max, got w_min = 0 "
               "and w_max = -0.1 (from the rule and the defaults)") != std::string::npos);
}

TEST_CASE("toml: distal_reward rejects a rule of the wrong type and non-izhikevich blocks") {
  const std::string path =
      std::string(SBX_SOURCE_DIR) + "/circuits_toml/izhikevich_distal_reward.toml";
  auto message = [&](const std::vector<std::string>& ov) {
    try {
      (void)app::distal_setup(load_circuit_file(path, ov));
    } catch (const UserError& e) {
      std::string all;  // every diagnostic (the circuit's rstdp-only keys add their own)
      for (const auto& dg : e.diagnostics) all += dg.format() + "\n";
      return all;
    }
    return std::string();
  };
  CHECK(message({}).empty());
  std::string m = message({"experiment.rule=nope"});
  CHECK(m.find("experiment.rule") != std::string::npos);
  CHECK(m.find("no rule 'nope'") != std::string::npos);
  // A plain stdp rule has no ltp_read key: the loader names it...
  m = message({"rules.da_stdp.type=stdp"});
  CHECK(m.find("'rules.da_stdp.ltp_read': unknown key") != std::string::npos);
  // ...and without it the experiment rejects the rule type.
  {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t at = text.find("ltp_read");
    REQUIRE(at != std::string::npos);
    text.erase(at, text.find('\n', at) - at);
    try {
      (void)app::distal_setup(load_circuit_string(text, "c.toml", {"rules.da_stdp.type=stdp"}));
      FAIL("accepted an stdp rule");
    } catch (const UserError& e) {
      CHECK(e.diagnostics.at(0).format().find("needs an rstdp or three_factor rule") !=
            std::string::npos);
    }
  }
  m = message({"blocks.inh.model=lif_cuba"});
  CHECK(!m.empty());
}

TEST_CASE("toml: the ready distal-reward circuit equals the direct C++ build (20 s)") {
  const std::string path =
      std::string(SBX_SOURCE_DIR) + "/circuits_toml/izhikevich_distal_reward.toml";
  const CircuitDescription d = load_circuit_file(path, {"run.duration=20000"});
  const app::DistalSetup s = app::distal_setup(d);
  auto sim = make_simulator(d);
  BuiltCircuit built = build(d, *sim);
  DistalRewardExperiment from_toml(s.cfg, *sim, built.population("exc"),
                                   static_cast<long>(built.population("inh")));
  const DistalRewardResult a = from_toml.run();

  DistalRewardConfig cfg;  // daspnet defaults, and the circuit's daspnet.m-faithful options
  cfg.rule.ltp_previous_tick = true;
  cfg.matlab_duplicates = true;
  cfg.duration = 20000.0;
  cfg.seed = d.meta.seed;
  DistalRewardExperiment direct(cfg);
  const DistalRewardResult b = direct.run();
  CHECK(a.spikes == b.spikes);
  CHECK(a.synaptic_events == b.synaptic_events);
  CHECK(a.n2 == b.n2);
  CHECK(a.mean_exc == b.mean_exc);
  CHECK(a.samples.back().c == b.samples.back().c);
}

TEST_CASE(
    "toml: the distal_reward run file records the chosen synapse's (w, c, d) and its modulator") {
  const std::string path =
      std::string(SBX_SOURCE_DIR) + "/circuits_toml/izhikevich_distal_reward.toml";
  const CircuitDescription d = load_circuit_file(path, {"run.duration=2000"});
  app::RunOptions opt;
  opt.out_path = "test_distal_reward_runfile.h5";
  opt.force = true;
  opt.quiet = true;
  const app::RunSummary s = app::run_distal(d, opt);
  CHECK(s.figures.at("rate_hz") > 0.5);
  H5::H5File f(opt.out_path, H5F_ACC_RDONLY);
  H5::DataSet ds = f.openDataSet("synapses/chosen");
  hsize_t n = 0;
  ds.getSpace().getSimpleExtentDims(&n);
  CHECK(n == 21);  // every 100 ms from 0 to 1.9 s, and at 2 s
  H5::Attribute a = ds.openAttribute("modulator");
  std::string mod;
  a.read(a.getStrType(), mod);
  CHECK(mod == "dopamine");
  struct Row {
    double time, w, c, d;
  };
  H5::CompType t(sizeof(Row));
  t.insertMember("time", HOFFSET(Row, time), H5::PredType::NATIVE_DOUBLE);
  t.insertMember("w", HOFFSET(Row, w), H5::PredType::NATIVE_DOUBLE);
  t.insertMember("c", HOFFSET(Row, c), H5::PredType::NATIVE_DOUBLE);
  t.insertMember("d", HOFFSET(Row, d), H5::PredType::NATIVE_DOUBLE);
  std::vector<Row> rows(n);
  ds.read(rows.data(), t);
  CHECK(rows.front().w == 0.0);
  CHECK(rows.back().time == 2000.0);
  CHECK(rows.back().d >= 0.002);
  CHECK(f.nameExists("weights/exc->exc"));
}

namespace {

// /weights/<edge>/{after_trial, time_ms, values} of a run file.
struct Snapshots {
  std::vector<int> index;
  std::vector<double> time_ms;
  std::vector<std::vector<double>> values;
};
Snapshots read_snapshots(const std::string& path, const std::string& edge) {
  H5::H5File f(path, H5F_ACC_RDONLY);
  H5::Group g = f.openGroup("weights/" + edge);
  Snapshots s;
  H5::DataSet a = g.openDataSet("after_trial"), t = g.openDataSet("time_ms"),
              v = g.openDataSet("values");
  hsize_t n = 0, dims[2] = {0, 0};
  a.getSpace().getSimpleExtentDims(&n);
  v.getSpace().getSimpleExtentDims(dims);
  REQUIRE(dims[0] == n);
  s.index.resize(n), s.time_ms.resize(n);
  a.read(s.index.data(), H5::PredType::NATIVE_INT);
  t.read(s.time_ms.data(), H5::PredType::NATIVE_DOUBLE);
  std::vector<double> all(dims[0] * dims[1]);
  v.read(all.data(), H5::PredType::NATIVE_DOUBLE);
  for (hsize_t r = 0; r < n; ++r)
    s.values.emplace_back(all.begin() + static_cast<long>(r * dims[1]),
                          all.begin() + static_cast<long>((r + 1) * dims[1]));
  return s;
}

}  // namespace

TEST_CASE("toml: spikeblox run snapshots the plastic edges' weights (initial, periodic, final)") {
  const std::vector<std::string> ov = {"run.duration=230", "output.weights_every=50",
                                       "output.spikes=\"none\""};
  const CircuitDescription d = load_circuit_string(kSmall, "test.toml", ov);
  app::RunOptions opt;
  opt.out_path = "test_plain_weight_snapshots.h5";
  opt.force = true;
  opt.quiet = true;
  (void)app::run_plain(d, opt);
  // The same circuit run directly: the last snapshot must be its weights brought up to date
  // (the three-factor rules keep virtual weights until sync_weights).
  auto sim = make_simulator(d);
  BuiltCircuit built = build(d, *sim);
  sim->run_until(run_ticks(d));
  for (const char* edge : {"src->net", "net->net", "net->out"}) {
    CAPTURE(edge);
    const Snapshots s = read_snapshots(opt.out_path, edge);
    CHECK(s.index == std::vector<int>{-1, 0, 1, 2, 3, 4});
    CHECK(s.time_ms == std::vector<double>{0, 50, 100, 150, 200, 230});
    SpikeProjection& p = sim->projection(built.edge(edge)->projections.at(0));
    const std::vector<double> initial(s.values.front().size(),
                                      edge == std::string("src->net") ? 0.5 : 1.0);
    CHECK(s.values.front() == initial);
    p.rule->sync_weights(p, sim->now());
    // Equal bit for bit: the periodic snapshots did not perturb the run.
    CHECK(s.values.back() == std::vector<double>(p.weight.begin(), p.weight.end()));
    if (edge != std::string("net->out"))  // R-STDP onto 5 cells: no weight moves in 230 ms
      CHECK(s.values.back() != s.values.front());
  }
}

TEST_CASE("toml: output.weights = \"none\" records no snapshots, weights_every needs them") {
  const CircuitDescription d =
      load_circuit_string(kSmall, "test.toml", {"run.duration=20", "output.weights=\"none\""});
  app::RunOptions opt;
  opt.out_path = "test_plain_weight_snapshots_none.h5";
  opt.force = true;
  opt.quiet = true;
  (void)app::run_plain(d, opt);
  H5::H5File f(opt.out_path, H5F_ACC_RDONLY);
  CHECK_FALSE(f.nameExists("weights"));
  CHECK(f.nameExists("edges/src->net"));
  const std::string m =
      first_message(kSmall, {"output.weights=\"none\"", "output.weights_every=10"});
  CHECK(m.find("output.weights_every") != std::string::npos);
  CHECK(m.find("weights_every needs weights = \"final\"") != std::string::npos);
  CHECK(first_message(kSmall, {"output.weights=\"all\""}).find("allowed") != std::string::npos);
}
