#pragma once
// Generation for one sequence: prefill the prompt in one batch, then decode token by token
// through the model state. (Serving many sequences at once is the scheduler's job; this is the
// exact, scriptable path behind `qwenrt generate`.)
#include "engine/sampler.h"
#include "model/model.h"

#include <functional>
#include <vector>

namespace qwenrt {

struct GenerateParams {
  int max_new_tokens = 16;
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;  // generation ends after emitting one of these
  int prefill_chunk = 256;        // prompt tokens per forward pass (the scheduler's kPrefillChunk grid)
};

// Called after each sampled token with the logits it was drawn from; return false to stop.
using TokenCallback = std::function<bool(int32_t token, const float* logits, int64_t n_vocab)>;

// Continues `context` in sequence `seq` of `state` and returns the new tokens. The state may
// already hold a prefix of the context (a chat's earlier turns): only the tokens past
// state.length(seq) are run, and at least one must be. The whole context counts for the
// repetition penalty, as in Hugging Face's generate().
std::vector<int32_t> generate(const Model& model, ModelState& state, const ExecContext& ctx, int seq,
                              const std::vector<int32_t>& context, const GenerateParams& params,
                              const TokenCallback& on_token = nullptr);

}  // namespace qwenrt
