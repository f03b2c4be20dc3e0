// Encoders (observation -> network input) and decoders (network activity -> action) of the
// episodes experiment (apps/run_episodes.hpp).
//
// Encoding of an observation o (m values) into n unit values u:
//   direct      n = m      u_i = gain·o_i/scale_i
//   signed      n = 2m     u_2i = gain·max(0, o_i/scale_i), u_2i+1 = gain·max(0, −o_i/scale_i)
//                          (on/off pair: a spiking rate or a current cannot be negative)
//   population  n = m·k    k Gaussian tuning curves per component with centres spread evenly
//                          over [low_i, high_i]: u_ik = gain·exp(−(o_i − c_ik)²/(2σ_i²)),
//                          σ_i = width·(high_i − low_i)/(k − 1)  (k = 1: centre (low+high)/2,
//                          σ = width·(high − low))
// A current encoder (clocked population, no state) outputs u as its continuous output, held for
// the whole environment step: targets get I += w·u through current couplings.
// A spike encoder (clocked population) turns u into rates: each unit spikes in each [run].dt step
// with probability p = clip(u, 0, 1)·rate_max·dt (a Bernoulli approximation of a Poisson train of
// rate clip(u,0,1)·rate_max; p must stay <= 1), from its own stream "<block>/spikes".
//
// Decoding: the decoder's source block (the motor populations) is split into n_actions equal
// contiguous pools; q_a = number of spikes of pool a during the step's window (spike_count) or
// the mean of a state variable over pool a at the window end (membrane). Policies:
//   argmax          a = the first index of max q (ties -> the lowest action)
//   epsilon_greedy  with probability epsilon a uniform random action, else argmax
//   softmax         P(a) ∝ exp((q_a − max q)/temperature)
// Random draws come from the decoder's stream "<block>/policy".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/population.hpp"
#include "engine/rng.hpp"

namespace sbx {

enum class ObsCoding : std::uint8_t { direct, signed_pair, population };

struct ObsCodingParams {
  ObsCoding coding = ObsCoding::direct;
  double gain = 1.0;
  std::vector<double> scale;      // per component (empty = 1)
  std::vector<double> low, high;  // population coding ranges
  double width = 1.0;
};

// Units per observation component of a coding (population: n / m).
inline std::uint32_t coded_size(ObsCoding c, std::uint32_t m, std::uint32_t per_dim) {
  switch (c) {
    case ObsCoding::direct:
      return m;
    case ObsCoding::signed_pair:
      return 2 * m;
    case ObsCoding::population:
      return m * per_dim;
  }
  return m;
}

// out.size() = coded size; o.size() = m.
inline void encode_observation(const ObsCodingParams& p, std::span<const double> o,
                               std::span<double> out) {
  const std::size_t m = o.size();
  auto scaled = [&](std::size_t i) { return p.scale.empty() ? o[i] : o[i] / p.scale[i]; };
  switch (p.coding) {
    case ObsCoding::direct:
      for (std::size_t i = 0; i < m; ++i) out[i] = p.gain * scaled(i);
      break;
    case ObsCoding::signed_pair:
      for (std::size_t i = 0; i < m; ++i) {
        const double v = scaled(i);
        out[2 * i] = p.gain * std::max(0.0, v);
        out[2 * i + 1] = p.gain * std::max(0.0, -v);
      }
      break;
    case ObsCoding::population: {
      const std::size_t k = m ? out.size() / m : 0;
      for (std::size_t i = 0; i < m; ++i) {
        const double lo = p.low[i], hi = p.high[i];
        const double spacing = k > 1 ? (hi - lo) / static_cast<double>(k - 1) : (hi - lo);
        const double sigma = p.width * spacing;
        for (std::size_t j = 0; j < k; ++j) {
          const double c = k > 1 ? lo + spacing * static_cast<double>(j) : 0.5 * (lo + hi);
          const double d = (o[i] - c) / sigma;
          out[i * k + j] = p.gain * std::exp(-0.5 * d * d);
        }
      }
      break;
    }
  }
}

// Common part of the two encoder populations: holds the coded values of the current observation.
class EncoderPopulation : public Population {
 public:
  EncoderPopulation(std::uint32_t n, ObsCodingParams p) : p_(std::move(p)), u_(n, 0.0) {}
  std::uint32_t size() const override { return static_cast<std::uint32_t>(u_.size()); }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  const ObsCodingParams& coding() const { return p_; }
  void set_observation(std::span<const double> o) { encode_observation(p_, o, u_); }
  std::span<const double> values() const { return u_; }
  double* state(std::string_view name) override { return name == "u" ? u_.data() : nullptr; }
  std::vector<std::string> state_names() const override { return {"u"}; }
  void save_state(std::vector<double>& out) const override { out = u_; }
  void load_state(std::span<const double> in) override { u_.assign(in.begin(), in.end()); }

 protected:
  ObsCodingParams p_;
  std::vector<double> u_;
};

class CurrentEncoder final : public EncoderPopulation {
 public:
  using EncoderPopulation::EncoderPopulation;
  std::string_view model() const override { return "current_encoder"; }
  const double* continuous_output() const override { return u_.data(); }
};

class SpikeEncoder final : public EncoderPopulation {
 public:
  SpikeEncoder(std::uint32_t n, ObsCodingParams p, double rate_max_hz, Rng rng)
      : EncoderPopulation(n, std::move(p)), rate_max_(rate_max_hz), rng_(rng) {}
  std::string_view model() const override { return "spike_encoder"; }
  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    const double k = rate_max_ * ctx.dt_ms * 1e-3;
    for (std::uint32_t i = 0; i < size(); ++i) {
      const double p = std::clamp(u_[i], 0.0, 1.0) * k;
      if (p > 0.0 && rng_.uniform() < p) spiked.push_back(i);
    }
  }
  double max_probability(double dt_ms) const { return rate_max_ * dt_ms * 1e-3; }

 private:
  double rate_max_;
  Rng rng_;
};

enum class DecoderReadout : std::uint8_t { spike_count, membrane };
enum class DecoderPolicy : std::uint8_t { argmax, epsilon_greedy, softmax };

struct DecoderParams {
  std::uint32_t n_actions = 2;
  DecoderReadout readout = DecoderReadout::spike_count;
  DecoderPolicy policy = DecoderPolicy::argmax;
  double epsilon = 0.0;
  double temperature = 1.0;
  std::string temperature_from;  // "" or a modulator name (the runner sets `temperature` from it)
};

inline std::uint32_t argmax_first(std::span<const double> q) {
  std::uint32_t best = 0;
  for (std::uint32_t a = 1; a < q.size(); ++a)
    if (q[a] > q[best]) best = a;
  return best;
}

// Chooses an action from the pool values q (q.size() = n_actions).
inline std::uint32_t choose_action(const DecoderParams& p, std::span<const double> q, Rng& rng) {
  const auto n = static_cast<std::uint32_t>(q.size());
  switch (p.policy) {
    case DecoderPolicy::argmax:
      return argmax_first(q);
    case DecoderPolicy::epsilon_greedy:
      // Faithful to the CartPole original: the coin is flipped first, the random action drawn
      // only when it comes up.
      if (rng.uniform() < p.epsilon) return static_cast<std::uint32_t>(rng.below(n));
      return argmax_first(q);
    case DecoderPolicy::softmax: {
      const double mx = q[argmax_first(q)];
      double z = 0.0;
      std::vector<double> w(n);
      for (std::uint32_t a = 0; a < n; ++a) z += w[a] = std::exp((q[a] - mx) / p.temperature);
      double u = rng.uniform() * z;
      for (std::uint32_t a = 0; a < n; ++a) {
        u -= w[a];
        if (u < 0.0) return a;
      }
      return n - 1;
    }
  }
  return 0;
}

}  // namespace sbx
