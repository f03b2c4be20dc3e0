#include "circuits/point_models.hpp"

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "models/lif_coba.hpp"
#include "models/lif_cuba.hpp"
#include "models/lif_exact.hpp"
#include "models/traub_miles_hh.hpp"

namespace sbx::circuits {

namespace {

// One TOML key bound to one field of a params struct.
template <class P>
struct Field {
  const char* name;
  double P::*member;
  const char* unit;
  Range range;
  const char* doc;
};

template <class P>
P params_from(const BlockDesc& b, const std::vector<Field<P>>& fields) {
  P p{};
  for (const auto& f : fields) p.*(f.member) = b.params.number(f.name);
  return p;
}

// A model entry whose keys are the fields, with defaults from P{}; `make(n, params, ctx)`
// constructs the population.
template <class P, class Make>
PopulationModelSpec bind_model(std::string name, std::string doc, Dynamics dyn,
                               std::vector<Field<P>> fields, std::vector<std::string> init_states,
                               std::vector<std::string> recordables, Make make) {
  PopulationModelSpec m;
  m.name = std::move(name);
  m.doc = std::move(doc);
  m.dynamics = dyn;
  const P defaults{};
  for (const auto& f : fields) m.params.push_back(num(f.name, f.unit, defaults.*(f.member), f.range, f.doc));
  m.init_states = std::move(init_states);
  m.recordables = std::move(recordables);
  m.make = [fields, make](const BlockDesc& b, BuildContext& ctx) -> std::unique_ptr<Population> {
    return make(b.n, params_from(b, fields), ctx);
  };
  m.check = [fields](const BlockDesc& b) { return params_from(b, fields).validate(); };
  return m;
}

}  // namespace

void add_point_models(Registry& reg) {
  using F_ex = Field<LifExactParams>;
  reg.add(bind_model<LifExactParams>(
      "lif_exact",
      "leaky integrate-and-fire with exponential synaptic currents, integrated exactly "
      "(event-driven, NEST iaf_psc_exp); weights in pA, inhibitory weights negative",
      Dynamics::event_driven,
      {F_ex{"tau_m", &LifExactParams::tau_m, "ms", positive(), "membrane time constant"},
       F_ex{"C_m", &LifExactParams::C_m, "pF", positive(), "membrane capacitance"},
       F_ex{"E_L", &LifExactParams::E_L, "mV", any_value(), "resting potential"},
       F_ex{"V_th", &LifExactParams::V_th, "mV", any_value(), "spike threshold"},
       F_ex{"V_reset", &LifExactParams::V_reset, "mV", any_value(), "reset potential (< V_th)"},
       F_ex{"t_ref", &LifExactParams::t_ref, "ms", non_negative(), "absolute refractory period"},
       F_ex{"tau_syn_e", &LifExactParams::tau_syn_e, "ms", positive(),
            "excitatory synaptic current decay time"},
       F_ex{"tau_syn_i", &LifExactParams::tau_syn_i, "ms", positive(),
            "inhibitory synaptic current decay time"},
       F_ex{"I_bias", &LifExactParams::I_bias, "pA", any_value(), "constant input current"}},
      {"V", "I_e", "I_i"}, {"V", "I_e", "I_i", "I_bias"},
      [](std::uint32_t n, const LifExactParams& p, BuildContext& ctx) {
        return std::make_unique<LifExactPopulation>(n, p, ctx.grid());
      }));

  using F_cu = Field<LifCubaParams>;
  reg.add(bind_model<LifCubaParams>(
      "lif_cuba",
      "current-based LIF of the CUBA benchmark (clocked, exact propagator); synaptic "
      "'currents' in mV, weights in mV, inhibitory weights negative",
      Dynamics::clocked,
      {F_cu{"tau_m", &LifCubaParams::tau_m, "ms", positive(), "membrane time constant"},
       F_cu{"tau_e", &LifCubaParams::tau_e, "ms", positive(), "excitatory synaptic decay time"},
       F_cu{"tau_i", &LifCubaParams::tau_i, "ms", positive(), "inhibitory synaptic decay time"},
       F_cu{"E_L", &LifCubaParams::E_L, "mV", any_value(), "leak reversal potential"},
       F_cu{"V_th", &LifCubaParams::V_th, "mV", any_value(), "spike threshold"},
       F_cu{"V_reset", &LifCubaParams::V_reset, "mV", any_value(), "reset potential (< V_th)"},
       F_cu{"t_ref", &LifCubaParams::t_ref, "ms", non_negative(), "refractory period"}},
      {"V", "g_e", "g_i"}, {"V", "g_e", "g_i"},
      [](std::uint32_t n, const LifCubaParams& p, BuildContext&) {
        return std::make_unique<LifCubaPopulation>(n, p);
      }));

  using F_co = Field<LifCobaParams>;
  reg.add(bind_model<LifCobaParams>(
      "lif_coba",
      "conductance-based LIF of the COBA benchmark (clocked); weights are conductance jumps "
      "in nS (>= 0)",
      Dynamics::clocked,
      {F_co{"C_m", &LifCobaParams::C_m, "pF", positive(), "membrane capacitance"},
       F_co{"g_L", &LifCobaParams::g_L, "nS", non_negative(), "leak conductance"},
       F_co{"E_L", &LifCobaParams::E_L, "mV", any_value(), "leak reversal potential"},
       F_co{"V_th", &LifCobaParams::V_th, "mV", any_value(), "spike threshold"},
       F_co{"V_reset", &LifCobaParams::V_reset, "mV", any_value(), "reset potential (< V_th)"},
       F_co{"t_ref", &LifCobaParams::t_ref, "ms", non_negative(), "refractory period"},
       F_co{"E_e", &LifCobaParams::E_e, "mV", any_value(), "excitatory reversal potential"},
       F_co{"E_i", &LifCobaParams::E_i, "mV", any_value(), "inhibitory reversal potential"},
       F_co{"tau_e", &LifCobaParams::tau_e, "ms", positive(), "excitatory conductance decay"},
       F_co{"tau_i", &LifCobaParams::tau_i, "ms", positive(), "inhibitory conductance decay"},
       F_co{"I_bias", &LifCobaParams::I_bias, "pA", any_value(), "constant input current"}},
      {"V", "g_e", "g_i"}, {"V", "g_e", "g_i", "I_bias"},
      [](std::uint32_t n, const LifCobaParams& p, BuildContext&) {
        return std::make_unique<LifCobaPopulation>(n, p);
      }));

  using F_hh = Field<HHParams>;
  reg.add(bind_model<HHParams>(
      "traub_miles_hh",
      "Hodgkin-Huxley cell of Traub & Miles (COBAHH benchmark, clocked); weights are "
      "conductance jumps in nS (>= 0)",
      Dynamics::clocked,
      {F_hh{"C_m", &HHParams::C_m, "pF", positive(), "membrane capacitance"},
       F_hh{"g_L", &HHParams::g_L, "nS", non_negative(), "leak conductance"},
       F_hh{"E_L", &HHParams::E_L, "mV", any_value(), "leak reversal potential"},
       F_hh{"g_Na", &HHParams::g_Na, "nS", non_negative(), "maximal sodium conductance"},
       F_hh{"E_Na", &HHParams::E_Na, "mV", any_value(), "sodium reversal potential"},
       F_hh{"g_K", &HHParams::g_K, "nS", non_negative(), "maximal potassium conductance"},
       F_hh{"E_K", &HHParams::E_K, "mV", any_value(), "potassium reversal potential"},
       F_hh{"V_T", &HHParams::V_T, "mV", any_value(), "threshold offset of the rate functions"},
       F_hh{"tau_e", &HHParams::tau_e, "ms", positive(), "excitatory conductance decay"},
       F_hh{"tau_i", &HHParams::tau_i, "ms", positive(), "inhibitory conductance decay"},
       F_hh{"E_e", &HHParams::E_e, "mV", any_value(), "excitatory reversal potential"},
       F_hh{"E_i", &HHParams::E_i, "mV", any_value(), "inhibitory reversal potential"},
       F_hh{"V_spike", &HHParams::V_spike, "mV", any_value(), "upward crossing = spike"},
       F_hh{"t_ref", &HHParams::t_ref, "ms", non_negative(), "spike detection dead time"},
       F_hh{"I_bias", &HHParams::I_bias, "pA", any_value(), "constant input current"}},
      {"V", "m", "h", "n", "g_e", "g_i"}, {"V", "m", "h", "n", "g_e", "g_i", "I_bias"},
      [](std::uint32_t n, const HHParams& p, BuildContext&) {
        return std::make_unique<TraubMilesHHPopulation>(n, p);
      }));
}

}  // namespace sbx::circuits
