// SPDX-License-Identifier: MIT
// The `.data` reader: one pass over the lines with a section state, as upstream's
// parse_test_file does, then the numbers of result, raw and mem are converted. Numbers follow
// std::stoull (optional sign, optional 0x after it for hex, negative values wrap modulo 2^64)
// but the whole token must be a number.
#include "conformance_file.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace pollen::test {
namespace {

enum class Section : uint8_t { Ignore, Asm, Result, Mem, Raw, Error };

struct Header {
  std::string_view needle;
  Section section;
};

// README rule 3: the first needle contained in the header line names the section, in this order.
constexpr std::array<Header, 7> kHeaders = {{
    {"asm", Section::Asm},
    {"result", Section::Result},
    {"mem", Section::Mem},
    {"raw", Section::Raw},
    {"no register offset", Section::Ignore},
    {" c", Section::Ignore},
    {"error", Section::Error},
}};

std::optional<Section> header_section(std::string_view line) {
  for (const Header& h : kHeaders) {
    if (line.find(h.needle) != std::string_view::npos) return h.section;
  }
  return std::nullopt;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) tokens.push_back(s.substr(start, i - start));
  }
  return tokens;
}

// std::stoull's reading of `token` in `base` (10 or 16), but the whole token must be consumed.
std::optional<uint64_t> parse_u64(std::string_view token, int base) {
  bool negative = false;
  if (!token.empty() && (token.front() == '-' || token.front() == '+')) {
    negative = token.front() == '-';
    token.remove_prefix(1);
  }
  if (base == 16 && token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X')) {
    token.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value, base);
  if (token.empty() || ec != std::errc() || end != token.data() + token.size()) {
    return std::nullopt;
  }
  return negative ? uint64_t{0} - value : value;
}

// A section's lines, with the file line of each, kept until the numbers are converted.
struct Line {
  size_t number;
  std::string text;
};

Error parse_error(std::string_view file_name, size_t line, std::string message) {
  return make_error(Errc::Parse, Location::line(line, std::string(file_name)), std::move(message));
}

Result<uint64_t> parse_result(const Line& line, std::string_view file_name) {
  // Upstream: hex if the line contains "0x" (lower-case x only), otherwise decimal.
  int base = line.text.find("0x") != std::string::npos ? 16 : 10;
  auto value = parse_u64(trim(line.text), base);
  if (!value) {
    return parse_error(file_name, line.number,
                       "result is not a " + std::string(base == 16 ? "hex" : "decimal") +
                           " 64-bit number ('" + line.text + "')");
  }
  return *value;
}

Result<std::vector<uint8_t>> parse_raw(const std::vector<Line>& lines, std::string_view file_name) {
  std::vector<uint8_t> bytes;
  for (const Line& line : lines) {
    for (std::string_view token : split_whitespace(line.text)) {
      // Upstream: a token starting with "0x" is hex, anything else decimal; one token per slot.
      auto slot = parse_u64(token, token.starts_with("0x") ? 16 : 10);
      if (!slot) {
        return parse_error(file_name, line.number,
                           "raw slot is not a 64-bit number ('" + std::string(token) + "')");
      }
      for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(*slot >> (8 * i)));
    }
  }
  return bytes;
}

Result<std::vector<uint8_t>> parse_memory(const std::vector<Line>& lines,
                                          std::string_view file_name) {
  std::vector<uint8_t> bytes;
  for (const Line& line : lines) {
    for (std::string_view token : split_whitespace(line.text)) {
      auto byte = parse_u64(token, 16);
      if (!byte || *byte > 0xff || token.starts_with('-') || token.starts_with('+')) {
        return parse_error(file_name, line.number,
                           "mem token is not a hex byte ('" + std::string(token) + "')");
      }
      bytes.push_back(static_cast<uint8_t>(*byte));
    }
  }
  return bytes;
}

}  // namespace

Result<ConformanceFile> parse_conformance_file(std::string_view text, std::string_view file_name) {
  ConformanceFile file;
  file.file_name = std::string(file_name);
  Section section = Section::Ignore;
  std::optional<Line> result_line;
  std::vector<Line> raw_lines, mem_lines;

  std::istringstream in{std::string(text)};
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    if (line.find("--") != std::string::npos) {
      auto named = header_section(line);
      if (!named) {
        file.skip_reason =
            "line " + std::to_string(number) + ": unknown section header '" + line + "'";
        return file;
      }
      section = *named;
      file.assembly += '\n';
      continue;
    }
    // Only a truly empty line is ignored; upstream keeps a line of blanks (and then fails to
    // read it as a number if it is the last result line).
    if (!line.empty()) {
      switch (section) {
        case Section::Asm: file.assembly += line; break;
        case Section::Result: result_line = Line{number, line}; break;
        case Section::Mem: mem_lines.push_back({number, line}); break;
        case Section::Raw: raw_lines.push_back({number, line}); break;
        case Section::Error: file.error = line; break;
        case Section::Ignore: break;
      }
    }
    file.assembly += '\n';
  }

  if (!result_line && !file.error) {
    file.skip_reason = "no result or error";
    return file;
  }
  if (result_line) {
    POLLEN_TRY(file.result, parse_result(*result_line, file_name));
  }
  POLLEN_TRY(file.raw, parse_raw(raw_lines, file_name));
  POLLEN_TRY(file.memory, parse_memory(mem_lines, file_name));
  // Upstream skips a file whose program has no instructions. Without raw, an asm section with
  // no line that is not blank is the only way to get there (a section of labels alone would
  // need the assembler to tell, and no file has one).
  if (file.raw.empty() &&
      std::all_of(file.assembly.begin(), file.assembly.end(), [](char c) { return is_space(c); })) {
    file.skip_reason = "no instructions";
  }
  return file;
}

Result<ConformanceFile> read_conformance_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::Io, Location::none(), path.string() + ": cannot open");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return make_error(Errc::Io, Location::none(), path.string() + ": read failed");
  }
  return parse_conformance_file(text.str(), path.filename().string());
}

std::vector<std::filesystem::path> list_conformance_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".data" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<Program> conformance_program(const ConformanceFile& file) {
  if (!file.raw.empty()) return Program::from_bytes(file.raw);
  return Program::from_assembly(file.assembly, file.file_name);
}

std::string conformance_test_name(const std::filesystem::path& path) {
  std::string name = path.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return name;
}

}  // namespace pollen::test
