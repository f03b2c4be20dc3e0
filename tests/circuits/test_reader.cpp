// Validation diagnostics of the TOML loader: each error class at the right file:line:column, with
// the dotted key path and a message naming the rule broken and what is allowed.
#include <doctest/doctest.h>

#include "circuit_test_util.hpp"
#include "circuits/loader.hpp"
#include "circuits/toml_reader.hpp"

using namespace sbx;
using namespace sbx::circuits;
using namespace sbx::circuits::test;

TEST_CASE("a valid minimal circuit loads with defaults filled in") {
  const auto d = load_circuit_string(R"(schema = "spikeblox/1"
[blocks.E]
type = "population"
model = "lif_exact"
n = 10
tau_m = 12.5
)",
                                     "test.toml");
  CHECK(d.meta.name == "circuit");
  CHECK(d.meta.seed == 1);
  CHECK(d.run.duration == 1000.0);
  CHECK(d.run.dt == 0.1);
  CHECK(d.run.tick == 0.001);
  REQUIRE(d.blocks.size() == 1);
  CHECK(d.blocks[0].n == 10);
  CHECK(d.blocks[0].model == "lif_exact");
  CHECK(d.blocks[0].params.number("tau_m") == 12.5);
  CHECK(d.blocks[0].params.number("C_m") == 250.0);  // LifExactParams default
  CHECK(d.experiment.type == "run");
  CHECK(d.output.spikes == OutputDesc::Spikes::all);
  CHECK(d.output_path() == "runs/circuit_1.h5");
}

TEST_CASE("unknown key: reported at the key, with the allowed keys and a suggestion") {
  const auto d = only_diagnostic(R"([blocks.E]
type = "population"
model = "lif_exact"
n = 10
tau_mm = 12.0
)");
  CHECK(d.file == "test.toml");
  CHECK(d.line == 5);
  CHECK(d.column == 1);
  CHECK(d.key_path == "blocks.E.tau_mm");
  CHECK(contains(d.message, "unknown key 'tau_mm'"));
  CHECK(contains(d.message, "allowed: "));
  CHECK(contains(d.message, "C_m"));
  CHECK(contains(d.message, "did you mean 'tau_m'?"));
  CHECK(d.format() == "test.toml:5:1: error: 'blocks.E.tau_mm': " + d.message);
}

TEST_CASE("wrong type: reported at the value") {
  const auto d = only_diagnostic(R"([blocks.E]
type = "population"
model = "lif_exact"
n = "ten"
)");
  CHECK(d.line == 4);
  CHECK(d.column == 5);
  CHECK(d.key_path == "blocks.E.n");
  CHECK(d.message == "must be an integer, got string \"ten\"");
}

TEST_CASE("out-of-range value: reported at the value with the allowed range and unit") {
  const auto d = only_diagnostic(R"([blocks.E]
type = "population"
model = "lif_exact"
n = 10
tau_m = -1.5
)");
  CHECK(d.line == 5);
  CHECK(d.column == 9);
  CHECK(d.key_path == "blocks.E.tau_m");
  CHECK(d.message == "value -1.5 ms is out of range: must be > 0 ms");
}

TEST_CASE("missing required key: reported at the table that lacks it") {
  const auto d = only_diagnostic(R"(schema = "spikeblox/1"

[blocks.E]
type = "population"
model = "lif_exact"
)");
  CHECK(d.line == 3);
  CHECK(d.column == 1);
  CHECK(d.key_path == "blocks.E.n");
  CHECK(contains(d.message, "missing required key 'n' in [blocks.E]"));
  CHECK(contains(d.message, "number of neurons"));
}

TEST_CASE("undefined block in a connection: reported at the from/to value, listing blocks") {
  const auto d = only_diagnostic(R"(connections = [
  { from = "E", to = "Ex" },
]
[blocks.E]
type = "population"
model = "lif_exact"
n = 10
[blocks.I]
type = "population"
model = "lif_exact"
n = 5
)");
  CHECK(d.line == 2);
  CHECK(d.column == 22);
  CHECK(d.key_path == "connections[0].to");
  CHECK(d.message == "undefined block 'Ex' (defined blocks: E, I; did you mean 'E'?)");
}

TEST_CASE("root-key trap: a root key after a [table] header is reported with a hint") {
  const auto d = only_diagnostic(R"(schema = "spikeblox/1"
[blocks.E]
type = "population"
model = "lif_exact"
n = 10
[meta]
seed = 3
connections = [ { from = "E", to = "E" } ]
)");
  CHECK(d.line == 8);
  CHECK(d.column == 1);
  CHECK(d.key_path == "meta.connections");
  CHECK(contains(d.message, "unknown key 'connections' (allowed: description, name, seed)"));
  CHECK(contains(d.message, "root-level keys must precede the first [table] header"));
  CHECK(contains(d.message, "written after [meta], 'connections' became 'meta.connections'"));
}

TEST_CASE("root-key trap after [blocks]: the misplaced key is not a block") {
  const auto d = only_diagnostic(R"([blocks]
E = { type = "population", model = "lif_exact", n = 3 }
connections = [ { from = "E", to = "E" } ]
)");
  CHECK(d.line == 3);
  CHECK(d.key_path == "blocks.connections");
  CHECK(contains(d.message, "root-level keys must precede the first [table] header"));
}

TEST_CASE("several errors are collected into one throw, sorted by position") {
  const auto ds = diagnostics_of(R"(connections = [
  { from = "E", to = "Q", rule = "bernouli", weight = "heavy" },
]
[meta]
seed = -4
[run]
dt = 0.1
tik = 0.001
[blocks.E]
type = "population"
model = "lif_exakt"
n = 0
)");
  REQUIRE(ds.size() == 6);
  // weight and rule of connections[0] (line 2), seed (5), tik (8), model (11), n (12).
  CHECK(ds[0].key_path == "connections[0].rule");
  CHECK(contains(ds[0].message, "did you mean 'bernoulli'?"));
  CHECK(ds[1].key_path == "connections[0].weight");
  CHECK(ds[2].key_path == "meta.seed");
  CHECK(ds[3].key_path == "run.tik");
  CHECK(contains(ds[3].message, "did you mean 'tick'?"));
  CHECK(ds[4].key_path == "blocks.E.model");
  CHECK(contains(ds[4].message, "'lif_exakt' is not allowed (allowed: "));
  CHECK(contains(ds[4].message, "did you mean 'lif_exact'?"));
  CHECK(ds[5].key_path == "blocks.E.n");
  for (std::size_t i = 1; i < ds.size(); ++i)
    CHECK((ds[i - 1].line < ds[i].line ||
           (ds[i - 1].line == ds[i].line && ds[i - 1].column < ds[i].column)));
  // The exception text has one line per diagnostic.
  try {
    load_circuit_string(R"([meta]
seed = -4
nme = "x"
)",
                        "x.toml");
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) ==
          "x.toml:1:1: error: 'blocks': missing required key 'blocks' at the top level (table)\n"
          "x.toml:2:8: error: 'meta.seed': value -4 is out of range: must be >= 0\n"
          "x.toml:3:1: error: 'meta.nme': unknown key 'nme' (allowed: description, name, seed; "
          "did you mean 'name'?)");
  }
}

TEST_CASE("TOML syntax errors become one diagnostic with the parser's position") {
  const auto d = only_diagnostic("[blocks.E]\ntype = \"population\nn = 3\n");
  CHECK(d.line == 2);
  CHECK(d.column > 1);
  CHECK(contains(d.message, "TOML syntax error"));
}

TEST_CASE("schema version other than spikeblox/1 is an error") {
  const auto d = only_diagnostic(R"(schema = "snn-circuit/1"
[blocks.E]
type = "poisson_source"
rate = 5.0
)");
  CHECK(d.line == 1);
  CHECK(d.column == 10);
  CHECK(d.key_path == "schema");
  CHECK(d.message == "'snn-circuit/1' is not allowed (allowed: spikeblox/1)");
}

TEST_CASE("unknown block type lists the registered types") {
  const auto d = only_diagnostic(R"([blocks.S]
type = "poison_source"
rate = 5.0
)");
  CHECK(d.key_path == "blocks.S.type");
  CHECK(contains(d.message, "allowed: "));
  CHECK(contains(d.message, "current_source, "));
  CHECK(contains(d.message, "poisson_source, population"));
  CHECK(contains(d.message, "did you mean 'poisson_source'?"));
}

TEST_CASE("connection-rule keys: required by the rule, rejected when unused") {
  const auto ds = diagnostics_of(R"(connections = [
  { from = "P", to = "E", rule = "bernoulli" },
  { from = "P", to = "E", density = 0.5 },
  { from = "P", to = "E", rule = "fixed_indegree", indegree = 4 },
]
[blocks.P]
type = "poisson_source"
n = 3
rate = 5.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 10
)");
  REQUIRE(ds.size() == 3);
  CHECK(ds[0].key_path == "connections[0].density");
  CHECK(ds[0].line == 2);
  CHECK(ds[0].column == 3);  // the entry's table
  CHECK(contains(ds[0].message, "rule 'bernoulli' needs it"));
  CHECK(ds[1].key_path == "connections[1].density");
  CHECK(
      ds[1].message ==
      "'density' is not used by rule 'all_to_all' (rules that use it: bernoulli, hypergeometric)");
  CHECK(ds[2].key_path == "connections[2].indegree");
  CHECK(contains(ds[2].message, "indegree 4 exceeds the 3 available neurons of 'P'"));
}

TEST_CASE(
    "delays: scalars must be on the tick grid and 0 or >= one tick, distributions are checked") {
  const std::string head = R"([blocks.P]
type = "poisson_source"
rate = 5.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 2
[[connections]]
from = "P"
to = "E"
)";
  auto d = only_diagnostic(head + "delay = 0.0005\n");
  CHECK(d.line == 11);
  CHECK(d.column == 9);
  CHECK(d.key_path == "connections[0].delay");
  CHECK(contains(d.message, "not a multiple of the tick (0.001 ms)"));

  d = only_diagnostic(head + "delay = { dist = \"uniform\", low = -1.0, high = 1.0 }\n");
  CHECK(d.key_path == "connections[0].delay.low");
  CHECK(contains(d.message, "must be >= 0 ms"));

  d = only_diagnostic(head + "delay = { dist = \"uniform\", low = 0.0, high = 1.0 }\n");
  CHECK(d.key_path == "connections[0].delay");
  CHECK(contains(d.message, "must be >= one tick"));

  // A scalar 0 is Brian2's "no delay" (engine semantics tested in tests/engine).
  const auto zero = load_circuit_string(head + "delay = 0.0\n", "t.toml");
  REQUIRE(zero.connections.at(0).delay.has_value());
  CHECK(zero.connections[0].delay->a == 0.0);

  d = only_diagnostic(head + "delay = { dist = \"uniform\", low = 1.0 }\n");
  CHECK(d.key_path == "connections[0].delay.high");
  CHECK(contains(d.message, "missing required key 'high'"));

  const auto ok = load_circuit_string(
      head + "delay = { dist = \"uniform\", low = 0.5, high = 1.5 }\n", "t.toml");
  REQUIRE(ok.connections.size() == 1);
  REQUIRE(ok.connections[0].delay.has_value());
  CHECK(ok.connections[0].delay->kind == Distribution::Kind::uniform);
  CHECK(ok.connections[0].delay->b == 1.5);
}

TEST_CASE("impossible (source kind, target kind) pair names both kinds and the allowed targets") {
  const auto d = only_diagnostic(R"(connections = [{ from = "E", to = "P" }]
[blocks.P]
type = "poisson_source"
rate = 5.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 2
)");
  CHECK(d.line == 1);
  CHECK(d.column == 35);
  CHECK(d.key_path == "connections[0].to");
  CHECK(d.message ==
        "cannot connect 'E' (kind population) to 'P' (kind poisson_source): a population block "
        "can connect to kinds: population");
}

TEST_CASE("t_event is rejected on edge kinds that do not accept it") {
  const auto d = only_diagnostic(R"(connections = [{ from = "P", to = "E", t_event = 90.0 }]
[blocks.P]
type = "poisson_source"
rate = 5.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 2
)");
  CHECK(d.key_path == "connections[0].t_event");
  CHECK(d.column == 50);
  CHECK(contains(d.message, "'t_event' is not used by a spike edge"));
}

TEST_CASE("one_to_one needs equal sizes") {
  const auto d = only_diagnostic(R"(connections = [{ from = "P", to = "E", rule = "one_to_one" }]
[blocks.P]
type = "poisson_source"
n = 3
rate = 5.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 2
)");
  CHECK(d.key_path == "connections[0].rule");
  CHECK(contains(d.message, "needs blocks of equal size, got 'P' (n = 3) -> 'E' (n = 2)"));
}

TEST_CASE("from/to lists expand into the Cartesian product, names stay unique") {
  const auto c = load_circuit_string(R"(connections = [
  { from = ["A", "B"], to = ["C", "D", "E"], weight = 2.0 },
  { from = "A", to = "C", receptor = "inh", weight = -1.0 },
]
[blocks]
A = { type = "poisson_source", rate = 1.0 }
B = { type = "poisson_source", rate = 1.0 }
C = { type = "population", model = "lif_exact", n = 1 }
D = { type = "population", model = "lif_exact", n = 1 }
E = { type = "population", model = "lif_exact", n = 1 }
)",
                                     "t.toml");
  REQUIRE(c.connections.size() == 7);
  CHECK(c.connections[0].name == "A->C");
  CHECK(c.connections[2].name == "A->E");
  CHECK(c.connections[3].name == "B->C");
  CHECK(c.connections[5].name == "B->E");
  CHECK(c.connections[6].name == "A->C#2");
  CHECK(c.connections[6].receptor == 1);
  CHECK(c.connections[0].weight.a == 2.0);
  CHECK(c.connections[5].to_pos.line == 2);
  CHECK(c.connections[5].to_pos.column == 40);  // "E" in the to-list
}

TEST_CASE("learning rules: types validated against an extensible registry") {
  // Without registered learning-rule types every [rules] entry is an error.
  Registry bare = make_builtin_registry();
  bare.learning_rules.clear();
  std::vector<Diagnostic> d0;
  try {
    load_circuit_string(R"([blocks.S]
type = "poisson_source"
rate = 1.0
[rules.hebb]
type = "hebbian"
)",
                        "test.toml", {}, bare);
  } catch (const UserError& e) {
    d0 = e.diagnostics;
  }
  REQUIRE(d0.size() == 1);
  CHECK(d0[0].key_path == "rules.hebb.type");
  CHECK(contains(d0[0].message, "no learning-rule types are registered"));

  // A registry extended with a rule type: named rules, inline overrides, inline rules (the
  // built-in rule types are removed so that the test's "hebbian" is the only one).
  Registry reg = make_builtin_registry();
  reg.learning_rules.clear();
  reg.add(LearningRuleSpec{
      "hebbian",
      "test rule",
      {num("K", "", 5e-4, positive(), "rate"), num("W_lim", "", 7.0, positive(), "bound")},
      nullptr});
  const std::string text = R"(connections = [
  { from = "P", to = "E", learning = "hebb" },
  { from = "P", to = "E", learning = { rule = "hebb", K = 0.1 } },
  { from = "P", to = "E", learning = { type = "hebbian", W_lim = 3.0 } },
]
[blocks.P]
type = "poisson_source"
rate = 1.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 2
[rules.hebb]
type = "hebbian"
K = 0.01
)";
  const auto c = load_circuit_string(text, "t.toml", {}, reg);
  REQUIRE(c.connections.size() == 3);
  CHECK(c.connections[0].learning->rule == "hebb");
  CHECK(c.connections[0].learning->params.number("K") == 0.01);
  CHECK(c.connections[1].learning->params.number("K") == 0.1);
  CHECK(c.connections[1].learning->params.number("W_lim") == 7.0);
  CHECK(c.connections[2].learning->inline_rule);
  CHECK(c.connections[2].learning->rule == "P->E#3.learning");
  CHECK(c.connections[2].learning->params.number("W_lim") == 3.0);
  CHECK(c.connections[2].learning->params.number("K") == 5e-4);

  // Misspelled rule name and override key.
  std::vector<Diagnostic> ds;  // (with `reg`, whose only rule type is the test's "hebbian")
  try {
    load_circuit_string(R"(connections = [
  { from = "P", to = "E", learning = "heb" },
  { from = "P", to = "E", learning = { rule = "hebb", k = 0.1 } },
]
[blocks.P]
type = "poisson_source"
rate = 1.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 2
[rules.hebb]
type = "hebbian"
)",
                        "t.toml", {}, reg);
  } catch (const UserError& e) {
    ds = e.diagnostics;
  }
  REQUIRE(ds.size() == 2);
  CHECK(ds[0].key_path == "connections[0].learning");
  CHECK(ds[0].message ==
        "undefined learning rule 'heb' (defined in [rules]: hebb; did you mean 'hebb'?)");
  CHECK(ds[1].key_path == "connections[1].learning.k");
  CHECK(contains(ds[1].message, "did you mean 'K'?"));
}

TEST_CASE("output: spikes lists and traces are cross-checked against the blocks") {
  const auto ds = diagnostics_of(R"([blocks.E]
type = "population"
model = "lif_exact"
n = 4
[output]
spikes = ["E", "F"]
traces = [
  { block = "E", variable = "v", n = 2 },
  { block = "E", variable = "V", neurons = [0, 7] },
  { block = "E", variable = "V", dt = 0.15 },
]
)");
  REQUIRE(ds.size() == 4);
  CHECK(ds[0].key_path == "output.spikes[1]");
  CHECK(ds[0].column == 16);
  CHECK(contains(ds[0].message, "undefined block 'F'"));
  CHECK(ds[1].key_path == "output.traces[0].variable");
  CHECK(contains(ds[1].message,
                 "has no variable 'v' (recordable: V, I_e, I_i, I_bias; did you mean 'V'?)"));
  CHECK(ds[2].key_path == "output.traces[1].neurons[1]");
  CHECK(contains(ds[2].message, "neuron 7 is out of range: block 'E' has 4 neurons"));
  CHECK(ds[3].key_path == "output.traces[2].dt");
  CHECK(contains(ds[3].message, "must be a multiple of [run].dt"));
}

TEST_CASE("model cross-parameter checks run at load time") {
  const auto d = only_diagnostic(R"([blocks.E]
type = "population"
model = "lif_cuba"
n = 4
V_reset = -40.0
)");
  CHECK(d.line == 1);
  CHECK(d.key_path == "blocks.E");
  CHECK(contains(d.message, "invalid parameters of model 'lif_cuba': V_reset must be < V_th"));
}

TEST_CASE("edit distance and suggestions") {
  CHECK(edit_distance("tau_m", "tau_m") == 0);
  CHECK(edit_distance("tau_mm", "tau_m") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(closest_match("dencity", {"density", "indegree", "delay"}) == "density");
  CHECK(closest_match("xyz", {"density", "indegree", "delay"}).empty());
}
