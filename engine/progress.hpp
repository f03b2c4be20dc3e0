// A one-line progress report on stderr for long runs.
//
// Silent for the first `delay_s` seconds of wall time (short runs print nothing), then redraws a
// single line at most every `interval_s` seconds: percentage, done/total, rate and ETA, plus a
// caller-supplied detail (e.g. running accuracy). On a terminal the line is redrawn in place
// with '\r'; otherwise (CI logs, files) a new line is written at most every 10 % of progress.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

namespace sbx {

class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;

  // `unit` names what is counted ("ms", "trials"); `out` is where to write (stderr by default).
  ProgressLine(double total, std::string unit, std::FILE* out = stderr, double delay_s = 2.0,
               double interval_s = 0.25);
  ~ProgressLine();

  // Reports that `done` of `total` units are finished; `detail` is appended to the line.
  void update(double done, const std::string& detail = "");
  // Ends the line (prints a final state if anything was printed before).
  void finish(const std::string& detail = "");
  // Pure formatting, exposed for tests.
  static std::string format(double done, double total, const std::string& unit, double elapsed_s,
                            const std::string& detail);
  bool printed() const { return printed_; }
  // For tests: a fake clock (seconds since start) and a forced terminal mode.
  void set_clock(std::function<double()> now_s) { now_s_ = std::move(now_s); }
  void set_terminal(bool tty) { tty_ = tty; }

 private:
  double elapsed() const;
  void draw(double done, const std::string& detail, bool final);

  double total_;
  std::string unit_;
  std::FILE* out_;
  double delay_s_, interval_s_;
  Clock::time_point start_;
  std::function<double()> now_s_;
  bool tty_ = false;
  bool printed_ = false;
  bool finished_ = false;
  double last_draw_ = -1e9;
  double last_decile_ = -1;
  double last_done_ = 0;
  double drawn_done_ = -1;    // `done` of the last line drawn
  std::string drawn_detail_;  // and its detail (a log would repeat the same final line)
};

}  // namespace sbx
