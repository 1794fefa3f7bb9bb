#include "model/causal_lm.h"

#include "model/ops.h"
#include "model/output_head.h"

namespace qwenrt {

void CausalLm::bind_embeddings(WeightBinder& b) {
  rope_ = compute_rope_frequencies(hp_.rope);
  tok_embd_ = b.matrix("token_embd.weight", {hp_.n_vocab, hp_.n_embd}, "", MatrixUse::LookUp);
}

void CausalLm::bind_mtp(WeightBinder& b, bool moe) {
  const int il = static_cast<int>(hp_.n_layer);
  const std::string blk = "blk." + std::to_string(il) + ".";
  MtpBlock m;
  m.eh_proj = b.matrix(blk + "nextn.eh_proj.weight", {hp_.n_embd, 2 * hp_.n_embd}, "mtp.fc.weight");
  m.enorm = b.vector(blk + "nextn.enorm.weight", hp_.n_embd, "mtp.pre_fc_norm_embedding.weight",
                     [](float w) { return 1.0f + w; }, 1.0f);
  m.hnorm = b.vector(blk + "nextn.hnorm.weight", hp_.n_embd, "mtp.pre_fc_norm_hidden.weight",
                     [](float w) { return 1.0f + w; }, 1.0f);
  DecoderLayer layer = bind_decoder_layer(b, il, cfg_, /*full_attention=*/true, moe, "post_attention_norm.weight");
  layer.cache_layer = 0;  // the MTP cache holds this one layer
  m.layers.push_back(std::move(layer));
  m.final_norm = b.vector(blk + "nextn.shared_head_norm.weight", hp_.n_embd, "mtp.norm.weight",
                          [](float w) { return 1.0f + w; }, 1.0f);
  mtp_ = std::move(m);
}

void CausalLm::finish(WeightBinder& b, const std::string& arch, const std::string& hf_architecture,
                      const std::string& gguf_architecture, std::vector<std::pair<std::string, std::string>> extra) {
  output_norm_ = b.norm("output_norm.weight", hp_.n_embd, cfg_.norm_form);
  output_ = b.optional_matrix("output.weight", {hp_.n_vocab, hp_.n_embd}, !hp_.tied).value_or(tok_embd_);
  for (DecoderLayer& L : layers_) {
    if (L.attention) L.cache_layer = n_attention_layers_++;
    else L.state_layer = n_recurrent_layers_++;
  }
  weights_ = b.store();
  info_.arch = arch;
  info_.hf_architecture = hf_architecture;
  info_.gguf_architecture = gguf_architecture;
  info_.n_vocab = hp_.n_vocab;
  info_.n_embd = hp_.n_embd;
  info_.n_layer = hp_.n_layer;
  info_.n_ctx_train = hp_.n_ctx_train;
  info_.hparams = describe_common(hp_);
  for (auto& kv : extra) info_.hparams.push_back(std::move(kv));
}

std::unique_ptr<ModelState> CausalLm::new_state(const StateOptions& options) const {
  if (options.kv_type != DType::F32 && options.kv_type != DType::F16) {
    fail("KV cache type {} is not supported (F32 or F16)", dtype_name(options.kv_type));
  }
  const KvCache::Config kv{n_attention_layers_, static_cast<int>(hp_.n_head_kv), static_cast<int>(hp_.head_dim), 32, 0, options.kv_type};
  const RecurrentState::Config rec = cfg_.linear_attention.state_config(n_recurrent_layers_);
  KvCache::Config mtp_kv = kv;
  mtp_kv.n_layers = mtp_ ? static_cast<int>(mtp_->layers.size()) : 0;
  return std::make_unique<HybridState>(kv, rec, options.max_bytes, mtp_ ? &mtp_kv : nullptr);
}

size_t CausalLm::state_bytes_per_token(DType kv_type) const {
  const int layers = n_attention_layers_ + (mtp_ ? static_cast<int>(mtp_->layers.size()) : 0);
  return static_cast<size_t>(layers) * 2 * static_cast<size_t>(hp_.n_head_kv * hp_.head_dim) * (kv_type == DType::F16 ? 2 : 4);
}

size_t CausalLm::state_bytes_per_sequence() const {
  return RecurrentState(cfg_.linear_attention.state_config(n_recurrent_layers_)).bytes_per_sequence();
}

size_t CausalLm::decode_bytes_per_token() const {
  size_t bytes = 0;
  for (const StoredWeight& t : weights_->tensors()) {
    if (mtp_ && t.name.starts_with("blk." + std::to_string(hp_.n_layer) + ".")) continue;  // MTP: not in a plain step
    size_t b = t.weight.nbytes();
    if (t.name == "token_embd.weight" && !hp_.tied) b = t.weight.row_bytes();  // one row per token
    if (t.name.find("_exps.weight") != std::string::npos && cfg_.moe.n_expert > 0) {
      b = b / static_cast<size_t>(cfg_.moe.n_expert) * static_cast<size_t>(cfg_.moe.n_expert_used);
    }
    bytes += b;
  }
  return bytes;
}

void CausalLm::forward(const Batch& batch, ModelState& state, ForwardOutput& out, const ExecContext& ctx) const {
  validate_batch(batch, hp_.n_vocab);
  auto& st = static_cast<HybridState&>(state);
  const int64_t T = batch.size(), H = hp_.n_embd;
  const std::vector<int64_t> slots = st.prepare(batch);
  const RopeTable rope(rope_, batch.positions.data(), T);
  std::vector<float> x(static_cast<size_t>(T * H));
  embed_rows(tok_embd_, batch.tokens.data(), T, x.data());
  ctx.trace("inp_embd", -1, x.data(), T, H);
  run_decoder(ctx, cfg_, layers_, batch, slots, rope, st.kv, &st.recurrent, x.data());
  compute_logits(ctx, batch, x.data(), H, output_norm_, hp_.eps, output_, out);
}

void CausalLm::forward_mtp(const Batch& entries, const float* hidden, ModelState& state, ForwardOutput& out,
                           const ExecContext& ctx) const {
  if (!mtp_) Model::forward_mtp(entries, hidden, state, out, ctx);
  validate_batch(entries, hp_.n_vocab);
  auto& st = static_cast<HybridState&>(state);
  const int64_t T = entries.size(), H = hp_.n_embd;
  const std::vector<int64_t> slots = st.mtp_kv->append(entries);
  const RopeTable rope(rope_, entries.positions.data(), T);
  // [enorm(embed(x)) ; hnorm(h)], embedding first.
  std::vector<float> e(static_cast<size_t>(T * H)), h(hidden, hidden + T * H), cat(static_cast<size_t>(T * 2 * H));
  embed_rows(tok_embd_, entries.tokens.data(), T, e.data());
  rms_norm(ctx, e.data(), mtp_->enorm, T, H, hp_.eps, e.data());
  rms_norm(ctx, h.data(), mtp_->hnorm, T, H, hp_.eps, h.data());
  for (int64_t t = 0; t < T; ++t) {
    std::copy(e.begin() + t * H, e.begin() + (t + 1) * H, cat.begin() + t * 2 * H);
    std::copy(h.begin() + t * H, h.begin() + (t + 1) * H, cat.begin() + t * 2 * H + H);
  }
  std::vector<float> x(static_cast<size_t>(T * H));
  linear(ctx, mtp_->eh_proj, cat.data(), T, x.data());
  ctx.trace("mtp_inp", -1, x.data(), T, H);
  run_decoder(ctx, cfg_, mtp_->layers, entries, slots, rope, *st.mtp_kv, nullptr, x.data(), static_cast<int>(hp_.n_layer));
  compute_logits(ctx, entries, x.data(), H, mtp_->final_norm, hp_.eps, output_, out);
}

}  // namespace qwenrt
