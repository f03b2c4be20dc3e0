// Checkpoint / resume of the category-learning experiment (issue 7): the full learning state
// between two trials. Layout (StateWriter, in order; every section starts with a tag):
//   "category/1"   trials done u32, clock tick i64, spec seed u64, #populations u32
//   "pop"          per population: name, save_state() vector, post-warm-up state vector,
//                  #named arrays, then (name, values[size()]) for every state_names() entry
//                  (parameters such as I_bg / I_in that events change are named arrays too)
//   "couplings"    #continuous couplings, then each coupling's name and weight vector
//   "units"        per striatum: matrisome (H, TAN_spikes, jcn_t_block, H_snapshot, jcn_snapshot),
//                  striosome (H, jcn_t_block), msn_background, unit weights (matrisome,
//                  striosome); per TAN: jcn_t_block and its Rng state; SNc jcn_t_block and
//                  jcn_snapshot
//   "environment"  trials started u64, current stimulus u64
// The environment's order is restored by replaying next_stimulus() (its only input is its own
// Rng stream, seeded from the master seed), then checked against the saved position. Within-trial
// state (pending events, diagnostics, latch counter) is empty between trials by construction.
#include <stdexcept>
#include <string>

#include "envs/category_experiment.hpp"
#include "models/hh_neuroblox.hpp"

namespace sbx {

void CategoryExperiment::save_checkpoint(StateWriter& w) const {
  if (!warmed_up_) StateReader::fail("save_checkpoint before the warm-up");
  Simulator& sim = *sim_;
  w.tag("category/1");
  w.put<std::uint32_t>(trial_);
  w.put<std::int64_t>(static_cast<std::int64_t>(sim.now()));
  w.put<std::uint64_t>(spec_.seed);
  w.put<std::uint32_t>(sim.n_populations());
  std::vector<double> buf;
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p) {
    Population& pop = sim.population(p);
    w.tag("pop");
    w.put_string(sim.population_name(p));
    pop.save_state(buf);
    w.put_vector(buf);
    w.put_vector(warm_state_[p]);
    const auto names = pop.state_names();
    w.put<std::uint32_t>(static_cast<std::uint32_t>(names.size()));
    for (const std::string& n : names) {
      const StateView a = pop.state_view(n);  // double or float arrays (lif_cuba precision)
      if (!a)
        throw std::logic_error("'" + sim.population_name(p) + "' lists state '" + n +
                               "' but has no array for it");
      std::vector<double> values(pop.size());
      for (std::uint32_t i = 0; i < pop.size(); ++i) values[i] = a.get(i);
      w.put_string(n);
      w.put_vector(values);
    }
  }
  w.tag("couplings");
  w.put<std::uint32_t>(sim.n_continuous());
  for (std::uint32_t c = 0; c < sim.n_continuous(); ++c) {
    w.put_string(sim.continuous(c).name);
    w.put_vector(sim.continuous(c).weight);
  }
  w.tag("units");
  for (std::size_t s = 0; s < 2; ++s) {
    const Matrisome& m = units_[s].matrisome;
    for (double x : {m.H, m.TAN_spikes, m.jcn_t_block, m.H_snapshot, m.jcn_snapshot}) w.put(x);
    w.put(units_[s].striosome.H);
    w.put(units_[s].striosome.jcn_t_block);
    w.put(units_[s].msn_background);
    w.put_vector(w_matrisome_[s]);
    w.put_vector(w_striosome_[s]);
  }
  for (const Tan& t : tans_) {
    w.put(t.jcn_t_block);
    w.put(t.rng.state());
  }
  w.put(snc_.jcn_t_block);
  w.put(snc_.jcn_snapshot);
  w.tag("environment");
  w.put<std::uint64_t>(env_.trials_started());
  w.put<std::uint64_t>(env_.current_stimulus());
}

void CategoryExperiment::load_checkpoint(StateReader& r) {
  Simulator& sim = *sim_;
  r.expect_tag("category/1");
  if (warmed_up_ || trial_ != 0)
    StateReader::fail("load_checkpoint needs a freshly built experiment");
  const auto trials = r.get<std::uint32_t>();
  const auto now = r.get<std::int64_t>();
  if (r.get<std::uint64_t>() != spec_.seed) StateReader::fail("the seed differs");
  if (r.get<std::uint32_t>() != sim.n_populations())
    StateReader::fail("the number of populations differs");
  warm_state_.assign(sim.n_populations(), {});
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p) {
    Population& pop = sim.population(p);
    r.expect_tag("pop");
    if (r.get_string() != sim.population_name(p))
      StateReader::fail("population " + std::to_string(p) + " is not '" + sim.population_name(p) +
                        "'");
    pop.load_state(r.get_vector<double>());  // checks the length itself
    warm_state_[p] = r.get_vector<double>();
    std::vector<double> probe;
    pop.save_state(probe);
    if (warm_state_[p].size() != probe.size())
      StateReader::fail("post-warm-up state of '" + sim.population_name(p) +
                        "' has the wrong size");
    const auto n_named = r.get<std::uint32_t>();
    for (std::uint32_t k = 0; k < n_named; ++k) {
      const std::string name = r.get_string();
      const auto v = r.get_vector_of<double>(pop.size(), sim.population_name(p) + "." + name);
      const StateView a = pop.state_view(name);
      if (!a) StateReader::fail("'" + sim.population_name(p) + "' has no state '" + name + "'");
      for (std::uint32_t i = 0; i < pop.size(); ++i) a.set(i, v[i]);
    }
  }
  r.expect_tag("couplings");
  if (r.get<std::uint32_t>() != sim.n_continuous())
    StateReader::fail("the number of couplings differs");
  for (std::uint32_t c = 0; c < sim.n_continuous(); ++c) {
    ContinuousProjection& cp = sim.continuous(c);
    if (r.get_string() != cp.name) StateReader::fail("coupling " + cp.name + " differs");
    cp.weight = r.get_vector_of<double>(cp.weight.size(), cp.name);
  }
  r.expect_tag("units");
  for (std::size_t s = 0; s < 2; ++s) {
    Matrisome& m = units_[s].matrisome;
    for (double* x : {&m.H, &m.TAN_spikes, &m.jcn_t_block, &m.H_snapshot, &m.jcn_snapshot})
      *x = r.get<double>();
    units_[s].striosome.H = r.get<double>();
    units_[s].striosome.jcn_t_block = r.get<double>();
    units_[s].msn_background = r.get<double>();
    w_matrisome_[s] = r.get_vector_of<double>(w_matrisome_[s].size(), "matrisome weights");
    w_striosome_[s] = r.get_vector_of<double>(w_striosome_[s].size(), "striosome weights");
  }
  for (Tan& t : tans_) {
    t.jcn_t_block = r.get<double>();
    t.rng.set_state(r.get<Rng::State>());
  }
  snc_.jcn_t_block = r.get<double>();
  snc_.jcn_snapshot = r.get<double>();
  r.expect_tag("environment");
  const auto started = r.get<std::uint64_t>();
  const auto current = r.get<std::uint64_t>();
  if (started != trials) StateReader::fail("environment and experiment trial counts differ");
  for (std::uint64_t k = 0; k < started; ++k) (void)env_.next_stimulus();
  if (env_.trials_started() != started || env_.current_stimulus() != current)
    StateReader::fail("the environment's replayed order does not match the checkpoint");

  sim.start();
  sim.clear_events();
  sim.reset_clock(static_cast<Tick>(now));
  trial_ = trials;
  warmed_up_ = true;
}

}  // namespace sbx
