#include "cli/demo_model.h"

#include "base/error.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

// The GGUF file, linked in as read-only data (CMake passes its path and its SHA-256, so that a new
// model file changes this translation unit and no compiler cache serves a stale object).
asm(".section .rodata.qwenrt_demo_gguf,\"a\"\n"
    ".balign 64\n"
    ".globl qwenrt_demo_gguf_begin\n"
    ".hidden qwenrt_demo_gguf_begin\n"
    "qwenrt_demo_gguf_begin:\n"
    ".incbin \"" QWENRT_DEMO_GGUF "\"\n"
    ".globl qwenrt_demo_gguf_end\n"
    ".hidden qwenrt_demo_gguf_end\n"
    "qwenrt_demo_gguf_end:\n"
    ".previous\n");
extern "C" const char qwenrt_demo_gguf_begin[];
extern "C" const char qwenrt_demo_gguf_end[];

namespace qwenrt::cli {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<fs::path> cache_dirs() {
  std::vector<fs::path> dirs;
  if (!env("QWENRT_CACHE").empty()) {
    dirs.emplace_back(env("QWENRT_CACHE"));
    return dirs;  // asked for this one: no fallback behind the user's back
  }
  if (!env("XDG_CACHE_HOME").empty()) {
    dirs.push_back(fs::path(env("XDG_CACHE_HOME")) / "qwenrt");
  } else if (!env("HOME").empty()) {
    dirs.push_back(fs::path(env("HOME")) / ".cache" / "qwenrt");
  }
  std::error_code ec;
  const fs::path tmp = fs::temp_directory_path(ec);
  if (!ec) dirs.push_back(tmp / ("qwenrt-" + std::to_string(getuid())));
  return dirs;
}

// Whether `path` holds exactly these bytes: a truncated or altered copy is written again.
bool holds(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  if (fs::file_size(path, ec) != bytes.size() || ec) return false;
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  size_t at = 0;
  while (at < bytes.size()) {
    in.read(buf.data(), static_cast<std::streamsize>(std::min(buf.size(), bytes.size() - at)));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0 || bytes.substr(at, n) != std::string_view(buf.data(), n)) return false;
    at += n;
  }
  return true;
}

// Writes beside the target and renames, so that a reader never sees half a file.
bool write_atomically(const fs::path& path, std::string_view bytes, std::string& why) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".partial." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      why = path.parent_path().string() + ": cannot write there";
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    why = path.string() + ": " + ec.message();
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

}  // namespace

std::string_view demo_model_bytes() {
  return {qwenrt_demo_gguf_begin, static_cast<size_t>(qwenrt_demo_gguf_end - qwenrt_demo_gguf_begin)};
}

std::string demo_model_path() {
  const std::string name = std::string("qwen3-demo-") + std::string(QWENRT_DEMO_SHA256).substr(0, 12) + ".gguf";
  const std::string_view bytes = demo_model_bytes();
  std::string why = "no cache folder: set QWENRT_CACHE or HOME";
  for (const fs::path& dir : cache_dirs()) {
    const fs::path path = dir / name;
    if (holds(path, bytes) || write_atomically(path, bytes, why)) return path.string();
  }
  fail("the built-in demo model: cannot write it to a cache folder ({}); set QWENRT_CACHE to a writable folder", why);
}

std::string demo_model_notice(const char* command) {
  return fmt::format(
      "No model given: this is qwenrt's built-in demo, a 4M-parameter Qwen3 trained by this project on\n"
      "arithmetic and three tools (weather, time, unit conversion). It knows nothing else. For a real\n"
      "Qwen model: qwenrt {} Qwen/Qwen3-0.6B (downloaded once), or give a directory or a .gguf file.\n",
      command);
}

GenerationDefaults demo_generation_defaults() {
  GenerationDefaults d;  // SamplingParams{} is greedy
  d.source = "the demo model (greedy)";
  return d;
}

}  // namespace qwenrt::cli
