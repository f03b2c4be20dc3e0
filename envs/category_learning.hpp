// Classification environment of the category-learning task (Neuroblox ClassificationEnvironment,
// reference: ../shared/reference/neuroblox_models.md §1.12, §4.2).
//
// One trial = one image. The environment owns the ImageSet, the number of trials, the
// presentation order and the reward values:
//   * order "sequential": image index = trial mod n_images (file order, cycling) — exactly
//     Neuroblox, which shows images 1..N_trials in file order;
//   * order "shuffled": every pass of n_images trials presents a fresh random permutation of all
//     images, drawn from the environment's own Rng stream;
//   * reward(action) = reward_correct if action == category of the current image, else
//     reward_incorrect (Neuroblox: 1 / 0). Actions and categories are both 1-based; an action
//     ≤ 0 means "no action" and is never correct.
// Trials are counted from 0: next_stimulus() starts trial 0 on its first call. Calling it beyond
// n_trials keeps cycling (done() tells when the planned trials are over).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/rng.hpp"
#include "envs/image_stimulus.hpp"

namespace sbx {

enum class TrialOrder : std::uint8_t { sequential, shuffled };

// "sequential" / "shuffled" → TrialOrder; anything else throws UserError (key_path "order").
TrialOrder parse_trial_order(std::string_view s);
std::string_view to_string(TrialOrder o);

struct RewardValues {
  double correct = 1.0;
  double incorrect = 0.0;
};

class ClassificationEnvironment {
 public:
  // Throws UserError if the image set is empty, inconsistent, or n_trials == 0.
  ClassificationEnvironment(ImageSet images, std::size_t n_trials,
                            TrialOrder order = TrialOrder::sequential, Rng rng = Rng(0),
                            RewardValues reward = {});

  // Starts the next trial and returns its image index (0-based row of the ImageSet).
  std::size_t next_stimulus();

  // The trial started by the last next_stimulus() (0-based); -1 before the first call.
  long trial() const { return trial_; }
  std::size_t trials_started() const { return static_cast<std::size_t>(trial_ + 1); }
  bool done() const { return trials_started() >= n_trials_; }
  std::size_t n_trials() const { return n_trials_; }
  TrialOrder order() const { return order_; }
  const RewardValues& reward_values() const { return reward_; }

  std::size_t current_stimulus() const { return current_; }
  int current_category() const { return images_.category[current_]; }
  std::span<const double> current_image() const { return images_.image(current_); }
  bool is_correct(int action) const { return action >= 1 && action == current_category(); }
  double reward(int action) const {
    return is_correct(action) ? reward_.correct : reward_.incorrect;
  }

  const ImageSet& images() const { return images_; }
  // Image shown during the warm-up: image 0 (Neuroblox shows image 1 before the first trial).
  std::size_t warmup_stimulus() const { return 0; }

 private:
  ImageSet images_;
  std::size_t n_trials_;
  TrialOrder order_;
  Rng rng_;
  RewardValues reward_;
  long trial_ = -1;
  std::size_t current_ = 0;
  std::vector<std::size_t> permutation_;  // current pass (shuffled order)
};

}  // namespace sbx
