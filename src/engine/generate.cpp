#include "engine/generate.h"

#include "base/error.h"

#include <algorithm>

namespace qwenrt {

std::vector<int32_t> generate(const Model& model, ModelState& state, const ExecContext& ctx, int seq,
                              const std::vector<int32_t>& prompt, const GenerateParams& params,
                              const TokenCallback& on_token) {
  if (prompt.empty()) fail("the prompt is empty: generation needs at least one token");
  std::vector<int32_t> out;
  if (params.max_new_tokens <= 0) return out;
  Sampler sampler(params.sampling);
  ForwardOutput fwd;
  Batch batch;
  int64_t pos = state.length(seq);
  const auto chunk = static_cast<size_t>(std::max(params.prefill_chunk, 1));
  for (size_t i = 0; i < prompt.size(); i += chunk) {
    batch.clear();
    const size_t end = std::min(prompt.size(), i + chunk);
    for (size_t j = i; j < end; ++j) batch.add(prompt[j], static_cast<int32_t>(pos++), seq, j + 1 == prompt.size());
    model.forward(batch, state, fwd, ctx);
  }
  while (true) {
    const int32_t token = sampler.sample(fwd.row(0), fwd.n_vocab);
    out.push_back(token);
    if (on_token && !on_token(token, fwd.row(0), fwd.n_vocab)) break;
    if (std::find(params.stop_ids.begin(), params.stop_ids.end(), token) != params.stop_ids.end()) break;
    if (static_cast<int>(out.size()) >= params.max_new_tokens) break;
    batch.clear();
    batch.add(token, static_cast<int32_t>(pos++), seq, true);
    model.forward(batch, state, fwd, ctx);
  }
  return out;
}

}  // namespace qwenrt
