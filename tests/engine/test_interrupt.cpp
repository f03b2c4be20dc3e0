// engine/interrupt.hpp: the flag set by SIGINT/SIGTERM and the exception runners throw on it.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "engine/interrupt.hpp"

using namespace sbx;

TEST_CASE("interrupt: nothing pending, nothing thrown, a pending signal throws Interrupted") {
  clear_interrupt();
  CHECK(interrupt_signal() == 0);
  CHECK_NOTHROW(throw_if_interrupted("t = 1.0 ms"));
  request_interrupt(SIGTERM);
  CHECK(interrupt_signal() == SIGTERM);
  try {
    throw_if_interrupted("the end of trial 3 of 10");
    FAIL("no exception");
  } catch (const Interrupted& e) {
    CHECK(e.signal() == SIGTERM);
    CHECK(std::string(e.what()) == "interrupted by SIGTERM at the end of trial 3 of 10");
  }
  clear_interrupt();
  CHECK_NOTHROW(throw_if_interrupted(""));
}

TEST_CASE("interrupt: the installed handler turns a real SIGINT into the flag") {
  clear_interrupt();
  install_interrupt_handlers();
  std::raise(SIGINT);  // handled: the process goes on
  CHECK(interrupt_signal() == SIGINT);
  CHECK_THROWS_AS(throw_if_interrupted("t = 0 ms"), Interrupted);
  clear_interrupt();
  std::signal(SIGINT, SIG_DFL), std::signal(SIGTERM, SIG_DFL);
}
