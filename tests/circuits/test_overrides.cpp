// --set overrides: applied to the TOML tree before validation.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

#include "circuit_test_util.hpp"
#include "circuits/loader.hpp"
#include "circuits/overrides.hpp"

using namespace sbx;
using namespace sbx::circuits;
using namespace sbx::circuits::test;

namespace {

const std::string kBase = R"(connections = [
  { from = "P", to = "E", weight = 1.0 },
]
[meta]
name = "base"
seed = 1
[blocks.P]
type = "poisson_source"
n = 4
rate = 10.0
[blocks.E]
type = "population"
model = "lif_exact"
n = 10
)";

}  // namespace

TEST_CASE("overrides change values before validation (numbers, strings, bare words, tables)") {
  const auto d = load_circuit_string(
      kBase, "test.toml",
      {"meta.seed=7", "blocks.E.n=20", "blocks.E.tau_m=5", "connections[0].weight=2.5",
       "output.spikes=none", "meta.name=my run", "meta.seed=8",
       "connections[0].delay={ dist = \"uniform\", low = 0.5, high = 1.0 }"});
  CHECK(d.meta.seed == 8);  // later overrides win
  CHECK(d.meta.name == "my run");
  CHECK(d.find_block("E")->n == 20);
  CHECK(d.find_block("E")->params.number("tau_m") == 5.0);
  REQUIRE(d.connections.size() == 1);
  CHECK(d.connections[0].weight.a == 2.5);
  REQUIRE(d.connections[0].delay.has_value());
  CHECK(d.connections[0].delay->kind == Distribution::Kind::uniform);
  CHECK(d.output.spikes == OutputDesc::Spikes::none);
  CHECK(d.output_path() == "runs/my run_8.h5");
  // The resolved configuration records the tree after the overrides.
  CHECK(contains(d.resolved_json, "\"seed\" : 8"));
  CHECK(contains(d.resolved_json, "\"spikes\" : \"none\""));
  CHECK(d.overrides.size() == 8);
}

TEST_CASE("an override creating a misspelled key is reported with its --set argument") {
  const auto d = only_diagnostic(kBase, {"blocks.E.tau_mm=3"});
  CHECK(d.file == "--set blocks.E.tau_mm=3");
  CHECK(d.line == 0);
  CHECK(d.key_path == "blocks.E.tau_mm");
  CHECK(contains(d.message, "unknown key 'tau_mm'"));
  CHECK(contains(d.message, "did you mean 'tau_m'?"));
  CHECK(d.format() == "--set blocks.E.tau_mm=3: error: 'blocks.E.tau_mm': " + d.message);
}

TEST_CASE("an override value of the wrong type is reported like a file value") {
  const auto d = only_diagnostic(kBase, {"meta.seed=abc"});
  CHECK(d.file == "--set meta.seed=abc");
  CHECK(d.key_path == "meta.seed");
  CHECK(d.message == "must be an integer, got string \"abc\"");
}

TEST_CASE("bad --set arguments: into a non-table, bad index, no '=', malformed path") {
  auto d = only_diagnostic(kBase, {"meta.seed.x=3"});
  CHECK(d.file == "--set meta.seed.x=3");
  CHECK(d.key_path == "meta.seed.x");
  CHECK(d.message == "cannot set 'meta.seed.x': 'meta.seed' is integer, not a table");

  d = only_diagnostic(kBase, {"connections[3].weight=1"});
  CHECK(
      d.message ==
      "cannot set 'connections[3].weight': index 3 is out of range ('connections' has 1 elements)");

  d = only_diagnostic(kBase, {"meta.seed"});
  CHECK(d.message == "expected --set dotted.key=value, got no '='");

  d = only_diagnostic(kBase, {"meta..seed=1"});
  CHECK(contains(d.message, "malformed key path 'meta..seed'"));

  d = only_diagnostic(kBase, {"meta.name[0]=x"});
  CHECK(d.message == "cannot set 'meta.name[0]': 'meta.name' is string, not an array");

  // All bad arguments and file errors come together.
  const auto ds = diagnostics_of(kBase, {"meta.seed.x=3", "blocks.E.n=-1", "run"});
  CHECK(ds.size() == 3);
}

TEST_CASE("new sections can be created by overrides") {
  const auto d = load_circuit_string(kBase, "test.toml", {"run.duration=250", "run.dt=0.05"});
  CHECK(d.run.duration == 250.0);
  CHECK(d.run.dt == 0.05);
}

TEST_CASE("resolved_config_json of a file applies the overrides") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "sbx_circuits_test_resolved.toml").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    std::fputs(kBase.c_str(), f);
    std::fclose(f);
  }
  const std::string json = resolved_config_json(path, {"meta.seed=99"});
  CHECK(contains(json, "\"seed\" : 99"));
  CHECK(contains(json, "\"model\" : \"lif_exact\""));
  const auto d = load_circuit_file(path, {"blocks.P.rate=3.5"});
  CHECK(d.file == path);
  CHECK(d.find_block("P")->params.number("rate") == 3.5);
  CHECK(d.toml_text == kBase);
  std::remove(path.c_str());
  CHECK_THROWS_AS(load_circuit_file("/nonexistent/circuit.toml"), UserError);
}
