#include "cli/model_source.h"

#include "base/error.h"
#include "base/strings.h"
#include "cli/terminal.h"
#include "hub/hub.h"
#include "io/prefetch.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

namespace qwenrt::cli {

hub::Progress download_progress() {
  hub::Progress p;
  if (!is_terminal(STDERR_FILENO)) return p;
  p.on_bytes = [last = std::chrono::steady_clock::time_point{}](const std::string& file, int64_t done, int64_t total) mutable {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(100) && done != total) return;
    last = now;
    const int width = 30;
    const double f = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
    const int fill = static_cast<int>(f * width);
    std::fprintf(stderr, "\r\x1b[2K%s [%s%s] %s / %s", file.c_str(), std::string(static_cast<size_t>(fill), '#').c_str(),
                 std::string(static_cast<size_t>(width - fill), '.').c_str(), format_bytes(static_cast<double>(done)).c_str(),
                 total > 0 ? format_bytes(static_cast<double>(total)).c_str() : "?");
    if (done == total) std::fputs("\n", stderr);
    std::fflush(stderr);
  };
  return p;
}

std::string resolve_model(const std::string& spec) {
  if (std::filesystem::exists(spec)) return spec;
  if (!hub::looks_like_repo_id(spec) || spec.starts_with("./") || spec.starts_with("/")) fail("{}: no such file or directory", spec);
  return hub::download_model(hub::parse_model_ref(spec), hub::HubConfig::from_env(), download_progress());
}

std::unique_ptr<Runtime> load_with_progress(const std::string& path, const RuntimeOptions& options) {
  // Reading the weights into the page cache is what takes time (the maps themselves are free),
  // so that is what the bar measures; it appears once loading has taken a second.
  const bool tty = is_terminal(STDERR_FILENO);
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  int64_t bytes = 0, total = 0;
  std::thread display;
  if (tty) {
    display = std::thread([&] {
      using namespace std::chrono;
      const auto start = steady_clock::now();
      bool shown = false;
      std::unique_lock lock(m);
      while (!cv.wait_for(lock, milliseconds(100), [&] { return done; })) {
        const double s = duration<double>(steady_clock::now() - start).count();
        if (s < 1.0) continue;
        const int width = 30;
        const double f = total > 0 ? static_cast<double>(bytes) / static_cast<double>(total) : 0.0;
        const int fill = static_cast<int>(f * width);
        std::fprintf(stderr, "\r\x1b[2Kloading [%s%s] %s / %s  %.1f s", std::string(static_cast<size_t>(fill), '#').c_str(),
                     std::string(static_cast<size_t>(width - fill), '.').c_str(), format_bytes(static_cast<double>(bytes)).c_str(),
                     format_bytes(static_cast<double>(total)).c_str(), s);
        std::fflush(stderr);
        shown = true;
      }
      if (shown) std::fputs("\r\x1b[2K", stderr);
    });
  }
  auto finish = [&] {
    {
      std::lock_guard lock(m);
      done = true;
    }
    cv.notify_one();
    if (display.joinable()) display.join();
  };
  try {
    if (tty) {
      prefetch_files(weight_files(path), [&](int64_t d, int64_t t) {
        std::lock_guard lock(m);
        bytes = d;
        total = t;
      });
    }
    auto rt = Runtime::load(path, options);
    finish();
    return rt;
  } catch (...) {
    finish();
    throw;
  }
}

}  // namespace qwenrt::cli
