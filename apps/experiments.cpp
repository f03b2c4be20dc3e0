#include "apps/experiments.hpp"

#include "apps/run_category.hpp"
#include "apps/run_distal.hpp"
#include "apps/run_dnms.hpp"
#include "apps/run_episodes.hpp"
#include "apps/runner_util.hpp"
#include "engine/errors.hpp"

namespace sbx::app {

void check_experiment(const circuits::CircuitDescription& desc) {
  // The whole set-up of a run (circuit built, learning rules and environment constructed), so
  // that what check accepts, run accepts; only the run file and the simulation are left out.
  RunOptions dry;
  dry.dry_run = true;
  dry.quiet = true;
  (void)run_experiment(desc, dry);
}

RunSummary run_experiment(const circuits::CircuitDescription& desc, const RunOptions& opt) {
  print_notes(unused_rule_notes(desc));  // (check runs this too, as a dry run)
  print_notes(output_notes(desc));
  if (desc.experiment.type == "run") return run_plain(desc, opt);
  if (desc.experiment.type == "category_learning") return run_category(desc, opt);
  if (desc.experiment.type == "dnms") return run_dnms(desc, opt);
  if (desc.experiment.type == "episodes") return run_episodes(desc, opt);
  if (desc.experiment.type == "distal_reward") return run_distal(desc, opt);
  // The loader validates the type against the registry, so reaching here is a wiring bug.
  throw InternalError("experiment type '" + desc.experiment.type + "' has no runner");
}

}  // namespace sbx::app
