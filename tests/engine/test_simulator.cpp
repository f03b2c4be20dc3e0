#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <vector>

#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/simulator.hpp"

using namespace sbx;

namespace {

// Clocked toy: dV/dt = drive (per ms); a delivered weight jumps V; spike + reset at V >= 1.
// Continuous inputs are recorded so the couplings can be checked.
class ToyClocked final : public Population {
 public:
  ToyClocked(std::uint32_t n, double drive)
      : v_(n, 0.0),
        drive_(n, drive),
        buf_(n, 0.0),
        g_(n, 0.0),
        ge_(n, 0.0),
        i_(n, 0.0),
        out_(n, 0.5),
        rev_(n, -70.0),
        last_g_(n),
        last_ge_(n),
        last_i_(n) {}
  std::string_view model() const override { return "toy_clocked"; }
  std::uint32_t size() const override { return static_cast<std::uint32_t>(v_.size()); }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 1; }
  double* receptor_buffer(std::uint32_t) override { return buf_.data(); }
  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    for (std::uint32_t i = 0; i < size(); ++i) {
      v_[i] += buf_[i] + drive_[i] * ctx.dt_ms;
      buf_[i] = 0.0;
      last_g_[i] = g_[i];
      last_ge_[i] = ge_[i];
      last_i_[i] = i_[i];
      if (v_[i] >= 1.0 - 1e-12) {
        v_[i] = 0.0;
        spiked.push_back(i);
      }
    }
  }
  const double* continuous_output() const override { return out_.data(); }
  const double* output_reversal() const override { return rev_.data(); }
  double* conductance_input() override { return g_.data(); }
  double* conductance_reversal_input() override { return ge_.data(); }
  double* current_input() override { return i_.data(); }
  double* state(std::string_view name) override { return name == "V" ? v_.data() : nullptr; }
  std::vector<std::string> state_names() const override { return {"V"}; }
  void save_state(std::vector<double>& out) const override { out = v_; }
  void load_state(std::span<const double> in) override { v_.assign(in.begin(), in.end()); }
  std::vector<double> v_, drive_, buf_, g_, ge_, i_, out_, rev_, last_g_, last_ge_, last_i_;
};

// Event-driven toy: every input with weight > 0 makes the neuron fire `latency` ticks later;
// a later input supersedes the earlier prediction (stale versions are dropped).
class ToyEvent final : public Population {
 public:
  ToyEvent(std::uint32_t n, Tick latency) : version_(n, 0), v_(n, 0.0), latency_(latency) {}
  std::string_view model() const override { return "toy_event"; }
  std::uint32_t size() const override { return static_cast<std::uint32_t>(version_.size()); }
  Dynamics dynamics() const override { return Dynamics::event_driven; }
  void receive(Tick t, const std::uint32_t* post, const float* w, std::size_t n, std::uint32_t,
               SpikeScheduler& sched) override {
    for (std::size_t k = 0; k < n; ++k) {
      received.push_back({post[k], t});
      if (w[k] > 0) sched.schedule_spike(self, post[k], ++version_[post[k]], t + latency_);
    }
  }
  bool fire_predicted(std::uint32_t neuron, std::uint32_t version, Tick, SpikeScheduler&) override {
    return version == version_[neuron];
  }
  void start(Tick t, std::uint32_t self_id, SpikeScheduler& sched) override {
    self = self_id;
    if (kick) sched.schedule_spike(self, 0, version_[0], t + 1);
  }
  double* state(std::string_view name) override { return name == "v" ? v_.data() : nullptr; }
  std::vector<std::string> state_names() const override { return {"v"}; }
  void save_state(std::vector<double>&) const override {}
  void load_state(std::span<const double>) override {}
  struct In {
    std::uint32_t neuron;
    Tick t;
  };
  std::vector<In> received;
  std::vector<std::uint32_t> version_;
  std::vector<double> v_;
  Tick latency_;
  std::uint32_t self = 0;
  bool kick = false;
};

}  // namespace

TEST_CASE("clocked spikes are delivered after their delay and counted") {
  Simulator sim(TimeGrid(0.001), 100);            // dt = 0.1 ms
  auto a = std::make_unique<ToyClocked>(1, 1.0);  // reaches 1 after 1 ms -> spikes every 1 ms
  auto b = std::make_unique<ToyClocked>(1, 0.0);
  ToyClocked* pb = b.get();
  const auto ia = sim.add_population("A", std::move(a));
  const auto ib = sim.add_population("B", std::move(b));
  sim.add_projection(build_spike_projection("A->B", ia, ib, 1, 1, 0, {{0, 0, 0.25, 2000}}));
  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(sim.grid().from_ms(3.0));
  // A spikes at 1, 2, 3 ms (emitted at the end of the step that crosses).
  REQUIRE(rec.spikes.size() >= 2);
  CHECK(rec.spikes[0].t == 1000);
  CHECK(rec.spikes[1].t == 2000);
  // Arrival at 3.0 ms is applied at the start of the step from 3.0 ms: not yet in B at t = 3 ms.
  CHECK(pb->v_[0] == doctest::Approx(0.0));
  sim.run_until(sim.grid().from_ms(3.1));
  CHECK(pb->v_[0] == doctest::Approx(0.25));
  CHECK(sim.stats().synaptic_events == 1);
  CHECK_THROWS(sim.run_until(sim.grid().from_ms(3.15)));  // not a multiple of dt
}

TEST_CASE("event-driven chain: exact ticks, stale predictions dropped, no clock needed") {
  Simulator sim(TimeGrid(0.001), 100);
  auto a = std::make_unique<ToyEvent>(2, 7);
  a->kick = true;
  ToyEvent* pa = a.get();
  const auto ia = sim.add_population("A", std::move(a));
  // 0 -> 1 with delay 13 ticks, 1 -> 0 with delay 5 ticks: a ring of period 7+13+7+5 = 32 ticks.
  sim.add_projection(
      build_spike_projection("A->A", ia, ia, 2, 2, 0, {{0, 1, 1.0, 13}, {1, 0, 1.0, 5}}));
  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(1 + 32 * 3 + 1);
  REQUIRE(rec.spikes.size() >= 6);
  CHECK(rec.spikes[0].t == 1);
  CHECK(rec.spikes[0].neuron == 0);
  CHECK(rec.spikes[1].t == 1 + 13 + 7);
  CHECK(rec.spikes[1].neuron == 1);
  CHECK(rec.spikes[2].t == 1 + 32);
  CHECK(rec.spikes[4].t == 1 + 64);
  CHECK(sim.stats().steps == 0);  // purely event-driven: no clock steps were taken
  // A superseding input: a second input before the first prediction fires replaces it.
  CHECK(pa->received.size() >= 2);
}

TEST_CASE("control events at one tick run in their order, before deliveries") {
  Simulator sim(TimeGrid(0.001), 10);
  std::vector<int> log;
  const auto c1 = sim.add_control(
      [&](Tick, std::uint32_t b, std::uint32_t) { log.push_back(static_cast<int>(b)); });
  sim.schedule_control(50, c1, 3, 30);
  sim.schedule_control(50, c1, 1, 10);
  sim.schedule_control(50, c1, 1, 11);
  sim.schedule_control(40, c1, 9, 90);
  sim.add_population("X", std::make_unique<ToyClocked>(1, 0.0));
  sim.run_until(100);
  CHECK(log == std::vector<int>{90, 10, 11, 30});
}

TEST_CASE("running in pieces equals running at once") {
  auto run = [](std::vector<Tick> stops) {
    Simulator sim(TimeGrid(0.001), 100);
    const auto ia = sim.add_population("A", std::make_unique<ToyClocked>(3, 0.7));
    const auto ib = sim.add_population("B", std::make_unique<ToyClocked>(2, 0.3));
    sim.add_projection(build_spike_projection(
        "A->B", ia, ib, 3, 2, 0, {{0, 0, 0.3, 1500}, {1, 1, 0.2, 700}, {2, 0, 0.1, 100}}));
    MemoryRecorder rec;
    sim.set_recorder(&rec);
    for (Tick s : stops) sim.run_until(s);
    std::vector<Tick> out;
    for (auto& s : rec.spikes) out.push_back(s.t * 10 + s.population * 5 + s.neuron);
    return out;
  };
  const auto whole = run({20000});
  CHECK(whole.size() > 10);
  CHECK(run({300, 5000, 5100, 20000}) == whole);
}

TEST_CASE("continuous couplings sum w*out into conductance and current inputs") {
  Simulator sim(TimeGrid(0.001), 10);
  auto pre = std::make_unique<ToyClocked>(2, 0.0);
  pre->out_ = {0.5, 2.0};
  pre->rev_ = {0.0, -70.0};
  auto post = std::make_unique<ToyClocked>(1, 0.0);
  ToyClocked* pp = post.get();
  const auto a = sim.add_population("pre", std::move(pre));
  const auto b = sim.add_population("post", std::move(post));
  sim.add_continuous({"g", a, b, CouplingKind::conductance, {0, 1}, {0, 0}, {3.0, 0.5}});
  sim.add_continuous({"i", a, b, CouplingKind::current, {1}, {0}, {44.0}});
  sim.run_until(10);
  CHECK(pp->last_g_[0] == doctest::Approx(3.0 * 0.5 + 0.5 * 2.0));
  CHECK(pp->last_ge_[0] == doctest::Approx(0.5 * 2.0 * -70.0));
  CHECK(pp->last_i_[0] == doctest::Approx(88.0));
}

TEST_CASE(
    "a coupling weight written through continuous() counts from the next step, a kept "
    "reference written later is an internal error") {
  Simulator sim(TimeGrid(0.001), 10);
  auto pre = std::make_unique<ToyClocked>(1, 0.0);
  pre->out_ = {0.5};
  auto post = std::make_unique<ToyClocked>(1, 0.0);
  ToyClocked* pp = post.get();
  const auto a = sim.add_population("pre", std::move(pre));
  const auto b = sim.add_population("post", std::move(post));
  const auto c = sim.add_continuous({"i", a, b, CouplingKind::current, {0}, {0}, {2.0}});
  sim.run_until(10);
  CHECK(pp->last_i_[0] == 1.0);
  sim.continuous(c).weight[0] = 6.0;  // e.g. a between-trial learning rule
  sim.run_until(20);
  CHECK(pp->last_i_[0] == 3.0);
  std::vector<double>& kept = sim.continuous(c).weight;
  sim.run_until(30);
  kept[0] = 8.0;  // steps after the continuous() call: the plan never hears of it
  CHECK_THROWS_AS(sim.run_until(30 + 10 * Tick{CouplingPlan::check_every}), InternalError);
}

TEST_CASE("probes sample state every period, the recorder is flushed every simulated second") {
  Simulator sim(TimeGrid(0.001), 100);
  const auto a = sim.add_population("A", std::make_unique<ToyClocked>(2, 0.5));
  sim.add_probe({a, "V", {1}, 1000});
  CHECK_THROWS(sim.add_probe({a, "nope", {0}, 1000}));
  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(sim.grid().from_ms(2500.0));
  CHECK(rec.samples.size() == 2500);
  CHECK(rec.samples[1].t == 1000);
  CHECK(rec.samples[1].values[0] == doctest::Approx(0.5));
  CHECK(rec.flushes == 2);
}

TEST_CASE("delay 0 (Brian2's no delay): a spike of step n acts on clocked targets in step n+1") {
  for (const Tick delay : {Tick{0}, Tick{1}}) {
    Simulator sim(TimeGrid(0.001), 100);            // dt = 0.1 ms
    auto a = std::make_unique<ToyClocked>(1, 1.0);  // spikes at the end of the step to 1.0 ms
    auto b = std::make_unique<ToyClocked>(1, 0.0);
    ToyClocked* pb = b.get();
    const auto ia = sim.add_population("A", std::move(a));
    const auto ib = sim.add_population("B", std::move(b));
    sim.add_projection(build_spike_projection("A->B", ia, ib, 1, 1, 0, {{0, 0, 0.25, delay}}));
    MemoryRecorder rec;
    sim.set_recorder(&rec);
    sim.run_until(1000);  // A's spike is emitted at 1000 (the end of step 0.9 -> 1.0 ms)
    REQUIRE(rec.spikes.size() == 1);
    CHECK(rec.spikes[0].t == 1000);
    CHECK(pb->v_[0] == 0.0);
    sim.run_until(1100);  // step 1.0 -> 1.1: sees the spike with delay 0, not with 1 tick
    CHECK(pb->v_[0] == (delay == 0 ? 0.25 : 0.0));
    sim.run_until(1200);
    CHECK(pb->v_[0] == 0.25);
  }
  CHECK_THROWS(build_spike_projection("bad", 0, 0, 1, 1, 0, {{0, 0, 1.0, -1}}));
}

TEST_CASE("delay 0 between event-driven populations arrives at the spike's own tick") {
  Simulator sim(TimeGrid(0.001), 100);
  auto a = std::make_unique<ToyEvent>(1, 7);
  a->kick = true;  // fires at tick 1
  auto b = std::make_unique<ToyEvent>(1, 1000000);
  ToyEvent* pb = b.get();
  const auto ia = sim.add_population("A", std::move(a));
  const auto ib = sim.add_population("B", std::move(b));
  sim.add_projection(build_spike_projection("A->B", ia, ib, 1, 1, 0, {{0, 0, 1.0, 0}}));
  sim.run_until(10);
  REQUIRE(pb->received.size() == 1);
  CHECK(pb->received[0].t == 1);
}

TEST_CASE("stop_on_interrupt: run_until returns at the next step boundary after a signal") {
  // (plain runs poll for Ctrl-C between chunks of run_until; a chunk of a runaway network may
  // take minutes, so with the option the chunk itself ends at the signal)
  Simulator sim(TimeGrid(0.001), 100);  // dt = 0.1 ms
  sim.add_population("A", std::make_unique<ToyClocked>(1, 1.0));
  clear_interrupt();
  sim.run_until(sim.grid().from_ms(1.0));
  CHECK(sim.now() == 1000);
  request_interrupt(SIGINT);
  sim.run_until(sim.grid().from_ms(2.0));  // off by default: runs to the end
  CHECK(sim.now() == 2000);
  sim.set_stop_on_interrupt(true);
  sim.run_until(sim.grid().from_ms(3.0));  // returns at once, on the step grid
  CHECK(sim.now() == 2000);
  clear_interrupt();
  sim.run_until(sim.grid().from_ms(3.0));
  CHECK(sim.now() == 3000);
}

TEST_CASE("parallel_items: every item once on the worker threads, an item's exception rethrown") {
  for (const unsigned threads : {1u, 2u, 3u}) {
    CAPTURE(threads);
    Simulator sim(TimeGrid(0.001), 100);
    sim.set_threads(threads, /*spin=*/false);
    std::vector<std::atomic<int>> done(37);
    sim.parallel_items(done.size(), [&](std::size_t i) { ++done[i]; });
    for (auto& d : done) CHECK(d == 1);
    sim.parallel_items(0, [&](std::size_t) { FAIL("no item"); });
    CHECK_THROWS_WITH_AS(sim.parallel_items(20,
                                            [&](std::size_t i) {
                                              if (i == 5) throw std::runtime_error("item 5");
                                            }),
                         "item 5", std::runtime_error);
    // The pool still works after an item threw.
    std::atomic<int> sum{0};
    sim.parallel_items(10, [&](std::size_t i) { sum += static_cast<int>(i); });
    CHECK(sum == 45);
  }
}

TEST_CASE("the worker threads are lent to the recorder during run_until only") {
  // A recorder that uses the loan in flush() and notes when it has one.
  struct Borrower final : Recorder {
    Parallel lent;
    int loans = 0, withdrawals = 0, flushes_with_loan = 0;
    std::vector<std::atomic<int>> done = std::vector<std::atomic<int>>(8);
    void on_spikes(std::uint32_t, std::span<const std::uint32_t>, Tick) override {}
    void on_sample(std::uint32_t, Tick, std::span<const double>) override {}
    void flush() override {
      if (!lent) return;
      ++flushes_with_loan;
      lent(done.size(), [&](std::size_t i) { ++done[i]; });
    }
    void lend_threads(Parallel p) override {
      (p ? loans : withdrawals) += 1;
      lent = std::move(p);
    }
  };
  for (const unsigned threads : {1u, 2u}) {
    CAPTURE(threads);
    Simulator sim(TimeGrid(0.001), 100);
    sim.add_population("A", std::make_unique<ToyClocked>(4, 0.5));
    sim.set_threads(threads, /*spin=*/false);
    Borrower rec;
    sim.set_recorder(&rec);
    sim.run_until(sim.grid().from_ms(2500.0));  // two flushes (every simulated second)
    CHECK(!rec.lent);                           // withdrawn when the run returned
    if (threads == 1) {
      CHECK(rec.loans == 0);  // nothing to lend
    } else {
      CHECK(rec.loans == 1);
      CHECK(rec.withdrawals == 1);
      CHECK(rec.flushes_with_loan == 2);
      for (auto& d : rec.done) CHECK(d == 2);
    }
  }
}
