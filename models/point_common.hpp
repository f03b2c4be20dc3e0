// Boilerplate shared by the clocked point models (lif_cuba.hpp, lif_coba.hpp,
// traub_miles_hh.hpp): parameter checks with readable messages, state save/load of a fixed list
// of per-neuron arrays, and the first non-finite state variable.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/errors.hpp"

namespace sbx::point {

// Arithmetic of a clocked point model's kernel (TOML key `precision`, names in enum order).
enum class Precision : std::uint8_t { f64, f32 };
inline constexpr const char* precision_names[] = {"double", "float"};

// Collects human-readable parameter violations ("tau_e must be > 0 ms, got -1").
class ParamCheck {
 public:
  void positive(const char* name, double v, const char* unit) {
    if (!(v > 0.0) || !std::isfinite(v))
      errors_.push_back(std::string(name) + " must be > 0 " + unit + ", got " + format_number(v));
  }
  void non_negative(const char* name, double v, const char* unit) {
    if (!(v >= 0.0) || !std::isfinite(v))
      errors_.push_back(std::string(name) + " must be >= 0 " + unit + ", got " + format_number(v));
  }
  void finite(const char* name, double v) {
    if (!std::isfinite(v)) errors_.push_back(std::string(name) + " must be finite");
  }
  // V_reset < V_th (both finite).
  void reset_below_threshold(double V_reset, double V_th) {
    if (std::isfinite(V_reset) && std::isfinite(V_th) && !(V_reset < V_th))
      errors_.push_back("V_reset must be < V_th (got V_reset = " + format_number(V_reset) +
                        " mV, V_th = " + format_number(V_th) + " mV)");
  }
  void fail(std::string message) { errors_.push_back(std::move(message)); }
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

// Allocator of cache-line (64-byte) aligned storage for the models' state arrays: the kernels
// stream them with full-width vector loads, and with malloc's 16-byte alignment three of four
// AVX-512 loads straddle two cache lines (measured: CUBA network 15-20 % less CPU when aligned).
template <class T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const CacheAligned<U>&) const noexcept {
    return true;
  }
};
// A state array of a clocked point model.
using Array = std::vector<double, CacheAligned<double>>;
// The float and int32 state arrays of a single-precision kernel (lif_cuba precision = "float").
using ArrayF = std::vector<float, CacheAligned<float>>;
using ArrayI32 = std::vector<std::int32_t, CacheAligned<std::int32_t>>;

// Appends the first n entries of every array, in order (the model documents the layout).
template <class Vec = std::vector<double>>
inline void save_arrays(std::vector<double>& out, std::uint32_t n,
                        std::initializer_list<const Vec*> arrays) {
  out.clear();
  for (const auto* a : arrays) out.insert(out.end(), a->begin(), a->begin() + n);
}
template <class Vec = std::vector<double>>
inline void load_arrays(std::span<const double> in, std::uint32_t n, const char* model,
                        std::initializer_list<Vec*> arrays) {
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
template <class Vec = std::vector<double>>
inline long first_nonfinite(std::uint32_t n,
                            std::initializer_list<std::pair<const char*, const Vec*>> arrays,
                            std::string& variable) {
  // Fast path (run every ~10 ms of simulated time over every state array): an OR of "not
  // finite" flags, which the compiler vectorises; the exact scan below runs only on a hit.
  using T = typename Vec::value_type;  // double or float
  bool bad = false;
  for (const auto& [name, a] : arrays) {
    (void)name;
    const T* x = a->data();
    for (std::uint32_t i = 0; i < n; ++i)
      bad |= !(std::fabs(x[i]) <= std::numeric_limits<T>::max());
  }
  if (!bad) return -1;
  for (std::uint32_t i = 0; i < n; ++i)
    for (const auto& [name, a] : arrays)
      if (!std::isfinite((*a)[i])) {
        variable = name;
        return static_cast<long>(i);
      }
  return -1;
}

}  // namespace sbx::point
