#include "cli/model_source.h"

#include "base/error.h"
#include "cli/terminal.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

namespace qwenrt::cli {

std::string resolve_model(const std::string& spec) {
  if (std::filesystem::exists(spec)) return spec;
  fail("{}: no such file or directory", spec);
}

std::unique_ptr<Runtime> load_with_progress(const std::string& path, const RuntimeOptions& options) {
  if (!is_terminal(STDERR_FILENO)) return Runtime::load(path, options);
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread display([&] {
    using namespace std::chrono;
    const auto start = steady_clock::now();
    const char* frames = "|/-\\";
    bool shown = false;
    std::unique_lock lock(m);
    for (int i = 0; !cv.wait_for(lock, milliseconds(100), [&] { return done; }); ++i) {
      const double s = duration<double>(steady_clock::now() - start).count();
      if (s < 1.0) continue;
      std::fprintf(stderr, "\r%c loading %s  %.1f s", frames[i % 4], path.c_str(), s);
      std::fflush(stderr);
      shown = true;
    }
    if (shown) std::fputs("\r\x1b[2K", stderr);
  });
  std::unique_ptr<Runtime> rt;
  try {
    rt = Runtime::load(path, options);
  } catch (...) {
    {
      std::lock_guard lock(m);
      done = true;
    }
    cv.notify_one();
    display.join();
    throw;
  }
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_one();
  display.join();
  return rt;
}

}  // namespace qwenrt::cli
