#include "io/mapped_file.h"

#include "base/error.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace qwenrt {

LoadMode parse_load_mode(std::string_view name) {
  if (name == "auto") return LoadMode::Auto;
  if (name == "map") return LoadMode::Map;
  if (name == "copy") return LoadMode::Copy;
  fail("unknown load mode '{}' (expected auto, map or copy)", name);
}

const char* load_mode_name(LoadMode mode) {
  switch (mode) {
    case LoadMode::Auto: return "auto";
    case LoadMode::Map: return "map";
    case LoadMode::Copy: return "copy";
  }
  return "?";
}

size_t available_memory_bytes() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  size_t kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long v = 0;
    if (std::sscanf(line, "MemAvailable: %llu kB", &v) == 1) {
      kib = static_cast<size_t>(v);
      break;
    }
  }
  std::fclose(f);
  return kib * 1024;
}

LoadMode resolve_load_mode(LoadMode mode, size_t bytes) {
  if (mode != LoadMode::Auto) return mode;
  const size_t available = available_memory_bytes();
  return available > 0 && bytes <= available / 2 ? LoadMode::Copy : LoadMode::Map;
}

namespace {

// Reads all `n` bytes at `out` from `fd`, or fails naming the path.
void read_all(int fd, std::byte* out, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const size_t want = std::min<size_t>(n - done, size_t{64} << 20);
    const ssize_t got = ::pread(fd, out + done, want, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("{}: cannot read: {}", path, std::strerror(errno));
    if (got == 0) fail("{}: the file ended after {} of {} bytes while it was read", path, done, n);
    done += static_cast<size_t>(got);
  }
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, LoadMode mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail("{}: cannot stat: {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0 && resolve_load_mode(mode, file->size_) == LoadMode::Copy) {
    try {
      file->copy_.resize(file->size_);
      read_all(fd, file->copy_.data(), file->size_, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    file->data_ = file->copy_.data();
  } else if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      fail("{}: cannot map {} bytes: {}", path, file->size_, std::strerror(err));
    }
    file->data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ && !copied()) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace qwenrt
