#include "apps/plot.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace sbx::app {
namespace fs = std::filesystem;

namespace {

bool holds_package(const fs::path& dir) {
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(dir / "analysis" / "__main__.py", ec);
}

fs::path binary_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

std::string find_analysis_root() {
  if (const char* env = std::getenv("SPIKEBLOX_ANALYSIS_DIR"); env && *env) {
    if (holds_package(env)) return env;
  }
  fs::path dir = binary_dir();
  if (!dir.empty()) {
    fs::path d = dir;
    for (int up = 0; up <= 3 && !d.empty(); ++up, d = d.parent_path()) {
      if (holds_package(d)) return d.string();
      if (d == d.root_path()) break;
    }
    if (holds_package(dir / ".." / "share" / "spikeblox"))
      return (dir / ".." / "share" / "spikeblox").lexically_normal().string();
  }
#ifdef SBX_ANALYSIS_ROOT
  if (holds_package(SBX_ANALYSIS_ROOT)) return SBX_ANALYSIS_ROOT;
#endif
  return {};
}

int exec_plot(const std::vector<std::string>& args) {
  const char* env_python = std::getenv("SPIKEBLOX_PYTHON");
  const std::string python = env_python && *env_python ? env_python : "/usr/bin/python3";
  if (::access(python.c_str(), X_OK) != 0) {
    std::cerr << "spikeblox plot: no Python interpreter at " << python << " ("
              << std::strerror(errno)
              << "). Install Debian's python3 python3-h5py python3-numpy python3-pandas "
                 "python3-matplotlib (scripts/install-deps.sh), or set SPIKEBLOX_PYTHON.\n";
    return 1;
  }
  const std::string root = find_analysis_root();
  if (root.empty()) {
    std::cerr << "spikeblox plot: cannot find the analysis package (analysis/__main__.py) next to "
                 "the spikeblox binary or in its source tree; set SPIKEBLOX_ANALYSIS_DIR to the "
                 "directory that contains analysis/.\n";
    return 1;
  }
  // The package directory goes first on PYTHONPATH so an unrelated "analysis" module elsewhere
  // cannot shadow it.
  std::string pythonpath = root;
  if (const char* old = std::getenv("PYTHONPATH"); old && *old) pythonpath.append(":").append(old);
  ::setenv("PYTHONPATH", pythonpath.c_str(), 1);
  ::setenv("SPIKEBLOX_PLOT", "1", 1);  // the Python side names itself "spikeblox plot"

  std::vector<std::string> argv_s = {python, "-m", "analysis", "plot"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::execv(python.c_str(), argv.data());
  std::cerr << "spikeblox plot: cannot run " << python << ": " << std::strerror(errno) << "\n";
  return 1;
}

}  // namespace sbx::app
