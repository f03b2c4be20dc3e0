// Boilerplate shared by the clocked point models (lif_cuba.hpp, lif_coba.hpp,
// traub_miles_hh.hpp): parameter checks with readable messages, state save/load of a fixed list
// of per-neuron arrays, and the first non-finite state variable.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sbx::point {

// Collects human-readable parameter violations ("tau_e must be > 0 ms, got -1").
class ParamCheck {
 public:
  void positive(const char* name, double v, const char* unit) {
    if (!(v > 0.0) || !std::isfinite(v))
      errors_.push_back(std::string(name) + " must be > 0 " + unit + ", got " + std::to_string(v));
  }
  void non_negative(const char* name, double v, const char* unit) {
    if (!(v >= 0.0) || !std::isfinite(v))
      errors_.push_back(std::string(name) + " must be >= 0 " + unit + ", got " + std::to_string(v));
  }
  void finite(const char* name, double v) {
    if (!std::isfinite(v)) errors_.push_back(std::string(name) + " must be finite");
  }
  // V_reset < V_th (both finite).
  void reset_below_threshold(double V_reset, double V_th) {
    if (std::isfinite(V_reset) && std::isfinite(V_th) && !(V_reset < V_th))
      errors_.push_back("V_reset must be < V_th (got V_reset = " + std::to_string(V_reset) +
                        " mV, V_th = " + std::to_string(V_th) + " mV)");
  }
  std::vector<std::string> take() { return std::move(errors_); }

 private:
  std::vector<std::string> errors_;
};

// Throws std::invalid_argument("<model> parameters: e1; e2;") if `errors` is not empty.
inline void throw_if_invalid(const char* model, const std::vector<std::string>& errors) {
  if (errors.empty()) return;
  std::string msg = std::string(model) + " parameters:";
  for (const auto& s : errors) msg += " " + s + ";";
  throw std::invalid_argument(msg);
}

// Appends the first n entries of every array, in order (the model documents the layout).
inline void save_arrays(std::vector<double>& out, std::uint32_t n,
                        std::initializer_list<const std::vector<double>*> arrays) {
  out.clear();
  for (const auto* a : arrays) out.insert(out.end(), a->begin(), a->begin() + n);
}
inline void load_arrays(std::span<const double> in, std::uint32_t n, const char* model,
                        std::initializer_list<std::vector<double>*> arrays) {
  if (in.size() != arrays.size() * n)
    throw std::invalid_argument(std::string(model) + "::load_state: expected " +
                                std::to_string(arrays.size() * n) + " values, got " +
                                std::to_string(in.size()));
  std::size_t k = 0;
  for (auto* a : arrays) {
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(k),
              in.begin() + static_cast<std::ptrdiff_t>(k + n), a->begin());
    k += n;
  }
}

// Lowest neuron index with a non-finite value in any of the named arrays (variable set to the
// first such array at that neuron), or -1.
inline long first_nonfinite(
    std::uint32_t n,
    std::initializer_list<std::pair<const char*, const std::vector<double>*>> arrays,
    std::string& variable) {
  for (std::uint32_t i = 0; i < n; ++i)
    for (const auto& [name, a] : arrays)
      if (!std::isfinite((*a)[i])) {
        variable = name;
        return static_cast<long>(i);
      }
  return -1;
}

}  // namespace sbx::point
