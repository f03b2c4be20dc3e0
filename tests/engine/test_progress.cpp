#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "engine/progress.hpp"

using sbx::ProgressLine;

namespace {
std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}
int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}
}  // namespace

TEST_CASE("progress line formatting: percentage, counts, ETA and detail") {
  const std::string s = ProgressLine::format(100, 400, "trials", 10.0, "acc 0.52");
  CHECK(s == "[ 25.0%] 100/400 trials, 10s elapsed, ETA 30s | acc 0.52");
  CHECK(ProgressLine::format(0, 10, "ms", 0.0, "") == "[  0.0%] 0/10 ms, 0s elapsed, ETA ?");
  CHECK(ProgressLine::format(5, 10, "ms", 200.0, "").find("3m20s elapsed, ETA 3m20s") !=
        std::string::npos);
}

TEST_CASE("progress line is silent for short runs and throttled to deciles off a terminal") {
  std::FILE* f = std::tmpfile();
  double now = 0;
  {
    ProgressLine p(100, "trials", f, 2.0, 0.25);
    p.set_clock([&] { return now; });
    p.set_terminal(false);
    for (int i = 0; i <= 100; ++i) {
      now = i * 0.05;  // 5 s in total; silent for the first 2 s
      p.update(i);
    }
    p.finish("done");
    CHECK(p.printed());
  }
  const std::string out = read_all(f);
  // Deciles 4..10 after the 2 s delay, plus the final line.
  CHECK(count_lines(out) == 8);
  CHECK(out.find("[100.0%] 100/100 trials") != std::string::npos);
  CHECK(out.find("| done") != std::string::npos);
  std::fclose(f);

  std::FILE* g = std::tmpfile();
  {
    ProgressLine quick(10, "ms", g);
    quick.set_clock([] { return 0.5; });
    quick.update(10);
    quick.finish();
    CHECK_FALSE(quick.printed());
  }
  CHECK(read_all(g).empty());
  std::fclose(g);

  // Off a terminal the 100 % line of the last update is not printed again by finish().
  std::FILE* h = std::tmpfile();
  {
    ProgressLine p(10, "ms", h, 0.0, 0.25);
    p.set_clock([&] { return now; });
    p.set_terminal(false);
    now = 3.0;
    p.update(10);
    p.finish();
  }
  const std::string end = read_all(h);
  CHECK(count_lines(end) == 1);
  CHECK(end.find("[100.0%] 10/10 ms") != std::string::npos);
  std::fclose(h);
}
