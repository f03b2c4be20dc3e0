// circuits_toml/stdp_song2000.toml, the competitive-Hebbian STDP example (Song, Miller & Abbott
// 2000, Fig. 2), run through `spikeblox run` for 1500 s of simulated time (~6 s): additive STDP
// with A-/A+ = 1.05 must split the uniform initial weights towards the bounds (the outer tenths
// of [0, g_max] hold 20 % of the weights at the start and more than half after 1500 s; the
// 3000-s run of the header reaches 81 %) while the output rate stays low.
#include <doctest/doctest.h>

#include <H5Cpp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "apps/run_plain.hpp"
#include "circuits/loader.hpp"

using namespace sbx;

TEST_CASE("stdp_song2000.toml: additive STDP splits the weights into a bimodal distribution") {
  const std::string path = std::string(SBX_SOURCE_DIR) + "/circuits_toml/stdp_song2000.toml";
  const circuits::CircuitDescription d =
      circuits::load_circuit_file(path, {"run.duration=1500000", "output.weights_every=1500000"});
  app::RunOptions opt;
  opt.out_path = "test_stdp_song2000.h5";
  opt.force = true;
  opt.quiet = true;
  (void)app::run_plain(d, opt);
  H5::H5File f(opt.out_path, H5F_ACC_RDONLY);
  H5::DataSet v = f.openDataSet("weights/exc_in->post/values");
  hsize_t dims[2] = {0, 0};
  v.getSpace().getSimpleExtentDims(dims);
  REQUIRE(dims[0] == 2);  // initial, final
  REQUIRE(dims[1] == 1000);
  std::vector<double> w(dims[0] * dims[1]);
  v.read(w.data(), H5::PredType::NATIVE_DOUBLE);
  auto outer = [&](std::size_t row) {
    std::size_t n = 0;
    for (std::size_t k = 0; k < dims[1]; ++k) {
      const double g = w[row * dims[1] + k] / 0.15;
      n += g < 0.1 || g > 0.9;
    }
    return static_cast<double>(n) / static_cast<double>(dims[1]);
  };
  CHECK(outer(0) == doctest::Approx(0.2).epsilon(0.25));  // uniform initial weights
  CHECK(outer(1) > 0.5);
  for (double x : w) CHECK((x >= 0.0 && x <= 0.15 + 1e-7));
  H5::DataSet ts = f.openDataSet("spikes/post/timestamps");
  hsize_t n_spikes = 0;
  ts.getSpace().getSimpleExtentDims(&n_spikes);
  const double rate = static_cast<double>(n_spikes) / 1500.0;
  CHECK(rate > 2.0);  // measured 5-8 Hz
  CHECK(rate < 15.0);
}
