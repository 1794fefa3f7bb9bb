#pragma once
// A causal language model made of the shared decoder layers: embeddings, the trunk, the final
// norm and the LM head (or the tied embeddings), optionally a multi-token-prediction block.
// A family (src/models/) fills these fields from its hyperparameters and tensor table and adds
// its GGUF metadata; the forward pass is this one.
#include "model/decoder.h"
#include "model/hparams.h"
#include "model/model.h"

#include <optional>

namespace qwenrt {

// MTP (MODELS.md 4.6): u = eh_proj [enorm(embed(x_{t+1})) ; hnorm(h_t)], one full-attention
// decoder layer with its own cache, the shared_head_norm, the shared LM head.
struct MtpBlock {
  const float* enorm = nullptr;
  const float* hnorm = nullptr;
  Weight eh_proj;  // [n_embd, 2 n_embd]
  std::vector<DecoderLayer> layers;
  const float* final_norm = nullptr;
};

class CausalLm : public Model {
 public:
  std::unique_ptr<ModelState> new_state(const StateOptions& options) const override;
  void forward(const Batch& batch, ModelState& state, ForwardOutput& out, const ExecContext& ctx) const override;
  size_t state_bytes_per_token(DType kv_type = DType::F32) const override;
  size_t state_bytes_per_sequence() const override;
  size_t decode_bytes_per_token() const override;
  bool has_mtp() const override { return mtp_.has_value(); }
  void forward_mtp(const Batch& entries, const float* hidden, ModelState& state, ForwardOutput& out,
                   const ExecContext& ctx) const override;

 protected:
  // Binds token_embd; call first.
  void bind_embeddings(WeightBinder& b);
  // Binds output_norm and the LM head, numbers the attention / recurrent layers, records the
  // weights and the description. Call last.
  void finish(WeightBinder& b, const std::string& arch, const std::string& hf_architecture,
              const std::string& gguf_architecture, std::vector<std::pair<std::string, std::string>> extra_hparams);
  // Binds the MTP block as layer index hp_.n_layer (HF: mtp.*).
  void bind_mtp(WeightBinder& b, bool moe);

  CommonHparams hp_;
  DecoderConfig cfg_;
  RopeFrequencies rope_;
  Weight tok_embd_;
  std::vector<DecoderLayer> layers_;
  const float* output_norm_ = nullptr;
  Weight output_;
  std::optional<MtpBlock> mtp_;

 private:
  int n_attention_layers_ = 0;
  int n_recurrent_layers_ = 0;
};

}  // namespace qwenrt
