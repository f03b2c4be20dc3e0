// libFuzzer target: the Neuroblox stimulus CSV reader (read_image_csv_text) on arbitrary bytes.
// A parsed set must be consistent (pixels = images x pixels, categories >= 1); a rejection must be
// a UserError with a message (fuzz_common.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "envs/image_stimulus.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const sbx::ImageSet s = sbx::read_image_csv_text(text, "fuzz.csv");
    if (s.pixels.size() != s.n_images * s.n_pixels || s.category.size() != s.n_images)
      sbx::fuzz::unexpected("inconsistent ImageSet");
    for (int c : s.category)
      if (c < 1) sbx::fuzz::unexpected("category < 1 accepted");
  } catch (const sbx::UserError& e) {
    sbx::fuzz::check_rejection(e);
  } catch (const std::exception& e) {
    sbx::fuzz::unexpected(e.what());
  }
  return 0;
}
