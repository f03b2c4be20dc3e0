// One run of the Izhikevich (2007) distal-reward experiment (envs/distal_reward.hpp), printed as
// one line of key=value figures; used by scripts/distal_reward_acceptance.sh and for the
// benchmark (plastic vs static synapses on the same network).
//
//   distal_reward_run [--seed N] [--duration S] [--control RATE_PER_S] [--static]
//                     [--samples FILE.csv] [--ltp-prev-step] [--progress S]
//                     [--a-plus-scale X] [--a-minus-scale X] [--da-baseline X] [--reward-amount X]
//                     [--matlab-duplicates]
//
// --progress S: every S simulated seconds a line to stderr (rates per population over the last S
// seconds, excitatory weight median/mean/p99/fraction at w_max; bringing every weight up to date
// for it changes f32 roundings, so the run then differs from one without it by chaotic
// divergence only, not in its statistics). --a-plus-scale / --a-minus-scale
// multiply A+ / A− (0 switches LTP / LTD off), --da-baseline sets the tonic dopamine (0.002),
// --reward-amount the phasic increment per reward (0.5): used to bisect differences to
// bench/daspnet_port.py part by part. --matlab-duplicates: daspnet.m's delivery, where of several
// synapses from one neuron onto one target only the last carries current
// (DistalRewardConfig::matlab_duplicates).
//
// --ltp-prev-step: A+ × e^{1 ms/τ+}. daspnet.m's LTP reads the presynaptic trace one step back,
// STDP(:, t), which includes a pre spike of the previous ms undecayed (0.1 for a 1-ms lag); the
// rule reads the trace at the post spike's own tick, which excludes that tick's pre spikes (the
// simulator delivers them after the post spikes) but has decayed once more (0.1·e^{-1/20} for a
// 1-ms lag). Since no pre spike of tick T is in the trace yet, x(T − 1) = x(T)·e^{1/τ+} exactly:
// scaling A+ gives daspnet's LTP kernel 0.1·0.95^{Δ−1} (with e^{-1/20} for 0.95) for this run.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "envs/distal_reward.hpp"

int main(int argc, char** argv) {
  sbx::DistalRewardConfig cfg;
  std::string samples_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seed")
      cfg.seed = std::strtoull(next(), nullptr, 10);
    else if (a == "--duration")
      cfg.duration = 1000.0 * std::atof(next());
    else if (a == "--control")
      cfg.contingent = false, cfg.control_rate = std::atof(next());
    else if (a == "--static")
      cfg.plastic = false;
    else if (a == "--samples")
      samples_path = next();
    else if (a == "--ltp-prev-step")
      cfg.rule.A_plus *= std::exp(1.0 / cfg.rule.tau_plus);
    // Fidelity switches (BENCHMARKS.md session 6): parts of the rule off or changed.
    else if (a == "--progress")
      cfg.progress_every = 1000.0 * std::atof(next());
    else if (a == "--a-plus-scale")
      cfg.rule.A_plus *= std::atof(next());
    else if (a == "--a-minus-scale")
      cfg.rule.A_minus *= std::atof(next());
    else if (a == "--da-baseline")
      cfg.da_baseline = std::atof(next());
    else if (a == "--reward-amount")
      cfg.reward_amount = std::atof(next());
    else if (a == "--matlab-duplicates")
      cfg.matlab_duplicates = true;
    else {
      std::fprintf(
          stderr,
          "usage: %s [--seed N] [--duration S] [--control RATE_PER_S] [--static] "
          "[--samples FILE.csv] [--ltp-prev-step] [--progress S] [--a-plus-scale X] "
          "[--a-minus-scale X] [--da-baseline X] [--reward-amount X] [--matlab-duplicates]\n",
          argv[0]);
      return 2;
    }
  }
  sbx::DistalRewardExperiment x(cfg);
  const sbx::DistalRewardResult r = x.run();
  std::printf(
      "seed=%llu mode=%s n2=%u n2_exc=%d rate_hz=%.3f coincidences=%llu rewards=%llu "
      "t90_s=%.1f t95_s=%.1f w_final=%.3f pct_final=%.2f p90=%.3f median=%.3f mean=%.3f "
      "p99=%.3f frac_at_max=%.4f spikes=%llu syn_events=%llu loop_s=%.2f a_plus=%.5f "
      "rate_exc_hz=%.4f rate_inh_hz=%.4f dropped_exc=%llu dropped_inh=%llu chosen_shadowed=%d "
      "frac_dup=%.4f frac_at_max_dup=%.4f frac_at_max_single=%.4f mean_dup=%.3f mean_single=%.3f\n",
      static_cast<unsigned long long>(r.seed),
      !cfg.plastic ? "static" : (r.contingent ? "contingent" : "control"), r.n2,
      r.n2_excitatory ? 1 : 0, r.rate_hz, static_cast<unsigned long long>(r.coincidences),
      static_cast<unsigned long long>(r.rewards_delivered),
      r.t_reach_90 < 0 ? -1.0 : r.t_reach_90 / 1000.0,
      r.t_reach_95 < 0 ? -1.0 : r.t_reach_95 / 1000.0, r.w_final, r.percentile_final, r.p90_exc,
      r.median_exc, r.mean_exc, r.p99_exc, r.frac_at_max, static_cast<unsigned long long>(r.spikes),
      static_cast<unsigned long long>(r.synaptic_events), r.loop_s, cfg.rule.A_plus, r.rate_exc_hz,
      r.rate_inh_hz, static_cast<unsigned long long>(r.dropped_exc),
      static_cast<unsigned long long>(r.dropped_inh), r.chosen_shadowed ? 1 : 0, r.frac_dup,
      r.frac_at_max_dup, r.frac_at_max_single, r.mean_dup, r.mean_single);
  if (!samples_path.empty()) {
    FILE* f = std::fopen(samples_path.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", samples_path.c_str());
      return 1;
    }
    std::fprintf(f, "t_ms,w,c,d\n");
    for (const auto& s : r.samples) std::fprintf(f, "%.0f,%.6g,%.6g,%.6g\n", s.t_ms, s.w, s.c, s.d);
    std::fclose(f);
  }
  return 0;
}
