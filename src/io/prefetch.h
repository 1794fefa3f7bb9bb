#pragma once
// Reads a model's weight files once, front to back, so that the page cache holds them before the
// first token: the first answer then does not stall on page faults scattered over the disk, and
// the reading can be shown as progress. Skipped (returns false) when the files would not fit in
// half of the machine's memory, where it would only evict itself.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qwenrt {

// The files holding a model's weights: the .gguf itself, or a directory's *.safetensors.
std::vector<std::string> weight_files(const std::string& model_path);

bool prefetch_files(const std::vector<std::string>& files, const std::function<void(int64_t done, int64_t total)>& progress);

}  // namespace qwenrt
