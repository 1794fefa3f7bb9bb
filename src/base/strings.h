#pragma once
// Small string helpers shared by the CLI and the readers.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt {

// "1,2, 3" -> {1, 2, 3}; throws Error naming `what` on anything that is not a list of integers.
std::vector<int64_t> parse_int_list(std::string_view text, std::string_view what);

// 1536 -> "1.50 KiB"
std::string format_bytes(double bytes);
// 596049920 -> "596.05M"
std::string format_count(double count);

// Without leading and trailing ASCII whitespace.
std::string trim(std::string_view text);

// Reads a whole file; throws Error naming the path.
std::string read_file(const std::string& path);

}  // namespace qwenrt
