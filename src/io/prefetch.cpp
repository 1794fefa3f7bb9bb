#include "io/prefetch.h"

#include "base/error.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace qwenrt {

std::vector<std::string> weight_files(const std::string& model_path) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  if (fs::is_directory(model_path)) {
    for (const auto& e : fs::directory_iterator(model_path)) {
      if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
  } else {
    out.push_back(model_path);
  }
  return out;
}

bool prefetch_files(const std::vector<std::string>& files, const std::function<void(int64_t, int64_t)>& progress) {
  int64_t total = 0;
  for (const std::string& f : files) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(f, ec);
    if (ec) fail("{}: {}", f, ec.message());
    total += static_cast<int64_t>(size);
  }
  const int64_t memory = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  if (memory > 0 && total > memory / 2) return false;
  std::vector<char> buf(8 << 20);
  int64_t done = 0;
  for (const std::string& f : files) {
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("{}: cannot open: {}", f, std::strerror(errno));
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    while (true) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += n;
      if (progress) progress(done, total);
    }
    ::close(fd);
  }
  return true;
}

}  // namespace qwenrt
