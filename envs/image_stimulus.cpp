#include "envs/image_stimulus.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

#include "engine/errors.hpp"

namespace sbx {

int ImageSet::n_categories() const {
  int m = 0;
  for (int c : category) m = std::max(m, c);
  return m;
}

namespace {

constexpr std::size_t kMaxDiagnostics = 20;

std::string_view trim(std::string_view s) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A value quoted for a message: at most 40 characters, non-printable bytes escaped.
std::string quoted(std::string_view s) {
  std::string out = "'";
  std::size_t n = 0;
  for (char c : s) {
    if (++n > 40) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Splits one CSV line into trimmed fields. Quoted fields ("a,b", "a""b") are unquoted. Returns an
// error text (empty on success) and, on error, the 1-based field index where it happened.
std::string split_fields(std::string_view line, std::vector<std::string>& fields, int& bad_field) {
  fields.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  for (;;) {
    // one field starting at i
    std::size_t j = i;
    while (j < n && (line[j] == ' ' || line[j] == '\t')) ++j;
    std::string value;
    if (j < n && line[j] == '"') {
      ++j;
      bool closed = false;
      while (j < n) {
        if (line[j] == '"') {
          if (j + 1 < n && line[j + 1] == '"') {
            value += '"';
            j += 2;
          } else {
            closed = true;
            ++j;
            break;
          }
        } else {
          value += line[j++];
        }
      }
      if (!closed) {
        bad_field = static_cast<int>(fields.size()) + 1;
        return "unterminated quoted field";
      }
      while (j < n && (line[j] == ' ' || line[j] == '\t' || line[j] == '\r')) ++j;
      if (j < n && line[j] != ',') {
        bad_field = static_cast<int>(fields.size()) + 1;
        return "unexpected character after a closing quote";
      }
      fields.push_back(std::string(trim(value)));
    } else {
      std::size_t k = j;
      while (k < n && line[k] != ',') ++k;
      fields.push_back(std::string(trim(line.substr(j, k - j))));
      j = k;
    }
    if (j >= n) break;
    i = j + 1;  // skip the comma; a trailing comma yields a final empty field
    if (i == n) {
      fields.emplace_back();
      break;
    }
  }
  return {};
}

enum class NumberStatus { ok, empty, not_a_number, not_finite };

NumberStatus parse_number(std::string_view s, double& out) {
  if (s.empty()) return NumberStatus::empty;
  if (s.front() == '+' && s.size() > 1 && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  const auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  if (res.ec == std::errc::result_out_of_range) return NumberStatus::not_finite;
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return NumberStatus::not_a_number;
  if (!std::isfinite(out)) return NumberStatus::not_finite;
  return NumberStatus::ok;
}

// "pixel_N" with N a canonical positive decimal (no sign, no leading zeros) → N; else 0.
std::size_t pixel_number(std::string_view label) {
  constexpr std::string_view prefix = "pixel_";
  if (label.substr(0, prefix.size()) != prefix) return 0;
  const std::string_view digits = label.substr(prefix.size());
  if (digits.empty() || digits.size() > 9 || digits.front() == '0') return 0;
  std::size_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

class DiagnosticList {
 public:
  explicit DiagnosticList(std::string file) : file_(std::move(file)) {}
  void add(int line, int column, std::string key, std::string message) {
    ++total_;
    if (diags_.size() < kMaxDiagnostics)
      diags_.push_back(Diagnostic{file_, line, column, std::move(key), std::move(message)});
  }
  bool empty() const { return diags_.empty(); }
  [[noreturn]] void raise() {
    if (total_ > diags_.size())
      diags_.push_back(Diagnostic{
          file_, 0, 0, "", std::to_string(total_ - diags_.size()) + " more problem(s) not shown"});
    throw UserError(std::move(diags_));
  }
  void raise_if_any() {
    if (!diags_.empty()) raise();
  }

 private:
  std::string file_;
  std::vector<Diagnostic> diags_;
  std::size_t total_ = 0;
};

}  // namespace

ImageSet read_image_csv_text(std::string_view text, const std::string& name) {
  DiagnosticList diags(name);
  const std::string expected =
      "expected a header naming the columns pixel_1 ... pixel_P and category";

  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  // Line cursor.
  std::size_t pos = 0;
  int line_no = 0;
  auto next_line = [&](std::string_view& line) -> bool {
    if (pos >= text.size()) return false;
    std::size_t e = text.find('\n', pos);
    if (e == std::string_view::npos) e = text.size();
    line = text.substr(pos, e - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = e + 1;
    ++line_no;
    return true;
  };

  // ---- header ----
  std::string_view line;
  bool have_header = false;
  while (next_line(line)) {
    if (!trim(line).empty()) {
      have_header = true;
      break;
    }
  }
  if (!have_header) {
    diags.add(0, 0, "", "the file is empty (" + expected + ")");
    diags.raise();
  }
  const int header_line = line_no;
  std::vector<std::string> fields;
  int bad_field = 0;
  if (auto err = split_fields(line, fields, bad_field); !err.empty()) {
    diags.add(header_line, bad_field, "", "header: " + err);
    diags.raise();
  }
  const std::size_t n_columns = fields.size();
  std::vector<std::string> column_names = fields;
  long category_column = -1;                                // 0-based
  std::vector<std::pair<std::size_t, std::size_t>> pixels;  // (pixel number, 0-based column)
  for (std::size_t j = 0; j < n_columns; ++j) {
    const std::string& label = fields[j];
    const int col = static_cast<int>(j) + 1;
    if (label == "category") {
      if (category_column >= 0)
        diags.add(header_line, col, label,
                  "duplicate column 'category' (first at column " +
                      std::to_string(category_column + 1) + ")");
      else
        category_column = static_cast<long>(j);
    } else if (const std::size_t p = pixel_number(label); p > 0) {
      pixels.emplace_back(p, j);
    } else if (label.empty()) {
      diags.add(header_line, col, "", "empty column name (" + expected + ")");
    } else {
      diags.add(header_line, col, label, "unknown column " + quoted(label) + " (" + expected + ")");
    }
  }
  if (category_column < 0) diags.add(header_line, 0, "category", "missing column 'category'");
  std::sort(pixels.begin(), pixels.end());
  if (pixels.empty()) {
    diags.add(header_line, 0, "pixel_1", "no pixel columns (" + expected + ")");
  } else {
    std::size_t want = 1;
    const std::size_t last = pixels.back().first;
    for (std::size_t k = 0; k < pixels.size(); ++k) {
      const auto [p, j] = pixels[k];
      if (k > 0 && p == pixels[k - 1].first) {
        diags.add(header_line, static_cast<int>(j) + 1, column_names[j],
                  "duplicate column " + quoted(column_names[j]) + " (first at column " +
                      std::to_string(pixels[k - 1].second + 1) + ")");
        continue;
      }
      if (p > want) {
        const std::string missing = "pixel_" + std::to_string(want);
        diags.add(header_line, 0, missing,
                  "missing column '" + missing + "'" +
                      (p - want > 1 ? " (and " + std::to_string(p - want - 1) +
                                          " more up to pixel_" + std::to_string(p - 1) + ")"
                                    : std::string()) +
                      ": pixel columns must be numbered 1.." + std::to_string(last) +
                      " without gaps");
      }
      want = p + 1;
    }
  }
  diags.raise_if_any();

  const std::size_t n_pixels = pixels.size();
  std::vector<std::size_t> column_of_pixel(n_pixels);
  for (std::size_t k = 0; k < n_pixels; ++k) column_of_pixel[k] = pixels[k].second;
  const auto cat_col = static_cast<std::size_t>(category_column);

  // ---- rows ----
  ImageSet set;
  set.n_pixels = n_pixels;
  set.width = n_pixels;
  set.height = 1;
  std::vector<double> row(n_pixels);
  std::size_t row_no = 0;
  while (next_line(line)) {  // keep counting problems after the cap, for the summary
    if (trim(line).empty()) continue;
    ++row_no;
    const std::string row_txt = "row " + std::to_string(row_no);
    if (auto err = split_fields(line, fields, bad_field); !err.empty()) {
      diags.add(line_no, bad_field, "", row_txt + ": " + err);
      continue;
    }
    if (fields.size() != n_columns) {
      diags.add(line_no, 0, "",
                row_txt + " has " + std::to_string(fields.size()) + " fields, the header has " +
                    std::to_string(n_columns));
      continue;
    }
    bool ok = true;
    auto bad_value = [&](std::size_t j, const std::string& why) {
      diags.add(line_no, static_cast<int>(j) + 1, column_names[j],
                row_txt + ", column '" + column_names[j] + "': " + why);
      ok = false;
    };
    for (std::size_t k = 0; k < n_pixels; ++k) {
      const std::size_t j = column_of_pixel[k];
      double v = 0.0;
      switch (parse_number(fields[j], v)) {
        case NumberStatus::ok:
          row[k] = v;
          break;
        case NumberStatus::empty:
          bad_value(j, "empty value (a number is required)");
          break;
        case NumberStatus::not_a_number:
          bad_value(j, quoted(fields[j]) + " is not a number");
          break;
        case NumberStatus::not_finite:
          bad_value(j, quoted(fields[j]) + " is not a finite number");
          break;
      }
    }
    double c = 0.0;
    const auto st = parse_number(fields[cat_col], c);
    int category = 0;
    if (st == NumberStatus::empty) {
      bad_value(cat_col, "empty value (a category, an integer >= 1, is required)");
    } else if (st != NumberStatus::ok || c != std::floor(c) || c < 1.0 ||
               c > static_cast<double>(INT_MAX)) {
      bad_value(cat_col, quoted(fields[cat_col]) + " is not a valid category (an integer >= 1)");
    } else {
      category = static_cast<int>(c);
    }
    if (ok) {
      set.pixels.insert(set.pixels.end(), row.begin(), row.end());
      set.category.push_back(category);
    }
  }
  diags.raise_if_any();
  if (set.category.empty()) {
    diags.add(header_line, 0, "", "no data rows after the header (at least one image is required)");
    diags.raise();
  }
  set.n_images = set.category.size();
  return set;
}

ImageSet read_image_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(Diagnostic{path, 0, 0, "", "cannot open the stimulus file for reading"});
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    throw UserError(Diagnostic{path, 0, 0, "", "error while reading the stimulus file"});
  return read_image_csv_text(ss.str(), path);
}

// ---- dot-pattern generator ------------------------------------------------------------------

namespace {

struct Dot {
  long x = 0, y = 0;
};

struct DotGeometry {
  long x_lo = 0, x_hi = 0;  // allowed centre columns (whole image)
  long y_lo = 0, y_hi = 0;  // allowed centre rows (one row beyond a 1-pixel-high image)
};

DotGeometry geometry(const DotPatternSpec& s) {
  DotGeometry g;
  g.x_lo = 0;
  g.x_hi = static_cast<long>(s.width) - 1;
  if (s.height == 1) {
    g.y_lo = -1;
    g.y_hi = 1;
  } else {
    g.y_lo = 0;
    g.y_hi = static_cast<long>(s.height) - 1;
  }
  return g;
}

std::vector<std::vector<Dot>> draw_prototypes(const DotPatternSpec& s, Rng& rng) {
  const DotGeometry g = geometry(s);
  std::vector<std::vector<Dot>> protos(s.n_categories);
  // Prototype centres lie on the image itself; only distortion moves a dot off a 1-pixel-high
  // image (so every prototype shows its full plus pattern, like the real set's commonest rows).
  const long y_lo = 0, n_rows = static_cast<long>(s.height);
  for (std::size_t c = 0; c < s.n_categories; ++c) {
    long lo = g.x_lo, hi = g.x_hi;
    if (s.separate_regions) {
      lo = static_cast<long>(c * s.width / s.n_categories);
      hi = static_cast<long>((c + 1) * s.width / s.n_categories) - 1;
      const long band = hi - lo + 1;
      const long margin = std::min(static_cast<long>(s.jitter) + 1, (band - 1) / 2);
      lo += margin;
      hi -= margin;
    }
    const long n_cols = hi - lo + 1;
    const auto n_pos = static_cast<std::uint64_t>(n_cols) * static_cast<std::uint64_t>(n_rows);
    const std::size_t k = s.dots_per_prototype;
    std::vector<std::uint64_t> picks;
    if (n_pos <= 0xffffffffULL && k <= n_pos) {
      for (auto v : rng.sample_without_replacement(static_cast<std::uint32_t>(n_pos),
                                                   static_cast<std::uint32_t>(k)))
        picks.push_back(v);
    } else {
      for (std::size_t i = 0; i < k; ++i) picks.push_back(rng.below(n_pos));
    }
    for (auto p : picks)
      protos[c].push_back(Dot{lo + static_cast<long>(p % static_cast<std::uint64_t>(n_cols)),
                              y_lo + static_cast<long>(p / static_cast<std::uint64_t>(n_cols))});
  }
  return protos;
}

void render(const DotPatternSpec& s, const std::vector<Dot>& dots, double* out) {
  const auto W = static_cast<long>(s.width), H = static_cast<long>(s.height);
  std::fill(out, out + s.width * s.height, 0.0);
  auto put = [&](long x, long y, double v) {
    if (x < 0 || x >= W || y < 0 || y >= H) return;
    double& p = out[static_cast<std::size_t>(y * W + x)];
    p = std::max(p, v);
  };
  for (const Dot& d : dots) {
    put(d.x, d.y, s.dot_value);
    if (s.neighbour_value != 0.0) {
      put(d.x - 1, d.y, s.neighbour_value);
      put(d.x + 1, d.y, s.neighbour_value);
      put(d.x, d.y - 1, s.neighbour_value);
      put(d.x, d.y + 1, s.neighbour_value);
    }
  }
}

}  // namespace

void validate(const DotPatternSpec& s) {
  std::vector<Diagnostic> d;
  auto bad = [&](const char* key, const std::string& msg) {
    d.push_back(Diagnostic{"", 0, 0, key, msg});
  };
  constexpr std::size_t kMaxSide = 1u << 15;
  if (s.width < 1 || s.width > kMaxSide)
    bad("width", "must be between 1 and " + std::to_string(kMaxSide));
  if (s.height < 1 || s.height > kMaxSide)
    bad("height", "must be between 1 and " + std::to_string(kMaxSide));
  if (s.n_categories < 1 || s.n_categories > 1000000)
    bad("n_categories", "must be between 1 and 1000000");
  if (s.n_images < 1 || s.n_images > 100000000) bad("n_images", "must be between 1 and 1e8");
  if (s.width >= 1 && s.height >= 1 && s.n_images >= 1 &&
      static_cast<double>(s.width) * static_cast<double>(s.height) *
              static_cast<double>(s.n_images) >
          2.0e8)
    bad("n_images", "width x height x n_images must not exceed 2e8 pixel values");
  if (s.dots_per_prototype < 1 || s.dots_per_prototype > 100000)
    bad("dots_per_prototype", "must be between 1 and 100000");
  if (s.jitter > kMaxSide) bad("jitter", "must be at most " + std::to_string(kMaxSide));
  if (!(s.p_distort >= 0.0 && s.p_distort <= 1.0)) bad("p_distort", "must be in [0, 1]");
  if (!(s.p_dropout >= 0.0 && s.p_dropout <= 1.0)) bad("p_dropout", "must be in [0, 1]");
  if (!std::isfinite(s.dot_value)) bad("dot_value", "must be a finite number");
  if (!std::isfinite(s.neighbour_value)) bad("neighbour_value", "must be a finite number");
  if (s.separate_regions && s.width < s.n_categories)
    bad("separate_regions", "needs width >= n_categories (one band of columns per category)");
  if (!d.empty()) throw UserError(std::move(d));
}

ImageSet dot_pattern_prototypes(const DotPatternSpec& spec, Rng& rng) {
  validate(spec);
  const auto protos = draw_prototypes(spec, rng);
  ImageSet set;
  set.width = spec.width;
  set.height = spec.height;
  set.n_pixels = spec.width * spec.height;
  set.n_images = spec.n_categories;
  set.pixels.resize(set.n_pixels * set.n_images);
  for (std::size_t c = 0; c < spec.n_categories; ++c) {
    render(spec, protos[c], set.pixels.data() + c * set.n_pixels);
    set.category.push_back(static_cast<int>(c) + 1);
  }
  return set;
}

ImageSet generate_dot_patterns(const DotPatternSpec& spec, Rng& rng) {
  validate(spec);
  const auto protos = draw_prototypes(spec, rng);
  const DotGeometry g = geometry(spec);

  ImageSet set;
  set.width = spec.width;
  set.height = spec.height;
  set.n_pixels = spec.width * spec.height;
  set.n_images = spec.n_images;
  set.category.resize(spec.n_images);
  for (std::size_t i = 0; i < spec.n_images; ++i)
    set.category[i] = static_cast<int>(i % spec.n_categories) + 1;
  rng.shuffle(set.category);
  set.pixels.resize(set.n_pixels * set.n_images);

  const auto span = static_cast<std::uint64_t>(2 * spec.jitter + 1);
  const auto j = static_cast<long>(spec.jitter);
  std::vector<Dot> dots;
  for (std::size_t i = 0; i < spec.n_images; ++i) {
    dots.clear();
    for (Dot d : protos[static_cast<std::size_t>(set.category[i] - 1)]) {
      if (rng.bernoulli(spec.p_distort)) {
        d.x = std::clamp(d.x + static_cast<long>(rng.below(span)) - j, g.x_lo, g.x_hi);
        d.y = std::clamp(d.y + static_cast<long>(rng.below(span)) - j, g.y_lo, g.y_hi);
      }
      if (!rng.bernoulli(spec.p_dropout)) dots.push_back(d);
    }
    render(spec, dots, set.pixels.data() + i * set.n_pixels);
  }
  return set;
}

}  // namespace sbx
