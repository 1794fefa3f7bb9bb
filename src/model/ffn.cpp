#include "model/ffn.h"

#include "model/ops.h"

#include <vector>

namespace qwenrt {

void dense_ffn_forward(const ExecContext& ctx, const DenseFfnWeights& w, const float* x, int64_t n_tok, float* out,
                       int layer) {
  const int64_t n_ff = w.gate.rows();
  std::vector<float> gate(static_cast<size_t>(n_tok * n_ff));
  std::vector<float> up(static_cast<size_t>(n_tok * n_ff));
  linear(ctx, w.gate, x, n_tok, gate.data());
  linear(ctx, w.up, x, n_tok, up.data());
  silu_mul(gate.data(), up.data(), n_tok * n_ff);
  ctx.trace("ffn_act", layer, gate.data(), n_tok, n_ff);
  linear(ctx, w.down, gate.data(), n_tok, out);
}

}  // namespace qwenrt
