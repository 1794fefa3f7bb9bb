#pragma once
// The dense SwiGLU feed-forward block: down( silu(gate x) * up x ), no biases.
#include "model/exec_context.h"
#include "io/weight.h"

namespace qwenrt {

struct DenseFfnWeights {
  Weight gate;  // [n_ff, n_embd]
  Weight up;    // [n_ff, n_embd]
  Weight down;  // [n_embd, n_ff]
};

// x, out: [n_tok x n_embd]
void dense_ffn_forward(const ExecContext& ctx, const DenseFfnWeights& w, const float* x, int64_t n_tok, float* out,
                       int layer);

}  // namespace qwenrt
