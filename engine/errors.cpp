#include "engine/errors.hpp"

namespace sbx {

std::string Diagnostic::format(const char* severity) const {
  // Without a file (a command-line problem, or input given as a string) the program is named.
  std::string s = file.empty() ? std::string("spikeblox") : file;
  if (line > 0) {
    s.append(":").append(std::to_string(line));
    if (column > 0) s.append(":").append(std::to_string(column));
  }
  s.append(": ").append(severity).append(": ");
  if (!key_path.empty()) s.append("'").append(key_path).append("': ");
  s.append(message);
  return s;
}

std::string UserError::join(const std::vector<Diagnostic>& d) {
  std::string s;
  for (const auto& x : d) {
    if (!s.empty()) s.append("\n");
    s.append(x.format());
  }
  return s;
}

}  // namespace sbx
