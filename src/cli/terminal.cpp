#include "cli/terminal.h"

#include "base/error.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace qwenrt::cli {
namespace {

std::atomic<bool> g_interrupted{false};
struct sigaction g_previous {};

extern "C" void on_sigint(int) { g_interrupted.store(true); }

}  // namespace

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

InterruptGuard::InterruptGuard() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR
  sigaction(SIGINT, &sa, &g_previous);
}

InterruptGuard::~InterruptGuard() { sigaction(SIGINT, &g_previous, nullptr); }

std::atomic<bool>& InterruptGuard::flag() { return g_interrupted; }

LineReader::Status LineReader::read(std::string& line) {
  while (true) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Status::Line;
    }
    if (eof_) {
      if (buffer_.empty()) return Status::End;
      line = std::move(buffer_);
      buffer_.clear();
      return Status::Line;
    }
    // Poll in short slices so that a Ctrl-C arriving just before the read is not missed.
    if (g_interrupted.load()) {
      buffer_.clear();  // the terminal discards the typed line on Ctrl-C too
      return Status::Interrupted;
    }
    struct pollfd p {fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) fail("reading input: {}", std::strerror(errno));
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("reading input: {}", std::strerror(errno));
    }
    if (n == 0) {
      eof_ = true;
      continue;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

std::string LineReader::read_all() {
  std::string out = std::move(buffer_);
  buffer_.clear();
  char chunk[65536];
  while (!eof_) {
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("reading input: {}", std::strerror(errno));
    }
    if (n == 0) eof_ = true;
    out.append(chunk, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace qwenrt::cli
