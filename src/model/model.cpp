#include "model/model.h"

#include "base/error.h"

namespace qwenrt {

void Model::forward_mtp(const Batch&, const float*, ModelState&, ForwardOutput&, const ExecContext&) const {
  fail("{}: this model has no multi-token-prediction layer", info_.source);
}

void validate_batch(const Batch& batch, int64_t n_vocab) {
  const size_t n = batch.tokens.size();
  if (batch.positions.size() != n || batch.seq_ids.size() != n || batch.want_logits.size() != n) {
    fail("batch arrays have different lengths");
  }
  for (size_t i = 0; i < n; ++i) {
    const int32_t t = batch.tokens[i];
    if (t < 0 || t >= n_vocab) fail("token id {} at index {} is out of range: the vocabulary has ids 0..{}", t, i, n_vocab - 1);
    if (batch.seq_ids[i] < 0) fail("sequence id {} at index {} is negative", batch.seq_ids[i], i);
    if (batch.positions[i] < 0) fail("position {} at index {} is negative", batch.positions[i], i);
  }
}

}  // namespace qwenrt
