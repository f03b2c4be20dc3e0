#include "envs/category_learning.hpp"

#include <numeric>
#include <string>
#include <utility>

#include "engine/errors.hpp"

namespace sbx {

TrialOrder parse_trial_order(std::string_view s) {
  if (s == "sequential") return TrialOrder::sequential;
  if (s == "shuffled") return TrialOrder::shuffled;
  throw UserError(Diagnostic{
      "", 0, 0, "order",
      "unknown trial order '" + std::string(s) + "' (allowed: \"sequential\", \"shuffled\")"});
}

std::string_view to_string(TrialOrder o) {
  return o == TrialOrder::shuffled ? "shuffled" : "sequential";
}

ClassificationEnvironment::ClassificationEnvironment(ImageSet images, std::size_t n_trials,
                                                     TrialOrder order, Rng rng, RewardValues reward)
    : images_(std::move(images)),
      n_trials_(n_trials),
      order_(order),
      rng_(std::move(rng)),
      reward_(reward) {
  if (images_.n_images == 0 || images_.category.size() != images_.n_images ||
      images_.pixels.size() != images_.n_images * images_.n_pixels)
    throw UserError(Diagnostic{"", 0, 0, "stimuli",
                               "the image set is empty or inconsistent (" +
                                   std::to_string(images_.n_images) + " images, " +
                                   std::to_string(images_.category.size()) + " categories, " +
                                   std::to_string(images_.pixels.size()) + " pixel values)"});
  for (int c : images_.category)
    if (c < 1) throw UserError(Diagnostic{"", 0, 0, "stimuli", "categories must be integers >= 1"});
  if (n_trials_ == 0) throw UserError(Diagnostic{"", 0, 0, "n_trials", "must be at least 1"});
}

std::size_t ClassificationEnvironment::next_stimulus() {
  ++trial_;
  const auto n = images_.n_images;
  const auto k = static_cast<std::size_t>(trial_) % n;
  if (order_ == TrialOrder::sequential) {
    current_ = k;
  } else {
    if (k == 0) {  // a new pass: fresh permutation
      permutation_.resize(n);
      std::iota(permutation_.begin(), permutation_.end(), std::size_t{0});
      rng_.shuffle(permutation_);
    }
    current_ = permutation_[k];
  }
  return current_;
}

}  // namespace sbx
