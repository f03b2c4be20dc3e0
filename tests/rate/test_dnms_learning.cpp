// Slow (about 3 s of CPU): a few hundred DNMS trials must show learning.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "apps/run_dnms.hpp"
#include "circuits/loader.hpp"

using namespace sbx;

TEST_CASE("dnms: 300 trials of dnms_rnn.toml (seed 1) lower the error") {
  // Learning from trial 20: the error of trials 240-299 must fall clearly below that of trials
  // 0-59 (measured 0.953 -> 0.756; over 10 000 trials see scripts/dnms_acceptance.sh).
  const auto desc =
      circuits::load_circuit_file(std::string(SBX_SOURCE_DIR) + "/circuits_toml/dnms_rnn.toml",
                                  {"rules.miconi.learn_after=20"});
  app::DnmsNetwork net(app::dnms_setup(desc));
  std::vector<double> err;
  for (std::uint64_t k = 0; k < 300; ++k) err.push_back(net.run_trial(k).error);
  const double first = std::accumulate(err.begin(), err.begin() + 60, 0.0) / 60;
  const double last = std::accumulate(err.end() - 60, err.end(), 0.0) / 60;
  MESSAGE("mean error, trials 0-59: " << first << ", trials 240-299: " << last);
  CHECK(last < first - 0.1);
}
