#include "apps/run_dnms.hpp"

#include "apps/runner_util.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "circuits/build.hpp"
#include "circuits/plasticity_registry.hpp"
#include "circuits/rate_blocks.hpp"
#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/progress.hpp"

namespace sbx::app {

using circuits::BlockDesc;
using circuits::CircuitDescription;
using circuits::ConnectionDesc;

namespace {

MiconiParams miconi_from(const circuits::ParamMap& p) {
  MiconiParams m =
      p.text("method") == "node_perturbation" ? MiconiParams::node_perturbation() : MiconiParams{};
  if (p.has("eta")) m.eta = p.number("eta");
  m.max_dw = p.number("max_dw");
  m.trace_alpha = p.number("trace_alpha");
  m.perturb_prob = p.number("perturb_prob");
  m.perturb_amplitude = p.number("perturb_amplitude");
  m.perturb_after = p.integer("perturb_after");
  m.eligibility_after = p.integer("eligibility_after");
  m.baseline_alpha = p.number("baseline_alpha");
  m.learn_after = p.integer("learn_after");
  return m;
}

}  // namespace

DnmsSetup dnms_setup(const CircuitDescription& d) {
  Problems pr{d, {}};
  DnmsSetup s;
  const auto& ex = d.experiment.params;
  s.network = ex.text("network");
  s.n_trials = static_cast<std::uint64_t>(ex.integer("n_trials"));
  s.output = static_cast<std::uint32_t>(ex.integer("output_neuron"));
  s.seed = d.meta.seed;
  s.dt_ms = d.run.dt;
  s.snapshot_every = static_cast<std::uint64_t>(ex.integer("snapshot_every"));
  const std::vector<double> cn =
      ex.has("clamp_neurons") ? ex.numbers("clamp_neurons") : std::vector<double>{1, 10, 11};
  s.clamp_value =
      ex.has("clamp_values") ? ex.numbers("clamp_values") : std::vector<double>{1.0, 1.0, -1.0};
  for (double v : cn) s.clamp.push_back(static_cast<std::uint32_t>(v));
  if (s.clamp.size() != s.clamp_value.size())
    pr.add(ex.position("clamp_values"), "experiment.clamp_values",
           "needs one value per clamp_neurons entry (" + std::to_string(s.clamp.size()) +
               "), got " + std::to_string(s.clamp_value.size()));

  const BlockDesc* net = d.find_block(s.network);
  if (!net || (net->model != "rate" && net->model != "rate_linear")) {
    pr.add(ex.position("network"), "experiment.network",
           "must name a population block of model rate or rate_linear" +
               (net ? ", got model '" + net->model + "'" : std::string()));
    pr.throw_if_any();
  }
  s.n = net->n;
  s.unit.tau = net->params.number("tau");
  s.unit.I_bias = net->params.number("I_bias");
  s.transfer = net->model == "rate" ? RateTransfer::tanh : RateTransfer::linear;
  if (auto it = net->init.find("x"); it != net->init.end()) s.x_init = it->second;
  if (s.output >= s.n)
    pr.add(ex.position("output_neuron"), "experiment.output_neuron",
           "must be < n = " + std::to_string(s.n) + " of block " + s.network);
  for (std::size_t k = 0; k < s.clamp.size(); ++k) {
    if (s.clamp[k] >= s.n || s.clamp[k] == s.output)
      pr.add(ex.position("clamp_neurons"), "experiment.clamp_neurons[" + std::to_string(k) + "]",
             "must be < n = " + std::to_string(s.n) + " and not the output neuron");
    // (a unit listed twice was held at its last value, the first one silently dropped)
    for (std::size_t j = 0; j < k; ++j)
      if (s.clamp[j] == s.clamp[k])
        pr.add(ex.position("clamp_neurons"), "experiment.clamp_neurons[" + std::to_string(k) + "]",
               "unit " + std::to_string(s.clamp[k]) + " is listed twice (clamp_neurons[" +
                   std::to_string(j) + "]); each unit is held at one value");
  }
  if (!(s.dt_ms < 2.0 * s.unit.tau))
    pr.add(
        net->params.has("tau") ? net->params.position("tau") : net->pos,
        "blocks." + s.network + ".tau",
        "tau = " + format_number(s.unit.tau) +
            " ms must be > run.dt / 2 = " + format_number(s.dt_ms / 2.0) +
            " ms (the rate units are integrated with forward Euler, stable only for dt < 2 tau)");

  // Exactly one recurrent edge with the miconi rule, exactly one dnms_input edge into the net.
  const ConnectionDesc* rec = nullptr;
  const ConnectionDesc* in = nullptr;
  for (const auto& c : d.connections) {
    if (c.to != s.network) continue;
    if (c.from == s.network && c.learning && c.learning->type == "miconi") {
      if (rec)
        pr.add(c.pos, c.path, "the dnms experiment takes one recurrent miconi edge, found two");
      rec = &c;
    } else if (const BlockDesc* src = d.find_block(c.from); src && src->type == "dnms_input") {
      if (in) pr.add(c.pos, c.path, "the dnms experiment takes one dnms_input edge, found two");
      in = &c;
    }
  }
  if (!rec)
    pr.add(d.experiment.pos, "experiment.type",
           "the dnms experiment needs a connection " + s.network + " -> " + s.network +
               " with learning = a rule of type miconi");
  if (!in)
    pr.add(d.experiment.pos, "experiment.type",
           "the dnms experiment needs a connection from a dnms_input block to " + s.network);
  pr.throw_if_any();
  s.recurrent_edge = rec->name;
  s.rule_name = rec->learning->rule;
  s.rule = miconi_from(rec->learning->params);
  s.task_block = in->from;
  std::vector<std::string> tp;
  s.task = circuits::dnms_params_from(*d.find_block(in->from), d.run.dt, &tp);
  for (const auto& m : s.task.validate()) tp.push_back(m);
  for (const auto& m : tp) pr.add(d.find_block(in->from)->pos, "blocks." + in->from, m);
  pr.throw_if_any();

  // Draw the weights with the generic builder, then densify.
  auto sim = circuits::make_simulator(d);
  circuits::BuildOptions bo;
  bo.add_probes = false;
  const circuits::BuiltCircuit built = circuits::build(d, *sim, bo);
  s.J.assign(std::size_t{s.n} * s.n, 0.0);
  s.W_in.assign(std::size_t{s.n} * DnmsTask::n_channels, 0.0);
  for (const auto& e : built.edges) {
    if (e.name != rec->name && e.name != in->name) continue;
    for (std::uint32_t cid : e.couplings) {
      const ContinuousProjection& cp = sim->continuous(cid);
      for (std::size_t k = 0; k < cp.n_synapses(); ++k) {
        if (e.name == rec->name)
          s.J[std::size_t{cp.post[k]} * s.n + cp.pre[k]] += cp.weight[k];
        else
          s.W_in[std::size_t{cp.post[k]} * DnmsTask::n_channels + cp.pre[k]] += cp.weight[k];
      }
    }
  }
  if (!ex.boolean("input_to_output"))
    for (std::uint32_t c = 0; c < DnmsTask::n_channels; ++c)
      s.W_in[std::size_t{s.output} * DnmsTask::n_channels + c] = 0.0;
  return s;
}

// ---- DnmsNetwork --------------------------------------------------------------------------------

DnmsNetwork::DnmsNetwork(const DnmsSetup& s)
    : s_(s),
      task_(s.task),
      rule_(s.n, s.rule, DnmsTask::n_types),
      J_(s.J),
      Jt_(s.J.size()),
      x_(s.n, 0.0),
      r_(s.n, 0.0),
      r_prev_(s.n, 0.0),
      input_(s.n, 0.0),
      p_(s.n, 0.0),
      r_out_(static_cast<std::size_t>(s.task.response_steps)),
      init_rng_(Rng::stream(s.seed, s.network + "/trial_init")),
      explore_rng_(Rng::stream(s.seed, s.rule_name + "/perturbation")) {
  if (J_.size() != std::size_t{s.n} * s.n || s.W_in.size() != std::size_t{s.n} * 2)
    throw InternalError("DnmsNetwork: weight matrices of the wrong size");
}

void DnmsNetwork::set_x(const std::vector<double>& x) {
  if (x.size() != s_.n) throw InternalError("DnmsNetwork::set_x: wrong size");
  x_ = x;
}

DnmsTrialResult DnmsNetwork::run_trial(std::uint64_t trial, bool learn,
                                       std::vector<double>* x_trace, bool fresh_state) {
  const std::uint32_t n = s_.n;
  const double k = s_.dt_ms / s_.unit.tau;
  DnmsTrialResult res;
  res.type = DnmsTask::type_of_trial(trial);
  // Pre-major copy of J: the mat-vec then adds whole columns, which vectorises without
  // reassociating any sum.
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t j = 0; j < n; ++j) Jt_[std::size_t{j} * n + i] = J_[std::size_t{i} * n + j];
  const bool collect = learn && static_cast<std::int64_t>(trial) > s_.rule.learn_after;
  if (collect) rule_.begin_trial();

  auto clamp_and_rate = [&] {
    for (std::size_t c = 0; c < s_.clamp.size(); ++c) x_[s_.clamp[c]] = s_.clamp_value[c];
    if (s_.transfer == RateTransfer::tanh)
      for (std::uint32_t i = 0; i < n; ++i) r_[i] = std::tanh(x_[i]);
    else
      r_ = x_;
  };
  if (fresh_state)
    for (std::uint32_t i = 0; i < n; ++i) x_[i] = s_.x_init.sample(init_rng_);
  if (fresh_state)
    clamp_and_rate();
  else if (s_.transfer == RateTransfer::tanh)
    for (std::uint32_t i = 0; i < n; ++i) r_[i] = std::tanh(x_[i]);
  else
    r_ = x_;

  const std::int64_t T = s_.task.trial_steps;
  const std::int64_t resp0 = task_.response_start();
  double u[DnmsTask::n_channels];
  if (x_trace) x_trace->clear();
  for (std::int64_t step = 0; step < T; ++step) {
    r_prev_ = r_;
    task_.input(res.type, step, u);
    for (std::uint32_t i = 0; i < n; ++i)
      input_[i] = s_.unit.I_bias + s_.W_in[2 * std::size_t{i}] * u[0] +
                  s_.W_in[2 * std::size_t{i} + 1] * u[1];
    // Four columns per pass keep the partial sums in registers; each input_[i] still receives
    // its terms in column order (the result is that of the plain column loop).
    std::uint32_t j = 0;
    for (; j + 4 <= n; j += 4) {
      const double r0 = r_prev_[j], r1 = r_prev_[j + 1], r2 = r_prev_[j + 2], r3 = r_prev_[j + 3];
      const double* c0 = Jt_.data() + std::size_t{j} * n;
      const double* c1 = c0 + n;
      const double* c2 = c1 + n;
      const double* c3 = c2 + n;
      for (std::uint32_t i = 0; i < n; ++i) {
        double v = input_[i];
        v += c0[i] * r0;
        v += c1[i] * r1;
        v += c2[i] * r2;
        v += c3[i] * r3;
        input_[i] = v;
      }
    }
    for (; j < n; ++j) {
      const double rj = r_prev_[j];
      const double* col = Jt_.data() + std::size_t{j} * n;
      for (std::uint32_t i = 0; i < n; ++i) input_[i] += col[i] * rj;
    }
    if (learn) {
      rule_.draw_perturbation(step, explore_rng_, p_.data());
      for (std::uint32_t i = 0; i < n; ++i) input_[i] += p_[i];
    }
    for (std::uint32_t i = 0; i < n; ++i) x_[i] += k * (input_[i] - x_[i]);
    clamp_and_rate();
    if (step >= resp0) r_out_[static_cast<std::size_t>(step - resp0)] = r_[s_.output];
    if (learn) rule_.accumulate(step, r_prev_.data(), x_.data(), p_.data(), collect);
    if (x_trace) x_trace->insert(x_trace->end(), x_.begin(), x_.end());
  }
  res.error = task_.error(res.type, r_out_);
  double m = 0.0;
  for (double r : r_out_) m += r;
  res.mean_output = m / static_cast<double>(r_out_.size());
  res.expected_error = rule_.running_error(res.type);
  if (!std::isfinite(res.error))
    throw NumericalError("dnms: the output became non-finite in trial " + std::to_string(trial));
  res.modulator = rule_.end_trial(static_cast<std::int64_t>(trial), res.type, res.error,
                                  collect ? J_.data() : nullptr);
  return res;
}

DnmsStats dnms_stats(const std::vector<double>& errors) {
  DnmsStats st;
  st.criterion_trial = dnms_criterion_trial(errors);
  if (errors.empty()) return st;
  const std::size_t last =
      std::min<std::size_t>(1000, std::max<std::size_t>(1, errors.size() / 10));
  st.last_trials = last;
  std::vector<double> tail(errors.end() - static_cast<std::ptrdiff_t>(last), errors.end());
  double sum = 0.0;
  for (double e : tail) sum += e;
  st.mean_error_last = sum / static_cast<double>(tail.size());
  std::sort(tail.begin(), tail.end());
  const std::size_t h = tail.size() / 2;
  st.median_error_last = tail.size() % 2 ? tail[h] : 0.5 * (tail[h - 1] + tail[h]);
  return st;
}

// ---- runner -------------------------------------------------------------------------------------

RunSummary run_dnms(const CircuitDescription& desc, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const DnmsSetup setup = dnms_setup(desc);
  print_notes(circuits::check_modulators_driven(desc, {}, "the dnms experiment"));
  DnmsNetwork net(setup);
  if (opt.dry_run) return {};

  TimeGrid grid = circuits::make_simulator(desc)->grid();
  RunFile file(opt.out_path, grid, run_file_options(desc, opt));
  write_run_meta(desc, file, opt);
  file.enable_trials();
  std::vector<std::uint64_t> src, tgt;
  std::vector<double> w0;
  for (std::uint32_t i = 0; i < setup.n; ++i)
    for (std::uint32_t j = 0; j < setup.n; ++j) {
      src.push_back(j);
      tgt.push_back(i);
      w0.push_back(setup.J[std::size_t{i} * setup.n + j]);
    }
  const std::uint32_t edge_id = file.add_edges(
      setup.recurrent_edge, setup.network, setup.network, std::move(src), std::move(tgt),
      std::move(w0), std::vector<double>(setup.J.size(), 0.0), setup.rule_name, true);
  file.start();

  RunSummary sum;
  sum.build_s = seconds_since(t0);
  ProgressLine progress(static_cast<double>(setup.n_trials), "trials",
                        opt.quiet ? nullptr : stderr);
  const double trial_ms = static_cast<double>(setup.task.trial_steps) * setup.dt_ms;
  std::vector<double> errors;
  errors.reserve(setup.n_trials);
  const auto tl = std::chrono::steady_clock::now();
  try {
    for (std::uint64_t k = 0; k < setup.n_trials; ++k) {
      const DnmsTrialResult r = net.run_trial(k);
      errors.push_back(r.error);
      TrialRow row;
      row.trial = static_cast<std::uint32_t>(k);
      row.start_time = static_cast<double>(k) * trial_ms;
      row.stop_time = row.start_time + trial_ms;
      row.stimulus = r.type;  // 2·first + second, A = 0, B = 1: 0 AA, 1 AB, 2 BA, 3 BB
      row.category = DnmsTask::is_match(r.type) ? 0 : 1;  // 1 = non-match (target +0.98)
      row.action = r.mean_output > 0.0 ? 1 : 0;           // sign of the mean response
      row.correct = r.error < 1.0 ? 1 : 0;                // Miconi's criterion per trial
      row.reward = -r.error;
      row.dopamine = r.modulator;
      row.rpe = r.expected_error - r.error;  // R − expected R, with R = −error
      // Absolute (ms), as in every experiment's /trials: the start of the response window.
      row.decision_time =
          row.start_time + static_cast<double>(net.task().response_start()) * setup.dt_ms;
      const double nan = std::numeric_limits<double>::quiet_NaN();
      row.striosome_1 = row.striosome_2 = row.tan_rate_1 = row.tan_rate_2 = nan;
      row.tan_spikes_1 = row.tan_spikes_2 = row.drive_1 = row.drive_2 = nan;
      file.append_trial(row);
      if (setup.snapshot_every > 0 && (k + 1) % setup.snapshot_every == 0 && k + 1 < setup.n_trials)
        file.append_weights(edge_id, static_cast<int>(k), net.J());
      file.flush();
      progress.update(static_cast<double>(k + 1));
      if (interrupt_signal() != 0 && k + 1 < setup.n_trials) {  // keep the weights reached
        if (!(setup.snapshot_every > 0 && (k + 1) % setup.snapshot_every == 0))
          file.append_weights(edge_id, static_cast<int>(k), net.J());
        file.flush();
        throw_if_interrupted("the end of trial " + std::to_string(k + 1) + " of " +
                             std::to_string(setup.n_trials));
      }
    }
  } catch (...) {
    file.flush();
    throw;
  }
  sum.loop_s = seconds_since(tl);
  progress.finish();
  file.append_weights(edge_id, static_cast<int>(setup.n_trials) - 1, net.J());
  const DnmsStats st = dnms_stats(errors);
  sum.simulated_ms = static_cast<double>(setup.n_trials) * trial_ms;
  sum.figures["trials"] = static_cast<double>(setup.n_trials);
  sum.figures["criterion_trial"] = static_cast<double>(st.criterion_trial);
  sum.figures["median_error_last"] = st.median_error_last;
  sum.figures["mean_error_last"] = st.mean_error_last;
  sum.figures["trials_per_s"] =
      sum.loop_s > 0 ? static_cast<double>(setup.n_trials) / sum.loop_s : 0.0;
  file.flush();
  sum.wall_s = seconds_since(t0);
  file.finish({}, sum.wall_s);
  // The result in words, as the category job prints its accuracy (--json has every figure).
  const std::string criterion =
      "criterion (> 95 of 100 trials with error < 1) " +
      (st.criterion_trial >= 0 ? "at trial " + std::to_string(st.criterion_trial)
                               : std::string("not reached"));
  std::fprintf(stderr,
               "dnms: %zu trials, %s; error over the last %zu trials: median %.3f, mean %.3f\n",
               static_cast<std::size_t>(setup.n_trials), criterion.c_str(), st.last_trials,
               st.median_error_last, st.mean_error_last);
  return sum;
}

}  // namespace sbx::app
