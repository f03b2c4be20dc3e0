// The real Neuroblox stimulus set lives outside the project (../shared/data, never copied in).
// Tests that need it skip themselves, with a message, when it is not there (e.g. a CI checkout
// without the shared folder); CTest then reports them as skipped, not passed (exit code 77, see
// tests/doctest_main.cpp and sbx_discover_tests in tests/CMakeLists.txt).
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

namespace sbx::testing {

// Set by a test case that skips itself (tests/doctest_main.cpp turns it into exit code 77 when
// that test case was the only one selected, i.e. under CTest).
extern bool g_skipped;

inline std::string real_stimulus_set() {
  return std::string(SBX_SHARED_DATA_DIR) + "/neuroblox_stimuli_set.csv";
}
inline bool have_real_stimulus_set() {
  return std::filesystem::exists(real_stimulus_set());
}

}  // namespace sbx::testing

#define SBX_REQUIRE_REAL_STIMULUS_SET()                                                 \
  do {                                                                                  \
    if (!sbx::testing::have_real_stimulus_set()) {                                      \
      MESSAGE("skipped: " << sbx::testing::real_stimulus_set() << " is not available"); \
      sbx::testing::g_skipped = true;                                                   \
      return;                                                                           \
    }                                                                                   \
  } while (0)
