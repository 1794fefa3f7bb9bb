#include "model/ffn.h"

#include "model/ops.h"

#include "base/scratch.h"

namespace qwenrt {

DenseFfnWeights bind_dense_ffn(WeightBinder& b, int il, int64_t n_ff, int64_t n_embd, const std::string& suffix) {
  const std::string blk = "blk." + std::to_string(il) + ".";
  DenseFfnWeights w;
  w.gate = b.matrix(blk + "ffn_gate" + suffix + ".weight", {n_ff, n_embd});
  w.up = b.matrix(blk + "ffn_up" + suffix + ".weight", {n_ff, n_embd});
  w.down = b.matrix(blk + "ffn_down" + suffix + ".weight", {n_embd, n_ff});
  return w;
}

void dense_ffn_forward(const ExecContext& ctx, const DenseFfnWeights& w, const float* x, int64_t n_tok, float* out,
                       int layer) {
  const int64_t n_ff = w.gate.rows();
  Scratch<float> gate(static_cast<size_t>(n_tok * n_ff));
  Scratch<float> up(static_cast<size_t>(n_tok * n_ff));
  linear_many(ctx, {{&w.gate, x, n_tok, gate.data()}, {&w.up, x, n_tok, up.data()}});  // one quantization of x
  silu_mul(ctx, gate.data(), up.data(), n_tok * n_ff);
  ctx.trace("ffn_act", layer, gate.data(), n_tok, n_ff);
  linear(ctx, w.down, gate.data(), n_tok, out);
}

}  // namespace qwenrt
