#pragma once
// Errors. Bad input (corrupt files, wrong shapes, bad arguments, bad requests) is thrown as
// qwenrt::Error carrying a message that names the file / tensor / field and what was expected
// versus found; the API boundary (CLI main, HTTP handler) turns it into an exit code or a 4xx.
// Broken internal invariants are programming errors: QW_CHECK aborts with the location.
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace qwenrt {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] void check_failed(const char* expr, const char* file, int line);

}  // namespace qwenrt

#define QW_CHECK(cond)                                             \
  do {                                                             \
    if (!(cond)) ::qwenrt::check_failed(#cond, __FILE__, __LINE__); \
  } while (0)
