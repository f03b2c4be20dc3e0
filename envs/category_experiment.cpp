#include "envs/category_experiment.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "engine/errors.hpp"
#include "models/hh_neuroblox.hpp"
#include "models/hh_neuroblox_pool.hpp"

namespace sbx {

namespace {

// Control orders at one tick (they replace Neuroblox's √eps offsets, see the header).
constexpr std::uint8_t order_of(ExperimentEvent e) {
  switch (e) {
    case ExperimentEvent::latch:
      return 0;
    case ExperimentEvent::tan_draw:
      return 1;
    case ExperimentEvent::snc_snapshot:
      return 2;
    case ExperimentEvent::matrisome_snapshot:
      return 3;
    case ExperimentEvent::gate_matrisomes:
      return 4;
    case ExperimentEvent::gate_striosomes:
      return 5;
    case ExperimentEvent::reset_windows:
      return 6;
    case ExperimentEvent::stimulus_off:
      return 7;
    case ExperimentEvent::competition_reset:
      return 8;
  }
  return 9;
}

// Neuroblox's hypergeometric rule (§2.3): N_c = d·N_dst·N_src, out_max = ceil(N_c/N_src),
// in_deg = ceil(N_c/N_dst); each destination in order draws min(in_deg, |eligible|) distinct
// sources among those with fewer than out_max connections. Returns (src, dst) pairs.
std::vector<std::pair<std::uint32_t, std::uint32_t>> hypergeometric(std::uint32_t n_src,
                                                                    std::uint32_t n_dst, double d,
                                                                    Rng& rng) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  if (n_src == 0 || n_dst == 0 || d <= 0.0) return out;
  const double n_c = d * static_cast<double>(n_dst) * static_cast<double>(n_src);
  // The 1e-9 relative slack keeps 0.1·10·20 = 20.000000000000004 from rounding up to 21.
  auto ceil_tol = [](double x) {
    const double r = std::round(x);
    return std::fabs(x - r) <= 1e-9 * std::max(1.0, std::fabs(x)) ? r : std::ceil(x);
  };
  const auto out_max = static_cast<std::uint32_t>(ceil_tol(n_c / n_src));
  const auto in_deg = static_cast<std::uint32_t>(ceil_tol(n_c / n_dst));
  std::vector<std::uint32_t> count(n_src, 0), eligible;
  for (std::uint32_t dst = 0; dst < n_dst; ++dst) {
    eligible.clear();
    for (std::uint32_t s = 0; s < n_src; ++s)
      if (count[s] < out_max) eligible.push_back(s);
    const auto k = std::min<std::uint32_t>(in_deg, static_cast<std::uint32_t>(eligible.size()));
    for (std::uint32_t pick :
         rng.sample_without_replacement(static_cast<std::uint32_t>(eligible.size()), k)) {
      out.emplace_back(eligible[pick], dst);
      ++count[eligible[pick]];
    }
  }
  return out;
}

std::vector<NeurobloxHHParams> cortical_params(const CorticalBlockSpec& c, Rng& bg_rng) {
  std::vector<NeurobloxHHParams> p;
  for (std::uint32_t k = 0; k < c.n_wta * c.n_exci; ++k) {
    NeurobloxHHParams e = NeurobloxHHParams::excitatory();
    e.E_syn = c.E_syn_exci;
    e.G_syn = c.G_syn_exci;
    e.tau = c.tau_exci;
    e.I_bg = c.I_bg * bg_rng.uniform();
    p.push_back(e);
  }
  for (std::uint32_t w = 0; w <= c.n_wta; ++w) {  // n_wta WTA interneurons, then ff_inh
    NeurobloxHHParams i = NeurobloxHHParams::inhibitory();
    i.E_syn = c.E_syn_inhib;
    i.G_syn = w < c.n_wta ? c.G_syn_inhib : c.G_syn_ff_inhib;
    i.tau = c.tau_inhib;
    p.push_back(i);
  }
  return p;
}

void add_synapse(ContinuousProjection& c, std::uint32_t pre, std::uint32_t post, double w) {
  c.pre.push_back(pre);
  c.post.push_back(post);
  c.weight.push_back(w);
}

ContinuousProjection cortical_internal(const CorticalBlockSpec& c, const CorticalLayout& L,
                                       Rng& rng) {
  ContinuousProjection p;
  p.name = c.name + ".internal";
  p.pre_population = p.post_population = L.population;
  p.kind = CouplingKind::conductance;
  for (std::uint32_t w = 0; w < c.n_wta; ++w)
    for (std::uint32_t e = 0; e < c.n_exci; ++e) add_synapse(p, L.exci(w, e), L.wta_inh(w), 1.0);
  for (std::uint32_t w = 0; w < c.n_wta; ++w)
    for (std::uint32_t e = 0; e < c.n_exci; ++e) add_synapse(p, L.wta_inh(w), L.exci(w, e), 1.0);
  for (std::uint32_t k = 0; k < L.n_excitatory(); ++k) add_synapse(p, L.ff_inh(), k, 1.0);
  // WTA_i → WTA_j, i ≠ j: Boolean N_exci × N_exci matrix, entries Bernoulli(density).
  for (std::uint32_t i = 0; i < c.n_wta; ++i)
    for (std::uint32_t j = 0; j < c.n_wta; ++j) {
      if (i == j) continue;
      for (std::uint32_t a = 0; a < c.n_exci; ++a)
        for (std::uint32_t b = 0; b < c.n_exci; ++b)
          if (rng.bernoulli(c.density)) add_synapse(p, L.exci(i, a), L.exci(j, b), c.weight);
    }
  return p;
}

}  // namespace

const char* to_string(ExperimentEvent e) {
  switch (e) {
    case ExperimentEvent::competition_reset:
      return "competition_reset";
    case ExperimentEvent::latch:
      return "latch";
    case ExperimentEvent::tan_draw:
      return "tan_draw";
    case ExperimentEvent::snc_snapshot:
      return "snc_snapshot";
    case ExperimentEvent::matrisome_snapshot:
      return "matrisome_snapshot";
    case ExperimentEvent::gate_matrisomes:
      return "gate_matrisomes";
    case ExperimentEvent::gate_striosomes:
      return "gate_striosomes";
    case ExperimentEvent::reset_windows:
      return "reset_windows";
    case ExperimentEvent::stimulus_off:
      return "stimulus_off";
  }
  return "?";
}

void validate(const CategoryExperimentSpec& s) {
  std::vector<Diagnostic> d;
  auto bad = [&](const std::string& key, const std::string& msg) {
    d.push_back(Diagnostic{"", 0, 0, key, msg});
  };
  if (!(s.tick > 0.0) || !std::isfinite(s.tick)) bad("tick", "must be a positive number of ms");
  if (!(s.dt > 0.0) || !std::isfinite(s.dt)) bad("dt", "must be a positive number of ms");
  if (!d.empty()) throw UserError(std::move(d));
  const TimeGrid g(s.tick);
  auto on_grid = [&](const char* key, double ms, bool positive) {
    if (!std::isfinite(ms) || ms < 0.0 || (positive && ms == 0.0)) {
      bad(key,
          std::string("must be ") + (positive ? "> 0" : ">= 0") + " ms, got " + std::to_string(ms));
      return;
    }
    try {
      if (g.from_ms(ms) == 0 && positive)
        bad(key, "must be at least one tick (" + std::to_string(s.tick) + " ms), got " +
                     std::to_string(ms) + " ms");
    } catch (const std::exception& e) {  // off the grid, or beyond the tick counter's range
      bad(key, e.what());
    }
  };
  on_grid("dt", s.dt, true);
  on_grid("t_block", s.t_block, true);
  on_grid("t_stimulus", s.t_stimulus, false);
  on_grid("t_pause", s.t_pause, false);
  on_grid("t_warmup", s.t_warmup, false);
  on_grid("tan_t_event", s.tan_t_event, false);
  on_grid("snc_t_event", s.snc_t_event, false);
  on_grid("matrisome_t_event", s.matrisome_t_event, false);
  on_grid("competition_t_event", s.competition_t_event, false);
  on_grid("competition_reset_time", s.competition_reset_time, false);
  if (d.empty()) {
    const Tick dt = g.from_ms(s.dt);  // (> 0: checked above)
    if (!(s.t_trial() > 0.0)) bad("t_stimulus", "the trial t_stimulus + t_pause must be > 0 ms");
    if (g.from_ms(s.t_trial()) % dt != 0)
      bad("t_stimulus", "the trial length t_stimulus + t_pause must be a multiple of dt");
    if (g.from_ms(s.t_warmup) % dt != 0) bad("t_warmup", "must be a multiple of dt");
  }
  for (const CorticalBlockSpec* c : {&s.vac, &s.ac}) {
    if (c->name.empty()) bad("name", "cortical blocks need a name");
    if (c->n_wta < 1 || c->n_exci < 1 || c->n_wta * c->n_exci > 100000)
      bad(c->name + ".n_wta", "n_wta and n_exci must be >= 1 (and n_wta*n_exci <= 100000)");
    if (!(c->density >= 0.0 && c->density <= 1.0)) bad(c->name + ".density", "must be in [0, 1]");
    for (double x : {c->weight, c->G_syn_exci, c->G_syn_inhib, c->G_syn_ff_inhib, c->E_syn_exci,
                     c->E_syn_inhib, c->tau_exci, c->tau_inhib, c->I_bg})
      if (!std::isfinite(x)) bad(c->name, "parameters must be finite");
  }
  for (const auto& st : s.striata) {
    if (st.name.empty()) bad("striata", "striatum blocks need a name");
    if (st.n_inhib > 100000) bad(st.name + ".n_inhib", "must be <= 100000");
  }
  if (!(s.vac_ac_density >= 0.0 && s.vac_ac_density <= 1.0))
    bad("vac_ac_density", "must be in [0, 1]");
  if (!(s.ac_str_density >= 0.0 && s.ac_str_density <= 1.0))
    bad("ac_str_density", "must be in [0, 1]");
  if (!(s.tan_kappa >= 0.0) || !(s.snc_kappa >= 0.0)) bad("tan_kappa", "kappa must be >= 0");
  for (double x : {s.stimulus_weight, s.ascending_weight, s.vac_ac_weight, s.ac_str_weight,
                   s.tan_weight, s.tan_lambda, s.snc_lambda, s.striosome_tan_weight,
                   s.striosome_snc_weight, s.loser_current, s.policy_t_decision})
    if (!std::isfinite(x)) bad("parameters", "every parameter must be finite");
  if (!d.empty()) throw UserError(std::move(d));
}

CategoryExperiment::CategoryExperiment(CategoryExperimentSpec spec, ClassificationEnvironment env)
    : spec_(std::move(spec)), env_(std::move(env)) {
  validate(spec_);
  if (env_.images().n_categories() > 2)
    throw UserError(Diagnostic{"", 0, 0, "stimuli",
                               "the corticostriatal circuit has two striata (actions 1 and 2); "
                               "the stimulus set has " +
                                   std::to_string(env_.images().n_categories()) + " categories"});
  const TimeGrid grid(spec_.tick);
  sim_ = std::make_unique<Simulator>(grid, grid.from_ms(spec_.dt));
  build();
}

CategoryExperiment::~CategoryExperiment() = default;

void CategoryExperiment::build() {
  Simulator& sim = *sim_;
  const std::uint64_t seed = spec_.seed;

  // ---- populations ----
  if (spec_.use_ascending) {
    std::unique_ptr<Population> asc =
        spec_.make_ascending ? spec_.make_ascending()
                             : std::make_unique<NgnmmThetaPopulation>(spec_.ascending_params);
    if (!asc || asc->dynamics() != Dynamics::clocked || !asc->continuous_output() ||
        spec_.ascending_output >= asc->size())
      throw UserError(Diagnostic{"", 0, 0, "ascending",
                                 "the ascending population must be clocked and have a continuous "
                                 "output at index ascending_output"});
    layout_.ascending_population = sim.add_population(spec_.ascending_name, std::move(asc));
  }
  auto integrator_of = [](const std::string& block, const std::string& name) {
    NeurobloxIntegrator integ = NeurobloxIntegrator::etdrk4;
    if (!parse_neuroblox_integrator(name, integ))
      throw UserError(Diagnostic{
          "", 0, 0, "blocks." + block + ".integrator",
          "unknown HH integrator '" + name + "' (allowed: etdrk4, eab2, eab3, eab4, etdrk4_f32)"});
    return integ;
  };
  // HH blocks: VAC, AC, then the striata. Blocks with the same integrator share one pool, i.e.
  // one SIMD kernel call (models/hh_neuroblox_pool.hpp); each stays a population of its own.
  struct HHBlockSpec {
    std::string name;
    std::vector<NeurobloxHHParams> params;
    NeurobloxIntegrator integrator;
  };
  std::vector<HHBlockSpec> hh;
  for (const CorticalBlockSpec* c : {&spec_.vac, &spec_.ac}) {
    Rng bg = Rng::stream(seed, c->name + "/I_bg");
    hh.push_back({c->name, cortical_params(*c, bg), integrator_of(c->name, c->integrator)});
  }
  for (std::size_t s = 0; s < (spec_.closed_loop ? 2u : 0u); ++s) {
    const StriatumBlockSpec& st = spec_.striata[s];
    NeurobloxHHParams msn = NeurobloxHHParams::inhibitory();
    msn.E_syn = st.E_syn_inhib;
    msn.G_syn = st.G_syn_inhib;
    msn.tau = st.tau_inhib;
    hh.push_back({st.name, std::vector<NeurobloxHHParams>(st.n_inhib, msn),
                  integrator_of(st.name, st.integrator)});
  }
  std::vector<std::unique_ptr<NeurobloxHHBlock>> hh_pops(hh.size());
  for (std::size_t first = 0; first < hh.size(); ++first) {
    if (hh_pops[first]) continue;  // already in the pool of an earlier block
    std::vector<std::size_t> members;
    std::vector<std::vector<NeurobloxHHParams>> params;
    for (std::size_t k = first; k < hh.size(); ++k)
      if (!hh_pops[k] && hh[k].integrator == hh[first].integrator) {
        members.push_back(k);
        params.push_back(hh[k].params);
      }
    auto blocks = NeurobloxHHPool::make(params, hh[first].integrator);
    for (std::size_t j = 0; j < members.size(); ++j) hh_pops[members[j]] = std::move(blocks[j]);
  }
  auto add_hh = [&](std::size_t k) {
    Population* raw = hh_pops[k].get();
    const std::uint32_t id = sim.add_population(hh[k].name, std::move(hh_pops[k]));
    return std::pair{raw, id};
  };
  std::tie(vac_, layout_.vac.population) = add_hh(0);
  layout_.vac.n_wta = spec_.vac.n_wta;
  layout_.vac.n_exci = spec_.vac.n_exci;
  std::tie(ac_, layout_.ac.population) = add_hh(1);
  layout_.ac.n_wta = spec_.ac.n_wta;
  layout_.ac.n_exci = spec_.ac.n_exci;
  for (std::size_t s = 0; s < (spec_.closed_loop ? 2u : 0u); ++s)
    std::tie(str_[s], layout_.striatum_population[s]) = add_hh(2 + s);

  // ---- cortical internal wiring ----
  {
    Rng r = Rng::stream(seed, spec_.vac.name + "/wta");
    layout_.vac.internal_coupling =
        sim.add_continuous(cortical_internal(spec_.vac, layout_.vac, r));
  }
  {
    Rng r = Rng::stream(seed, spec_.ac.name + "/wta");
    layout_.ac.internal_coupling = sim.add_continuous(cortical_internal(spec_.ac, layout_.ac, r));
  }

  // ---- ascending drive → ff_inh of each cortical block ----
  if (layout_.ascending_population >= 0) {
    for (const CorticalLayout* L : {&layout_.vac, &layout_.ac}) {
      ContinuousProjection c;
      c.name = spec_.ascending_name + "->" + sim.population_name(L->population);
      c.pre_population = static_cast<std::uint32_t>(layout_.ascending_population);
      c.post_population = L->population;
      c.kind = CouplingKind::current;
      add_synapse(c, spec_.ascending_output, L->ff_inh(), spec_.ascending_weight);
      layout_.ascending_couplings.push_back(sim.add_continuous(std::move(c)));
    }
  }

  // ---- stimulus → VAC excitatory cells, cyclic pixel cursor ----
  const std::size_t n_pixels = env_.images().n_pixels;
  for (std::uint32_t k = 0; k < layout_.vac.n_excitatory(); ++k)
    layout_.pixel_of_vac_exci.push_back(static_cast<std::uint32_t>(k % n_pixels));

  // ---- VAC → AC (hypergeometric, plastic Hebbian) ----
  {
    Rng r = Rng::stream(seed, spec_.vac.name + "->" + spec_.ac.name);
    ContinuousProjection c;
    c.name = spec_.vac.name + "->" + spec_.ac.name;
    c.pre_population = layout_.vac.population;
    c.post_population = layout_.ac.population;
    c.kind = CouplingKind::conductance;
    for (auto [src, dst] : hypergeometric(layout_.vac.n_excitatory(), layout_.ac.n_excitatory(),
                                          spec_.vac_ac_density, r))
      add_synapse(c, src, dst, spec_.vac_ac_weight);
    layout_.vac_ac_coupling = sim.add_continuous(std::move(c));
  }

  if (!spec_.closed_loop) {
    control_ = sim.add_control([this](Tick t, std::uint32_t b, std::uint32_t c) {
      on_event(t, static_cast<ExperimentEvent>(b), c);
    });
    return;
  }

  // ---- AC → STR_s: per-source weights, MSNs (hypergeometric), matrisome, striosome ----
  const std::uint32_t n_ac = layout_.ac.n_excitatory();
  ac_exci_index_.resize(n_ac);
  std::iota(ac_exci_index_.begin(), ac_exci_index_.end(), 0u);
  zeros_.assign(n_ac, 0u);
  for (std::size_t s = 0; s < 2; ++s) {
    const std::string edge = spec_.ac.name + "->" + spec_.striata[s].name;
    Rng wr = Rng::stream(seed, edge + "/weights");
    std::vector<double> w(n_ac);
    for (auto& x : w) x = 2.0 * spec_.ac_str_weight * wr.uniform();
    w_matrisome_[s] = w;
    w_striosome_[s] = w;
    Rng hr = Rng::stream(seed, edge + "/msn");
    ContinuousProjection c;
    c.name = edge;
    c.pre_population = layout_.ac.population;
    c.post_population = layout_.striatum_population[s];
    c.kind = CouplingKind::conductance;
    for (auto [src, dst] : hypergeometric(n_ac, spec_.striata[s].n_inhib, spec_.ac_str_density, hr))
      add_synapse(c, src, dst, w[src]);
    layout_.ac_msn_coupling[s] = sim.add_continuous(std::move(c));
  }

  // ---- discrete units ----
  for (std::size_t s = 0; s < 2; ++s) {
    units_[s] = StriatumUnits{};
    units_[s].matrisome.t_event = spec_.matrisome_t_event;
    tans_[s].kappa = spec_.tan_kappa;
    tans_[s].lambda = spec_.tan_lambda;
    tans_[s].rng = Rng::stream(seed, "TAN" + std::to_string(s + 1));
  }
  snc_.kappa = spec_.snc_kappa;
  snc_.lambda = spec_.snc_lambda;
  snc_.t_event = spec_.snc_t_event;

  control_ = sim.add_control([this](Tick t, std::uint32_t b, std::uint32_t c) {
    on_event(t, static_cast<ExperimentEvent>(b), c);
  });
}

void CategoryExperiment::schedule_segment(Tick t0, double length_ms) {
  Simulator& sim = *sim_;
  const TimeGrid& g = sim.grid();
  const Tick end = t0 + g.from_ms(length_ms);
  auto at = [&](double offset_ms, ExperimentEvent e, std::uint32_t arg = 0) {
    const Tick t = t0 + g.from_ms(offset_ms);
    if (t < end) sim.schedule_control(t, control_, order_of(e), static_cast<std::uint32_t>(e), arg);
  };
  if (!spec_.closed_loop) {  // open loop: nothing reads the block windows or discrete units
    at(spec_.t_stimulus, ExperimentEvent::stimulus_off);
    latches_in_segment_ = 0;
    return;
  }
  at(spec_.competition_reset_time, ExperimentEvent::competition_reset);
  const Tick block = g.from_ms(spec_.t_block);
  for (Tick k = 1; t0 + k * block < end; ++k) {
    sim.schedule_control(t0 + k * block, control_, order_of(ExperimentEvent::latch),
                         static_cast<std::uint32_t>(ExperimentEvent::latch), 0);
    sim.schedule_control(t0 + k * block, control_, order_of(ExperimentEvent::reset_windows),
                         static_cast<std::uint32_t>(ExperimentEvent::reset_windows), 0);
  }
  at(spec_.tan_t_event, ExperimentEvent::tan_draw);
  at(spec_.snc_t_event, ExperimentEvent::snc_snapshot);
  at(spec_.matrisome_t_event, ExperimentEvent::matrisome_snapshot);
  at(spec_.competition_t_event, ExperimentEvent::gate_matrisomes);
  at(spec_.competition_t_event, ExperimentEvent::gate_striosomes);
  at(spec_.t_stimulus, ExperimentEvent::stimulus_off);
  latches_in_segment_ = 0;
}

void CategoryExperiment::set_msn_background() {
  for (std::size_t s = 0; s < 2; ++s) {
    double* ibg = str_[s]->state("I_bg");
    std::fill(ibg, ibg + str_[s]->size(), units_[s].msn_background);
  }
}

void CategoryExperiment::on_event(Tick t, ExperimentEvent e, std::uint32_t /*arg*/) {
  if (event_log_) event_log_->push_back({sim_->grid().to_ms(t), e});
  switch (e) {
    case ExperimentEvent::competition_reset:
      competition_reset(units_, competition_edges_);
      set_msn_background();
      break;
    case ExperimentEvent::latch: {
      // Type order Matrisome → Striosome → TAN → SNc (§4.5).
      const double* cwin = ac_->state("C_win");
      const std::uint32_t n = layout_.ac.n_excitatory();
      std::array<double, 2> jm{}, js{};
      for (std::size_t s = 0; s < 2; ++s)
        for (std::uint32_t i = 0; i < n; ++i) {
          jm[s] += w_matrisome_[s][i] * cwin[i];
          js[s] += w_striosome_[s][i] * cwin[i];
        }
      for (std::size_t s = 0; s < 2; ++s)
        units_[s].matrisome.latch(jm[s] + spec_.tan_weight * units_[s].matrisome.TAN_spikes);
      for (std::size_t s = 0; s < 2; ++s) units_[s].striosome.latch(js[s]);
      double to_tan = 0.0, to_snc = 0.0;
      for (std::size_t s = 0; s < 2; ++s) {
        to_tan += units_[s].striosome.output(spec_.striosome_tan_weight);
        to_snc += units_[s].striosome.output(spec_.striosome_snc_weight);
      }
      for (auto& tan : tans_) tan.latch(to_tan);
      snc_.latch(to_snc);
      if (latches_in_segment_++ == 0)
        for (std::size_t s = 0; s < 2; ++s)
          diag_.striosome_block1[s] = units_[s].striosome.jcn_t_block;
      break;
    }
    case ExperimentEvent::tan_draw:
      for (std::size_t s = 0; s < 2; ++s) {
        diag_.tan_rate[s] = tans_[s].rate();
        units_[s].matrisome.TAN_spikes = tans_[s].draw_spikes(spec_.tan_weight);
        diag_.tan_spikes[s] = units_[s].matrisome.TAN_spikes;
      }
      break;
    case ExperimentEvent::snc_snapshot:
      snc_.take_snapshot();
      break;
    case ExperimentEvent::matrisome_snapshot:
      for (auto& u : units_) u.matrisome.take_snapshot();
      break;
    case ExperimentEvent::gate_matrisomes:
      competition_gate_matrisomes(units_, competition_edges_);
      break;
    case ExperimentEvent::gate_striosomes:
      competition_gate_striosomes(units_, competition_edges_, spec_.loser_current);
      set_msn_background();
      break;
    case ExperimentEvent::reset_windows:
      for (Population* p : {vac_, ac_}) {
        double* cwin = p->state("C_win");
        std::fill(cwin, cwin + p->size(), 0.0);
      }
      break;
    case ExperimentEvent::stimulus_off: {
      double* iin = vac_->state("I_in");
      for (std::uint32_t k = 0; k < layout_.vac.n_excitatory(); ++k) iin[k] = 0.0;
      break;
    }
  }
}

void CategoryExperiment::show_image(std::size_t index) {
  const auto img = env_.images().image(index);
  double* iin = vac_->state("I_in");
  for (std::uint32_t k = 0; k < layout_.vac.n_excitatory(); ++k)
    iin[k] = spec_.stimulus_weight * img[layout_.pixel_of_vac_exci[k]];
}

void CategoryExperiment::warm_up() {
  if (warmed_up_) return;
  Simulator& sim = *sim_;
  sim.start();
  show_image(env_.warmup_stimulus());
  if (spec_.t_warmup > 0.0) {
    const Tick t0 = sim.now();
    schedule_segment(t0, spec_.t_warmup);
    sim.run_until(t0 + sim.grid().from_ms(spec_.t_warmup));
  }
  sim.clear_events();
  warm_state_.resize(sim.n_populations());
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p)
    sim.population(p).save_state(warm_state_[p]);
  warmed_up_ = true;
}

CategoryTrialRow CategoryExperiment::run_trial() {
  warm_up();
  Simulator& sim = *sim_;
  const TimeGrid& g = sim.grid();
  const std::size_t image = env_.next_stimulus();

  sim.clear_events();
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p)
    sim.population(p).load_state(warm_state_[p]);
  show_image(image);
  diag_ = CategoryTrialRow{};
  const Tick t0 = sim.now();
  schedule_segment(t0, spec_.t_trial());
  const Tick t1 = t0 + g.from_ms(spec_.t_trial());
  sim.run_until(t1);
  sim.clear_events();  // events at exactly t1 belong to no trial
  sim.check_finite();  // a NaN would silently poison the learning; fail with its location

  CategoryTrialRow row = diag_;
  row.trial = trial_++;
  row.stimulus = static_cast<std::uint32_t>(image);
  row.category = env_.current_category();
  row.start_time = g.to_ms(t0);
  row.stop_time = g.to_ms(t1);
  if (!spec_.closed_loop) {  // Neuroblox without a policy: action 0, feedback r = 1 (§3)
    row.action = 0;
    row.correct = false;
    row.reward = 1.0;
    row.decision_time = row.dopamine = row.rpe = row.snc_dopamine = std::nan("");
    learn(row.reward, 0.0);
    return row;
  }
  row.decision_time = row.start_time + spec_.policy_t_decision;
  const std::array<double, 2> rho = {units_[0].matrisome.rho_snapshot(),
                                     units_[1].matrisome.rho_snapshot()};
  row.matrisome_drive = rho;
  row.action = GreedyPolicy::action(rho);
  row.correct = env_.is_correct(row.action);
  row.reward = env_.reward(row.action);
  row.snc_dopamine = snc_.dopamine();
  row.rpe = HebbianDopamineRule::rpe(row.reward, snc_.kappa, row.snc_dopamine);
  row.dopamine = row.reward + row.snc_dopamine;
  learn(row.reward, row.rpe);
  return row;
}

void CategoryExperiment::learn(double r, double eps) {
  Simulator& sim = *sim_;
  const std::span<const double> cum_vac(vac_->state("C_cum"), vac_->size());
  const std::span<const double> cum_ac(ac_->state("C_cum"), ac_->size());
  if (spec_.vac_ac_plastic) {
    ContinuousProjection& c = sim.continuous(layout_.vac_ac_coupling);
    spec_.vac_ac_rule.apply(c.weight, c.pre, cum_vac, c.post, cum_ac, r);
  }
  if (spec_.closed_loop && spec_.ac_str_plastic) {
    for (std::size_t s = 0; s < 2; ++s) {
      // Post-synaptic factor: the striatum's matrisome H at the end of the trial (§3.3).
      const std::array<double, 1> H = {units_[s].matrisome.H_learning()};
      ContinuousProjection& c = sim.continuous(layout_.ac_msn_coupling[s]);
      const std::vector<std::uint32_t> post0(c.n_synapses(), 0u);
      spec_.ac_str_rule.apply(c.weight, c.pre, cum_ac, post0, H, eps);
      spec_.ac_str_rule.apply(w_matrisome_[s], ac_exci_index_, cum_ac, zeros_, H, eps);
      spec_.ac_str_rule.apply(w_striosome_[s], ac_exci_index_, cum_ac, zeros_, H, eps);
    }
  }
}

void CategoryExperiment::run(const std::function<void(const CategoryTrialRow&)>& on_trial) {
  while (!env_.done()) {
    const CategoryTrialRow row = run_trial();
    if (on_trial) on_trial(row);
  }
}

std::vector<PlasticWeights> CategoryExperiment::plastic_weights() {
  Simulator& sim = *sim_;
  std::vector<PlasticWeights> out;
  {
    ContinuousProjection& c = sim.continuous(layout_.vac_ac_coupling);
    out.push_back({c.name, c.weight, c.pre, c.post});
  }
  for (std::size_t s = 0; s < (spec_.closed_loop ? 2u : 0u); ++s) {
    ContinuousProjection& c = sim.continuous(layout_.ac_msn_coupling[s]);
    out.push_back({c.name + ".msn", c.weight, c.pre, c.post});
    out.push_back({c.name + ".matrisome", w_matrisome_[s], ac_exci_index_, zeros_});
    out.push_back({c.name + ".striosome", w_striosome_[s], ac_exci_index_, zeros_});
  }
  return out;
}

}  // namespace sbx
