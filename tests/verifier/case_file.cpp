// SPDX-License-Identifier: MIT
// The reader of verifier case files (see case_file.hpp): headers are `key: value` lines right
// after a case's `==` line; the program is everything after them up to the next `==`.
#include "case_file.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace pollen::test {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  size_t start = s.find_first_not_of(" \t");
  return start == std::string::npos ? "" : s.substr(start);
}

const char* const kKeys[] = {"type", "verdict", "message", "insn", "mem", "map", "kernel"};

bool split_header(const std::string& line, std::string& key, std::string& value) {
  size_t colon = line.find(':');
  if (colon == std::string::npos) return false;
  key = trim(line.substr(0, colon));
  if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) return false;
  value = trim(line.substr(colon + 1));
  return true;
}

bool parse_map(const std::string& value, CaseMap& map) {
  std::istringstream in(value);
  std::string word;
  if (!(in >> map.fd >> map.type)) return false;
  while (in >> word) {
    size_t eq = word.find('=');
    std::string k = word.substr(0, eq);
    if (k == "ro") {
      map.read_only = true;
      continue;
    }
    if (eq == std::string::npos) return false;
    uint32_t n = static_cast<uint32_t>(std::stoul(word.substr(eq + 1)));
    if (k == "key")
      map.key_size = n;
    else if (k == "value")
      map.value_size = n;
    else if (k == "entries")
      map.max_entries = n;
    else
      return false;
  }
  return true;
}

bool apply_header(VerifierCase& c, const std::string& key, const std::string& value) {
  if (key == "type")
    c.type = value;
  else if (key == "verdict") {
    if (value != "accept" && value != "reject") return false;
    c.accept = value == "accept";
  } else if (key == "message")
    c.message = value;
  else if (key == "insn")
    c.insn = static_cast<uint32_t>(std::stoul(value));
  else if (key == "mem")
    c.mem = static_cast<uint32_t>(std::stoul(value));
  else if (key == "kernel")
    c.kernel = value;
  else if (key == "map") {
    CaseMap m;
    if (!parse_map(value, m)) return false;
    c.maps.push_back(m);
  }
  return true;
}

}  // namespace

std::string VerifierCase::where() const {
  return file + ":" + std::to_string(line) + " (" + name + ")";
}

void PrintTo(const VerifierCase& c, std::ostream* os) {
  *os << c.where();
}

std::string VerifierCase::test_name() const {
  std::string stem = std::filesystem::path(file).stem().string() + "_" + name;
  for (char& ch : stem)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return stem;
}

std::vector<VerifierCase> parse_cases(const std::string& text, const std::string& file,
                                      std::string& error) {
  std::vector<VerifierCase> cases;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool in_header = false;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (t.rfind("==", 0) == 0) {
      cases.emplace_back();
      cases.back().file = file;
      cases.back().line = number;
      cases.back().name = trim(t.substr(2));
      in_header = true;
      cases.back().assembly.append(static_cast<size_t>(number), '\n');
      continue;
    }
    if (cases.empty()) continue;  // the file's description
    VerifierCase& c = cases.back();
    std::string key, value;
    if (in_header && split_header(t, key, value)) {
      if (!apply_header(c, key, value)) {
        error = file + ":" + std::to_string(number) + ": bad header '" + t + "'";
        return {};
      }
      c.assembly += '\n';
      continue;
    }
    if (!t.empty()) in_header = false;
    c.assembly += line + '\n';
  }
  for (VerifierCase& c : cases) {
    if (c.accept == !c.message.empty()) {
      error = c.where() + ": a rejected case needs a message, an accepted one has none";
      return {};
    }
  }
  return cases;
}

std::vector<VerifierCase> read_cases(const std::filesystem::path& dir, std::string& error) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<VerifierCase> all;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<VerifierCase> cases = parse_cases(text.str(), path.filename().string(), error);
    if (!error.empty()) return {};
    all.insert(all.end(), cases.begin(), cases.end());
  }
  return all;
}

}  // namespace pollen::test
