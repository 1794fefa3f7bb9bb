#pragma once
// The architecture-agnostic face of a loaded model: what the engine and the tools see.
// One subclass per family lives in src/models/.
#include "io/model_files.h"
#include "io/weight_store.h"
#include "model/batch.h"
#include "model/exec_context.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace qwenrt {

class GgufWriter;

struct ModelInfo {
  std::string arch;               // qwenrt's name for the family: "qwen3"
  std::string hf_architecture;    // "Qwen3ForCausalLM"
  std::string gguf_architecture;  // "qwen3"
  std::string source;             // the path it was loaded from ("synthetic:..." for benchmarks)
  int64_t n_vocab = 0;            // logits columns (embedding rows)
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ctx_train = 0;
  std::vector<int32_t> eos_ids;   // end-of-generation ids the model declares
  std::vector<std::pair<std::string, std::string>> hparams;  // printable, for `qwenrt info`
};

// Per-sequence memory of all sequences a model is running (KV caches, recurrent states).
class ModelState {
 public:
  virtual ~ModelState() = default;
  virtual int64_t length(int seq) const = 0;
  // Forgets positions >= length of a sequence (length 0 frees it).
  virtual void truncate(int seq, int64_t length) = 0;
  void release(int seq) { truncate(seq, 0); }
  virtual size_t bytes_in_use() const = 0;
};

struct StateOptions {
  size_t max_bytes = 0;  // cache memory budget; 0 = unbounded
  DType kv_type = DType::F32;  // the attention layers' KV cache: F32, or F16 (half the memory)
};

class Model {
 public:
  virtual ~Model() = default;

  const ModelInfo& info() const { return info_; }
  void set_source(std::string source) { info_.source = std::move(source); }
  void set_eos_ids(std::vector<int32_t> ids) { info_.eos_ids = std::move(ids); }
  const WeightStore& weights() const { return *weights_; }

  virtual std::unique_ptr<ModelState> new_state(const StateOptions& options) const = 0;
  // Runs the batch, appending its tokens to their sequences in `state`. Throws Error on a bad
  // batch (token ids out of range, cache budget exhausted) before changing the state.
  virtual void forward(const Batch& batch, ModelState& state, ForwardOutput& out, const ExecContext& ctx) const = 0;

  // Cache bytes one more token of context costs (all layers) with a KV cache of `kv_type`, and the
  // fixed per-sequence state of linear-attention layers.
  virtual size_t state_bytes_per_token(DType kv_type = DType::F32) const = 0;
  virtual size_t state_bytes_per_sequence() const { return 0; }
  // Weight bytes one decode step reads (all weights but the unused embedding rows and the
  // experts a token does not route to): the numerator of the decode roofline.
  virtual size_t decode_bytes_per_token() const { return weights_->total_bytes(); }

  // Multi-token prediction (Qwen3-Next, Qwen3.5): entry j pairs the trunk's final-normed hidden
  // state at position p (`hidden` row j) with the token at p + 1 (`entries.tokens[j]`) at RoPE
  // position p; its logits predict the token at p + 2. The MTP layer keeps its own cache in `state`.
  virtual bool has_mtp() const { return false; }
  virtual void forward_mtp(const Batch& entries, const float* hidden, ModelState& state, ForwardOutput& out,
                           const ExecContext& ctx) const;

  // The architecture's metadata keys as llama.cpp's converter writes them.
  virtual void write_gguf_metadata(GgufWriter& writer) const = 0;
  // Whether a stored tensor belongs in a GGUF file (llama.cpp's converter drops some, e.g.
  // Qwen3-Next's MTP layer, and its loader refuses files with tensors it does not expect).
  virtual bool exports_tensor(const std::string& name) const { return true; }
  // tokenizer.ggml.pre for this family's tokenizer ("qwen2", "qwen35").
  virtual std::string gguf_tokenizer_pre() const { return "qwen2"; }

 protected:
  ModelInfo info_;
  std::shared_ptr<WeightStore> weights_;
};

// Checks a batch against a model before anything runs: consistent sizes, token ids in
// [0, n_vocab), non-negative sequence ids and positions. Throws Error naming the first problem.
void validate_batch(const Batch& batch, int64_t n_vocab);

}  // namespace qwenrt
