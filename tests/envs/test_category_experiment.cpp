// The corticostriatal category-learning experiment (envs/category_experiment.hpp): structure of
// the tutorial circuit (§5.1, §2.3), the within-trial timeline (§4.3), the decision / dopamine
// closed forms (§4.3) and the learning updates (§3), all checked against numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/errors.hpp"
#include "engine/rng.hpp"
#include "envs/category_experiment.hpp"
#include "envs/image_stimulus.hpp"
#include "models/trial_rules.hpp"

using namespace sbx;

namespace {

// A stand-in for the ascending neural mass: R(t) = mean + amp·sin(2π·f·t), the tutorial's 16 Hz
// drive scaled so that 44·R spans ≈ 0.37–1.37 μA/cm² (§1.6). Clocked, one output.
class SineDrive final : public Population {
 public:
  std::string_view model() const override { return "sine_drive"; }
  std::uint32_t size() const override { return 1; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  void step(const StepContext& ctx, std::vector<std::uint32_t>&) override {
    t_ += ctx.dt_ms;
    update();
  }
  const double* continuous_output() const override { return &out_; }
  double* state(std::string_view name) override {
    if (name == "t") return &t_;
    if (name == "R_E") return &out_;
    return nullptr;
  }
  std::vector<std::string> state_names() const override { return {"t", "R_E"}; }
  void save_state(std::vector<double>& o) const override { o = {t_, out_}; }
  void load_state(std::span<const double> in) override {
    t_ = in[0];
    out_ = in[1];
  }

 private:
  void update() { out_ = (0.87 + 0.5 * std::sin(2.0 * 3.141592653589793 * 0.016 * t_)) / 44.0; }
  double t_ = 0.0, out_ = 0.87 / 44.0;
};

CategoryExperimentSpec short_spec(std::uint64_t seed = 1) {
  CategoryExperimentSpec s;
  s.seed = seed;
  s.t_stimulus = 400.0;  // shorter trials keep the test fast; the timeline is the tutorial's
  s.t_warmup = 200.0;
  return s;
}

// Input images: the built-in dot patterns in the real set's shape (20 pixels, 2 categories), so
// that these tests run everywhere (they check structure, timing and closed forms, not the data;
// with the real set they were skipped on a checkout without ../shared/data).
ClassificationEnvironment stimuli_env(std::size_t n_trials) {
  Rng rng = Rng::stream(11, "test/dot_patterns");
  return ClassificationEnvironment(generate_dot_patterns(DotPatternSpec{}, rng), n_trials);
}

}  // namespace

TEST_CASE("experiment structure: tutorial cell counts and internal wiring (spec 5.1)") {
  CategoryExperiment ex(short_spec(), stimuli_env(4));
  Simulator& sim = ex.simulator();
  const auto& L = ex.layout();
  CHECK(sim.population(L.vac.population).size() == 25);  // 20 exci + 4 WTA inh + ff
  CHECK(sim.population(L.ac.population).size() == 13);   // 10 + 2 + 1
  CHECK(sim.population(L.striatum_population[0]).size() == 5);
  CHECK(sim.population(L.striatum_population[1]).size() == 5);
  CHECK(L.ascending_population == 0);
  CHECK(sim.population(0).model() == "ngnmm_theta");  // tutorial 16 Hz setting by default
  CHECK(sim.population_name(L.vac.population) == "VAC");
  // VAC internal: 4×(5+5) WTA synapses + 20 ff synapses fixed, plus Bernoulli(0.05) among
  // 12 ordered WTA pairs × 25 = 300 candidates.
  const ContinuousProjection& vi = sim.continuous(L.vac.internal_coupling);
  const std::size_t random_vac = vi.n_synapses() - 60;
  MESSAGE("VAC random WTA->WTA synapses: " << random_vac << " (expected ~15 of 300)");
  CHECK(random_vac <= 40);
  std::size_t fixed_ff = 0;
  for (std::size_t k = 0; k < vi.n_synapses(); ++k) {
    if (vi.pre[k] == L.vac.ff_inh()) {
      ++fixed_ff;
      CHECK(vi.post[k] < 20);
      CHECK(vi.weight[k] == 1.0);
    }
    if (vi.pre[k] < 20 && vi.post[k] < 20) {  // exci → exci only across different WTAs
      CHECK(vi.pre[k] / 5 != vi.post[k] / 5);
      CHECK(vi.weight[k] == 1.0);
    }
  }
  CHECK(fixed_ff == 20);
  CHECK(sim.continuous(L.ac.internal_coupling).n_synapses() >= 30);
  // Ascending drive: one current synapse to each block's ff_inh, weight 44.
  REQUIRE(L.ascending_couplings.size() == 2);
  for (auto id : L.ascending_couplings) {
    const ContinuousProjection& c = sim.continuous(id);
    REQUIRE(c.n_synapses() == 1);
    CHECK(c.kind == CouplingKind::current);
    CHECK(c.weight[0] == 44.0);
  }
  CHECK(sim.continuous(L.ascending_couplings[0]).post[0] == 24);
  CHECK(sim.continuous(L.ascending_couplings[1]).post[0] == 12);
  // Pixel map: VAC exci k ↔ pixel k (20 cells, 20 pixels).
  for (std::uint32_t k = 0; k < 20; ++k) CHECK(L.pixel_of_vac_exci[k] == k);
}

TEST_CASE("experiment structure: hypergeometric VAC->AC and AC->MSN, shared AC->STR weights") {
  CategoryExperiment ex(short_spec(3), stimuli_env(4));
  Simulator& sim = ex.simulator();
  const auto& L = ex.layout();
  // VAC(20)→AC(10), d 0.1: each AC cell 2 distinct VAC inputs, each VAC cell exactly 1 output.
  const ContinuousProjection& va = sim.continuous(L.vac_ac_coupling);
  CHECK(va.n_synapses() == 20);
  std::map<std::uint32_t, std::set<std::uint32_t>> in;
  std::map<std::uint32_t, int> out;
  for (std::size_t k = 0; k < va.n_synapses(); ++k) {
    in[va.post[k]].insert(va.pre[k]);
    ++out[va.pre[k]];
    CHECK(va.weight[k] == 3.0);
    CHECK(va.pre[k] < 20);
    CHECK(va.post[k] < 10);
  }
  CHECK(in.size() == 10);
  for (auto& [post, pres] : in) CHECK(pres.size() == 2);
  CHECK(out.size() == 20);
  for (auto& [pre, n] : out) CHECK(n == 1);
  // AC(10)→MSN(5), d 0.04: each MSN one distinct AC cell; w_i = 2·0.075·U(0,1) shared.
  auto pw = ex.plastic_weights();
  REQUIRE(pw.size() == 7);
  CHECK(pw[0].name == "VAC->AC");
  CHECK(pw[1].name == "AC->STR1.msn");
  CHECK(pw[2].name == "AC->STR1.matrisome");
  CHECK(pw[3].name == "AC->STR1.striosome");
  for (std::size_t s = 0; s < 2; ++s) {
    const auto& msn = pw[1 + 3 * s];
    const auto& mat = pw[2 + 3 * s];
    const auto& stri = pw[3 + 3 * s];
    CHECK(msn.weight.size() == 5);
    std::set<std::uint32_t> srcs, posts;
    for (std::size_t k = 0; k < msn.weight.size(); ++k) {
      srcs.insert(msn.pre[k]);
      posts.insert(msn.post[k]);
      CHECK(msn.weight[k] == mat.weight[msn.pre[k]]);
    }
    CHECK(srcs.size() == 5);
    CHECK(posts.size() == 5);
    REQUIRE(mat.weight.size() == 10);
    double mean = 0.0;
    for (std::size_t i = 0; i < 10; ++i) {
      CHECK(mat.weight[i] == stri.weight[i]);
      CHECK(mat.weight[i] >= 0.0);
      CHECK(mat.weight[i] < 0.15);
      mean += mat.weight[i] / 10.0;
    }
    CHECK(mean > 0.02);
    CHECK(mean < 0.13);
  }
  // The two striata draw different weights.
  CHECK(std::vector<double>(pw[2].weight.begin(), pw[2].weight.end()) !=
        std::vector<double>(pw[5].weight.begin(), pw[5].weight.end()));
}

TEST_CASE("experiment timeline: warm-up and trial events in the order of spec 4.3") {
  auto spec = short_spec();
  spec.make_ascending = [] { return std::make_unique<SineDrive>(); };  // any clocked drive
  CategoryExperiment ex(spec, stimuli_env(1));
  CHECK(ex.simulator().population(0).model() == "sine_drive");
  std::vector<ExperimentEventRecord> log;
  ex.set_event_log(&log);
  const CategoryTrialRow row = ex.run_trial();
  std::vector<std::pair<double, std::string>> got;
  for (auto& r : log) got.emplace_back(r.t_ms, to_string(r.event));
  using E = std::pair<double, std::string>;
  const std::vector<E> expected = {
      // warm-up [0, 200)
      {0.1, "competition_reset"},
      {90, "latch"},
      {90, "tan_draw"},
      {90, "snc_snapshot"},
      {90, "reset_windows"},
      {180, "latch"},
      {180, "matrisome_snapshot"},
      {180, "gate_matrisomes"},
      {180, "gate_striosomes"},
      {180, "reset_windows"},
      // trial 0 [200, 600): stimulus off at 400 ms = the trial end is not part of the trial
      {200.1, "competition_reset"},
      {290, "latch"},
      {290, "tan_draw"},
      {290, "snc_snapshot"},
      {290, "reset_windows"},
      {380, "latch"},
      {380, "matrisome_snapshot"},
      {380, "gate_matrisomes"},
      {380, "gate_striosomes"},
      {380, "reset_windows"},
      {470, "latch"},
      {470, "reset_windows"},
      {560, "latch"},
      {560, "reset_windows"},
  };
  REQUIRE(got.size() == expected.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    INFO("event " << k);
    CHECK(got[k].first == doctest::Approx(expected[k].first).epsilon(1e-12));
    CHECK(got[k].second == expected[k].second);
  }
  CHECK(row.start_time == 200.0);
  CHECK(row.stop_time == 600.0);
  CHECK(row.decision_time == 380.0);
}

TEST_CASE("experiment: stimulus off at t_stimulus < t_trial zeroes the VAC input") {
  auto spec = short_spec();
  spec.t_stimulus = 300.0;
  spec.t_pause = 100.0;
  CategoryExperiment ex(spec, stimuli_env(1));
  std::vector<ExperimentEventRecord> log;
  ex.set_event_log(&log);
  ex.run_trial();
  const auto it = std::find_if(log.begin(), log.end(),
                               [](auto& r) { return r.event == ExperimentEvent::stimulus_off; });
  REQUIRE(it != log.end());
  CHECK(it->t_ms == doctest::Approx(500.0));  // 200 + 300
  const double* iin = ex.simulator().population(ex.layout().vac.population).state("I_in");
  for (int k = 0; k < 20; ++k) CHECK(iin[k] == 0.0);
}

TEST_CASE("experiment: decision, TAN rate, dopamine and RPE follow the closed forms of 4.3") {
  CategoryExperiment ex(short_spec(5), stimuli_env(6));
  const auto& env = ex.environment();
  int n_rows = 0;
  ex.run([&](const CategoryTrialRow& row) {
    ++n_rows;
    INFO("trial " << row.trial);
    CHECK(row.stimulus == row.trial);  // sequential order
    CHECK(row.category == env.images().category[row.stimulus]);
    const double S = row.striosome_block1[0] + row.striosome_block1[1];
    CHECK(S > 0.0);  // AC cells spiked in block 1
    for (int s = 0; s < 2; ++s) {
      CHECK(row.tan_rate[s] == doctest::Approx(std::min(10.0, 10.0 / (S + kSqrtEps1))));
      CHECK(row.tan_spikes[s] == std::floor(row.tan_spikes[s]));
      CHECK(row.tan_spikes[s] >= 0.0);
    }
    CHECK(row.snc_dopamine == doctest::Approx(std::min(1.0, 1.0 / (0.33 * S + kSqrtEps1))));
    const int expected_action = row.matrisome_drive[1] > row.matrisome_drive[0] ? 2 : 1;
    CHECK(row.action == expected_action);
    CHECK(row.correct == (row.action == row.category));
    CHECK(row.reward == (row.correct ? 1.0 : 0.0));
    CHECK(row.rpe == doctest::Approx(row.reward - (1.0 - row.snc_dopamine)));
    CHECK(row.dopamine == doctest::Approx(row.reward + row.snc_dopamine));
    // The loser of the competition is gated, its MSNs hyperpolarised by −2.
    if (row.matrisome_drive[0] != row.matrisome_drive[1]) {
      const std::size_t loser = row.action == 1 ? 1 : 0;
      CHECK(ex.striatum(loser).matrisome.H == 0.0);
      CHECK(ex.striatum(loser).striosome.H == 0.0);
      CHECK(ex.striatum(1 - loser).matrisome.H == 1.0);
      const double* ibg =
          ex.simulator().population(ex.layout().striatum_population[loser]).state("I_bg");
      for (int k = 0; k < 5; ++k) CHECK(ibg[k] == -2.0);
    }
  });
  CHECK(n_rows == 6);
}

TEST_CASE("experiment: learning updates equal the rule closed forms (spec 3)") {
  CategoryExperiment ex(short_spec(7), stimuli_env(4));
  Simulator& sim = ex.simulator();
  const auto& L = ex.layout();
  const HebbianRule hebb{5e-4, 7.0};
  const HebbianDopamineRule da{0.06, 0.01, 2.5, 1.0};
  for (int t = 0; t < 4; ++t) {
    std::vector<std::vector<double>> before;
    for (auto& p : ex.plastic_weights()) before.emplace_back(p.weight.begin(), p.weight.end());
    const CategoryTrialRow row = ex.run_trial();
    INFO("trial " << t << " action " << row.action << " reward " << row.reward);
    const double* cum_vac = sim.population(L.vac.population).state("C_cum");
    const double* cum_ac = sim.population(L.ac.population).state("C_cum");
    auto after = ex.plastic_weights();
    // VAC → AC: Hebbian, only on rewarded trials.
    for (std::size_t k = 0; k < after[0].weight.size(); ++k) {
      const double w0 = before[0][k];
      const double expect =
          w0 + hebb.delta(w0, cum_vac[after[0].pre[k]], cum_ac[after[0].post[k]], row.reward);
      CHECK(after[0].weight[k] == doctest::Approx(expect).epsilon(1e-12));
      if (row.reward == 0.0) CHECK(after[0].weight[k] == w0);
    }
    // AC → STR: dopamine rule with post = matrisome H (winner 1, loser 0 → pure decay).
    for (std::size_t s = 0; s < 2; ++s) {
      const double H = ex.striatum(s).matrisome.H;
      for (std::size_t j = 1; j <= 3; ++j) {
        const auto& p = after[3 * s + j];
        for (std::size_t k = 0; k < p.weight.size(); ++k) {
          const double w0 = before[3 * s + j][k];
          const double expect = w0 + da.delta(w0, cum_ac[p.pre[k]], H, row.rpe);
          CHECK(p.weight[k] == doctest::Approx(expect).epsilon(1e-12));
          if (H == 0.0) CHECK(p.weight[k] == doctest::Approx(0.99 * w0).epsilon(1e-14));
          CHECK(p.weight[k] >= 0.0);
        }
      }
    }
    // C_cum counts from the start of the warm-up (600 ms here): lit VAC cells spiked repeatedly.
    const double max_cum = *std::max_element(cum_vac, cum_vac + 20);
    MESSAGE("max VAC C_cum after trial " << t << ": " << max_cum);
    CHECK(max_cum > 5.0);
  }
}

TEST_CASE("experiment: every trial restarts from the post-warm-up state") {
  // One image shown every trial, learning off: the cortical block-1 counts (hence the striosome
  // latches) are identical in every trial, while the TAN draws keep advancing their stream.
  ImageSet one;
  one.n_pixels = 20;
  one.n_images = 1;
  one.pixels.assign(20, 0.0);
  one.pixels[5] = 1.0;
  one.pixels[6] = 0.6;
  one.category = {1};
  auto spec = short_spec(11);
  spec.vac_ac_plastic = false;
  spec.ac_str_plastic = false;
  CategoryExperiment ex(spec, ClassificationEnvironment(one, 4));
  std::vector<CategoryTrialRow> rows;
  ex.run([&](const CategoryTrialRow& r) { rows.push_back(r); });
  REQUIRE(rows.size() == 4);
  for (std::size_t k = 1; k < rows.size(); ++k) {
    CHECK(rows[k].striosome_block1 == rows[0].striosome_block1);
    CHECK(rows[k].snc_dopamine == rows[0].snc_dopamine);
    CHECK(rows[k].start_time == 200.0 + 400.0 * static_cast<double>(k));
  }
  bool tan_varies = false;
  for (auto& r : rows) tan_varies = tan_varies || r.tan_spikes != rows[0].tan_spikes;
  CHECK(tan_varies);
}

TEST_CASE("experiment: same seed → identical rows, another seed → different circuit") {
  auto run = [](std::uint64_t seed) {
    CategoryExperiment ex(short_spec(seed), stimuli_env(3));
    std::vector<CategoryTrialRow> rows;
    ex.run([&](const CategoryTrialRow& r) { rows.push_back(r); });
    std::vector<double> w;
    for (auto& p : ex.plastic_weights()) w.insert(w.end(), p.weight.begin(), p.weight.end());
    return std::pair{rows, w};
  };
  const auto a = run(21), b = run(21), c = run(22);
  REQUIRE(a.first.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(a.first[k].action == b.first[k].action);
    CHECK(a.first[k].matrisome_drive == b.first[k].matrisome_drive);
    CHECK(a.first[k].tan_spikes == b.first[k].tan_spikes);
    CHECK(a.first[k].rpe == b.first[k].rpe);
  }
  CHECK(a.second == b.second);
  CHECK(a.second != c.second);
}

TEST_CASE("experiment: invalid specs and 3-category stimuli are UserErrors") {
  auto key_of = [](CategoryExperimentSpec s) -> std::string {
    try {
      validate(s);
    } catch (const UserError& e) {
      return e.diagnostics.at(0).key_path;
    }
    return "";
  };
  CHECK(key_of(short_spec()).empty());
  auto s = short_spec();
  s.t_block = 0.0;
  CHECK(key_of(s) == "t_block");
  s = short_spec();
  s.tan_t_event = 90.0005;  // not on the 1 µs tick grid
  CHECK(key_of(s) == "tan_t_event");
  s = short_spec();
  s.t_stimulus = 400.01;  // not a multiple of dt
  CHECK(key_of(s) == "t_stimulus");
  s = short_spec();
  s.vac.n_wta = 0;
  CHECK(key_of(s) == "VAC.n_wta");
  ImageSet three;
  three.n_pixels = 1;
  three.n_images = 3;
  three.pixels = {0, 1, 0};
  three.category = {1, 2, 3};
  CHECK_THROWS_AS(CategoryExperiment(short_spec(), ClassificationEnvironment(three, 3)), UserError);
}
