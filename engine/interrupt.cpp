#include "engine/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace sbx {

namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "used from a signal handler");

extern "C" void on_interrupt(int sig) {
  if (g_signal.load(std::memory_order_relaxed) != 0) {
    // Second signal: the user insists. Default action (terminate) at once.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_signal.store(sig, std::memory_order_relaxed);
}

}  // namespace

Interrupted::Interrupted(int signal, const std::string& where, bool before_output)
    : std::runtime_error(std::string("interrupted by ") +
                         (signal == SIGINT    ? "SIGINT"
                          : signal == SIGTERM ? "SIGTERM"
                                              : "signal " + std::to_string(signal)) +
                         (where.empty() ? "" : " at " + where)),
      signal_(signal),
      before_output_(before_output) {}

void install_interrupt_handlers(bool restart_system_calls) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  // By default slow system calls (file writes) resume instead of failing.
  sa.sa_flags = restart_system_calls ? SA_RESTART : 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int interrupt_signal() {
  return g_signal.load(std::memory_order_relaxed);
}

void throw_if_interrupted(const std::string& where) {
  if (const int sig = interrupt_signal(); sig != 0) throw Interrupted(sig, where);
}

void throw_if_interrupted_at_ms(double t_ms) {
  if (interrupt_signal() == 0) return;
  char where[64];
  std::snprintf(where, sizeof where, "t = %.1f ms", t_ms);
  throw_if_interrupted(where);
}

void request_interrupt(int signal) {
  g_signal.store(signal, std::memory_order_relaxed);
}

void clear_interrupt() {
  g_signal.store(0, std::memory_order_relaxed);
}

}  // namespace sbx
