#pragma once
// Stop strings over streamed text: text is passed through as it is decoded, except for a tail
// that could still turn out to be the start of a stop string, which is held back until it
// cannot. When a stop string appears (even split across tokens), the text before it is released
// and the rest, the stop string included, is dropped.
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);

  // Feeds decoded text; returns the part that is safe to show now.
  std::string push(std::string_view text);
  // At the end of generation: what was held back (nothing once stopped).
  std::string finish();
  bool stopped() const { return stopped_; }
  // The stop string that matched (empty if none did).
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace qwenrt
