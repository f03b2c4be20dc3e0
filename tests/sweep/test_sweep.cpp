// Unit tests of the sweep helpers (apps/sweep.hpp): argument parsing, file names, CSV fields and
// reading the completion state of run files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "apps/sweep.hpp"
#include "engine/errors.hpp"
#include "engine/io/run_file.hpp"

using namespace sbx;
using namespace sbx::app;

namespace {
std::string first_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.diagnostics.front().format();
  }
  return "";
}
std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "sbx_test_sweep";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("sweep: seed lists: ranges, lists and both, in the given order") {
  CHECK(parse_seed_list("1..4") == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(parse_seed_list("7") == std::vector<std::uint64_t>{7});
  CHECK(parse_seed_list("5, 2,9") == std::vector<std::uint64_t>{5, 2, 9});
  CHECK(parse_seed_list("1..3,10,0..0") == std::vector<std::uint64_t>{1, 2, 3, 10, 0});
}

TEST_CASE("sweep: seed lists: malformed input is a UserError naming --seeds") {
  CHECK(first_message([] { parse_seed_list("3..1"); }).find("--seeds 3..1") == 0);
  CHECK(first_message([] { parse_seed_list("3..1"); }).find("descending") != std::string::npos);
  CHECK(first_message([] { parse_seed_list("1,x"); }).find("'x' is not a seed") !=
        std::string::npos);
  CHECK(first_message([] { parse_seed_list("-1"); }).find("not a seed") != std::string::npos);
  CHECK(first_message([] { parse_seed_list("1..3,2"); }).find("seed 2 is listed twice") !=
        std::string::npos);
  CHECK(first_message([] { parse_seed_list("1,,2"); }).find("'' is not a seed") !=
        std::string::npos);
  CHECK(first_message([] { parse_seed_list("99999999999999999999"); }).find("too large") !=
        std::string::npos);
}

TEST_CASE("sweep: grid axes: key and values, errors for missing '=', empty or repeated values") {
  const GridAxis a = parse_grid_axis("rules.hebb_da.K=0.04, 0.06,0.08");
  CHECK(a.key == "rules.hebb_da.K");
  CHECK(a.values == std::vector<std::string>{"0.04", "0.06", "0.08"});
  CHECK(first_message([] { parse_grid_axis("rules.K"); }).find("no '='") != std::string::npos);
  CHECK(first_message([] { parse_grid_axis("=1,2"); }).find("empty key") != std::string::npos);
  CHECK(first_message([] { parse_grid_axis("a.K=1,,2"); }).find("empty value") !=
        std::string::npos);
  CHECK(first_message([] { parse_grid_axis("a.K=1,2,1"); }).find("'1' is listed twice") !=
        std::string::npos);
}

TEST_CASE("sweep: axis labels: last key segment, longer suffixes only where two axes share it") {
  std::vector<GridAxis> axes = {parse_grid_axis("rules.hebb_da.K=1"),
                                parse_grid_axis("rules.hebb_ctx.K=1"),
                                parse_grid_axis("experiment.n_trials=3")};
  label_axes(axes);
  CHECK(axes[0].label == "hebb_da.K");
  CHECK(axes[1].label == "hebb_ctx.K");
  CHECK(axes[2].label == "n_trials");
}

TEST_CASE("sweep: run file stems are built from the point and safe as file names") {
  std::vector<GridAxis> axes = {parse_grid_axis("rules.hebb_da.K=0.06"),
                                parse_grid_axis("blocks.stim.file=\"/data/a b.csv\"")};
  label_axes(axes);
  CHECK(run_stem("category_learning", axes, {0, 0}, 3) ==
        "category_learning_K0.06_file_data_a_b.csv_s3");
  CHECK(run_stem("my circuit", {}, {}, 12) == "my_circuit_s12");
  CHECK(safe_file_part("a/b\\c:d*e?f") == "a_b_c_d_e_f");
  CHECK(safe_file_part("x-1.5e+3_y") == "x-1.5e+3_y");
}

TEST_CASE("sweep: CSV fields are quoted only when they must be") {
  CHECK(csv_field("0.06") == "0.06");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
}

TEST_CASE("sweep: run file state: missing, not HDF5, unfinished and finished files") {
  CHECK_FALSE(read_run_file_state(temp_path("does_not_exist.h5")).exists);

  const std::string junk = temp_path("junk.h5");
  std::ofstream(junk) << "not an HDF5 file";
  const RunFileState j = read_run_file_state(junk);
  CHECK(j.exists);
  CHECK_FALSE(j.complete);

  const std::string path = temp_path("state.h5");
  {
    RunFileOptions fo;
    fo.force = true;
    RunFile f(path, TimeGrid(0.1), fo);
    RunMeta meta;
    meta.resolved_config_json = "{\"a\":1}";
    f.write_meta(meta);
    f.enable_trials();
    f.start();
    for (std::uint32_t k = 0; k < 25; ++k) {
      TrialRow r;
      r.trial = k;
      r.category = 1;
      r.action = k < 10 ? 1 : 2;  // trials 1-10 correct, 11-25 wrong
      r.correct = r.action == r.category;
      f.append_trial(r);
    }
    f.flush();
    // Destroyed without finish(): a file that is not complete.
  }
  CHECK_FALSE(read_run_file_state(path).complete);
  {
    RunFileOptions fo;
    fo.force = true;
    RunFile f(path, TimeGrid(0.1), fo);
    RunMeta meta;
    meta.resolved_config_json = "{\"a\":1}";
    f.write_meta(meta);
    f.enable_trials();
    f.start();
    for (std::uint32_t k = 0; k < 25; ++k) {
      TrialRow r;
      r.trial = k;
      r.category = 1;
      r.action = k < 10 ? 1 : 2;
      r.correct = r.action == r.category;
      f.append_trial(r);
    }
    f.finish({}, 1.0);
  }
  const RunFileState s = read_run_file_state(path);
  CHECK(s.complete);
  CHECK(s.resolved_config_json == "{\"a\":1}");
  REQUIRE(s.figures.acc_1_20.has_value());
  CHECK(*s.figures.acc_1_20 == doctest::Approx(10.0 / 20.0));
  CHECK(*s.figures.acc_total == doctest::Approx(10.0 / 25.0));
  CHECK_FALSE(s.figures.acc_100_400.has_value());  // fewer than 400 trials
}

TEST_CASE("sweep: write_file_atomic replaces the file and leaves no temporary behind") {
  const std::string p = temp_path("atomic.csv");
  write_file_atomic(p, "a\n");
  write_file_atomic(p, "b,c\n");
  std::ifstream in(p);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "b,c\n");
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(p).parent_path()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}
