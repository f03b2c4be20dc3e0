// The spikeblox command: run / check a TOML circuit.
//
// Exit status: 0 success, 2 bad input (every problem printed, nothing written), 1 runtime failure
// (the run file keeps everything up to the failure), 3 numerical blow-up (NaN/inf).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "apps/experiments.hpp"
#include "apps/run_plain.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
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

void print_user_error(const sbx::UserError& e) {
  for (const auto& d : e.diagnostics) std::cerr << d.format() << "\n";
  std::cerr << e.diagnostics.size() << (e.diagnostics.size() == 1 ? " error" : " errors")
            << "; nothing was run and no file was written.\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"spikeblox: event-driven spiking-network simulator for biologically grounded RL"};
  app.set_version_flag("--version", std::string("spikeblox ") + SBX_VERSION);
  app.require_subcommand(1);

  std::string file;
  std::vector<std::string> sets;
  std::string out;
  long long seed = -1;
  bool force = false, json = false, quiet = false;

  auto* run = app.add_subcommand("run", "Run a circuit and write its HDF5 run file");
  run->add_option("FILE", file, "circuit TOML file")->required();
  run->add_option("--out,-o", out, "run file path (default: [output].file of the circuit)");
  run->add_option("--set", sets, "override a key before validation: dotted.key=value (repeatable)");
  run->add_option("--seed", seed, "master seed (same as --set meta.seed=N)");
  run->add_flag("--force", force, "overwrite an existing run file");
  run->add_flag("--json", json, "print the summary as one JSON line on stdout");
  run->add_flag("--quiet,-q", quiet, "no progress line");

  auto* check = app.add_subcommand("check", "Validate a circuit without running it");
  check->add_option("FILE", file, "circuit TOML file")->required();
  check->add_option("--set", sets, "override a key before validation: dotted.key=value");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    if (seed >= 0) sets.push_back("meta.seed=" + std::to_string(seed));
    const sbx::circuits::CircuitDescription desc = sbx::circuits::load_circuit_file(file, sets);
    if (check->parsed()) {
      sbx::app::check_experiment(desc);
      std::cout << file << ": ok (" << desc.blocks.size() << " blocks, " << desc.connections.size()
                << " connections, experiment '" << desc.experiment.type << "')\n";
      return 0;
    }
    sbx::app::RunOptions opt;
    opt.out_path = out.empty() ? desc.output_path() : out;
    opt.force = force;
    opt.quiet = quiet;
    opt.command_line = join_args(argc, argv);
    // Refuse an existing file / unwritable place before any work is done.
    sbx::RunFile::check_target(opt.out_path, force);
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
      char buf[512];
      std::snprintf(
          buf, sizeof buf,
          "simulated %.1f ms in %.3f s wall (loop %.3f s, build %.3f s): %llu spikes, "
          "%llu synaptic events (%.3g events/s) -> %s",
          s.simulated_ms, s.wall_s, s.loop_s, s.build_s, static_cast<unsigned long long>(s.spikes),
          static_cast<unsigned long long>(s.synaptic_events), ev_rate, opt.out_path.c_str());
      std::cerr << buf << "\n";
    }
    return 0;
  } catch (const sbx::UserError& e) {
    print_user_error(e);
    return 2;
  } catch (const sbx::NumericalError& e) {
    std::cerr << "spikeblox: numerical error: " << e.what()
              << "\n(the run file keeps everything up to the last flush)\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "spikeblox: error: " << e.what() << "\n";
    return 1;
  }
}
