#include "text/byte_level.h"

#include "text/unicode.h"



namespace qwenrt::text {
namespace {

struct Alphabet {
  std::array<std::string, 256> forward;
  std::array<int16_t, 0x200> back_table;  // code point -> byte, -1 outside the alphabet
  Alphabet() {
    back_table.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      append_utf8(forward[static_cast<size_t>(b)], cp);
      back_table[cp] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return alphabet().forward; }

bool unicode_to_bytes(std::string_view token, std::string* bytes) {
  // The alphabet is U+0021..U+0143: one or two UTF-8 bytes per character.
  bytes->clear();
  const auto& back = alphabet().back_table;
  for (size_t i = 0; i < token.size();) {
    const auto b0 = static_cast<unsigned char>(token[i]);
    char32_t cp;
    if (b0 < 0x80) {
      cp = b0;
      i += 1;
    } else if ((b0 & 0xE0) == 0xC0 && i + 1 < token.size()) {
      cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(token[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      return false;
    }
    if (cp >= back.size() || back[cp] < 0) return false;
    bytes->push_back(static_cast<char>(back[cp]));
  }
  return true;
}

}  // namespace qwenrt::text
