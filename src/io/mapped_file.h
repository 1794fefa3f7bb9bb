#pragma once
// The bytes of a whole file, read-only: memory-mapped, or copied into anonymous memory on 2 MiB
// pages. Model weights are used straight from either.
#include "base/aligned_buffer.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace qwenrt {

// How a model's files are held in memory.
//   Map:  mmap. Pages come from the page cache as they are first read and are shared with other
//         processes; a model larger than memory still runs. 4 KiB pages: decode, which streams the
//         weights, reads them at about 75 % of the speed of huge pages on this project's machines
//         (a TLB miss every 4 KiB, and the hardware prefetchers stop at each page boundary).
//   Copy: read at load into memory on 2 MiB pages (transparent huge pages, where the kernel allows).
//   Auto: Copy when all the model's files take at most half of the memory available now, else Map.
enum class LoadMode { Auto, Map, Copy };

// "auto", "map" or "copy" (an Error for anything else); and back.
LoadMode parse_load_mode(std::string_view name);
const char* load_mode_name(LoadMode mode);

// Auto decided for `bytes` of files: Map or Copy; Map and Copy as they are.
LoadMode resolve_load_mode(LoadMode mode, size_t bytes);

class MappedFile {
 public:
  // Throws Error naming the path when the file cannot be opened, mapped or read. `mode` Auto
  // decides for this file alone (a model of several files decides once, for all of them).
  static std::shared_ptr<MappedFile> open(const std::string& path, LoadMode mode = LoadMode::Map);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  bool copied() const { return copy_.size() > 0; }

 private:
  MappedFile() = default;
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  AlignedBuffer copy_;  // Copy: the bytes; Map: empty
};

// Free memory the kernel could hand out now (MemAvailable), in bytes; 0 when unknown.
size_t available_memory_bytes();

}  // namespace qwenrt
