#pragma once
// A batch of tokens for one forward pass. Tokens may belong to different sequences (prefill of
// one prompt, one decode token from each of many streams, or a mix), so prefill, decode and
// continuous batching share one code path. Each sequence's tokens must appear in the order they
// extend that sequence; `positions` are the RoPE positions (normally the index in the sequence).
#include <cstdint>
#include <vector>

namespace qwenrt {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> want_logits;  // 1: return this token's logits

  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  void add(int32_t token, int32_t position, int32_t seq, bool logits) {
    tokens.push_back(token);
    positions.push_back(position);
    seq_ids.push_back(seq);
    want_logits.push_back(logits ? 1 : 0);
  }
  void clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
  }
  int64_t n_outputs() const {
    int64_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
  }
};

// What a forward pass returns: one row per token with want_logits, in batch order.
struct ForwardOutput {
  bool return_hidden = false;  // set before the call: also return the final-normed hidden states
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  std::vector<float> logits;  // [n_outputs x n_vocab]
  std::vector<float> hidden;  // [n_outputs x n_embd] when return_hidden
  std::vector<int64_t> rows;  // batch index of each output row
  const float* row(int64_t i) const { return logits.data() + i * n_vocab; }
};

}  // namespace qwenrt
