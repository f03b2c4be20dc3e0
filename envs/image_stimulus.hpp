// Image stimuli for category learning: the Neuroblox CSV format and a built-in dot-pattern
// generator (reference: ../shared/reference/neuroblox_models.md §1.7, §6).
//
// CSV format (Neuroblox ImageStimulus): a header naming the columns pixel_1 … pixel_P and
// category, in any order; one image per row (flattened pixel vector), the category an integer ≥ 1.
// Spaces around labels and values are trimmed (the real image_example.csv writes "1 "), CRLF line
// ends and a UTF-8 BOM are accepted, blank lines are skipped, fields may be double-quoted.
// Every problem is a UserError whose Diagnostic names the file, the CSV line (Diagnostic::line),
// the 1-based column index (Diagnostic::column) and the column name (Diagnostic::key_path); up to
// 20 problems are reported together.
//
// Dot-pattern generator (prototype distortion, after Posner & Keele 1968 and the dot-pattern task
// of Antzoulatos & Miller 2014 that the Neuroblox stimuli come from):
//   * every category gets one prototype: `dots_per_prototype` dot centres. With
//     `separate_regions` (default) the image columns are split into n_categories equal vertical
//     bands (category 1 leftmost) and a category's dots lie inside its band, `jitter + 1` pixels
//     away from the band edges when the band is wide enough — so categories are separable, like the
//     real set (category 1 on pixels 3–8, category 2 on 11–15). Without it, dots lie anywhere;
//   * a dot is drawn "plus"-shaped: centre = dot_value (1), its 4 neighbours = neighbour_value
//   (0.6)
//     (set neighbour_value = 0 for single-pixel dots); overlaps keep the maximum;
//   * an image of category c = c's prototype where each dot, with probability p_distort, moves by
//     (dx, dy) uniform in [−jitter, jitter]² (clamped to the allowed centre range), and is then
//     dropped with probability p_dropout;
//   * categories are balanced (n_images / n_categories each, the remainder to the first ones) and
//     presented in a random order;
//   * a 1-pixel-high image is treated as one row of a taller picture: dot centres may also lie on
//     the rows just above and below it, so only their 0.6 vertical arm shows. This is exactly how
//     the real 20-pixel set looks (it is row 13 of 15×15 dot images): patterns "0.6 1 0.6" and lone
//     "0.6" pixels.
//   Defaults (20×1 pixels, 2 categories, 2 dots per prototype, jitter 1, p_distort 1, 1000
//   images) give values in {0, 0.6, 1} and ≈3 non-zero pixels per image (real set: 2.75).
//   The output depends only on the spec and the Rng state (deterministic for a seed).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/rng.hpp"

namespace sbx {

struct ImageSet {
  std::vector<double> pixels;  // n_images × n_pixels, row-major
  std::vector<int> category;   // n_images, each ≥ 1
  std::size_t n_pixels = 0;
  std::size_t n_images = 0;
  std::size_t width = 0, height = 0;  // image shape if known (generator); CSV: n_pixels × 1

  std::span<const double> image(std::size_t i) const {
    return std::span<const double>(pixels).subspan(i * n_pixels, n_pixels);
  }
  int n_categories() const;  // largest category label
};

// Parses a Neuroblox stimulus CSV held in `text`; `name` is used in diagnostics as the file name.
ImageSet read_image_csv_text(std::string_view text, const std::string& name);
// Reads and parses a CSV file (an unreadable file is a UserError too).
ImageSet read_image_csv(const std::string& path);

struct DotPatternSpec {
  std::size_t width = 20;
  std::size_t height = 1;
  std::size_t n_categories = 2;
  std::size_t n_images = 1000;
  std::size_t dots_per_prototype = 2;
  std::size_t jitter = 1;  // maximal displacement of a distorted dot, pixels (per axis)
  double p_distort = 1.0;  // probability that a dot is displaced
  double p_dropout = 0.0;  // probability that a dot is removed
  double dot_value = 1.0;
  double neighbour_value = 0.6;
  bool separate_regions = true;
};

// Throws UserError (key_path = the field name) on an invalid spec.
void validate(const DotPatternSpec& spec);

// The prototypes rendered as images (one per category, category c at index c−1), and the images.
// Both calls draw the prototypes first, so generate_dot_patterns(spec, Rng(s)) and
// dot_pattern_prototypes(spec, Rng(s)) agree on the prototypes.
ImageSet dot_pattern_prototypes(const DotPatternSpec& spec, Rng& rng);
ImageSet generate_dot_patterns(const DotPatternSpec& spec, Rng& rng);

}  // namespace sbx
