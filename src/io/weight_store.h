#pragma once
// The one in-memory model description every architecture computes from, whatever file it came
// from: weights under their canonical names (llama.cpp's GGUF names: "blk.0.attn_q.weight") in
// the canonical layout (GGUF's: norms already offset, experts stacked, ...). Weights are views
// into memory-mapped files wherever the layout allows (see Weight); what a loader had to
// compute (norm offsets, -exp(A_log)) or found misaligned lives in owned buffers.
#include "base/aligned_buffer.h"
#include "io/weight.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qwenrt {

// How to turn a stored weight into llama.cpp's layout when it is written to GGUF, for sources
// whose order differs (Qwen3.5 value heads: HF groups them by key head, GGUF tiles them).
struct ExportPermutation {
  std::vector<int64_t> rows;  // output row i = stored row rows[i] (empty: identity)
  int64_t col_block = 0;      // within each row, output block b = stored block col_blocks[b]
  std::vector<int64_t> col_blocks;
};

struct StoredWeight {
  std::string name;
  Weight weight;
  std::optional<ExportPermutation> export_permutation;
};

class WeightStore {
 public:
  // A weight whose parts are kept alive by `owner` (e.g. the ModelFiles). Misaligned parts are copied.
  const Weight& add(const std::string& name, Weight weight, std::shared_ptr<const void> owner = nullptr);
  // A tensor the loader computed.
  const Weight& add_owned(const std::string& name, DType dtype, const Shape& shape, AlignedBuffer buffer);
  // A weight whose parts all lie in `buffer`, which the store keeps.
  const Weight& add_owned(const std::string& name, AlignedBuffer buffer, Weight weight);
  // Allocates an owned tensor for the caller to fill.
  std::byte* add_uninitialized(const std::string& name, DType dtype, const Shape& shape);
  void set_export_permutation(const std::string& name, ExportPermutation permutation);

  const Weight* find(const std::string& name) const;
  // In insertion order (which GGUF writing keeps).
  const std::vector<StoredWeight>& tensors() const { return tensors_; }

  size_t total_bytes() const;
  size_t owned_bytes() const;

 private:
  StoredWeight& insert(const std::string& name, Weight weight);
  std::vector<StoredWeight> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<AlignedBuffer> owned_;
  std::vector<std::shared_ptr<const void>> owners_;
};

}  // namespace qwenrt
