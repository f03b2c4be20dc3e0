// DistalRewardConfig::matlab_duplicates (envs/distal_reward.hpp): daspnet.m's
// I(ind) = I(ind) + s(n, del)' keeps only the last of repeated target indices, so of several
// synapses from one neuron onto one target only the last one carries current (BENCHMARKS.md,
// session 6: this rule is the whole excitability gap between our experiment and the NumPy port).
//
// A network of one excitatory neuron and no inhibitory ones makes every target the same neuron:
// its M = 5 synapses all end on itself, synapse 0 is the chosen one (weight 0), synapses 1-4 have
// weight 1. MATLAB delivers only synapse 4 (weight 1); adding every synapse delivers 0 + 4·1 = 4.
// The chosen synapse is kept (plastic) even though a later one shadows it; set to 0.5 it must
// still deliver nothing with MATLAB's rule (1.0 in all), and 0.5 + 4 = 4.5 without.
#include <doctest/doctest.h>

#include <cstdint>

#include "envs/distal_reward.hpp"

using namespace sbx;

namespace {

DistalRewardConfig one_neuron(bool matlab) {
  DistalRewardConfig cfg;
  cfg.n_exc = 1;
  cfg.n_inh = 0;
  cfg.synapses_per_neuron = 5;
  cfg.exc.noise = 0.0;
  cfg.plastic = false;
  cfg.duration = 2.0;  // ms
  cfg.matlab_duplicates = matlab;
  return cfg;
}

// Input I that neuron 0 receives in step 1 after it is made to spike in step 0 (its own spike,
// delivered through its self-synapses), recovered from daspnet's v update of step 1:
//   v' = v + ½(0.04v² + 5v + 140 − u + I), twice, from v = −65 and the u left by step 0.
// Solved for I by bisection (v' increases with I); noise is off.
double delivered_after_forced_spike(DistalRewardExperiment& x) {
  Simulator& sim = x.simulator();
  Population& pop = sim.population(x.exc_population());
  pop.state("v")[0] = 30.0;  // >= v_peak after the step whatever the input: a spike in step 0
  sim.run_until(1);
  REQUIRE(pop.state("v")[0] == -65.0);  // it spiked and was reset
  const double u = pop.state("u")[0];
  sim.run_until(2);
  const double v_seen = pop.state("v")[0];
  auto step_v = [u](double I) {
    double v = -65.0;
    for (int h = 0; h < 2; ++h) v += 0.5 * ((0.04 * v + 5.0) * v + 140.0 - u + I);
    return v;
  };
  double lo = -20.0, hi = 20.0;
  for (int k = 0; k < 200; ++k) {
    const double mid = 0.5 * (lo + hi);
    (step_v(mid) < v_seen ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

TEST_CASE("distal reward, matlab_duplicates: only the last synapse onto a target carries current") {
  {
    DistalRewardExperiment x(one_neuron(true));
    const auto& p = x.simulator().projection(x.proj_ee());
    REQUIRE(p.n_synapses() == 2);  // the chosen synapse (always kept) and the last duplicate
    CHECK(p.weight[0] == 0.0f);
    CHECK(p.weight[1] == 1.0f);
    CHECK(delivered_after_forced_spike(x) == doctest::Approx(1.0).epsilon(1e-12));
  }
  {
    DistalRewardExperiment x(one_neuron(false));
    CHECK(x.simulator().projection(x.proj_ee()).n_synapses() == 5);
    CHECK(delivered_after_forced_spike(x) == doctest::Approx(4.0).epsilon(1e-12));
  }
}

TEST_CASE(
    "distal reward, matlab_duplicates: dropped synapses still count in the weight statistics") {
  for (bool matlab : {true, false}) {
    CAPTURE(matlab);
    DistalRewardExperiment x(one_neuron(matlab));
    const DistalRewardResult r = x.run();
    // daspnet's weight matrix either way: 0, 1, 1, 1, 1.
    CHECK(r.mean_exc == doctest::Approx(0.8).epsilon(1e-12));
    CHECK(r.median_exc == 1.0);
    CHECK(r.percentile_final == 0.0);  // nothing below the chosen synapse's 0
    CHECK(r.frac_dup == 1.0);          // all five share a target
    CHECK(r.dropped_exc == (matlab ? 3u : 0u));
    CHECK(r.chosen_shadowed);  // in daspnet.m a later synapse onto n2 carries n1's current
  }
}

TEST_CASE("distal reward, matlab_duplicates: a shadowed chosen synapse carries no current") {
  for (bool plastic : {false, true}) {
    for (bool matlab : {true, false}) {
      CAPTURE(plastic);
      CAPTURE(matlab);
      DistalRewardConfig cfg = one_neuron(matlab);
      cfg.plastic = plastic;
      DistalRewardExperiment x(cfg);
      // The chosen synapse at 0.5 (its tag is 0, so with plasticity it is still 0.5 at tick 1).
      x.simulator().projection(x.proj_ee()).weight[x.chosen_synapse()] = 0.5f;
      CHECK(delivered_after_forced_spike(x) == doctest::Approx(matlab ? 1.0 : 4.5).epsilon(1e-12));
    }
  }
}

TEST_CASE("distal reward: progress lines do not change the run") {
  DistalRewardConfig cfg;  // the full network, 20 s, daspnet-faithful settings
  cfg.duration = 20000.0;
  cfg.seed = 3;
  cfg.rule.ltp_previous_tick = true;
  cfg.matlab_duplicates = true;
  DistalRewardExperiment quiet(cfg);
  const DistalRewardResult a = quiet.run();
  cfg.progress_every = 2000.0;  // reads every weight ten times during the run
  DistalRewardExperiment chatty(cfg);
  const DistalRewardResult b = chatty.run();
  REQUIRE(a.samples.size() == b.samples.size());
  for (std::size_t k = 0; k < a.samples.size(); ++k) {
    CHECK(a.samples[k].w == b.samples[k].w);
    CHECK(a.samples[k].c == b.samples[k].c);
  }
  CHECK(a.spikes == b.spikes);
  CHECK(a.mean_exc == b.mean_exc);
}
