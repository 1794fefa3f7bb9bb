#pragma once
// The dense SwiGLU feed-forward block: down( silu(gate x) * up x ), no biases.
#include "model/exec_context.h"
#include "io/weight.h"
#include "model/weight_binder.h"

#include <string>

namespace qwenrt {

struct DenseFfnWeights {
  Weight gate;  // [n_ff, n_embd]
  Weight up;    // [n_ff, n_embd]
  Weight down;  // [n_embd, n_ff]
};

// Binds blk.{il}.ffn_{gate,up,down}{suffix}.weight (suffix "_shexp" for a shared expert).
DenseFfnWeights bind_dense_ffn(WeightBinder& b, int il, int64_t n_ff, int64_t n_embd, const std::string& suffix = "");

// x, out: [n_tok x n_embd]
void dense_ffn_forward(const ExecContext& ctx, const DenseFfnWeights& w, const float* x, int64_t n_tok, float* out,
                       int layer);

}  // namespace qwenrt
