// Stimulus CSV reader and dot-pattern generator (envs/image_stimulus.hpp).
#include <doctest/doctest.h>

#include "tests/shared_data.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/errors.hpp"
#include "engine/rng.hpp"
#include "envs/image_stimulus.hpp"

using namespace sbx;

namespace {

const std::string kRealSet = std::string(SBX_SHARED_DATA_DIR) + "/neuroblox_stimuli_set.csv";

// Parses `text` expecting a UserError; returns its diagnostics.
std::vector<Diagnostic> errors_of(const std::string& text) {
  try {
    read_image_csv_text(text, "bad.csv");
  } catch (const UserError& e) {
    return e.diagnostics;
  }
  FAIL("no UserError for: " << text);
  return {};
}

std::string header(int n) {
  std::string h;
  for (int i = 1; i <= n; ++i) h += "pixel_" + std::to_string(i) + ",";
  return h + "category\n";
}

}  // namespace

TEST_CASE("real Neuroblox stimulus set: 1000 rows, 20 pixels, 501 x cat 1 / 499 x cat 2") {
  SBX_REQUIRE_REAL_STIMULUS_SET();
  const ImageSet s = read_image_csv(kRealSet);
  CHECK(s.n_images == 1000);
  CHECK(s.n_pixels == 20);
  CHECK(s.pixels.size() == 20000);
  CHECK(std::count(s.category.begin(), s.category.end(), 1) == 501);
  CHECK(std::count(s.category.begin(), s.category.end(), 2) == 499);
  CHECK(s.n_categories() == 2);
  const std::vector<int> first30 = {2, 1, 1, 2, 1, 2, 2, 2, 2, 2, 2, 2, 1, 2, 1,
                                    1, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 2, 1};
  CHECK(std::vector<int>(s.category.begin(), s.category.begin() + 30) == first30);
  // Values in {0, 0.6, 1}; mean 2.748 non-zero pixels per row; 44 distinct rows.
  std::size_t nonzero = 0;
  for (double v : s.pixels) {
    CHECK((v == 0.0 || v == 0.6 || v == 1.0));
    nonzero += (v != 0.0);
  }
  CHECK(static_cast<double>(nonzero) / 1000.0 == doctest::Approx(2.748));
  std::set<std::vector<double>> distinct;
  for (std::size_t i = 0; i < s.n_images; ++i)
    distinct.insert(std::vector<double>(s.image(i).begin(), s.image(i).end()));
  CHECK(distinct.size() == 44);
  // Second row of the file: "0,0,0,0.6,0,0.6,1,0.6,0,...,1".
  CHECK(s.image(1)[3] == 0.6);
  CHECK(s.image(1)[6] == 1.0);
}

TEST_CASE("real stimulus set: per-pixel category means of spec 6.1 to 2 decimals") {
  SBX_REQUIRE_REAL_STIMULUS_SET();
  const ImageSet s = read_image_csv(kRealSet);
  std::vector<double> m1(20, 0.0), m2(20, 0.0);
  double n1 = 0, n2 = 0;
  for (std::size_t i = 0; i < s.n_images; ++i) {
    auto& m = s.category[i] == 1 ? m1 : m2;
    (s.category[i] == 1 ? n1 : n2) += 1;
    for (std::size_t p = 0; p < 20; ++p) m[p] += s.image(i)[p];
  }
  for (auto& x : m1) x /= n1;
  for (auto& x : m2) x /= n2;
  auto r2 = [](double x) { return std::round(x * 100.0) / 100.0; };
  // cat 1: p4 0.31, p5 0.37, p6 0.51, p7 0.55, p20 0.14; cat 2: p12 0.31, p13 0.62, p14 0.46.
  CHECK(r2(m1[3]) == 0.31);
  CHECK(r2(m1[4]) == 0.37);
  CHECK(r2(m1[5]) == 0.51);
  CHECK(r2(m1[6]) == 0.55);
  CHECK(r2(m1[19]) == 0.14);
  CHECK(r2(m2[11]) == 0.31);
  CHECK(r2(m2[12]) == 0.62);
  CHECK(r2(m2[13]) == 0.46);
  // Category 2 has no mass on pixels 1–10, category 1 none on 11–17.
  for (std::size_t p = 0; p < 10; ++p) CHECK(m2[p] == 0.0);
  for (std::size_t p = 10; p < 17; ++p) CHECK(m1[p] == 0.0);
}

TEST_CASE("CSV: any column order, trimmed labels/values, CRLF, BOM, quotes, blank lines") {
  const std::string text =
      "\xEF\xBB\xBF category , pixel_2 ,pixel_1\r\n"
      " 1 , 0.5 , 0.25\r\n"
      "\r\n"
      "\"2 \",\"1\",+0\r\n";
  const ImageSet s = read_image_csv_text(text, "ok.csv");
  REQUIRE(s.n_images == 2);
  CHECK(s.n_pixels == 2);
  CHECK(s.category == std::vector<int>{1, 2});
  CHECK(s.pixels == std::vector<double>{0.25, 0.5, 0.0, 1.0});
}

TEST_CASE("CSV error: missing category column (header line, key 'category')") {
  const auto d = errors_of("pixel_1,pixel_2\n0,1\n");
  REQUIRE(d.size() == 1);
  CHECK(d[0].file == "bad.csv");
  CHECK(d[0].line == 1);
  CHECK(d[0].key_path == "category");
  CHECK(d[0].message.find("missing column 'category'") != std::string::npos);
}

TEST_CASE("CSV error: non-numeric pixel names row, line, column index and column name") {
  std::string text = header(3);
  for (int r = 1; r <= 10; ++r) text += (r == 7 ? "0,1,abc,2\n" : "0,1,0,2\n");
  const auto d = errors_of(text);
  REQUIRE(d.size() == 1);
  CHECK(d[0].line == 8);  // header is line 1, row 7 is line 8
  CHECK(d[0].column == 3);
  CHECK(d[0].key_path == "pixel_3");
  CHECK(d[0].message == "row 7, column 'pixel_3': 'abc' is not a number");
  CHECK(d[0].format() ==
        "bad.csv:8:3: error: 'pixel_3': row 7, column 'pixel_3': 'abc' is not a number");
  // Partially numeric, empty and non-finite values are errors too.
  CHECK(errors_of(header(2) + "0,1x,1\n")[0].message.find("'1x' is not a number") !=
        std::string::npos);
  CHECK(errors_of(header(2) + "0, ,1\n")[0].message.find("empty value") != std::string::npos);
  CHECK(errors_of(header(2) + "nan,0,1\n")[0].message.find("not a finite number") !=
        std::string::npos);
  CHECK(errors_of(header(2) + "1e999,0,1\n")[0].message.find("not a finite number") !=
        std::string::npos);
}

TEST_CASE("CSV error: ragged rows (too few / too many fields)") {
  const auto d = errors_of(header(3) + "0,0,0,1\n0,0,1\n0,0,0,1,5\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0].line == 3);
  CHECK(d[0].message == "row 2 has 3 fields, the header has 4");
  CHECK(d[1].line == 4);
  CHECK(d[1].message == "row 3 has 5 fields, the header has 4");
}

TEST_CASE("CSV error: gaps in pixel numbering, duplicates, unknown columns") {
  auto d = errors_of("pixel_1,pixel_3,category\n0,0,1\n");
  REQUIRE(d.size() == 1);
  CHECK(d[0].key_path == "pixel_2");
  CHECK(d[0].message.find("missing column 'pixel_2'") != std::string::npos);
  d = errors_of("pixel_2,category\n0,1\n");  // pixel_1 missing
  CHECK(d[0].key_path == "pixel_1");
  d = errors_of("pixel_1,pixel_9,category\n0,0,1\n");  // 7 missing, reported once
  REQUIRE(d.size() == 1);
  CHECK(d[0].message.find("and 6 more up to pixel_8") != std::string::npos);
  d = errors_of("pixel_1,pixel_1,category\n0,0,1\n");
  REQUIRE(d.size() == 1);
  CHECK(d[0].column == 2);
  CHECK(d[0].message.find("duplicate column 'pixel_1' (first at column 1)") != std::string::npos);
  d = errors_of("pixel_1,category,category\n0,1,1\n");
  CHECK(d[0].column == 3);
  d = errors_of("pixel_1,pixel_01,label,category\n0,0,0,1\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0].column == 2);
  CHECK(d[0].key_path == "pixel_01");
  CHECK(d[1].column == 3);
  CHECK(d[1].message.find("unknown column 'label'") != std::string::npos);
  d = errors_of("category\n1\n");
  CHECK(d[0].message.find("no pixel columns") != std::string::npos);
}

TEST_CASE("CSV error: empty file, header only") {
  CHECK(errors_of("")[0].message.find("the file is empty") != std::string::npos);
  CHECK(errors_of(" \n\r\n\n")[0].message.find("the file is empty") != std::string::npos);
  const auto d = errors_of(header(2));
  CHECK(d[0].line == 1);
  CHECK(d[0].message.find("no data rows") != std::string::npos);
}

TEST_CASE("CSV error: categories must be integers >= 1") {
  for (const char* bad : {"0", "-1", "1.5", "abc", "1e30"}) {
    const auto d = errors_of(header(2) + "0,0,1\n0,0," + bad + "\n");
    REQUIRE(d.size() == 1);
    CHECK(d[0].line == 3);
    CHECK(d[0].column == 3);
    CHECK(d[0].key_path == "category");
    CHECK(d[0].message == "row 2, column 'category': '" + std::string(bad) +
                              "' is not a valid category (an integer >= 1)");
  }
  CHECK(read_image_csv_text(header(1) + "0,3.0\n", "x").category == std::vector<int>{3});
}

TEST_CASE("CSV error: several problems reported together, capped at 20 + a summary") {
  std::string text = header(2);
  for (int r = 0; r < 30; ++r) text += "x,0,1\n";
  const auto d = errors_of(text);
  CHECK(d.size() == 21);
  CHECK(d.back().message == "10 more problem(s) not shown");
}

TEST_CASE("CSV: unreadable file is a UserError naming the path") {
  try {
    read_image_csv("/nonexistent/dir/stimuli.csv");
    FAIL("expected UserError");
  } catch (const UserError& e) {
    CHECK(e.diagnostics.at(0).file == "/nonexistent/dir/stimuli.csv");
  }
}

TEST_CASE("CSV fuzz: random mutations and random bytes never crash, only UserError") {
  const std::string valid = header(3) + "0,0.6,1,1\n1,0,0,2\n0.6,1,0.6,1 \n";
  const std::string alphabet = ",\n\r\" 0123456789.-+eEnaixpcategory_l\t\xEF\xBB\xBF";
  Rng rng(2025);
  int parsed = 0, rejected = 0;
  for (int it = 0; it < 3000; ++it) {
    std::string t = valid;
    const int n_mut = 1 + static_cast<int>(rng.below(6));
    for (int m = 0; m < n_mut; ++m) {
      const auto pos = rng.below(t.size() + 1);
      const char c = alphabet[rng.below(alphabet.size())];
      switch (rng.below(3)) {
        case 0:
          if (pos < t.size()) t[pos] = c;
          break;
        case 1:
          t.insert(t.begin() + static_cast<long>(pos), c);
          break;
        default:
          if (pos < t.size()) t.erase(pos, 1);
      }
    }
    if (it % 10 == 0) {  // pure random bytes
      t.clear();
      for (auto k = rng.below(200); k > 0; --k) t += static_cast<char>(rng.below(256));
    }
    try {
      const ImageSet s = read_image_csv_text(t, "fuzz.csv");
      CHECK(s.pixels.size() == s.n_images * s.n_pixels);
      CHECK(s.category.size() == s.n_images);
      CHECK(s.n_images > 0);
      for (int c : s.category) CHECK(c >= 1);
      ++parsed;
    } catch (const UserError&) {
      ++rejected;
    }
  }
  MESSAGE("fuzz: " << parsed << " parsed, " << rejected << " rejected");
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

// ---- generator ------------------------------------------------------------------------------

TEST_CASE("dot patterns: deterministic for a seed, different for another seed") {
  const DotPatternSpec spec;
  Rng a(42), b(42), c(43);
  const ImageSet x = generate_dot_patterns(spec, a), y = generate_dot_patterns(spec, b),
                 z = generate_dot_patterns(spec, c);
  CHECK(x.pixels == y.pixels);
  CHECK(x.category == y.category);
  CHECK(x.pixels != z.pixels);
  Rng p(42);
  const ImageSet protos = dot_pattern_prototypes(spec, p);
  CHECK(protos.n_images == 2);
  CHECK(protos.category == std::vector<int>{1, 2});
}

TEST_CASE("dot patterns: default sizes and values resemble the real set (20 px, {0,0.6,1})") {
  const DotPatternSpec spec;
  Rng rng(7);
  const ImageSet s = generate_dot_patterns(spec, rng);
  CHECK(s.n_images == 1000);
  CHECK(s.n_pixels == 20);
  CHECK(s.width == 20);
  CHECK(s.height == 1);
  CHECK(s.pixels.size() == 20000);
  CHECK(std::count(s.category.begin(), s.category.end(), 1) == 500);
  CHECK(std::count(s.category.begin(), s.category.end(), 2) == 500);
  std::size_t nonzero = 0, empty_images = 0;
  for (std::size_t i = 0; i < s.n_images; ++i) {
    std::size_t nz = 0;
    for (double v : s.image(i)) {
      CHECK((v == 0.0 || v == 0.6 || v == 1.0));
      nz += (v != 0.0);
    }
    nonzero += nz;
    empty_images += (nz == 0);
  }
  const double mean_nz = static_cast<double>(nonzero) / 1000.0;
  MESSAGE("mean non-zero pixels per image: " << mean_nz);
  CHECK(mean_nz >= 2.0);
  CHECK(mean_nz <= 3.5);
  CHECK(empty_images == 0);  // every dot shows at least its 0.6 arm
  // Category 1 lives on the left half, category 2 on the right half (separate regions).
  for (std::size_t i = 0; i < s.n_images; ++i) {
    const auto img = s.image(i);
    const bool left = s.category[i] == 1;
    for (std::size_t p = 0; p < 20; ++p)
      if ((p < 10) != left) CHECK(img[p] == 0.0);
  }
  // Categories are interleaved (not 500 ones then 500 twos).
  int switches = 0;
  for (std::size_t i = 1; i < s.n_images; ++i) switches += s.category[i] != s.category[i - 1];
  CHECK(switches > 300);
}

namespace {
double nearest_prototype_accuracy(const ImageSet& protos, const ImageSet& s) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < s.n_images; ++i) {
    double best = 1e300;
    int best_c = 0;
    for (std::size_t c = 0; c < protos.n_images; ++c) {
      double d = 0.0;
      for (std::size_t p = 0; p < s.n_pixels; ++p) {
        const double e = s.image(i)[p] - protos.image(c)[p];
        d += e * e;
      }
      if (d < best) {
        best = d;
        best_c = protos.category[c];
      }
    }
    correct += (best_c == s.category[i]);
  }
  return static_cast<double>(correct) / static_cast<double>(s.n_images);
}
}  // namespace

TEST_CASE("dot patterns: nearest-prototype classifier accuracy >= 0.9 (defaults, 40 seeds)") {
  const DotPatternSpec spec;
  double worst = 1.0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng r1(seed), r2(seed);
    const ImageSet protos = dot_pattern_prototypes(spec, r1);
    const ImageSet s = generate_dot_patterns(spec, r2);
    const double acc = nearest_prototype_accuracy(protos, s);
    INFO("seed " << seed);
    CHECK(acc >= 0.9);
    worst = std::min(worst, acc);
  }
  MESSAGE("worst nearest-prototype accuracy over 40 seeds: " << worst);
}

TEST_CASE("dot patterns: 15x15 images, 3 categories, dropout, plus-shaped dots") {
  DotPatternSpec spec;
  spec.width = 15;
  spec.height = 15;
  spec.n_categories = 3;
  spec.n_images = 301;
  spec.dots_per_prototype = 4;
  spec.jitter = 1;
  spec.p_dropout = 0.1;
  Rng r1(9), r2(9);
  const ImageSet protos = dot_pattern_prototypes(spec, r1);
  const ImageSet s = generate_dot_patterns(spec, r2);
  CHECK(s.n_pixels == 225);
  CHECK(s.n_images == 301);
  CHECK(std::count(s.category.begin(), s.category.end(), 1) == 101);
  CHECK(std::count(s.category.begin(), s.category.end(), 2) == 100);
  CHECK(std::count(s.category.begin(), s.category.end(), 3) == 100);
  // Every 1.0 pixel of a prototype has 0.6-or-more 4-neighbours inside the image.
  for (std::size_t c = 0; c < 3; ++c) {
    const auto img = protos.image(c);
    int centres = 0;
    for (long y = 0; y < 15; ++y)
      for (long x = 0; x < 15; ++x) {
        if (img[static_cast<std::size_t>(y * 15 + x)] != 1.0) continue;
        ++centres;
        const long nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (auto& q : nb)
          if (q[0] >= 0 && q[0] < 15 && q[1] >= 0 && q[1] < 15)
            CHECK(img[static_cast<std::size_t>(q[1] * 15 + q[0])] >= 0.6);
      }
    CHECK(centres == 4);
  }
  CHECK(nearest_prototype_accuracy(protos, s) >= 0.9);
}

TEST_CASE("dot patterns: invalid specs are UserErrors naming the field") {
  auto key_of = [](DotPatternSpec s) -> std::string {
    try {
      validate(s);
    } catch (const UserError& e) {
      return e.diagnostics.at(0).key_path;
    }
    return "";
  };
  DotPatternSpec s;
  CHECK(key_of(s).empty());
  s.width = 0;
  CHECK(key_of(s) == "width");
  s = {};
  s.p_distort = 1.5;
  CHECK(key_of(s) == "p_distort");
  s = {};
  s.n_categories = 0;
  CHECK(key_of(s) == "n_categories");
  s = {};
  s.width = 3;
  s.n_categories = 4;
  CHECK(key_of(s) == "separate_regions");
  s = {};
  s.dots_per_prototype = 0;
  CHECK(key_of(s) == "dots_per_prototype");
  s = {};
  s.neighbour_value = std::nan("");
  CHECK(key_of(s) == "neighbour_value");
}
