#include "circuits/point_models.hpp"

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "models/hh_neuroblox.hpp"
#include "models/lif_coba.hpp"
#include "models/lif_cuba.hpp"
#include "models/lif_exact.hpp"
#include "models/ngnmm_theta.hpp"
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

// The string key "precision" (bind_model binds numbers only) of lif_cuba and traub_miles_hh:
// its spec with the model's own explanation, and its value.
ParamSpec precision_key(std::string meaning) {
  return text("precision", point::precision_names[0],
              {point::precision_names[0], point::precision_names[1]}, std::move(meaning));
}
point::Precision precision_of(const BlockDesc& b) {
  return b.params.text("precision") == point::precision_names[1] ? point::Precision::f32
                                                                 : point::Precision::f64;
}

template <class P>
P params_from(const BlockDesc& b, const P& defaults, const std::vector<Field<P>>& fields) {
  P p = defaults;
  for (const auto& f : fields) p.*(f.member) = b.params.number(f.name);
  return p;
}

// A model entry whose keys are the fields, with defaults from `defaults`; `make(n, params, ctx)`
// constructs the population. P::validate() (if the struct has one) runs at load time.
template <class P, class Make>
PopulationModelSpec bind_model(std::string name, std::string doc, Dynamics dyn, P defaults,
                               std::vector<Field<P>> fields, std::vector<StateSpec> init_states,
                               std::vector<std::string> recordables, Make make) {
  PopulationModelSpec m;
  m.name = std::move(name);
  m.doc = std::move(doc);
  m.dynamics = dyn;
  for (const auto& f : fields)
    m.params.push_back(num(f.name, f.unit, defaults.*(f.member), f.range, f.doc));
  m.init_states = std::move(init_states);
  m.recordables = std::move(recordables);
  m.make = [defaults, fields, make](const BlockDesc& b,
                                    BuildContext& ctx) -> std::unique_ptr<Population> {
    return make(b.n, params_from(b, defaults, fields), ctx);
  };
  if constexpr (requires(const P& p) { p.validate(); })
    m.check = [defaults, fields](const BlockDesc& b) {
      return params_from(b, defaults, fields).validate();
    };
  return m;
}

}  // namespace

void add_point_models(Registry& reg) {
  using F_ex = Field<LifExactParams>;
  reg.add(bind_model<LifExactParams>(
      "lif_exact",
      "leaky integrate-and-fire with exponential synaptic currents, integrated exactly "
      "(event-driven, NEST iaf_psc_exp); weights in pA, inhibitory weights negative",
      Dynamics::event_driven, LifExactParams{},
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
      {{"V", "mV"}, {"I_e", "pA"}, {"I_i", "pA"}}, {"V", "I_e", "I_i", "I_bias"},
      [](std::uint32_t n, const LifExactParams& p, BuildContext& ctx) {
        return std::make_unique<LifExactPopulation>(n, p, ctx.grid());
      }));

  using F_cu = Field<LifCubaParams>;
  const std::vector<F_cu> cuba_fields = {
      F_cu{"tau_m", &LifCubaParams::tau_m, "ms", positive(), "membrane time constant"},
      F_cu{"tau_e", &LifCubaParams::tau_e, "ms", positive(), "excitatory synaptic decay time"},
      F_cu{"tau_i", &LifCubaParams::tau_i, "ms", positive(), "inhibitory synaptic decay time"},
      F_cu{"E_L", &LifCubaParams::E_L, "mV", any_value(), "leak reversal potential"},
      F_cu{"V_th", &LifCubaParams::V_th, "mV", any_value(), "spike threshold"},
      F_cu{"V_reset", &LifCubaParams::V_reset, "mV", any_value(), "reset potential (< V_th)"},
      F_cu{"t_ref", &LifCubaParams::t_ref, "ms", non_negative(), "refractory period"}};
  PopulationModelSpec cuba = bind_model<LifCubaParams>(
      "lif_cuba",
      "current-based LIF of the CUBA benchmark (clocked, exact propagator); synaptic "
      "'currents' in mV, weights in mV, inhibitory weights negative",
      Dynamics::clocked, LifCubaParams{}, cuba_fields, {{"V", "mV"}, {"g_e", "mV"}, {"g_i", "mV"}},
      {"V", "g_e", "g_i"}, [](std::uint32_t n, const LifCubaParams& p, BuildContext&) {
        return std::make_unique<LifCubaPopulation>(n, p);
      });
  // Precision is a string key (bind_model binds numbers only): added and read here, as for
  // traub_miles_hh.
  cuba.params.push_back(precision_key(
      "element type of V, g_e, g_i and the receptor buffers: double, or float (16 instead of 32 "
      "bytes per cell: faster once the network outgrows the caches). Cost: cells given identical "
      "input spike on the same steps as double but for ~0.2 % of spikes moved by one dt; the "
      "chaotic CUBA network (cuba.toml) gives the same spikes for ~20 ms, then the trains part "
      "with rates within ~1 % (tests/models_point/test_lif_cuba_f32*.cpp, BENCHMARKS.md)"));
  auto cuba_params = [cuba_fields](const BlockDesc& b) {
    LifCubaParams p = params_from(b, LifCubaParams{}, cuba_fields);
    p.precision = precision_of(b);
    return p;
  };
  cuba.check = [cuba_params](const BlockDesc& b) { return cuba_params(b).validate(); };
  cuba.make = [cuba_params](const BlockDesc& b, BuildContext&) -> std::unique_ptr<Population> {
    return std::make_unique<LifCubaPopulation>(b.n, cuba_params(b));
  };
  reg.add(std::move(cuba));

  using F_co = Field<LifCobaParams>;
  reg.add(bind_model<LifCobaParams>(
      "lif_coba",
      "conductance-based LIF of the COBA benchmark (clocked); weights are conductance jumps "
      "in nS (>= 0)",
      Dynamics::clocked, LifCobaParams{},
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
      {{"V", "mV"}, {"g_e", "nS"}, {"g_i", "nS"}}, {"V", "g_e", "g_i", "I_bias"},
      [](std::uint32_t n, const LifCobaParams& p, BuildContext&) {
        return std::make_unique<LifCobaPopulation>(n, p);
      }));

  using F_hh = Field<HHParams>;
  const std::vector<F_hh> hh_fields = {
      F_hh{"C_m", &HHParams::C_m, "pF", positive(), "membrane capacitance"},
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
      F_hh{"t_ref", &HHParams::t_ref, "ms", non_negative(),
           "refractory period (blocks spike detection only)"},
      F_hh{"I_bias", &HHParams::I_bias, "pA", any_value(), "constant input current"},
      F_hh{"max_substep", &HHParams::max_substep, "ms", positive(),
           "longest internal substep of the etdrk4 integrator (dt is split into the fewest equal "
           "substeps no longer than this)"}};
  PopulationModelSpec hh = bind_model<HHParams>(
      "traub_miles_hh",
      "Hodgkin-Huxley cell of Traub & Miles (COBAHH benchmark, clocked); weights are "
      "conductance jumps in nS (>= 0)",
      Dynamics::clocked, HHParams{}, hh_fields,
      {{"V", "mV"}, {"m", ""}, {"h", ""}, {"n", ""}, {"g_e", "nS"}, {"g_i", "nS"}},
      {"V", "m", "h", "n", "g_e", "g_i", "I_bias"},
      [](std::uint32_t n, const HHParams& p, BuildContext&) {
        return std::make_unique<TraubMilesHHPopulation>(n, p);
      });
  // The integrator is a string key and bind_model binds numbers only: add it and read it here.
  hh.params.push_back(
      text("integrator", hh_integrator_names[static_cast<int>(HHParams{}.integrator)],
           {hh_integrator_names[0], hh_integrator_names[1]},
           "etdrk4: exponential Runge-Kutta, 4th order (spike times within 0.1 ms of a dt/10 "
           "reference over 1 s at dt 0.1 ms); exponential_euler: Brian2's method, 1st order (for "
           "like-for-like comparisons with Brian2, as in circuits_toml/cobahh.toml)"));
  hh.params.push_back(precision_key(
      "arithmetic of the kernel: double, or float (exponential_euler only; state kept in double "
      "arrays, rounded to float every step). Single cells: spike times within 0.001 ms of double "
      "over 1 s; networks are chaotic, so spike trains part early and counts differ by a few % "
      "(tests/models_point/test_point_precision.cpp, bench/point_precision.py)"));
  auto hh_params = [hh_fields](const BlockDesc& b) {
    HHParams p = params_from(b, HHParams{}, hh_fields);
    p.integrator = b.params.text("integrator") == hh_integrator_names[1]
                       ? HHIntegrator::exponential_euler
                       : HHIntegrator::etdrk4;
    p.precision = precision_of(b);
    return p;
  };
  hh.check = [hh_params](const BlockDesc& b) { return hh_params(b).validate(); };
  hh.make = [hh_params](const BlockDesc& b, BuildContext&) -> std::unique_ptr<Population> {
    return std::make_unique<TraubMilesHHPopulation>(b.n, hh_params(b));
  };
  reg.add(std::move(hh));

  // Neuroblox cells (neuroblox_models.md §1.1-1.3): clocked, coupled to each other through the
  // synapse each cell emits (a conductance coupling, I = w·G_pre·(E_syn,pre − V_post)), driven by
  // current couplings (current_source, ngnmm_theta). They also emit spikes (upward crossing of
  // 0 mV) that spike projections can carry to point-neuron populations.
  using F_nb = Field<NeurobloxHHParams>;
  const std::vector<F_nb> nb_fields = {
      F_nb{"g_Na", &NeurobloxHHParams::g_Na, "mS/cm^2", non_negative(), "Na max conductance"},
      F_nb{"g_K", &NeurobloxHHParams::g_K, "mS/cm^2", non_negative(), "K max conductance"},
      F_nb{"g_L", &NeurobloxHHParams::g_L, "mS/cm^2", non_negative(), "leak conductance"},
      F_nb{"E_Na", &NeurobloxHHParams::E_Na, "mV", any_value(), "Na reversal"},
      F_nb{"E_K", &NeurobloxHHParams::E_K, "mV", any_value(), "K reversal"},
      F_nb{"E_L", &NeurobloxHHParams::E_L, "mV", any_value(), "leak reversal"},
      F_nb{"I_bg", &NeurobloxHHParams::I_bg, "uA/cm^2", any_value(), "constant background current"},
      F_nb{"E_syn", &NeurobloxHHParams::E_syn, "mV", any_value(),
           "reversal of the synapse this cell emits"},
      F_nb{"G_syn", &NeurobloxHHParams::G_syn, "", any_value(),
           "max transmitter drive of the emitted synapse"},
      F_nb{"V_shift", &NeurobloxHHParams::V_shift, "mV", any_value(), "release-sigmoid centre"},
      F_nb{"V_range", &NeurobloxHHParams::V_range, "mV", positive(), "release-sigmoid width"},
      F_nb{"tau", &NeurobloxHHParams::tau, "ms", positive(), "decay time of the emitted synapse"},
      F_nb{"k_spk", &NeurobloxHHParams::k_spk, "", any_value(), "spike-counter gain"}};
  const std::vector<StateSpec> nb_init = {{"V", "mV"}, {"n", ""}, {"m", ""}, {"h", ""}};
  const std::vector<std::string> nb_rec = {"V",     "n", "m", "h",    "C_cum",
                                           "C_win", "z", "G", "I_bg", "I_in"};
  auto make_nb = [](std::uint32_t n, const NeurobloxHHParams& p, BuildContext&) {
    return std::make_unique<NeurobloxHHPopulation>(std::vector<NeurobloxHHParams>(n, p));
  };
  for (const bool inhib : {false, true}) {
    PopulationModelSpec m = bind_model<NeurobloxHHParams>(
        inhib ? "hh_inhib" : "hh_exci",
        inhib ? "Neuroblox HHNeuronInhib: inhibitory interneuron / MSN, emits a GABA_A-like synapse"
              : "Neuroblox HHNeuronExci: excitatory pyramidal cell, emits an AMPA-like synapse",
        Dynamics::clocked,
        inhib ? NeurobloxHHParams::inhibitory() : NeurobloxHHParams::excitatory(), nb_fields,
        nb_init, nb_rec, make_nb);
    m.kind = "neuroblox_hh";
    m.receptors = {};
    m.takes_current = true;
    reg.add(std::move(m));
  }

  using F_ng = Field<NgnmmThetaParams>;
  PopulationModelSpec ng = bind_model<NgnmmThetaParams>(
      "ngnmm_theta",
      "Neuroblox NGNMM_theta / NextGenerationEI neural mass (n = number of masses); output R_E "
      "drives targets through a current coupling (I = w·R_E)",
      Dynamics::clocked, NgnmmThetaParams{},
      {F_ng{"C_E", &NgnmmThetaParams::C_E, "ms", positive(), "time constant of E"},
       F_ng{"C_I", &NgnmmThetaParams::C_I, "ms", positive(), "time constant of I"},
       F_ng{"Delta_E", &NgnmmThetaParams::Delta_E, "", any_value(), "excitability width of E"},
       F_ng{"Delta_I", &NgnmmThetaParams::Delta_I, "", any_value(), "excitability width of I"},
       F_ng{"eta_E", &NgnmmThetaParams::eta_E, "", any_value(), "mean excitability of E"},
       F_ng{"eta_I", &NgnmmThetaParams::eta_I, "", any_value(), "mean excitability of I"},
       F_ng{"v_EE", &NgnmmThetaParams::v_EE, "", any_value(), "reversal-like constant E<-E"},
       F_ng{"v_EI", &NgnmmThetaParams::v_EI, "", any_value(), "reversal-like constant E<-I"},
       F_ng{"v_IE", &NgnmmThetaParams::v_IE, "", any_value(), "reversal-like constant I<-E"},
       F_ng{"v_II", &NgnmmThetaParams::v_II, "", any_value(), "reversal-like constant I<-I"},
       F_ng{"a_EE", &NgnmmThetaParams::a_EE, "1/ms", non_negative(), "synaptic rate E<-E"},
       F_ng{"a_EI", &NgnmmThetaParams::a_EI, "1/ms", non_negative(), "synaptic rate E<-I"},
       F_ng{"a_IE", &NgnmmThetaParams::a_IE, "1/ms", non_negative(), "synaptic rate I<-E"},
       F_ng{"a_II", &NgnmmThetaParams::a_II, "1/ms", non_negative(), "synaptic rate I<-I"},
       F_ng{"k_EE", &NgnmmThetaParams::k_EE, "", any_value(), "coupling strength E<-E"},
       F_ng{"k_EI", &NgnmmThetaParams::k_EI, "", any_value(), "coupling strength E<-I"},
       F_ng{"k_IE", &NgnmmThetaParams::k_IE, "", any_value(), "coupling strength I<-E"},
       F_ng{"k_II", &NgnmmThetaParams::k_II, "", any_value(), "coupling strength I<-I"}},
      {},  // no init keys: R_E/R_I are derived from A, B at construction
      {"A_E", "B_E", "A_I", "B_I", "g_EE", "g_EI", "g_IE", "g_II", "R_E", "R_I"},
      [](std::uint32_t n, const NgnmmThetaParams& p, BuildContext&) {
        return std::make_unique<NgnmmThetaPopulation>(p, n);
      });
  ng.kind = "neural_mass";
  ng.receptors = {};
  reg.add(std::move(ng));
}

}  // namespace sbx::circuits
