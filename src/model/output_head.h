#pragma once
// The end of every causal LM: final RMSNorm and the LM head, computed only for the tokens whose
// logits were asked for.
#include "model/batch.h"
#include "model/exec_context.h"
#include "io/weight.h"

namespace qwenrt {

// x: [n_tok x n_embd] residual stream after the last layer.
void compute_logits(const ExecContext& ctx, const Batch& batch, const float* x, int64_t n_embd,
                    const float* final_norm, float eps, const Weight& lm_head, ForwardOutput& out);

}  // namespace qwenrt
