#include "engine/errors.hpp"

#include <cstdio>

namespace sbx {

std::string escape_control(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

std::string Diagnostic::format(const char* severity) const {
  // Without a file (a command-line problem, or input given as a string) the program is named.
  std::string s = file.empty() ? std::string("spikeblox") : file;
  if (line > 0) {
    s.append(":").append(std::to_string(line));
    if (column > 0) s.append(":").append(std::to_string(column));
  }
  s.append(": ").append(severity).append(": ");
  // (a key can hold any character, a newline too: escaped, so the message stays one line)
  if (!key_path.empty()) s.append("'").append(escape_control(key_path)).append("': ");
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
