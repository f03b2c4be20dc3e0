// Discrete striatal / dopamine units (models/striatal_units.hpp), checked against the rate formulas
// and the competition semantics of neuroblox_models.md §1.8–1.11, §4.5.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <vector>

#include "engine/rng.hpp"
#include "models/striatal_units.hpp"

using namespace sbx;

TEST_CASE("SNc dopamine follows min(kappa, kappa/(lambda*S + sqrt(eps))) (spec 1.10 values)") {
  Snc snc;  // κ_DA = 1, λ_DA = 0.33
  const std::array<std::pair<double, double>, 4> table = {
      {{4.0, 0.758}, {6.0, 0.505}, {10.0, 0.303}, {20.0, 0.152}}};
  for (auto [S, da] : table) {
    snc.latch(S);
    snc.take_snapshot();
    CHECK(std::fabs(snc.dopamine() - da) < 5e-4);
    CHECK(snc.dopamine() == doctest::Approx(1.0 / (0.33 * S)).epsilon(1e-7));
  }
  // Saturated below S = 1/0.33 ≈ 3.03 (and at S = 0, where the √eps offset avoids 1/0).
  for (double S : {0.0, 1.0, 3.0, 3.03}) {
    snc.latch(S);
    snc.take_snapshot();
    CHECK(snc.dopamine() == 1.0);
  }
  snc.latch(3.04);
  snc.take_snapshot();
  CHECK(snc.dopamine() < 1.0);
}

TEST_CASE("SNc: R uses the block latch, R_ = DA only changes at the snapshot event") {
  Snc snc;
  snc.latch(10.0);  // block 1 latch
  snc.take_snapshot();
  snc.latch(20.0);  // block 2 latch, no new snapshot
  CHECK(snc.rate() == doctest::Approx(1.0 / 6.6).epsilon(1e-7));
  CHECK(snc.rate_snapshot() == doctest::Approx(1.0 / 3.3).epsilon(1e-7));
  CHECK(snc.dopamine() == snc.rate_snapshot());
}

TEST_CASE("TAN rate formula and the sqrt(eps) offset") {
  CHECK(kSqrtEps1 == std::ldexp(1.0, -26));
  Tan tan;
  tan.kappa = 10.0;  // tutorial
  tan.lambda = 1.0;
  // S ≤ 1: κ/(λS) ≥ κ is capped at κ; above, R = κ/(λS).
  const std::array<std::pair<double, double>, 6> table = {
      {{0.0, 10.0}, {0.05, 10.0}, {0.5, 10.0}, {1.0, 10.0}, {2.0, 5.0}, {8.0, 1.25}}};
  for (auto [S, R] : table) {
    tan.latch(S);
    CHECK(tan.rate() == doctest::Approx(R).epsilon(1e-7));
  }
  tan.kappa = 100.0;  // default κ
  tan.lambda = 0.5;
  tan.latch(4.0);
  CHECK(tan.rate() == doctest::Approx(50.0).epsilon(1e-7));
}

TEST_CASE("TAN draws w*Poisson(R) from its own stream: mean, weight factor, determinism") {
  Tan a;
  a.kappa = 10.0;
  a.latch(2.0);  // R = 5
  a.rng = Rng::stream(7, "TAN1");
  Tan b = a;
  double sum = 0.0, sum2 = 0.0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double x = a.draw_spikes(1.0);
    CHECK(x == b.draw_spikes(1.0));  // same stream state → same draws
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  CHECK(mean == doctest::Approx(5.0).epsilon(0.02));  // s.e. 0.016
  CHECK(var == doctest::Approx(5.0).epsilon(0.06));
  // w = 2: the stored TAN_spikes are even (w·k), and with a copied stream equal 2× the w = 1 draw.
  Tan c = a, d = a;
  for (int i = 0; i < 100; ++i) {
    const double x2 = c.draw_spikes(2.0);
    CHECK(x2 == 2.0 * d.draw_spikes(1.0));
  }
}

TEST_CASE("Matrisome: rho = H*jcn_t_block, snapshot holds H and the latch") {
  Matrisome m;
  CHECK(m.t_event == 180.0);
  m.latch(3.5);
  CHECK(m.rho() == 3.5);
  m.take_snapshot();
  CHECK(m.rho_snapshot() == 3.5);
  m.H = 0.0;
  CHECK(m.rho() == 0.0);
  CHECK(m.rho_snapshot() == 3.5);  // unchanged until the next snapshot
  CHECK(m.H_learning() == 0.0);
  m.take_snapshot();
  CHECK(m.rho_snapshot() == 0.0);
  Striosome s;
  s.latch(2.0);
  CHECK(s.output(1.5) == 3.0);
  s.H = 0.0;
  CHECK(s.output(1.5) == 0.0);
}

TEST_CASE("GreedyPolicy: argmax, ties and NaN keep the first competitor, actions 1-based") {
  CHECK(GreedyPolicy::action(std::vector<double>{1.0, 2.0}) == 2);
  CHECK(GreedyPolicy::action(std::vector<double>{2.0, 1.0}) == 1);
  CHECK(GreedyPolicy::action(std::vector<double>{1.5, 1.5}) == 1);
  CHECK(GreedyPolicy::action(std::vector<double>{0.0, 0.0}) == 1);
  CHECK(GreedyPolicy::action(std::vector<double>{1.0, 3.0, 3.0}) == 2);
  CHECK(GreedyPolicy::action(std::vector<double>{std::nan(""), 1.0}) == 1);
  CHECK(GreedyPolicy::argmax(std::vector<double>{0.1, 0.2, 0.05}) == 1);
}

namespace {
std::array<StriatumUnits, 2> two_striata(double rho1, double rho2) {
  std::array<StriatumUnits, 2> s{};
  s[0].matrisome.latch(rho1);
  s[1].matrisome.latch(rho2);
  s[0].striosome.latch(1.0);
  s[1].striosome.latch(1.0);
  return s;
}
int losers(const std::array<StriatumUnits, 2>& s) {
  int n = 0;
  for (const auto& x : s) n += (x.matrisome.H == 0.0);
  return n;
}
}  // namespace

TEST_CASE("competition: the larger latched drive wins, the loser is gated and its MSNs get -2") {
  const std::vector<CompetitionEdge> edges = {{0, 1}, {1, 0}};  // STR1→STR2 then STR2→STR1
  for (auto [r1, r2] : {std::pair{5.0, 3.0}, std::pair{3.0, 5.0}}) {
    auto s = two_striata(r1, r2);
    run_competition(s, edges);
    const std::size_t loser = r1 > r2 ? 1 : 0, winner = 1 - loser;
    CHECK(s[loser].matrisome.H == 0.0);
    CHECK(s[loser].striosome.H == 0.0);
    CHECK(s[loser].msn_background == -2.0);
    CHECK(s[winner].matrisome.H == 1.0);
    CHECK(s[winner].striosome.H == 1.0);
    CHECK(s[winner].msn_background == 0.0);
    CHECK(s[loser].striosome.output(1.0) == 0.0);
  }
}

TEST_CASE("competition: a tie leaves both open, edge order never makes two losers") {
  for (const auto& edges : {std::vector<CompetitionEdge>{{0, 1}, {1, 0}},
                            std::vector<CompetitionEdge>{{1, 0}, {0, 1}}}) {
    auto tie = two_striata(4.0, 4.0);
    run_competition(tie, edges);
    CHECK(losers(tie) == 0);
    CHECK(tie[0].msn_background == 0.0);
    CHECK(tie[1].msn_background == 0.0);

    auto zero = two_striata(0.0, 0.0);
    run_competition(zero, edges);
    CHECK(losers(zero) == 0);

    Rng rng(11);
    for (int i = 0; i < 500; ++i) {
      const double a = std::floor(rng.uniform(0.0, 6.0)), b = std::floor(rng.uniform(0.0, 6.0));
      auto s = two_striata(a, b);
      run_competition(s, edges);
      CHECK(losers(s) == (a == b ? 0 : 1));
      if (a != b) CHECK(s[a > b ? 0 : 1].matrisome.H == 1.0);
    }
  }
}

TEST_CASE("competition: fresh reads per destination, then the t = 0.1 ms reset reopens all") {
  // Destination by destination: after STR2 is closed, STR2→STR1 compares ρ2 = 0 with ρ1.
  auto s = two_striata(5.0, 3.0);
  const std::vector<CompetitionEdge> edges = {{0, 1}, {1, 0}};
  competition_gate_matrisomes(s, edges);
  CHECK(s[1].matrisome.rho() == 0.0);
  CHECK(s[0].matrisome.rho() == 5.0);
  // Striosome phase reads ρ after gating; the striosomes of the winner stay open.
  competition_gate_striosomes(s, edges, -2.0);
  CHECK(s[0].striosome.H == 1.0);
  CHECK(s[1].striosome.H == 0.0);
  // The t = 0.1 ms reset of the next trial reopens everything.
  competition_reset(s, edges);
  CHECK(losers(s) == 0);
  CHECK(s[1].striosome.H == 1.0);
  CHECK(s[1].msn_background == 0.0);
}

TEST_CASE("snapshot before competition: the policy compares raw latched drives (spec 4.5)") {
  auto s = two_striata(2.0, 7.0);
  for (auto& x : s) x.matrisome.take_snapshot();  // t = 180 + √eps, snapshot first
  run_competition(s, std::vector<CompetitionEdge>{{0, 1}, {1, 0}});
  const std::array<double, 2> rho_ = {s[0].matrisome.rho_snapshot(), s[1].matrisome.rho_snapshot()};
  CHECK(rho_[0] == 2.0);  // loser keeps H_snapshot = 1
  CHECK(rho_[1] == 7.0);
  CHECK(GreedyPolicy::action(rho_) == 2);
}
