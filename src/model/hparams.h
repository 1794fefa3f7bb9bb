#pragma once
// The hyperparameters every decoder-only family here shares, read from config.json or GGUF
// metadata, written back as llama.cpp's converter writes them, and described for `qwenrt info`.
#include "io/config_reader.h"
#include "model/rope.h"

#include <string>
#include <utility>
#include <vector>

namespace qwenrt {

class WeightBinder;
class GgufWriter;

struct CommonHparams {
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;  // decoder layers of the trunk (MTP layers not included)
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ctx_train = 0;
  float eps = 1e-6f;
  bool tied = false;
  RopeConfig rope;
};

// n_layer comes from num_hidden_layers / {arch}.block_count minus `gguf_extra_layers` (Qwen3.5's
// GGUF block_count counts its MTP layers). The vocabulary size is config.json's vocab_size or
// the GGUF embedding's rows; `tied` is config.json's tie_word_embeddings or, in GGUF, the
// absence of output.weight.
CommonHparams read_common_hparams(const ConfigReader& cfg, const WeightBinder& binder, int64_t gguf_extra_layers = 0);

// {arch}.block_count (+ extra layers), context_length, embedding_length, attention.head_count(_kv),
// rope.*, attention.layer_norm_rms_epsilon, attention.key_length / value_length.
// `feed_forward_length` is written when > 0.
void write_common_gguf(GgufWriter& w, const std::string& arch, const CommonHparams& hp, int64_t n_ff,
                       int64_t extra_layers = 0);

std::vector<std::pair<std::string, std::string>> describe_common(const CommonHparams& hp);

}  // namespace qwenrt
