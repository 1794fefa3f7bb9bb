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

// "4GiB", "512MiB", "1.5GB", "800k", "100000" -> bytes (binary units for KiB/MiB/GiB/TiB and the
// one-letter forms, decimal for kB/MB/GB/TB); throws Error naming `what` on anything else.
uint64_t parse_byte_size(std::string_view text, std::string_view what);

// Without leading and trailing ASCII whitespace.
std::string trim(std::string_view text);

// Reads a whole file; throws Error naming the path.
std::string read_file(const std::string& path);

}  // namespace qwenrt
