// Graceful interruption of long runs (Ctrl-C = SIGINT, SIGTERM from a batch system).
//
// The signal handler only sets a flag. Runners poll it at safe points — between simulation
// chunks (plain runs: Simulator::set_stop_on_interrupt ends a chunk at the next step), trials,
// episodes — and stop by throwing Interrupted, so their error paths keep everything (run file
// flushed, final weight snapshot of plastic edges written) and the command exits with 128 + the
// signal number. A second signal while the first is being handled kills the process at once
// (the default action).
#pragma once

#include <stdexcept>
#include <string>

namespace sbx {

class Interrupted : public std::runtime_error {
 public:
  // before_output: the run stopped before its output file was started (nothing was written).
  Interrupted(int signal, const std::string& where, bool before_output = false);
  int signal() const { return signal_; }
  bool before_output() const { return before_output_; }

 private:
  int signal_;
  bool before_output_ = false;
};

// Installs the handlers for SIGINT and SIGTERM (the spikeblox command does, at start). With
// restart_system_calls = false a blocking call (waitpid) returns EINTR when a signal comes, so a
// process that waits (the sweep) sees it at once.
void install_interrupt_handlers(bool restart_system_calls = true);
// The signal received since the last clear (0: none).
int interrupt_signal();
// Throws Interrupted if a signal was received; `where` says what was reached (e.g.
// "t = 1200.0 ms", "trial 17").
void throw_if_interrupted(const std::string& where);
// The same with where = "t = <t_ms> ms" (formatted only when a signal came).
void throw_if_interrupted_at_ms(double t_ms);
// Tests: pretend that `signal` arrived / forget it.
void request_interrupt(int signal);
void clear_interrupt();

}  // namespace sbx
