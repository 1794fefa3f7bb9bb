#include "base/log.h"

#include "base/error.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace qwenrt {
namespace {

LogLevel initial_level() {
  const char* env = std::getenv("QWENRT_LOG");
  if (!env) return LogLevel::Warn;
  if (!std::strcmp(env, "debug")) return LogLevel::Debug;
  if (!std::strcmp(env, "info")) return LogLevel::Info;
  if (!std::strcmp(env, "error")) return LogLevel::Error;
  if (!std::strcmp(env, "off")) return LogLevel::Off;
  return LogLevel::Warn;
}

std::atomic<LogLevel>& level_ref() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

}  // namespace

void set_log_level(LogLevel level) { level_ref().store(level); }
LogLevel log_level() { return level_ref().load(std::memory_order_relaxed); }

void log_message(LogLevel level, std::string_view message) {
  static std::mutex mutex;
  static const char* names[] = {"debug", "info", "warning", "error"};
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "qwenrt %s: %.*s\n", names[static_cast<int>(level)], static_cast<int>(message.size()),
               message.data());
}

void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "qwenrt: internal check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace qwenrt
