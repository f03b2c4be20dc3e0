#include "apps/plot.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

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

// The stop signals passed on to the Python child.
constexpr std::array<int, 3> kStopSignals = {SIGINT, SIGTERM, SIGHUP};
volatile sig_atomic_t g_child = 0;       // the child's pid while it runs
volatile sig_atomic_t g_stops = 0;       // stop signals received
volatile sig_atomic_t g_first_stop = 0;  // the first of them

extern "C" void pass_on(int sig, siginfo_t* info, void*) {
  const int stops = g_stops + 1;  // (the stop signals are blocked while this runs)
  g_stops = stops;
  if (stops == 1) g_first_stop = sig;
  const pid_t child = g_child;
  if (child <= 0) return;
  // A second one: Python did not stop (stuck inside HDF5, where it cannot handle a signal).
  if (stops >= 2) {
    ::kill(child, SIGKILL);
    return;
  }
  // A terminal's Ctrl-C or hang-up (sent by the kernel) reaches the whole foreground process
  // group, the child included: passing it on would deliver it twice.
  if (info == nullptr || info->si_code != SI_KERNEL) ::kill(child, sig);
}

// "SIGSEGV" etc. (glibc's abbreviation), or "signal N" for one without a name.
std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// Signals a process dies of when it crashes (rather than being stopped or killed from outside).
bool is_crash(int sig) {
  return sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
         sig == SIGTRAP || sig == SIGSYS;
}

// The one line for a Python child that crashed (HDF5 on a damaged file, as a rule).
std::string crash_message(int sig, const std::vector<std::string>& files) {
  std::vector<std::string> runs;
  for (const auto& f : files)
    if (!(f.size() >= 4 && f.compare(f.size() - 4, 4, ".csv") == 0)) runs.push_back(f);
  std::string m = "spikeblox plot: ";
  if (runs.empty())
    return m + "the Python process crashed (" + signal_name(sig) + ") while plotting";
  m += "the HDF5 reader crashed (" + signal_name(sig) + ") while reading ";
  if (runs.size() == 1)
    return m + runs[0] + "; a damaged file? Check it with: h5dump -H " + runs[0];
  m += "one of ";
  for (std::size_t i = 0; i < runs.size(); ++i) m += (i ? ", " : "") + runs[i];
  return m + "; a damaged file? Check each with: h5dump -H FILE";
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

int run_plot(const std::vector<std::string>& args, const std::vector<std::string>& files) {
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

  // The Python side writes the path of the temporary folder it draws into to this pipe
  // (SPIKEBLOX_PLOT_STAGING_FD, analysis/__main__.py): a child that crashed or was killed cannot
  // remove it, so this process does.
  int staging[2] = {-1, -1};
  ::unsetenv("SPIKEBLOX_PLOT_STAGING_FD");
  if (::pipe2(staging, O_CLOEXEC | O_NONBLOCK) == 0) {
    // The child's copy of the write end, without O_CLOEXEC (Python inherits it); blocking.
    const int fd = ::fcntl(staging[1], F_DUPFD, 3);
    ::close(staging[1]);
    staging[1] = fd;
    if (fd >= 0 && ::fcntl(fd, F_SETFL, 0) == 0)
      ::setenv("SPIKEBLOX_PLOT_STAGING_FD", std::to_string(fd).c_str(), 1);
  }

  // The stop signals are blocked until the child's pid is known (none is lost in between) and
  // passed on from then on; signals ignored when spikeblox started (nohup) stay ignored, in the
  // child too.
  sigset_t stop_set, old_mask;
  sigemptyset(&stop_set);
  for (int sig : kStopSignals) sigaddset(&stop_set, sig);
  sigprocmask(SIG_BLOCK, &stop_set, &old_mask);
  std::array<struct sigaction, kStopSignals.size()> old_action{};
  for (std::size_t i = 0; i < kStopSignals.size(); ++i) {
    sigaction(kStopSignals[i], nullptr, &old_action[i]);
    if (old_action[i].sa_handler == SIG_IGN) continue;
    struct sigaction sa {};
    sa.sa_sigaction = pass_on;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sa.sa_mask = stop_set;
    sigaction(kStopSignals[i], &sa, nullptr);
  }
  auto restore = [&] {
    for (std::size_t i = 0; i < kStopSignals.size(); ++i)
      sigaction(kStopSignals[i], &old_action[i], nullptr);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  };

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    restore();
    std::cerr << "spikeblox plot: cannot start " << python << ": fork: " << std::strerror(e)
              << "\n";
    return 1;
  }
  if (pid == 0) {  // the child: the signal handling spikeblox started with, then Python
    restore();
    // If spikeblox is killed outright, Python still gets to remove its temporary folder.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(1);
    ::execv(python.c_str(), argv.data());
    std::cerr << "spikeblox plot: cannot run " << python << ": " << std::strerror(errno) << "\n";
    ::_exit(1);
  }
  g_child = pid;
  if (staging[1] >= 0) ::close(staging[1]);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);  // a stop signal pending since the fork: passed on
  int status = 0;
  pid_t got;
  while ((got = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  const int wait_errno = errno;
  g_child = 0;
  restore();
  std::string staged;  // what the child wrote to the pipe: one folder path a line
  if (staging[0] >= 0) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(staging[0], buf, sizeof buf)) > 0) staged.append(buf, n);
    ::close(staging[0]);
  }
  if (got < 0) {
    std::cerr << "spikeblox plot: waiting for " << python << ": " << std::strerror(wait_errno)
              << "\n";
    return 1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);

  // Killed by a signal: its temporary folder goes, as it would have (the names are checked: only
  // a folder Python made with tempfile.mkdtemp for this plot).
  for (std::size_t at = 0, end; at < staged.size(); at = end + 1) {
    end = staged.find('\n', at);
    if (end == std::string::npos) break;  // an unfinished line: not to be trusted
    const fs::path dir = staged.substr(at, end - at);
    std::error_code ec;
    if (dir.is_absolute() && dir.filename().string().find(".partial-") != std::string::npos &&
        fs::is_directory(fs::symlink_status(dir, ec)))
      fs::remove_all(dir, ec);
  }
  const int sig = WTERMSIG(status);
  if (sig == SIGKILL && g_stops >= 2) {
    std::cerr << "spikeblox plot: interrupted (" << signal_name(g_first_stop)
              << " twice): the Python process was killed\n";
    return 128 + g_first_stop;
  }
  if (is_crash(sig)) {
    std::cerr << crash_message(sig, files) << "\n";
    return 2;
  }
  // Stopped before Python's own handler was in place (it exits 128 + the signal itself), or
  // killed from outside.
  std::cerr << "spikeblox plot: "
            << (sig == SIGINT || sig == SIGTERM || sig == SIGHUP
                    ? "interrupted ("
                    : "the Python process was killed (")
            << signal_name(sig) << ")\n";
  return 128 + sig;
}

}  // namespace sbx::app
