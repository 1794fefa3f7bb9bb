#include "text/unicode.h"

#include "text/unicode_tables.h"

#include <algorithm>

namespace qwenrt::text {
namespace tb = tables;
namespace {

bool in_ranges(const tb::CodeRange* r, size_t n, char32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (cp < r[mid].lo) hi = mid;
    else if (cp > r[mid].hi) lo = mid + 1;
    else return true;
  }
  return false;
}

// ASCII fast path: bit 0 letter, 1 number, 2 white space.
struct AsciiTable {
  uint8_t flags[128] = {};
  constexpr AsciiTable() {
    for (int c = 'a'; c <= 'z'; ++c) flags[c] |= 1;
    for (int c = 'A'; c <= 'Z'; ++c) flags[c] |= 1;
    for (int c = '0'; c <= '9'; ++c) flags[c] |= 2;
    for (int c = 9; c <= 13; ++c) flags[c] |= 4;
    flags[' '] |= 4;
  }
};
constexpr AsciiTable kAscii;

// Hangul syllable composition constants (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void decompose(char32_t cp, std::u32string& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const int s = static_cast<int>(cp - kSBase);
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto* end = tb::kDecompositions + tb::kDecompositions_size;
  const auto* it = std::lower_bound(tb::kDecompositions, end, cp, [](const tb::Decomposition& d, char32_t c) { return d.cp < c; });
  if (it != end && it->cp == cp) {
    out.append(tb::kDecompositionData + it->offset, it->length);
  } else {
    out.push_back(cp);
  }
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const uint64_t key = (static_cast<uint64_t>(a) << 21) | b;
  const auto* end = tb::kCompositions + tb::kCompositions_size;
  const auto* it = std::lower_bound(tb::kCompositions, end, key, [](const tb::Composition& c, uint64_t k) { return c.pair < k; });
  return it != end && it->pair == key ? it->composite : 0;
}

// Basic Multilingual Plane lookup: 4 bits per code point (letter, number, mark, white space),
// built once from the range tables; code points above the BMP use binary search.
class BmpProperties {
 public:
  BmpProperties() : bits_(0x10000 / 2, 0) {
    set(tb::kLetters, tb::kLetters_size, 1);
    set(tb::kNumbers, tb::kNumbers_size, 2);
    set(tb::kMarks, tb::kMarks_size, 4);
    set(tb::kWhiteSpace, tb::kWhiteSpace_size, 8);
  }
  uint8_t get(char32_t cp) const { return (bits_[cp >> 1] >> ((cp & 1) * 4)) & 0xF; }

 private:
  void set(const tb::CodeRange* r, size_t n, uint8_t flag) {
    for (size_t i = 0; i < n; ++i) {
      for (char32_t cp = r[i].lo; cp <= r[i].hi && cp < 0x10000; ++cp) bits_[cp >> 1] |= static_cast<uint8_t>(flag << ((cp & 1) * 4));
    }
  }
  std::vector<uint8_t> bits_;
};

const BmpProperties& bmp() {
  static const BmpProperties p;
  return p;
}

}  // namespace

bool is_letter(char32_t cp) {
  if (cp < 128) return kAscii.flags[cp] & 1;
  return cp < 0x10000 ? bmp().get(cp) & 1 : in_ranges(tb::kLetters, tb::kLetters_size, cp);
}
bool is_number(char32_t cp) {
  if (cp < 128) return kAscii.flags[cp] & 2;
  return cp < 0x10000 ? bmp().get(cp) & 2 : in_ranges(tb::kNumbers, tb::kNumbers_size, cp);
}
bool is_mark(char32_t cp) {
  if (cp < 0x300) return false;
  return cp < 0x10000 ? bmp().get(cp) & 4 : in_ranges(tb::kMarks, tb::kMarks_size, cp);
}
bool is_white_space(char32_t cp) {
  if (cp < 128) return kAscii.flags[cp] & 4;
  return cp < 0x10000 ? bmp().get(cp) & 8 : in_ranges(tb::kWhiteSpace, tb::kWhiteSpace_size, cp);
}

uint8_t combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* end = tb::kCombiningClasses + tb::kCombiningClasses_size;
  const auto* it = std::lower_bound(tb::kCombiningClasses, end, cp, [](const tb::CombiningClass& c, char32_t x) { return c.cp < x; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when s[i] starts an invalid one; in
// that case *skip is the length of its maximal invalid subpart (at least 1).
size_t utf8_sequence(std::string_view s, size_t i, char32_t* cp, size_t* skip) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *skip = 1;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  int need;
  char32_t v;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    v = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    v = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    v = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k <= need; ++k) {
    if (i + static_cast<size_t>(k) >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
    if (b < lo || b > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
    v = (v << 6) | (b & 0x3F);
    *skip = static_cast<size_t>(k) + 1;
  }
  *cp = v;
  return static_cast<size_t>(need) + 1;
}

}  // namespace

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    size_t skip;
    const size_t n = utf8_sequence(s, i, &cp, &skip);
    if (n) {
      out.push_back(cp);
      i += n;
    } else {
      out.push_back(kReplacementChar);
      i += skip;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) append_utf8(out, cp);
  return out;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    size_t skip;
    const size_t n = utf8_sequence(s, i, &cp, &skip);
    if (!n) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  return encode_utf8(decode_utf8(s));
}

size_t incomplete_utf8_tail(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose sequence is cut short but valid so far.
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const size_t i = s.size() - back;
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    int need;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) need = 2;
    else if (b >= 0xF0 && b <= 0xF4) need = 3;
    else return 0;
    const size_t length = static_cast<size_t>(need) + 1;  // the whole sequence
    if (length <= back) return 0;  // complete (or followed by stray continuation bytes: invalid)
    // Check that the bytes present are a valid prefix.
    unsigned char lo = 0x80, hi = 0xBF;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    for (size_t k = 1; k < back; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < lo || c > hi) return 0;
      lo = 0x80;
      hi = 0xBF;
    }
    return back;
  }
  return 0;
}

bool is_nfc_quick(std::u32string_view s) {
  uint8_t last = 0;
  for (char32_t cp : s) {
    if (cp < 0x300) {
      last = 0;
      continue;
    }
    const uint8_t ccc = combining_class(cp);
    if (ccc && last > ccc) return false;
    if (in_ranges(tb::kNfcQuickCheckNo, tb::kNfcQuickCheckNo_size, cp)) return false;
    last = ccc;
  }
  return true;
}

std::u32string nfc(std::u32string_view s) {
  if (is_nfc_quick(s)) return std::u32string(s);
  // 1. Full canonical decomposition.
  std::u32string d;
  d.reserve(s.size() + 8);
  for (char32_t cp : s) decompose(cp, d);
  // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (!combining_class(d[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j])) ++j;
    std::stable_sort(d.begin() + static_cast<ptrdiff_t>(i), d.begin() + static_cast<ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // 3. Canonical composition: each character combines with the last starter unless blocked
  // (an intervening character of equal or higher class, or a starter).
  std::u32string out;
  out.reserve(d.size());
  size_t starter = std::u32string::npos;
  int last_class = -1;
  for (char32_t cp : d) {
    const int cls = combining_class(cp);
    if (starter != std::u32string::npos && (last_class < cls || (last_class == 0 && out.size() == starter + 1))) {
      if (const char32_t c = compose_pair(out[starter], cp)) {
        out[starter] = c;
        continue;
      }
    }
    if (cls == 0) {
      starter = out.size();
      last_class = 0;
    } else {
      last_class = cls;
    }
    out.push_back(cp);
  }
  return out;
}

bool is_nfc_quick_utf8(std::string_view s) {
  uint8_t last = 0;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    // Lead bytes below 0xCC encode code points below U+0300: starters, always "yes".
    if (b < 0xCC) {
      i += b < 0x80 ? 1 : 2;
      last = 0;
      continue;
    }
    char32_t cp;
    if (b < 0xE0) {
      cp = ((b & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      i += 2;
    } else if (b < 0xF0) {
      cp = ((b & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
      i += 3;
    } else {
      cp = ((b & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
           ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
      i += 4;
    }
    const uint8_t ccc = combining_class(cp);
    if (ccc && last > ccc) return false;
    if (in_ranges(tb::kNfcQuickCheckNo, tb::kNfcQuickCheckNo_size, cp)) return false;
    last = ccc;
  }
  return true;
}

std::string nfc_utf8(std::string_view s) {
  if (is_nfc_quick_utf8(s)) return std::string(s);
  return encode_utf8(nfc(decode_utf8(s)));
}

}  // namespace qwenrt::text
