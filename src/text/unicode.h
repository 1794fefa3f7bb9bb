#pragma once
// Unicode support for the tokenizer: code point properties the pre-tokenizer regex uses, UTF-8
// decoding that never fails, and NFC normalization (Unicode 17 tables).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt::text {

bool is_letter(char32_t cp);      // \p{L}
bool is_mark(char32_t cp);        // \p{M}
bool is_number(char32_t cp);      // \p{N}
bool is_white_space(char32_t cp);  // \s as Oniguruma / Rust regex read it: the White_Space property
uint8_t combining_class(char32_t cp);

constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes UTF-8; every maximal invalid subsequence becomes one U+FFFD (the Unicode "maximal
// subpart" practice that Rust from_utf8_lossy, Python errors="replace" and WHATWG follow).
std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view s);
// Same replacement, UTF-8 to UTF-8 (identity on valid input).
std::string sanitize_utf8(std::string_view s);
bool is_valid_utf8(std::string_view s);
// Length of the incomplete UTF-8 sequence at the end of `s` that more bytes could still complete
// (0 when the tail is complete or already invalid).
size_t incomplete_utf8_tail(std::string_view s);

// Canonical composition (NFC).
std::u32string nfc(std::u32string_view s);
std::string nfc_utf8(std::string_view s);
// True when nfc() would certainly return its input (the NFC quick check, answering "yes").
bool is_nfc_quick(std::u32string_view s);
// The same check on valid UTF-8, without decoding it (the common case: text already in NFC).
bool is_nfc_quick_utf8(std::string_view s);

}  // namespace qwenrt::text
