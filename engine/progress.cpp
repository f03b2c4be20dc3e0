#include "engine/progress.hpp"

#include <unistd.h>
#include <cmath>

namespace sbx {

ProgressLine::ProgressLine(double total, std::string unit, std::FILE* out, double delay_s,
                           double interval_s)
    : total_(total),
      unit_(std::move(unit)),
      out_(out),
      delay_s_(delay_s),
      interval_s_(interval_s),
      start_(Clock::now()) {
  tty_ = out_ && isatty(fileno(out_));
}

ProgressLine::~ProgressLine() {
  if (printed_ && !finished_ && tty_) std::fputc('\n', out_);
}

double ProgressLine::elapsed() const {
  if (now_s_) return now_s_();
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

static std::string fmt_seconds(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), (int(s) % 3600) / 60);
  return buf;
}

std::string ProgressLine::format(double done, double total, const std::string& unit,
                                 double elapsed_s, const std::string& detail) {
  const double frac = total > 0 ? std::min(1.0, std::max(0.0, done / total)) : 1.0;
  char buf[160];
  std::string eta = "?";
  if (done > 0 && elapsed_s > 0) eta = fmt_seconds(elapsed_s * (total - done) / done);
  std::snprintf(buf, sizeof buf, "[%5.1f%%] %.0f/%.0f %s, %s elapsed, ETA %s", 100.0 * frac, done,
                total, unit.c_str(), fmt_seconds(elapsed_s).c_str(), eta.c_str());
  std::string s = buf;
  if (!detail.empty()) s += " | " + detail;
  return s;
}

void ProgressLine::draw(double done, const std::string& detail, bool final) {
  const std::string line = format(done, total_, unit_, elapsed(), detail);
  if (tty_)
    std::fprintf(out_, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
  else
    std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
  printed_ = true;
  drawn_done_ = done;
  drawn_detail_ = detail;
}

void ProgressLine::update(double done, const std::string& detail) {
  last_done_ = done;
  if (!out_ || finished_) return;
  const double t = elapsed();
  if (t < delay_s_) return;
  if (tty_) {
    if (t - last_draw_ < interval_s_) return;
  } else {
    const double decile = total_ > 0 ? std::floor(10.0 * done / total_) : 10;
    if (decile <= last_decile_) return;
    last_decile_ = decile;
  }
  last_draw_ = t;
  draw(done, detail, false);
}

void ProgressLine::finish(const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  if (!printed_ || !out_) return;
  // Not a terminal: the lines stay, so the end is not printed twice.
  if (!tty_ && drawn_done_ == last_done_ && drawn_detail_ == detail) return;
  draw(last_done_, detail, true);
}

}  // namespace sbx
