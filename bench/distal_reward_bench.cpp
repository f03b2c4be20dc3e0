// Benchmark of the Izhikevich (2007) distal-reward network (envs/distal_reward.hpp), one core:
//  1. the full protocol for D s (default 3600): wall and thread-CPU time of the simulation loop;
//  2. plastic vs static cost per synaptic event on the same network and the same spikes: the
//     spike raster of the first R s of that run is replayed through the network's three
//     projections (E->E, E->I, I->E, 80 000 + 20 000 synapses, delay 0) by populations that only
//     emit the recorded spikes, once with static synapses and once with the dopamine-modulated
//     STDP rule on the excitatory ones (rewards every 18 s, ~200 per hour as in the protocol),
//     and once without projections (the replay overhead, subtracted). Runs alternate
//     (static, plastic, empty) x repeats; the minimum thread-CPU time of each is reported, per
//     event of the whole network and per plastic (excitatory) event.
//
//   distal_reward_bench [--duration S] [--replay S] [--repeats K] [--seed N] [--mode M]
//
// --mode 0|1|2 replays only that variant (empty, static, plastic) once: for instruction counts,
//   valgrind --tool=callgrind '--toggle-collect=*::replay(*' distal_reward_bench
//       --duration 60 --replay 60 --mode 1    (then --mode 2 and --mode 0; build with
//       -DSBX_AVX512=OFF, valgrind has no AVX-512)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "envs/distal_reward.hpp"

using namespace sbx;

namespace {

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Emits recorded spikes (tick of emission) and ignores its inputs.
class Replay final : public Population {
 public:
  Replay(std::uint32_t n, std::vector<std::pair<Tick, std::uint32_t>> spikes)
      : n_(n), spikes_(std::move(spikes)), buf_(n, 0.0) {}
  std::string_view model() const override { return "replay"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 1; }
  double* receptor_buffer(std::uint32_t) override { return buf_.data(); }
  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    const Tick t_emit = ctx.t + ctx.dt;
    while (next_ < spikes_.size() && spikes_[next_].first == t_emit)
      spiked.push_back(spikes_[next_++].second);
  }
  double* state(std::string_view) override { return nullptr; }
  std::vector<std::string> state_names() const override { return {}; }
  void save_state(std::vector<double>&) const override {}
  void load_state(std::span<const double>) override {}

 private:
  std::uint32_t n_;
  std::vector<std::pair<Tick, std::uint32_t>> spikes_;
  std::size_t next_ = 0;
  std::vector<double> buf_;
};

class RasterRecorder final : public Recorder {
 public:
  std::vector<std::pair<Tick, std::uint32_t>> exc, inh;
  std::uint32_t exc_id = 0, inh_id = 1;
  Tick until = 0;
  void on_spikes(std::uint32_t pop, std::span<const std::uint32_t> n, Tick t) override {
    if (t > until) return;
    auto& v = pop == exc_id ? exc : inh;
    for (auto i : n) v.emplace_back(t, i);
  }
  void on_sample(std::uint32_t, Tick, std::span<const double>) override {}
  void flush() override {}
};

struct ReplayResult {
  double cpu_s = 0.0;
  std::uint64_t events = 0;
  // mode 2: bytes of the plastic synapses (the projections' memory_bytes() + the rules'), of
  // which the stored presynaptic index (no rule of circuits/plasticity.hpp reads it), and count
  double plastic_bytes = 0.0, pre_index_bytes = 0.0;
  std::uint64_t plastic_synapses = 0;
};

// mode 0: no projections, 1: static, 2: plastic.
ReplayResult replay(const DistalRewardExperiment& net, const RasterRecorder& rec, Tick end,
                    int mode) {
  Simulator& src = const_cast<DistalRewardExperiment&>(net).simulator();
  Simulator sim(src.grid(), src.dt());
  const auto e = sim.add_population(
      "exc", std::make_unique<Replay>(src.population(net.exc_population()).size(), rec.exc));
  const auto i = sim.add_population(
      "inh", std::make_unique<Replay>(src.population(net.inh_population()).size(), rec.inh));
  Modulator da("dopamine", 0.002, 200.0, sim.grid());
  da.declare_nonnegative();  // as the experiment's (positive rewards only)
  ReplayResult res;
  if (mode > 0) {
    for (std::uint32_t pid : {net.proj_ee(), net.proj_ei(), net.proj_ie()}) {
      SpikeProjection p = src.projection(pid);  // a copy: same synapses
      p.rule = nullptr;
      std::fill(p.weight.begin(), p.weight.end(), pid == net.proj_ie() ? -1.0f : 1.0f);
      p.pre_population = pid == net.proj_ie() ? i : e;
      p.post_population = pid == net.proj_ei() ? i : e;
      const auto id = sim.add_projection(std::move(p));
      if (mode == 2 && pid != net.proj_ie()) {
        auto rule = std::make_unique<ThreeFactorStdp>(sim.projection(id), ThreeFactorParams{}, da,
                                                      sim.grid());
        res.plastic_bytes += static_cast<double>(sim.projection(id).memory_bytes()) +
                             static_cast<double>(rule->memory_bytes());
        res.pre_index_bytes += static_cast<double>(sim.projection(id).pre_of_syn.memory_bytes());
        res.plastic_synapses += sim.projection(id).n_synapses();
        sim.set_rule(id, std::move(rule));
      }
    }
  }
  const auto ctl = sim.add_control([&](Tick t, std::uint32_t, std::uint32_t) { da.pulse(t, 0.5); });
  for (Tick t = 18000; t < end; t += 18000) sim.schedule_control(t, ctl);
  const double c0 = thread_cpu_s();
  sim.run_until(end);
  res.cpu_s = thread_cpu_s() - c0;
  res.events = sim.stats().synaptic_events;
  return res;
}

void print_bytes(const ReplayResult& r) {
  const double n = static_cast<double>(r.plastic_synapses);
  std::printf(
      "plastic synapses: %llu, %.2f bytes each (synapse arrays + rule state, memory_bytes()), of "
      "which %.2f for the stored presynaptic index (%.2f without it)\n",
      static_cast<unsigned long long>(r.plastic_synapses), r.plastic_bytes / n,
      r.pre_index_bytes / n, (r.plastic_bytes - r.pre_index_bytes) / n);
}

}  // namespace

int main(int argc, char** argv) {
  double duration = 3600.0, replay_s = 600.0;
  int repeats = 3, only_mode = -1;
  std::uint64_t seed = 1;
  for (int k = 1; k + 1 < argc; k += 2) {
    const std::string a = argv[k];
    if (a == "--duration")
      duration = std::atof(argv[k + 1]);
    else if (a == "--replay")
      replay_s = std::atof(argv[k + 1]);
    else if (a == "--repeats")
      repeats = std::atoi(argv[k + 1]);
    else if (a == "--seed")
      seed = std::strtoull(argv[k + 1], nullptr, 10);
    else if (a == "--mode")
      only_mode = std::atoi(argv[k + 1]);
    else {
      std::fprintf(stderr,
                   "usage: %s [--duration S] [--replay S] [--repeats K] [--seed N] [--mode M]\n",
                   argv[0]);
      return 2;
    }
  }
  DistalRewardConfig cfg;
  cfg.duration = duration * 1000.0;
  cfg.seed = seed;
  DistalRewardExperiment x(cfg);
  RasterRecorder rec;
  rec.exc_id = x.exc_population();
  rec.inh_id = x.inh_population();
  rec.until = static_cast<Tick>(replay_s * 1000.0);
  x.set_extra_recorder(&rec);
  const auto w0 = std::chrono::steady_clock::now();
  const double c0 = thread_cpu_s();
  const DistalRewardResult r = x.run();
  const double cpu = thread_cpu_s() - c0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  std::printf(
      "full run: %.0f s simulated, loop wall %.2f s, thread CPU %.2f s (whole run incl. final "
      "statistics), %llu spikes (%.3f Hz), %llu synaptic events, chosen w = %.3f\n",
      duration, r.loop_s, cpu, static_cast<unsigned long long>(r.spikes), r.rate_hz,
      static_cast<unsigned long long>(r.synaptic_events), r.w_final);
  (void)wall;

  const Tick end = static_cast<Tick>(replay_s * 1000.0);
  if (only_mode >= 0) {
    const ReplayResult rr = replay(x, rec, end, only_mode);
    std::printf("replay mode %d: %.3f s thread CPU, %llu synaptic events\n", only_mode, rr.cpu_s,
                static_cast<unsigned long long>(rr.events));
    if (only_mode == 2) print_bytes(rr);
    return 0;
  }
  double best[3] = {1e300, 1e300, 1e300};
  std::uint64_t events[3] = {0, 0, 0};
  ReplayResult plastic;
  for (int k = 0; k < repeats; ++k)
    for (int mode : {1, 2, 0}) {
      const ReplayResult rr = replay(x, rec, end, mode);
      best[mode] = std::min(best[mode], rr.cpu_s);
      events[mode] = rr.events;
      if (mode == 2) plastic = rr;
    }
  print_bytes(plastic);
  // Events on the plastic (excitatory) projections: every replayed excitatory spike is delivered
  // through its rows of E->E and E->I.
  double events_plastic = 0.0;
  {
    Simulator& src = x.simulator();
    const SpikeProjection& ee = src.projection(x.proj_ee());
    const SpikeProjection& ei = src.projection(x.proj_ei());
    for (const auto& [t, n] : rec.exc)
      if (t <= end)
        events_plastic += static_cast<double>(ee.row_ptr[n + 1] - ee.row_ptr[n]) +
                          static_cast<double>(ei.row_ptr[n + 1] - ei.row_ptr[n]);
  }
  const double ns_static = 1e9 * (best[1] - best[0]) / static_cast<double>(events[1]);
  const double ns_plastic = 1e9 * (best[2] - best[0]) / static_cast<double>(events[2]);
  std::printf(
      "replay of %.0f s (%zu exc + %zu inh spikes, %llu synaptic events), min thread CPU of %d: "
      "empty %.3f s, static %.3f s, plastic %.3f s\n",
      replay_s, rec.exc.size(), rec.inh.size(), static_cast<unsigned long long>(events[1]), repeats,
      best[0], best[1], best[2]);
  std::printf(
      "per synaptic event (replay overhead subtracted): static %.2f ns, plastic %.2f ns, "
      "ratio %.2f; without subtraction: static %.2f ns, plastic %.2f ns, ratio %.2f\n",
      ns_static, ns_plastic, ns_plastic / ns_static, 1e9 * best[1] / static_cast<double>(events[1]),
      1e9 * best[2] / static_cast<double>(events[2]), best[2] / best[1]);
  // The plastic run's extra time falls on the excitatory events only (I->E stays static).
  const double ns_one_plastic = ns_static + 1e9 * (best[2] - best[1]) / events_plastic;
  std::printf(
      "one plastic (excitatory) event with its learning (its pre pass and its share of the post "
      "passes): %.2f ns = %.2fx a static event (%.3g of the %llu events are plastic)\n",
      ns_one_plastic, ns_one_plastic / ns_static, events_plastic,
      static_cast<unsigned long long>(events[2]));
  return 0;
}
