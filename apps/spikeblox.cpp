// The spikeblox command: run / check a TOML circuit.
//
// Exit status: 0 success, 2 bad input (every problem printed, nothing written), 1 runtime failure
// (the run file keeps everything up to the failure), 3 numerical blow-up (NaN/inf).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <new>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "apps/checkpoint.hpp"
#include "apps/experiments.hpp"
#include "apps/graph.hpp"
#include "apps/plot.hpp"
#include "apps/run_plain.hpp"
#include "apps/sweep.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/io/run_file.hpp"

namespace {

std::string join_args(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += argv[i];
  }
  return s;
}

// Shows at most max_shown_errors diagnostics (in file order), like a compiler's error limit: a
// file with thousands of errors (a wrong file passed, a generated file gone astray) is not
// thousands of lines of terminal output.
constexpr std::size_t max_shown_errors = 100;

void print_user_error(const sbx::UserError& e) {
  const std::size_t n = e.diagnostics.size();
  for (std::size_t i = 0; i < n && i < max_shown_errors; ++i)
    std::cerr << e.diagnostics[i].format() << "\n";
  if (n > max_shown_errors) std::cerr << "(" << n - max_shown_errors << " more not shown)\n";
  std::cerr << n << (n == 1 ? " error" : " errors")
            << "; nothing was run and no file was written.\n";
}

// `spikeblox sweep`: MPI is started only here, and only under an MPI launcher (apps/sweep_mpi.hpp).
int sweep_command(sbx::app::SweepOptions opt) {
  namespace mpi = sbx::app::mpi;
  mpi::World world;
  try {
    world = mpi::init(nullptr, nullptr);
  } catch (const std::exception& e) {
    std::cerr << "spikeblox: error: " << e.what() << "\n";
    return 2;
  }
  int rc = 1;
  try {
    std::error_code ec;
    opt.exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) throw std::runtime_error("cannot find the spikeblox binary: " + ec.message());
    rc = sbx::app::run_sweep(opt, world);
  } catch (const sbx::UserError& e) {
    print_user_error(e);
    mpi::abort(world, 2);
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "spikeblox: error: " << e.what() << "\n";
    mpi::abort(world, 1);  // the other ranks would wait for this one forever
    return 1;
  }
  mpi::finalize(world);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"spikeblox: event-driven spiking-network simulator for biologically grounded RL"};
  app.set_version_flag("--version", std::string("spikeblox ") + SBX_VERSION);
  app.require_subcommand(1);

  std::string file;
  std::vector<std::string> sets;
  std::string out;
  // --seed and --threads are passed on as text to --set meta.seed / run.threads, so their values
  // get the loader's checks (range, type) instead of CLI11's silent wrap-around or clamping.
  std::string seed, threads;
  bool force = false, json = false, quiet = false;

  auto* run = app.add_subcommand("run", "Run a circuit and write its HDF5 run file");
  run->add_option("FILE", file, "circuit TOML file (required unless --resume)");
  auto* run_out =
      run->add_option("--out,-o", out, "run file path (default: [output].file of the circuit)");
  run->add_option("--set", sets, "override a key before validation: dotted.key=value (repeatable)");
  auto* run_seed = run->add_option("--seed", seed, "master seed (same as --set meta.seed=N)");
  auto* run_threads =
      run->add_option("--threads", threads,
                      "worker threads for clocked neuron updates, also compressing the run "
                      "file (same as --set run.threads=N); results are bit-identical for every "
                      "count");
  run->add_flag("--force", force, "overwrite an existing run file");
  run->add_flag("--json", json, "print the summary as one JSON line on stdout");
  run->add_flag("--quiet,-q", quiet, "no progress line");
  std::uint64_t checkpoint_every = 0;
  std::string resume;
  run->add_option("--checkpoint-every", checkpoint_every,
                  "save the full learning state to RUN.h5.ckpt every N trials (the "
                  "category_learning experiment)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            const bool digits =
                !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
            if (digits && v.find_first_not_of('0') != std::string::npos && v.size() <= 19)
              return "";
            return "must be a whole number of trials >= 1, got '" + v + "'";
          },
          "N >= 1"));
  auto* run_resume = run->add_option(
      "--resume", resume,
      "continue the interrupted run RUN.h5 from its last checkpoint (no FILE needed)");

  auto* check = app.add_subcommand("check", "Validate a circuit without running it");
  check->add_option("FILE", file, "circuit TOML file")->required();
  check->add_option("--set", sets, "override a key before validation: dotted.key=value");

  sbx::app::SweepOptions sw;
  auto* sweep = app.add_subcommand(
      "sweep",
      "Run a circuit for every (grid point, seed): one run file each plus DIR/index.csv. Runs in "
      "parallel on local cores; under mpirun/srun the runs are shared out over the ranks");
  sweep->add_option("FILE", sw.circuit_file, "circuit TOML file")->required();
  auto* seeds_opt = sweep->add_option(
      "--seeds", sw.seeds, "seeds: A..B, a,b,c or both (1..5,9); default: the circuit's meta.seed");
  sweep->add_option("--grid", sw.grids,
                    "sweep a key: dotted.key=v1,v2,... (repeatable; every combination is run)");
  sweep->add_option("--set", sw.sets, "override a key in every run: dotted.key=value");
  auto* sweep_jobs = sweep->add_option(
      "--jobs,-j", sw.jobs,
      "runs at a time per process (default 0: the cores, shared among the MPI ranks on a node)");
  auto* sweep_out =
      sweep->add_option("--out,-o", sw.out_dir, "output folder (default: sweeps/<meta.name>)");
  sweep->add_flag("--quiet,-q", sw.quiet, "print only failures and the summary");

  auto* graph = app.add_subcommand("graph", "Write the circuit as a Graphviz DOT graph");
  graph->add_option("FILE", file, "circuit TOML file")->required();
  auto* graph_out = graph->add_option("--out,-o", out, "DOT file to write (default: stdout)");
  graph->add_option("--set", sets, "override a key before validation: dotted.key=value");
  graph->add_flag("--force", force, "overwrite an existing --out file");

  // `plot` only passes its arguments on to `python3 -m analysis plot` (apps/plot.hpp).
  std::vector<std::string> plot_files;
  std::string plot_out, plot_window, plot_what;
  auto* plot = app.add_subcommand(
      "plot", "Write PNG figures of run files (or of a sweep's index.csv) with analysis/");
  plot->add_option("FILES", plot_files, "run file(s) RUN.h5, or one sweep index.csv")->required();
  plot->add_option("--out,-o", plot_out, "output folder (default: RUN_plots next to the run)");
  plot->add_option("--window", plot_window, "moving-average window in trials (default 20)");
  plot->add_option("--what", plot_what, "comma-separated subset of the figures");

  // An unknown first word would otherwise be reported as "A subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    bool known = false;
    for (const CLI::App* s : {run, check, sweep, graph, plot}) known |= s->get_name() == word;
    if (!known) {
      std::cerr << "spikeblox: error: unknown command '" << word
                << "' (commands: run, check, sweep, graph, plot; spikeblox --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  // An option given with an empty value ("--out ''", "--seed ''", e.g. from an unset shell
  // variable) is an error, not the default it would otherwise fall back to. (The raw strings, as
  // typed: an empty --jobs would otherwise be read as the default 0.)
  for (const auto& [o, what] :
       {std::pair<const CLI::Option*, const char*>{run_out, "a run file name such as run.h5"},
        {run_seed, "a whole number >= 0"},
        {run_threads, "a whole number >= 1"},
        {run_resume, "the interrupted run file RUN.h5"},
        {graph_out, "a file name such as c.dot"},
        {sweep_jobs, "a whole number >= 0 (0 = the number of cores)"},
        {sweep_out, "a folder name"}}) {
    const auto& typed = o->results();
    if (std::any_of(typed.begin(), typed.end(), [](const std::string& v) { return v.empty(); })) {
      std::cerr << "spikeblox: error: " << o->get_name() << " is empty; give " << what
                << ", or leave the option out\n";
      return 2;
    }
  }

  if (sweep->parsed()) {
    if (seeds_opt->count() > 0 && sw.seeds.find_first_not_of(" \t") == std::string::npos) {
      std::cerr << "spikeblox sweep: error: --seeds is empty; give A..B, a,b,c or both (1..5,9), "
                   "or leave it out for the circuit's meta.seed\n";
      return 2;
    }
    return sweep_command(sw);
  }
  if (plot->parsed()) {
    std::vector<std::string> args = plot_files;
    for (const auto& [flag, value] : {std::pair<const char*, const std::string&>{"--out", plot_out},
                                      {"--window", plot_window},
                                      {"--what", plot_what}})
      if (!value.empty()) args.insert(args.end(), {flag, value});
    return sbx::app::run_plot(args, plot_files);
  }

  std::string run_path;  // for the resume hint after an interruption
  try {
    if (!seed.empty()) sets.push_back("meta.seed=" + seed);
    if (!threads.empty()) sets.push_back("run.threads=" + threads);
    sbx::app::RunOptions opt;
    opt.checkpoint_every = checkpoint_every;
    if (run->parsed() && resume.empty() && file.empty())
      throw sbx::UserError("run: a circuit FILE is required (or --resume RUN.h5)");
    const sbx::circuits::CircuitDescription desc =
        resume.empty() ? sbx::circuits::load_circuit_file(file, sets)
                       : sbx::app::prepare_resume(
                             resume, !file.empty() || !sets.empty() || !out.empty() || force,
                             join_args(argc, argv), opt);
    if (graph->parsed()) {
      // (as for run files: an existing file, perhaps a run file, is not replaced without --force)
      if (!out.empty() && std::filesystem::exists(out)) {
        if (std::filesystem::is_directory(out))
          throw sbx::UserError(
              sbx::Diagnostic{out, 0, 0, "", "is a directory; give a file name such as c.dot"});
        if (!force)
          throw sbx::UserError(sbx::Diagnostic{
              out, 0, 0, "",
              "file already exists; pass --force to overwrite it or choose another --out"});
      }
      sbx::app::write_circuit_dot_file(desc, out);
      if (!out.empty()) std::cerr << "wrote " << out << "\n";
      return 0;
    }
    if (check->parsed()) {
      sbx::app::check_experiment(desc);
      std::cout << file << ": ok (" << desc.blocks.size() << " blocks, " << desc.connections.size()
                << " connections, experiment '" << desc.experiment.type << "')\n";
      return 0;
    }
    if (!opt.resume) {
      opt.out_path = out.empty() ? desc.output_path() : out;
      opt.overrides = sets;
      opt.command_line = join_args(argc, argv);
    }
    opt.force = force;
    opt.quiet = quiet;
    sbx::app::check_checkpoint_options(desc, opt);
    // Refuse an existing file / unwritable place before any work is done.
    if (!opt.resume) sbx::RunFile::check_target(opt.out_path, force, /*create_dirs=*/false);
    run_path = opt.out_path;
    sbx::install_interrupt_handlers();  // Ctrl-C stops at the next safe point, file kept
    const sbx::app::RunSummary s = sbx::app::run_experiment(desc, opt);
    const double ev_rate = s.loop_s > 0 ? static_cast<double>(s.synaptic_events) / s.loop_s : 0.0;
    if (json) {
      std::ostringstream o;
      o.precision(9);
      o << "{\"simulated_ms\":" << s.simulated_ms << ",\"wall_s\":" << s.wall_s
        << ",\"build_s\":" << s.build_s << ",\"loop_s\":" << s.loop_s << ",\"spikes\":" << s.spikes
        << ",\"synaptic_events\":" << s.synaptic_events << ",\"events_per_s\":" << ev_rate;
      for (const auto& [k, v] : s.figures) o << ",\"" << k << "\":" << v;
      o << ",\"file\":\"" << opt.out_path << "\"}";
      std::cout << o.str() << std::endl;
    } else {
      // "0 synaptic events (0 events/s)" read like a broken run for circuits whose couplings are
      // all continuous (the Neuroblox blocks, rate units): say what it counts instead.
      char events[128];
      if (s.synaptic_events > 0)
        std::snprintf(events, sizeof events, "%llu synaptic events (%.3g events/s)",
                      static_cast<unsigned long long>(s.synaptic_events), ev_rate);
      else
        std::snprintf(events, sizeof events,
                      "no synaptic events (no spike went through a spike edge; continuous "
                      "couplings are not counted)");
      char buf[768];
      std::snprintf(buf, sizeof buf,
                    "simulated %.1f ms in %.3f s wall (loop %.3f s, build %.3f s): %llu spikes, "
                    "%s -> %s",
                    s.simulated_ms, s.wall_s, s.loop_s, s.build_s,
                    static_cast<unsigned long long>(s.spikes), events, opt.out_path.c_str());
      std::cerr << buf << "\n";
    }
    return 0;
  } catch (const sbx::UserError& e) {
    // --seed N and --threads N went to the loader as --set meta.seed=N / run.threads=N: point
    // their errors at the option the user typed.
    std::vector<sbx::Diagnostic> shown = e.diagnostics;
    for (sbx::Diagnostic& d : shown)
      for (const auto& [key, option, value] :
           {std::tuple<const char*, const char*, const std::string&>{"meta.seed", "--seed", seed},
            {"run.threads", "--threads", threads}})
        if (!value.empty() && d.file == "--set " + std::string(key) + "=" + value)
          d.file = std::string(option) + " " + value;
    print_user_error(sbx::UserError(std::move(shown)));
    return 2;
  } catch (const sbx::NumericalError& e) {
    std::cerr << "spikeblox: numerical error: " << e.what()
              << "\n(the run file keeps everything up to the last flush)\n";
    return 3;
  } catch (const sbx::Interrupted& e) {
    if (e.before_output()) {
      std::cerr << (quiet ? "" : "\n") << "spikeblox: " << e.what()
                << "; nothing was written (an existing run file is unchanged)\n";
      return 128 + e.signal();
    }
    std::cerr << (quiet ? "" : "\n") << "spikeblox: " << e.what()
              << "; the run file keeps everything up to there (not marked completed)"
              << (checkpoint_every > 0 || !resume.empty()
                      ? "; continue with: spikeblox run --resume " + run_path
                      : std::string())
              << "\n";
    return 128 + e.signal();
  } catch (const std::bad_alloc&) {
    std::cerr << "spikeblox: error: out of memory (the circuit, its recordings or the run file "
                 "buffers need more memory than this machine has; try fewer neurons or synapses)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "spikeblox: error: " << e.what() << "\n";
    return 1;
  }
}
