#include "apps/sweep.hpp"

#include "apps/runner_util.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "apps/experiments.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "engine/interrupt.hpp"

extern char** environ;

namespace sbx::app {

namespace fs = std::filesystem;

namespace {

Diagnostic arg_error(const std::string& source, const std::string& message) {
  return Diagnostic{source, 0, 0, "", message};
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

// The values of --grid KEY=v1,v2,...: split at the commas outside TOML strings, arrays and
// inline tables, so that "a,b", [1, 2] and { dist = "normal", mean = 1.0, sd = 0.1 } are one
// value each (they were cut at every comma into fragments, which ran as strings). Throws a
// message for an unterminated string or unbalanced brackets.
std::vector<std::string> split_values(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;  // '"' or '\'' inside a string
  int depth = 0;   // [ ] and { } nesting
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += c;
        cur += s[++i];
        continue;
      }
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth < 0) throw std::invalid_argument(std::string("unbalanced '") + c + "'");
    } else if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (quote) throw std::invalid_argument(std::string("unterminated string (") + quote + ")");
  if (depth > 0) throw std::invalid_argument("unclosed '[' or '{'");
  out.push_back(trim(cur));
  return out;
}

std::string join_values(const std::vector<std::string>& values) {
  std::string s;
  for (const auto& v : values) s += (s.empty() ? "" : ",") + v;
  return s;
}

std::uint64_t parse_u64(const std::string& text, const std::string& source) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw UserError(
        arg_error(source, "'" + text + "' is not a seed (a non-negative integer expected)"));
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX))
    throw UserError(arg_error(source, "seed '" + text + "' is too large (at most 2^63-1)"));
  return v;
}

std::string format_figure(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

// One stderr line written with a single write(2), so lines of concurrent MPI ranks never mix.
class Line : public std::ostringstream {
 public:
  Line() = default;
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line() override {
    const std::string s = str();
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::write(2, s.data() + off, s.size() - off);
      if (n <= 0 && errno != EINTR) break;
      if (n > 0) off += static_cast<std::size_t>(n);
    }
  }
};

// ---- HDF5 reading (C API; errors silenced while we probe files that may be incomplete) -------

class SilenceHdf5Errors {
 public:
  SilenceHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~SilenceHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  SilenceHdf5Errors(const SilenceHdf5Errors&) = delete;
  SilenceHdf5Errors& operator=(const SilenceHdf5Errors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

std::string read_string_dataset(hid_t file, const char* path) {
  std::string out;
  if (H5Lexists(file, "/meta", H5P_DEFAULT) <= 0 || H5Lexists(file, path, H5P_DEFAULT) <= 0)
    return out;
  const hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
  if (d < 0) return out;
  const hid_t ftype = H5Dget_type(d);
  if (ftype >= 0 && H5Tget_class(ftype) == H5T_STRING) {
    const hid_t mtype = H5Tcopy(H5T_C_S1);
    if (H5Tis_variable_str(ftype) > 0) {
      H5Tset_size(mtype, H5T_VARIABLE);
      H5Tset_cset(mtype, H5Tget_cset(ftype));
      char* buf = nullptr;
      if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &buf) >= 0 && buf) {
        out = buf;
        H5free_memory(buf);
      }
    } else {
      const std::size_t n = H5Tget_size(ftype);
      H5Tset_size(mtype, n);
      std::string buf(n, '\0');
      if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) >= 0)
        out = buf.substr(0, buf.find('\0'));
    }
    H5Tclose(mtype);
  }
  if (ftype >= 0) H5Tclose(ftype);
  H5Dclose(d);
  return out;
}

struct TrialOutcome {
  std::uint8_t correct;
  std::int8_t action;
};

RunFigures read_trial_figures(hid_t file) {
  RunFigures fig;
  if (H5Lexists(file, "/trials", H5P_DEFAULT) <= 0) return fig;
  const hid_t d = H5Dopen2(file, "/trials", H5P_DEFAULT);
  if (d < 0) return fig;
  const hid_t ftype = H5Dget_type(d);
  const hid_t space = H5Dget_space(d);
  std::vector<TrialOutcome> rows;
  if (ftype >= 0 && space >= 0 && H5Tget_class(ftype) == H5T_COMPOUND &&
      H5Tget_member_index(ftype, "correct") >= 0 && H5Tget_member_index(ftype, "action") >= 0) {
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n > 0) {
      // A memory type with just the two members we need; HDF5 converts field by name.
      const hid_t mtype = H5Tcreate(H5T_COMPOUND, sizeof(TrialOutcome));
      H5Tinsert(mtype, "correct", offsetof(TrialOutcome, correct), H5T_NATIVE_UINT8);
      H5Tinsert(mtype, "action", offsetof(TrialOutcome, action), H5T_NATIVE_INT8);
      rows.resize(static_cast<std::size_t>(n));
      if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) < 0) rows.clear();
      H5Tclose(mtype);
    }
  }
  if (space >= 0) H5Sclose(space);
  if (ftype >= 0) H5Tclose(ftype);
  H5Dclose(d);
  // Actions are the chosen category (1-based); open-loop experiments write 0 (no policy) and -1
  // means no decision. Without any choice, accuracy means nothing.
  const bool any_action =
      std::any_of(rows.begin(), rows.end(), [](const TrialOutcome& r) { return r.action >= 1; });
  if (!any_action) return fig;
  const std::size_t n = rows.size();
  auto acc = [&](std::size_t from, std::size_t to) -> std::optional<double> {  // over [from, to)
    to = std::min(to, n);
    if (to <= from) return std::nullopt;
    double s = 0;
    for (std::size_t k = from; k < to; ++k) s += rows[k].correct ? 1.0 : 0.0;
    return s / static_cast<double>(to - from);
  };
  // Same trial ranges as the category_learning summary (apps/run_category.cpp).
  fig.acc_1_20 = acc(0, 20);
  if (n >= 400) fig.acc_100_400 = acc(99, 400);
  fig.acc_total = acc(0, n);
  return fig;
}

// ---- the runs ----------------------------------------------------------------------------------

struct SweepRun {
  std::size_t index = 0;  // point * n_seeds + seed index
  std::size_t point = 0;
  std::uint64_t seed = 0;
  std::vector<std::size_t> value_index;  // per axis
  std::string stem;
  std::vector<std::string> overrides;  // common --set, then the grid values (child's order)
  std::string expected_json;           // resolved configuration the run file must carry
};

enum class RowStatus { pending, complete, failed };

struct RunResult {
  RowStatus status = RowStatus::pending;
  RunFigures figures;
};

// (append, not `out += "," + field`: GCC 12 reports a false -Wrestrict for that temporary)
std::string index_csv(const std::vector<GridAxis>& axes, const std::vector<SweepRun>& runs,
                      const std::vector<RunResult>& results) {
  std::string out = "point,seed";
  for (const auto& a : axes) out.append(",").append(csv_field(a.key));
  out += ",file,status,acc_1_20,acc_100_400,acc_total\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = results[i];
    if (r.status == RowStatus::pending) continue;
    const SweepRun& run = runs[i];
    out += std::to_string(run.point) + "," + std::to_string(run.seed);
    for (std::size_t k = 0; k < axes.size(); ++k)
      out.append(",").append(csv_field(axes[k].values[run.value_index[k]]));
    out.append(",").append(csv_field(run.stem + ".h5"));
    out += r.status == RowStatus::complete ? ",complete" : ",failed";
    out += "," + format_figure(r.figures.acc_1_20) + "," + format_figure(r.figures.acc_100_400) +
           "," + format_figure(r.figures.acc_total) + "\n";
  }
  return out;
}

std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status)) {
    const int rc = WEXITSTATUS(wait_status);
    switch (rc) {
      case 1:
        return "exit 1, runtime error";
      case 2:
        return "exit 2, bad input";
      case 3:
        return "exit 3, numerical error";
      case 126:
        return "exit 126, could not set up the run's log";
      case 127:
        return "exit 127, could not start";
      default:
        return "exit " + std::to_string(rc);
    }
  }
  if (WIFSIGNALED(wait_status))
    return std::string("killed by signal ") + std::to_string(WTERMSIG(wait_status)) + " (" +
           strsignal(WTERMSIG(wait_status)) + ")";
  return "ended abnormally";
}

// Starts `spikeblox run ...` for one run with stdout+stderr to `log`; returns the pid. The child
// gets SIGKILL when the sweep process dies (PR_SET_PDEATHSIG): a killed sweep or MPI rank leaves
// no orphan run that would keep writing a file a re-run is about to redo.
pid_t spawn_run(const std::string& exe, const std::string& circuit, const SweepRun& run,
                const std::string& out_file, const std::string& log) {
  std::vector<std::string> args = {exe, "run", circuit, "--out", out_file, "--force", "--quiet"};
  for (const auto& o : run.overrides) {
    args.push_back("--set");
    args.push_back(o);
  }
  args.push_back("--seed");
  args.push_back(std::to_string(run.seed));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {  // child: async-signal-safe calls only
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
    // Its own process group: a Ctrl-C at the terminal reaches the sweep only, which passes it on
    // once (a run that got it twice would die at once instead of closing its file).
    if (setpgid(0, 0) != 0) _exit(126);
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
    execve(exe.c_str(), argv.data(), environ);
    _exit(127);
  }
  return pid;
}

}  // namespace

// ---- public helpers ----------------------------------------------------------------------------

std::vector<std::uint64_t> parse_seed_list(const std::string& text) {
  const std::string source = "--seeds " + text;
  std::vector<std::uint64_t> seeds;
  std::set<std::uint64_t> seen;
  auto add = [&](std::uint64_t s) {
    if (!seen.insert(s).second)
      throw UserError(arg_error(source, "seed " + std::to_string(s) + " is listed twice"));
    seeds.push_back(s);
  };
  for (const std::string& part : split(text, ',')) {
    const auto dots = part.find("..");
    if (dots == std::string::npos) {
      add(parse_u64(part, source));
      continue;
    }
    const std::uint64_t a = parse_u64(trim(part.substr(0, dots)), source);
    const std::uint64_t b = parse_u64(trim(part.substr(dots + 2)), source);
    if (b < a)
      throw UserError(
          arg_error(source, "range '" + part + "' is descending (expected A..B, A <= B)"));
    if (b - a >= 1000000)
      throw UserError(arg_error(source, "range '" + part + "' has more than 10^6 seeds"));
    for (std::uint64_t s = a; s <= b; ++s) add(s);
  }
  return seeds;
}

GridAxis parse_grid_axis(const std::string& text) {
  const std::string source = "--grid " + text;
  const auto eq = text.find('=');
  if (eq == std::string::npos)
    throw UserError(arg_error(source, "expected --grid dotted.key=v1,v2,... (no '=')"));
  GridAxis a;
  a.key = trim(text.substr(0, eq));
  if (a.key.empty()) throw UserError(arg_error(source, "empty key before '='"));
  try {
    a.values = split_values(text.substr(eq + 1));
  } catch (const std::invalid_argument& e) {
    throw UserError(arg_error(source, std::string(e.what()) + " in the list of values"));
  }
  std::set<std::string> seen;
  for (const auto& v : a.values) {
    if (v.empty())
      throw UserError(arg_error(source, "empty value in the list (expected v1,v2,...)"));
    if (!seen.insert(v).second)
      throw UserError(arg_error(source, "value '" + v + "' is listed twice"));
  }
  return a;
}

void label_axes(std::vector<GridAxis>& axes) {
  // Key segments ("a.b[2].K" -> a, b[2], K); the label is the shortest suffix unique among axes.
  std::vector<std::vector<std::string>> segs;
  for (const auto& a : axes) segs.push_back(split(a.key, '.'));
  for (std::size_t i = 0; i < axes.size(); ++i) {
    for (std::size_t take = 1; take <= segs[i].size(); ++take) {
      auto suffix = [&](std::size_t j) {
        std::string s;
        const std::size_t n = std::min(take, segs[j].size());
        for (std::size_t k = segs[j].size() - n; k < segs[j].size(); ++k)
          s += (s.empty() ? "" : ".") + segs[j][k];
        return s;
      };
      const std::string mine = suffix(i);
      bool unique = true;
      for (std::size_t j = 0; j < axes.size(); ++j)
        if (j != i && suffix(j) == mine) unique = false;
      axes[i].label = mine;
      if (unique) break;
    }
  }
}

std::string safe_file_part(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    const bool ok = std::isalnum(c) || c == '.' || c == '_' || c == '+' || c == '-';
    out += ok ? static_cast<char>(c) : '_';
  }
  return out;
}

std::string run_stem(const std::string& circuit_name, const std::vector<GridAxis>& axes,
                     const std::vector<std::size_t>& value_index, std::uint64_t seed) {
  std::string s = safe_file_part(circuit_name);
  for (std::size_t k = 0; k < axes.size(); ++k) {
    std::string v = axes[k].values[value_index[k]];
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    s += "_" + safe_file_part(axes[k].label + v);
  }
  return s + "_s" + std::to_string(seed);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

RunFileState read_run_file_state(const std::string& path) {
  RunFileState st;
  std::error_code ec;
  if (!fs::exists(path, ec)) return st;
  st.exists = true;
  SilenceHdf5Errors quiet;
  // A file killed while writing in SWMR mode fails to open here: that is "not complete".
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return st;
  if (H5Lexists(f, "/meta", H5P_DEFAULT) > 0 &&
      H5Aexists_by_name(f, "/meta", "completed", H5P_DEFAULT) > 0) {
    const hid_t a = H5Aopen_by_name(f, "/meta", "completed", H5P_DEFAULT, H5P_DEFAULT);
    std::uint8_t v = 0;
    if (a >= 0 && H5Aread(a, H5T_NATIVE_UINT8, &v) >= 0) st.complete = v == 1;
    if (a >= 0) H5Aclose(a);
  }
  if (st.complete) {
    st.resolved_config_json = read_string_dataset(f, "/meta/resolved_config_json");
    st.figures = read_trial_figures(f);
  }
  H5Fclose(f);
  return st;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o << text;
    o.flush();
    if (!o) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
}

// ---- the sweep ---------------------------------------------------------------------------------

int run_sweep(const SweepOptions& opt, const mpi::World& world) {
  const bool lead = world.rank == 0;
  const std::string who =
      world.size > 1 ? "sweep rank " + std::to_string(world.rank) + ": " : "sweep: ";

  // 1. Arguments and the circuit, validated for every grid point before anything runs.
  std::vector<Diagnostic> problems;
  std::vector<std::uint64_t> seeds;
  std::vector<GridAxis> axes;
  try {
    if (!opt.seeds.empty()) seeds = parse_seed_list(opt.seeds);
  } catch (const UserError& e) {
    problems.insert(problems.end(), e.diagnostics.begin(), e.diagnostics.end());
  }
  std::set<std::string> keys;
  for (const auto& g : opt.grids) {
    try {
      GridAxis a = parse_grid_axis(g);
      if (!keys.insert(a.key).second)
        throw UserError(arg_error("--grid " + g, "key '" + a.key + "' is swept twice"));
      axes.push_back(std::move(a));
    } catch (const UserError& e) {
      problems.insert(problems.end(), e.diagnostics.begin(), e.diagnostics.end());
    }
  }
  if (opt.jobs < 0) problems.push_back(arg_error("--jobs", "must be >= 1 (0 = number of cores)"));
  // Keys whose swept or set value every run would ignore: the seed comes from --seeds (--seed S
  // after the overrides), the file name from the sweep, and a --grid key's value replaces the
  // --set one (appended after it).
  for (const auto& a : axes) {
    const std::string src = "--grid " + a.key + "=" + join_values(a.values);
    if (a.key == "meta.seed")
      problems.push_back(arg_error(src, "the seed is swept with --seeds (e.g. --seeds " +
                                            join_values(a.values) +
                                            "); each run's --seed replaced these values"));
    else if (a.key == "output.file")
      problems.push_back(arg_error(src,
                                   "the sweep names each run's file (DIR/<meta.name>_<grid "
                                   "values>_s<seed>.h5); output.file has no effect"));
  }
  for (const auto& s : opt.sets) {
    const std::string key = trim(s.substr(0, s.find('=')));
    if (keys.count(key))
      problems.push_back(
          arg_error("--set " + s, "'" + key +
                                      "' is also swept by --grid, whose values "
                                      "replace this one in every run; leave one out"));
    else if (key == "meta.seed" && !opt.seeds.empty())
      problems.push_back(
          arg_error("--set " + s, "the runs' seeds come from --seeds; leave one out"));
    else if (key == "output.file")
      problems.push_back(arg_error("--set " + s,
                                   "the sweep names each run's file (DIR/<meta.name>_"
                                   "<grid values>_s<seed>.h5); output.file has no "
                                   "effect"));
  }
  label_axes(axes);

  // Every run is set up (validated, its file name and configuration made) before any starts, and
  // the index is rewritten after each: a sweep of 10^6 runs sat silent for many minutes, and the
  // count of grid points overflowed (16 axes of 16 values: 2^64 = "0 runs", nothing checked).
  constexpr std::size_t kMaxRuns = 100000;
  std::size_t n_points = 1;
  bool too_many = false;
  for (const auto& a : axes) {
    if (n_points > kMaxRuns / a.values.size()) too_many = true;
    n_points = too_many ? kMaxRuns + 1 : n_points * a.values.size();
  }
  if (problems.empty() &&
      (too_many || n_points * std::max<std::size_t>(1, seeds.size()) > kMaxRuns)) {
    std::string what =
        too_many ? "more than " + std::to_string(kMaxRuns) + " grid points"
                 : std::to_string(n_points) + " grid points x " +
                       std::to_string(std::max<std::size_t>(1, seeds.size())) + " seeds = " +
                       std::to_string(n_points * std::max<std::size_t>(1, seeds.size())) + " runs";
    problems.push_back(arg_error(axes.empty() ? "--seeds " + opt.seeds : "--grid",
                                 "the sweep has " + what + "; at most " + std::to_string(kMaxRuns) +
                                     " runs in one sweep (split it over several --out folders)"));
  }
  auto value_index_of = [&](std::size_t point) {
    std::vector<std::size_t> idx(axes.size());
    for (std::size_t k = axes.size(); k-- > 0;) {  // first axis varies slowest
      idx[k] = point % axes[k].values.size();
      point /= axes[k].values.size();
    }
    return idx;
  };
  auto grid_overrides = [&](const std::vector<std::size_t>& idx) {
    std::vector<std::string> ov = opt.sets;
    for (std::size_t k = 0; k < axes.size(); ++k)
      ov.push_back(axes[k].key + "=" + axes[k].values[idx[k]]);
    return ov;
  };

  std::string circuit_name;
  if (problems.empty()) {
    std::set<std::string> seen;  // one message per distinct problem, not one per grid point
    for (std::size_t p = 0; p < n_points; ++p) {
      const auto idx = value_index_of(p);
      std::vector<std::string> ov = grid_overrides(idx);
      if (!seeds.empty()) ov.push_back("meta.seed=" + std::to_string(seeds.front()));
      try {
        const circuits::CircuitDescription desc = circuits::load_circuit_file(opt.circuit_file, ov);
        check_experiment(desc);
        if (circuit_name.empty()) circuit_name = desc.meta.name;
        if (seeds.empty()) seeds.push_back(desc.meta.seed);
      } catch (const UserError& e) {
        for (Diagnostic d : e.diagnostics) {
          // Point the message at the --grid argument the bad value came from; a problem found
          // elsewhere (in the file, at build) names the grid point it appeared at.
          bool at_grid = false;
          for (std::size_t k = 0; k < axes.size(); ++k)
            if (d.file == "--set " + axes[k].key + "=" + axes[k].values[idx[k]]) {
              d.file = "--grid " + axes[k].key + "=" + join_values(axes[k].values);
              at_grid = true;
            }
          if (!at_grid && !axes.empty()) {
            std::string point;
            for (std::size_t k = 0; k < axes.size(); ++k)
              point += (k ? ", " : "") + axes[k].key + "=" + axes[k].values[idx[k]];
            d.message += " (grid point " + point + ")";
          }
          if (seen.insert(d.format()).second) problems.push_back(d);
        }
      }
    }
  }

  // 2. The runs and their file names.
  std::vector<SweepRun> runs;
  if (problems.empty()) {
    std::map<std::string, std::size_t> stems;
    for (std::size_t p = 0; p < n_points; ++p) {
      const auto idx = value_index_of(p);
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        SweepRun r;
        r.index = runs.size();
        r.point = p;
        r.seed = seeds[s];
        r.value_index = idx;
        r.stem = run_stem(circuit_name, axes, idx, seeds[s]);
        r.overrides = grid_overrides(idx);
        if (!stems.emplace(r.stem, p).second) {
          problems.push_back(arg_error(
              "--grid", "two grid points map to the same run file name '" + r.stem +
                            ".h5' (values that differ only in characters not allowed in file "
                            "names); choose distinguishable values"));
          break;
        }
        runs.push_back(std::move(r));
      }
      if (!problems.empty()) break;
    }
  }
  if (!problems.empty()) {
    if (lead) {
      for (const auto& d : problems) Line() << d.format() << "\n";
      Line() << problems.size() << (problems.size() == 1 ? " error" : " errors")
             << "; nothing was run.\n";
    }
    return 2;
  }

  const fs::path dir = opt.out_dir.empty() ? fs::path("sweeps") / safe_file_part(circuit_name)
                                           : fs::path(opt.out_dir);
  std::error_code ec;
  fs::create_directories(dir / "logs", ec);
  if (ec) {
    if (lead)
      Line() << "spikeblox: error: cannot create '" << (dir / "logs").string()
             << "': " << ec.message() << "\n";
    return 2;
  }
  // The folder may exist already (a re-run) but belong to someone else: creating a file there is
  // the test (access() says yes to root); the index was written only after the runs were counted,
  // failing with exit 1 and a temporary file's name.
  for (const fs::path& d : {dir, dir / "logs"}) {
    const std::string probe = (d / (".sbx_write_test_" + std::to_string(getpid()))).string();
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      const int err = errno;
      if (lead)
        Line() << "spikeblox: error: cannot write into '" << d.string()
               << "': " << std::strerror(err) << "\n";
      return 2;
    }
    ::close(fd);
    ::unlink(probe.c_str());
  }
  auto file_of = [&](const SweepRun& r) { return (dir / (r.stem + ".h5")).string(); };
  auto log_of = [&](const SweepRun& r) { return (dir / "logs" / (r.stem + ".log")).string(); };
  // Expected configuration of each run, exactly as the child will resolve it (overrides, then the
  // seed, as `spikeblox run --set ... --seed S` does).
  auto expected_json = [&](const SweepRun& r) {
    std::vector<std::string> ov = r.overrides;
    ov.push_back("meta.seed=" + std::to_string(r.seed));
    return circuits::resolved_config_json(opt.circuit_file, ov);
  };

  // 3. This rank's share: run index modulo the number of ranks.
  std::vector<RunResult> results(runs.size());
  std::vector<std::size_t> todo;
  std::size_t mine = 0, skipped = 0;
  for (auto& r : runs) {
    if (static_cast<int>(r.index % static_cast<std::size_t>(world.size)) != world.rank) continue;
    ++mine;
    r.expected_json = expected_json(r);
    const RunFileState st = read_run_file_state(file_of(r));
    if (st.complete && st.resolved_config_json == r.expected_json) {
      results[r.index] = {RowStatus::complete, st.figures};
      ++skipped;
    } else {
      todo.push_back(r.index);
    }
  }
  int jobs = opt.jobs;
  if (jobs == 0) {
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    jobs = std::max(1, cores / std::max(1, world.local_size));
  }
  const fs::path my_index = world.size > 1
                                ? dir / ("index.rank" + std::to_string(world.rank) + ".csv")
                                : dir / "index.csv";
  if (lead)
    Line() << "sweep: " << runs.size() << " runs (" << n_points << " grid points x " << seeds.size()
           << " seeds) -> " << dir.string() << "/"
           << (world.size > 1 ? " on " + std::to_string(world.size) + " MPI ranks" : "") << "\n";
  Line() << who << mine << " runs, " << skipped << " already complete, " << todo.size()
         << " to run, " << jobs << (jobs == 1 ? " job" : " jobs") << " at a time\n";
  write_file_atomic(my_index.string(), index_csv(axes, runs, results));

  // 4. Run them, `jobs` children at a time; the index is rewritten after every finished run.
  // SIGINT / SIGTERM: no new runs; the running ones get the signal (they stop at their next safe
  // point with their file kept, marked not complete), the sweep waits for them and says so.
  install_interrupt_handlers(/*restart_system_calls=*/false);
  int stop_signal = 0;
  std::size_t stopped = 0;
  std::size_t failed = 0, done = 0;
  std::map<pid_t, std::pair<std::size_t, std::chrono::steady_clock::time_point>> running;
  std::size_t next = 0;
  while (next < todo.size() || !running.empty()) {
    if (stop_signal == 0 && interrupt_signal() != 0) {
      stop_signal = interrupt_signal();
      for (const auto& [child, info] : running) kill(child, stop_signal);
      Line() << who << "interrupted by " << strsignal(stop_signal) << ": no new runs; waiting for "
             << running.size() << " running " << (running.size() == 1 ? "run" : "runs")
             << " to stop and close " << (running.size() == 1 ? "its file" : "their files") << "\n";
      next = todo.size();
    }
    while (next < todo.size() && running.size() < static_cast<std::size_t>(jobs)) {
      const SweepRun& r = runs[todo[next++]];
      try {
        const pid_t pid = spawn_run(opt.exe, opt.circuit_file, r, file_of(r), log_of(r));
        running[pid] = {r.index, std::chrono::steady_clock::now()};
      } catch (const std::exception& e) {
        results[r.index].status = RowStatus::failed;
        ++failed;
        ++done;
        Line() << who << r.stem << ": failed (" << e.what() << ")\n";
      }
    }
    if (running.empty()) continue;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of our runs
    const SweepRun& r = runs[it->second.first];
    const double secs = seconds_since(it->second.second);
    running.erase(it);
    ++done;
    const RunFileState st = read_run_file_state(file_of(r));
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && st.complete;
    results[r.index] = {ok ? RowStatus::complete : RowStatus::failed, st.figures};
    if (!ok) ++failed;
    const bool was_stopped =
        !ok && stop_signal != 0 && WIFEXITED(status) && WEXITSTATUS(status) == 128 + stop_signal;
    stopped += was_stopped;
    if (!opt.quiet || !ok) {
      char line[160];
      if (was_stopped)
        std::snprintf(line, sizeof line, "stopped (file kept, not complete; log %s)",
                      log_of(r).c_str());
      else if (ok && st.figures.acc_total)
        std::snprintf(line, sizeof line, "complete, accuracy %.3f (%.1f s)", *st.figures.acc_total,
                      secs);
      else if (ok)
        std::snprintf(line, sizeof line, "complete (%.1f s)", secs);
      else
        std::snprintf(line, sizeof line, "FAILED (%s%s; log %s)", describe_exit(status).c_str(),
                      WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ", file not complete" : "",
                      log_of(r).c_str());
      Line() << who << "[" << done << "/" << todo.size() << "] " << r.stem << ": " << line << "\n";
    }
    write_file_atomic(my_index.string(), index_csv(axes, runs, results));
  }

  // 5. Under MPI: rank 0 writes the whole index from the run files (the ground truth: a rank that
  // died leaves complete files for what it finished), then the partial indices go.
  int exit_status = failed > 0 ? 1 : 0;
  if (world.size > 1) {
    mpi::barrier(world);
    const long long total_failed = mpi::sum_all(world, static_cast<long long>(failed));
    if (lead) {
      std::vector<RunResult> all(runs.size());
      std::size_t n_failed = 0;
      for (auto& r : runs) {
        if (r.expected_json.empty()) r.expected_json = expected_json(r);
        const RunFileState st = read_run_file_state(file_of(r));
        const bool ok = st.complete && st.resolved_config_json == r.expected_json;
        all[r.index] = {ok ? RowStatus::complete : RowStatus::failed, st.figures};
        if (!ok) ++n_failed;
      }
      write_file_atomic((dir / "index.csv").string(), index_csv(axes, runs, all));
      for (int k = 0; k < world.size; ++k)
        fs::remove(dir / ("index.rank" + std::to_string(k) + ".csv"), ec);
      Line() << "sweep: " << runs.size() - n_failed << " of " << runs.size() << " runs complete, "
             << n_failed << " failed -> " << (dir / "index.csv").string() << "\n";
      if (static_cast<long long>(n_failed) != total_failed)
        Line() << "sweep: note: ranks reported " << total_failed << " failed runs, the files say "
               << n_failed << "\n";
      exit_status = n_failed > 0 ? 1 : 0;
    }
    exit_status = mpi::max_all(world, exit_status);
  } else {
    const auto n_complete = std::count_if(results.begin(), results.end(), [](const RunResult& r) {
      return r.status == RowStatus::complete;
    });
    Line() << "sweep: " << n_complete << " of " << runs.size() << " runs complete, " << failed
           << " failed -> " << my_index.string() << "\n";
  }
  if (stop_signal != 0) {
    Line() << who << "interrupted by " << strsignal(stop_signal) << ": " << stopped
           << (stopped == 1 ? " run" : " runs") << " stopped, " << todo.size() - done
           << " not started; the same command again finishes the sweep (complete runs are "
              "skipped)\n";
    exit_status = std::max(exit_status, 128 + stop_signal);
  }
  return exit_status;
}

}  // namespace sbx::app
