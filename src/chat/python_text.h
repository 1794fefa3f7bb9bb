#pragma once
// Python str semantics on UTF-8 strings: what isspace() means, strip/split with and without
// arguments, code-point length and indexing, case mapping.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt::chat::py {

// str.isspace(): Unicode White_Space plus U+001C..U+001F.
bool is_space(char32_t c);
std::u32string to_u32(std::string_view s);
std::string to_utf8(std::u32string_view s);

// strip / lstrip / rstrip: with no chars, Python whitespace; else any code point in chars.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// split(sep=None, maxsplit=-1) and rsplit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit, bool from_right);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);
std::string capitalize(std::string_view s);
size_t length(std::string_view s);  // in code points
bool is_ascii(std::string_view s);

}  // namespace qwenrt::chat::py
