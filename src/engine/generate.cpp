#include "engine/generate.h"

#include "base/error.h"

#include <algorithm>

namespace qwenrt {

std::vector<int32_t> generate(const Model& model, ModelState& state, const ExecContext& ctx, int seq,
                              const std::vector<int32_t>& context, const GenerateParams& params,
                              const TokenCallback& on_token) {
  if (context.empty()) fail("the prompt is empty: generation needs at least one token");
  std::vector<int32_t> out;
  if (params.max_new_tokens <= 0) return out;
  int64_t pos = state.length(seq);
  if (pos >= static_cast<int64_t>(context.size())) {
    fail("generate: the state already holds {} tokens of a {}-token context; nothing new to run", pos, context.size());
  }
  Sampler sampler(params.sampling);
  sampler.set_prompt(context);
  ForwardOutput fwd;
  Batch batch;
  const auto chunk = static_cast<size_t>(std::max(params.prefill_chunk, 1));
  // Chunks on a fixed grid of positions (as the scheduler reads prompts), wherever the state starts.
  for (auto i = static_cast<size_t>(pos); i < context.size();) {
    batch.clear();
    const size_t end = std::min(context.size(), (i / chunk + 1) * chunk);
    for (size_t j = i; j < end; ++j) batch.add(context[j], static_cast<int32_t>(pos++), seq, j + 1 == context.size());
    model.forward(batch, state, fwd, ctx);
    i = end;
  }
  while (true) {
    const int32_t token = sampler.sample(fwd.row(0), fwd.n_vocab);
    sampler.accept(token);
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
