#pragma once
// The little the interactive commands need from a terminal: whether a stream is one, Ctrl-C as
// a flag instead of death, reading lines that a Ctrl-C can interrupt, and a dim style.
#include <atomic>
#include <string>

namespace qwenrt::cli {

bool is_terminal(int fd);

// While alive, SIGINT sets interrupted() instead of ending the process, and interrupts a
// blocking read (no SA_RESTART).
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  static std::atomic<bool>& flag();
};

// Reads lines from a file descriptor without stdio buffering, so that an interrupt is seen.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  enum class Status { Line, End, Interrupted };
  Status read(std::string& line);  // the line without its newline
  // Everything up to the end of input (for piped prompts).
  std::string read_all();

 private:
  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

inline constexpr const char* kDim = "\x1b[2m";
inline constexpr const char* kReset = "\x1b[0m";

}  // namespace qwenrt::cli
