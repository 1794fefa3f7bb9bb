#include "base/scratch.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace qwenrt {
namespace {

// The most released buffers a thread keeps (a layer needs about six at once); past it the smallest goes.
constexpr size_t kMaxKept = 12;
// Larger buffers (very long prompts) go back to the system: their page clearing is small beside the
// attention such a prompt costs, and a server should not hold them after the request.
constexpr size_t kMaxKeptBytes = size_t{64} << 20;

std::vector<AlignedBuffer>& free_list() {
  thread_local std::vector<AlignedBuffer> kept;
  return kept;
}

}  // namespace

ScratchBytes::ScratchBytes(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  auto& kept = free_list();
  auto best = kept.end();
  for (auto it = kept.begin(); it != kept.end(); ++it) {
    if (it->size() >= bytes && (best == kept.end() || it->size() < best->size())) best = it;
  }
  if (best != kept.end()) {
    buf_ = std::move(*best);
    kept.erase(best);
  } else {
    buf_.resize(bytes);
  }
}

ScratchBytes::~ScratchBytes() {
  if (buf_.size() == 0 || buf_.size() > kMaxKeptBytes) return;
  auto& kept = free_list();
  kept.push_back(std::move(buf_));
  if (kept.size() > kMaxKept) {
    kept.erase(std::min_element(kept.begin(), kept.end(), [](const AlignedBuffer& a, const AlignedBuffer& b) { return a.size() < b.size(); }));
  }
}

}  // namespace qwenrt
