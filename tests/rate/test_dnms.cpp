// The DNMS task (envs/dnms.hpp), the dnms_rnn.toml circuit and the dnms experiment runner.
#include <H5Cpp.h>
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <vector>

#include "apps/run_dnms.hpp"
#include "circuits/build.hpp"
#include "circuits/loader.hpp"
#include "engine/io/run_file.hpp"
#include "envs/dnms.hpp"

using namespace sbx;

namespace {
const std::string kToml = std::string(SBX_SOURCE_DIR) + "/circuits_toml/dnms_rnn.toml";
}

TEST_CASE("dnms task: inputs, windows, targets and error as in Miconi's net.cpp") {
  DnmsTask task;
  double u[2];
  // Type 1 = AB: A during [1, 201), B during [400, 600).
  task.input(1, 0, u);
  CHECK((u[0] == 0.0 && u[1] == 0.0));
  task.input(1, 1, u);
  CHECK((u[0] == 1.0 && u[1] == 0.0));
  task.input(1, 200, u);
  CHECK((u[0] == 1.0 && u[1] == 0.0));
  task.input(1, 201, u);
  CHECK((u[0] == 0.0 && u[1] == 0.0));
  task.input(1, 400, u);
  CHECK((u[0] == 0.0 && u[1] == 1.0));
  task.input(1, 599, u);
  CHECK((u[0] == 0.0 && u[1] == 1.0));
  task.input(1, 600, u);
  CHECK((u[0] == 0.0 && u[1] == 0.0));
  task.input(2, 100, u);  // BA
  CHECK((u[0] == 0.0 && u[1] == 1.0));
  // Types cycle AA, AB, BA, BB; targets −0.98 for a match, +0.98 otherwise.
  CHECK(DnmsTask::type_of_trial(6) == 2);
  CHECK(task.target(0) == -0.98);
  CHECK(task.target(1) == 0.98);
  CHECK(task.target(2) == 0.98);
  CHECK(task.target(3) == -0.98);
  CHECK(!task.in_response(799));
  CHECK(task.in_response(800));
  CHECK(task.in_response(999));
  std::vector<double> r(200, 0.5);
  r[0] = -1.0;  // |−1 − 0.98| = 1.98, the others 0.48
  CHECK(task.error(1, r) == doctest::Approx((1.98 + 199 * 0.48) / 200).epsilon(1e-14));
  CHECK_THROWS_AS(task.error(1, std::vector<double>(10)), InternalError);
  DnmsParams bad;
  bad.stim2_start = 100;  // overlaps stimulus 1
  CHECK_THROWS_AS(DnmsTask{bad}, UserError);
}

TEST_CASE("dnms criterion: first trial with more than 95 of the last 100 errors below 1") {
  std::vector<double> e(300, 2.0);
  CHECK(dnms_criterion_trial(e) == -1);
  for (std::size_t k = 150; k < 300; ++k) e[k] = 0.5;
  // Window ending at t has good trials 150..t: > 95 first when t − 149 = 96.
  CHECK(dnms_criterion_trial(e) == 245);
  e[240] = 3.0;  // one bad trial inside delays it by one
  CHECK(dnms_criterion_trial(e) == 246);
}

TEST_CASE("dnms_input block cycles through trial types in a plain simulator run") {
  DnmsParams p;
  p.trial_steps = 10, p.stim1_start = 1, p.stim2_start = 5, p.stim_steps = 2, p.response_steps = 2;
  DnmsInputPopulation in(p);
  std::vector<std::uint32_t> spiked;
  std::vector<double> seq;
  for (int s = 0; s < 40; ++s) {
    seq.push_back(in.continuous_output()[0] - in.continuous_output()[1]);  // +1 A, −1 B
    in.step(StepContext{}, spiked);
  }
  const std::vector<double> want = {0, 1,  1,  0, 0, 1,  1,  0, 0, 0,   // AA
                                    0, 1,  1,  0, 0, -1, -1, 0, 0, 0,   // AB
                                    0, -1, -1, 0, 0, 1,  1,  0, 0, 0,   // BA
                                    0, -1, -1, 0, 0, -1, -1, 0, 0, 0};  // BB
  CHECK(seq == want);
}

TEST_CASE("dnms_rnn.toml: weights have Miconi's statistics, output unit gets no input") {
  const auto desc = circuits::load_circuit_file(kToml);
  const app::DnmsSetup s = app::dnms_setup(desc);
  CHECK(s.n == 200);
  CHECK(s.task.trial_steps == 1000);
  CHECK(s.rule.method == MiconiMethod::deltax);
  CHECK(s.rule.eta == 0.1);
  double sum = 0.0, sq = 0.0;
  for (double w : s.J) sum += w, sq += w * w;
  const double n2 = static_cast<double>(s.J.size());
  const double mean = sum / n2, sd = std::sqrt(sq / n2 - mean * mean);
  CHECK(std::abs(mean) < 3.0 * 0.106 / 200.0 + 1e-12);  // 40 000 draws: sd of the mean 5.3e-4
  CHECK(sd == doctest::Approx(1.5 / std::sqrt(200.0)).epsilon(0.02));
  CHECK((s.W_in[0] == 0.0 && s.W_in[1] == 0.0));
  double lo = 1, hi = -1;
  for (std::size_t k = 2; k < s.W_in.size(); ++k)
    lo = std::min(lo, s.W_in[k]), hi = std::max(hi, s.W_in[k]);
  CHECK((lo >= -1.0 && lo < -0.95 && hi <= 1.0 && hi > 0.95));
  CHECK(s.clamp == std::vector<std::uint32_t>{1, 10, 11});
  // The node-perturbation variant takes its own default learning rate.
  const auto np = circuits::load_circuit_file(kToml, {"rules.miconi.method=node_perturbation"});
  CHECK(app::dnms_setup(np).rule.eta == 0.001);
}

TEST_CASE("dnms: the dense kernel reproduces the generic simulator on the same TOML circuit") {
  // No perturbation (learn = false), no clamps, input onto every unit: both paths integrate the
  // same equations from the same x; they differ only in summation order.
  const auto desc = circuits::load_circuit_file(
      kToml, {"experiment.clamp_neurons=[]", "experiment.clamp_values=[]",
              "experiment.input_to_output=true"});
  app::DnmsSetup s = app::dnms_setup(desc);
  auto sim = circuits::make_simulator(desc);
  auto built = circuits::build(desc, *sim);
  Population& net = sim->population(built.population("net"));
  std::vector<double> x0(net.state("x"), net.state("x") + 200);
  app::DnmsNetwork dense(s);
  dense.set_x(x0);
  std::vector<double> xs;
  dense.run_trial(0, false, &xs, false);
  sim->start();
  double max_diff = 0.0;
  for (int step = 0; step < 1000; ++step) {
    sim->run_until(sim->now() + sim->dt());
    const double* x = net.state("x");
    for (int i = 0; i < 200; ++i)
      max_diff = std::max(max_diff, std::abs(x[i] - xs[static_cast<std::size_t>(step) * 200 + i]));
    if (step == 300) CHECK(max_diff < 1e-12);
  }
  CHECK(max_diff < 1e-9);  // the network is chaotic (G = 1.5): rounding differences grow slowly
}

TEST_CASE("dnms: bad experiment setups are reported with their position") {
  // The miconi rule outside a dnms experiment would silently do nothing: refused.
  const char* text = R"(
schema = "spikeblox/1"
connections = [
  { from = "net", to = "net", weight = 0.1, learning = "m" },
]
[blocks.net]
type = "population"
model = "rate"
n = 4
[rules.m]
type = "miconi"
)";
  try {
    const auto d = circuits::load_circuit_string(text, "plain.toml");
    auto sim = circuits::make_simulator(d);
    (void)circuits::build(d, *sim);
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("dnms experiment") != std::string::npos);
    CHECK(std::string(e.what()).find("plain.toml:4:") != std::string::npos);
  }
  // clamp lists of different lengths
  const auto d2 = circuits::load_circuit_file(kToml, {"experiment.clamp_values=[1.0]"});
  CHECK_THROWS_WITH_AS(app::dnms_setup(d2), doctest::Contains("clamp_values"), UserError);
  // an output unit outside the network
  const auto d3 = circuits::load_circuit_file(kToml, {"experiment.output_neuron=200"});
  CHECK_THROWS_WITH_AS(app::dnms_setup(d3), doctest::Contains("output_neuron"), UserError);
}

TEST_CASE("dnms: a short end-to-end run of dnms_rnn.toml through the runner") {
  const auto desc =
      circuits::load_circuit_file(kToml, {"experiment.n_trials=40", "rules.miconi.learn_after=10"});
  app::RunOptions opt;
  opt.out_path = (std::filesystem::temp_directory_path() / "sbx_test_dnms_e2e.h5").string();
  opt.force = true;
  opt.quiet = true;
  const app::RunSummary s = app::run_dnms(desc, opt);
  CHECK(s.figures.at("trials") == 40);
  CHECK(s.simulated_ms == 40000.0);
  CHECK(std::filesystem::file_size(opt.out_path) > 1000);
  {
    // /trials times are absolute, decision_time too (it was the in-trial 800 ms on every row,
    // while the category experiment writes start_time + t_decision).
    H5::H5File f(opt.out_path, H5F_ACC_RDONLY);
    const std::vector<TrialRow> rows = RunFile::read_trials(f.getId(), 40);
    REQUIRE(rows.size() == 40);
    for (const TrialRow& r : rows) {
      CHECK(r.start_time == doctest::Approx(1000.0 * r.trial));
      CHECK(r.decision_time == doctest::Approx(r.start_time + 800.0));
      CHECK(r.decision_time < r.stop_time);
    }
  }
  // The runner computed the same trials as a network built from the same setup (same streams).
  app::DnmsNetwork net(app::dnms_setup(desc));
  std::vector<double> err;
  for (std::uint64_t k = 0; k < 40; ++k) err.push_back(net.run_trial(k).error);
  const double last4 = std::accumulate(err.end() - 4, err.end(), 0.0) / 4;
  CHECK(s.figures.at("mean_error_last") == doctest::Approx(last4).epsilon(1e-12));
  std::filesystem::remove(opt.out_path);
}
