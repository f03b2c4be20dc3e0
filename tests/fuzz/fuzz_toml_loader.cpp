// libFuzzer target: the circuit loader (TOML text -> validated CircuitDescription) on arbitrary
// bytes. Accepting or rejecting are both fine; a rejection must be a UserError with a message
// (fuzz_common.hpp). Files named in the circuit are not read here (the stimulus CSV has its own
// target), so the fuzzer cannot wander into /dev/zero.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "circuits/loader.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto desc = sbx::circuits::load_circuit_string(text, "fuzz.toml");
    (void)desc;
  } catch (const sbx::UserError& e) {
    sbx::fuzz::check_rejection(e);
  } catch (const std::exception& e) {
    sbx::fuzz::unexpected(e.what());
  }
  return 0;
}
