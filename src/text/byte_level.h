#pragma once
// GPT-2's byte-level alphabet: each byte maps to one printable code point (bytes that are
// printable Latin-1 map to themselves, the rest to U+0100 onwards), so that BPE vocabularies can
// be written as text.
#include <array>
#include <string>
#include <string_view>

namespace qwenrt::text {

// UTF-8 encoding of each byte's code point.
const std::array<std::string, 256>& byte_to_unicode();
// The bytes a byte-level token string stands for; false when a character is outside the alphabet.
bool unicode_to_bytes(std::string_view token, std::string* bytes);

}  // namespace qwenrt::text
