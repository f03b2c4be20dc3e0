// Regenerates the tables of docs/toml_reference.md from the registry: everything after the
// marker line is replaced by registry_markdown(registry()).
//   usage: gen_toml_reference [path/to/docs/toml_reference.md]   (default: the source tree's)
// test_circuits ("docs/toml_reference.md documents every registry key") fails until this is run
// after adding registry entries.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "circuits/registry.hpp"

int main(int argc, char** argv) {
  const std::string path =
      argc > 1 ? argv[1] : std::string(SBX_SOURCE_DIR) + "/docs/toml_reference.md";
  const std::string marker = "<!-- generated tables below:";
  std::ifstream in(path);
  if (!in) {
    std::cerr << path << ": cannot read\n";
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const auto at = text.find(marker);
  if (at == std::string::npos) {
    std::cerr << path << ": marker '" << marker << "' not found\n";
    return 1;
  }
  const auto eol = text.find('\n', at);
  const std::string out =
      text.substr(0, eol + 1) + "\n" + sbx::circuits::registry_markdown(sbx::circuits::registry());
  std::ofstream(path) << out;
  std::cout << "wrote " << path << "\n";
  return 0;
}
