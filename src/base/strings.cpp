#include "base/strings.h"

#include "base/error.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdio>
#include <utility>

namespace qwenrt {

std::vector<int64_t> parse_int_list(std::string_view text, std::string_view what) {
  std::vector<int64_t> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
  };
  skip_space();
  if (i == text.size()) return out;
  while (true) {
    skip_space();
    int64_t value = 0;
    const char* begin = text.data() + i;
    auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec != std::errc() || ptr == begin) {
      fail("{}: expected a comma-separated list of integers, found '{}'", what, text);
    }
    out.push_back(value);
    i = static_cast<size_t>(ptr - text.data());
    skip_space();
    if (i == text.size()) break;
    if (text[i] != ',') fail("{}: expected ',' at offset {} in '{}'", what, i, text);
    ++i;
  }
  return out;
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.2f} {}", bytes, units[u]);
}

std::string format_count(double count) {
  if (count >= 1e9) return fmt::format("{:.2f}B", count / 1e9);
  if (count >= 1e6) return fmt::format("{:.2f}M", count / 1e6);
  if (count >= 1e3) return fmt::format("{:.2f}K", count / 1e3);
  return fmt::format("{:.0f}", count);
}

std::string read_file(const std::string& path) {
  // One allocation of the file's size and one read: large files (tokenizer.json) load quickly.
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::string out;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    const long size = std::ftell(f);
    if (size > 0) out.resize(static_cast<size_t>(size));
    std::fseek(f, 0, SEEK_SET);
  }
  size_t got = out.empty() ? 0 : std::fread(out.data(), 1, out.size(), f);
  out.resize(got);
  char buf[65536];  // whatever is left (files that grew, pipes)
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  const bool error = std::ferror(f);
  std::fclose(f);
  if (error) fail("{}: read error", path);
  return out;
}

std::string trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(" \t\r\n\f\v");
  return std::string(text.substr(first, last - first + 1));
}

uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  const std::string t = trim(text);
  size_t end = 0;
  while (end < t.size() && (std::isdigit(static_cast<unsigned char>(t[end])) || t[end] == '.')) ++end;
  double value = 0;
  try {
    if (end == 0) throw std::invalid_argument("no number");
    size_t used = 0;
    value = std::stod(t.substr(0, end), &used);
    if (used != end) throw std::invalid_argument("bad number");
  } catch (const std::exception&) {
    fail("{}: expected a size such as 4GiB, 512MiB or 1000000, got '{}'", what, t);
  }
  std::string unit = trim(t.substr(end));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},     {"b", 1},    {"k", 0x1p10}, {"ki", 0x1p10}, {"kib", 0x1p10}, {"kb", 1e3},
      {"m", 0x1p20}, {"mi", 0x1p20}, {"mib", 0x1p20}, {"mb", 1e6},  {"g", 0x1p30}, {"gi", 0x1p30},
      {"gib", 0x1p30}, {"gb", 1e9}, {"t", 0x1p40}, {"ti", 0x1p40}, {"tib", 0x1p40}, {"tb", 1e12}};
  double scale = 0;
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) scale = factor;
  }
  if (scale == 0) fail("{}: unknown unit '{}' in '{}' (use B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)", what, t.substr(end), t);
  const double bytes = value * scale;
  if (!(bytes >= 0) || bytes > 1.8e19) fail("{}: '{}' is out of range", what, t);
  return static_cast<uint64_t>(bytes);
}

}  // namespace qwenrt
