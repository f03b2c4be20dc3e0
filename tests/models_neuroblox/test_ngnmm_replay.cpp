// NGNMM_theta trajectory replay (models/ngnmm_theta.hpp): after load_state() of a state seen
// before, steps are replayed from the recording — bitwise what integrating gives — and any
// write from outside, a different dt or a longer run falls back to (or extends by) integration.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "models/ngnmm_theta.hpp"

using namespace sbx;

namespace {

std::vector<double> run(NgnmmThetaPopulation& m, long steps, double dt = 0.05) {
  std::vector<double> out;
  std::vector<std::uint32_t> spiked;
  for (long k = 0; k < steps; ++k) {
    m.step(StepContext{k, 1, static_cast<double>(k) * dt, dt}, spiked);
    std::vector<double> s;
    m.save_state(s);
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(m.continuous_output()[0]);
  }
  return out;
}

}  // namespace

TEST_CASE("NGNMM replay: a trial restarted from the same state is replayed bitwise") {
  NgnmmThetaPopulation warm(NgnmmThetaParams::tutorial_16hz());
  run(warm, 4000);  // 200 ms warm-up
  std::vector<double> s0;
  warm.save_state(s0);

  NgnmmThetaPopulation fresh(NgnmmThetaParams::tutorial_16hz());  // never replays: reference
  fresh.load_state(s0);
  const std::vector<double> want = run(fresh, 3000);
  const std::vector<double> want_long = [&] {
    NgnmmThetaPopulation f(NgnmmThetaParams::tutorial_16hz());
    f.load_state(s0);
    return run(f, 5000);
  }();

  NgnmmThetaPopulation m(NgnmmThetaParams::tutorial_16hz());
  m.load_state(s0);  // records
  CHECK(run(m, 3000) == want);
  CHECK(m.replayed_steps() == 0);
  m.load_state(s0);  // replays
  CHECK(run(m, 3000) == want);
  CHECK(m.replayed_steps() == 3000);
  m.load_state(s0);  // replays 3000 steps, then integrates and records on
  CHECK(run(m, 5000) == want_long);
  CHECK(m.replayed_steps() == 3000);
  m.load_state(s0);
  CHECK(run(m, 5000) == want_long);
  CHECK(m.replayed_steps() == 5000);
}

TEST_CASE("NGNMM replay: an outside write, another dt or another start state integrate") {
  NgnmmThetaPopulation m(NgnmmThetaParams::tutorial_16hz());
  std::vector<double> s0;
  m.save_state(s0);
  m.load_state(s0);
  run(m, 2000);

  // A write through state() in the middle of a replay: from then on the kernel integrates.
  m.load_state(s0);
  run(m, 1000);
  m.state("g_EI")[0] += 0.01;
  const std::vector<double> got = run(m, 1000);
  NgnmmThetaPopulation ref(NgnmmThetaParams::tutorial_16hz());
  ref.load_state(s0);
  run(ref, 1000);
  ref.state("g_EI")[0] += 0.01;
  CHECK(got == run(ref, 1000));
  CHECK(m.replayed_steps() == 1000);

  // Another dt: integrated, not replayed.
  m.load_state(s0);
  NgnmmThetaPopulation ref2(NgnmmThetaParams::tutorial_16hz());
  ref2.load_state(s0);
  CHECK(run(m, 500, 0.1) == run(ref2, 500, 0.1));
  CHECK(m.replayed_steps() == 0);

  // Another start state starts a new recording.
  std::vector<double> s1 = s0;
  s1[0] += 1e-9;
  m.load_state(s1);
  NgnmmThetaPopulation ref3(NgnmmThetaParams::tutorial_16hz());
  ref3.load_state(s1);
  CHECK(run(m, 800) == run(ref3, 800));
  CHECK(m.replayed_steps() == 0);
  m.load_state(s1);
  ref3.load_state(s1);
  CHECK(run(m, 800) == run(ref3, 800));
  CHECK(m.replayed_steps() == 800);
}
