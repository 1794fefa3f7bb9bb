#include "model/output_head.h"

#include "model/ops.h"

#include <cstring>
#include <vector>

namespace qwenrt {

void compute_logits(const ExecContext& ctx, const Batch& batch, const float* x, int64_t n_embd,
                    const float* final_norm, float eps, const Weight& lm_head, ForwardOutput& out) {
  out.rows.clear();
  for (int64_t i = 0; i < batch.size(); ++i) {
    if (batch.want_logits[static_cast<size_t>(i)]) out.rows.push_back(i);
  }
  const auto n_out = static_cast<int64_t>(out.rows.size());
  std::vector<float> h(static_cast<size_t>(n_out * n_embd));
  for (int64_t r = 0; r < n_out; ++r) {
    std::memcpy(h.data() + r * n_embd, x + out.rows[static_cast<size_t>(r)] * n_embd, sizeof(float) * static_cast<size_t>(n_embd));
  }
  rms_norm(ctx, h.data(), final_norm, n_out, n_embd, eps, h.data());
  ctx.trace("result_norm", -1, h.data(), n_out, n_embd);
  out.n_embd = n_embd;
  if (out.return_hidden) out.hidden = h;
  out.n_vocab = lm_head.rows();
  out.logits.resize(static_cast<size_t>(n_out * out.n_vocab));
  linear(ctx, lm_head, h.data(), n_out, out.logits.data());
}

}  // namespace qwenrt
