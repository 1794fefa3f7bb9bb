#pragma once
// Writes a loaded model as a GGUF file llama.cpp loads: its canonical tensors under llama.cpp's
// names, the architecture metadata its converter writes, the tokenizer (from tokenizer.json for
// Hugging Face sources, copied for GGUF sources), and each tensor in the type the file type's mix
// gives it (api/quant_mix.h).
#include "api/quant_mix.h"
#include "model/model.h"
#include "threading/thread_pool.h"

#include <string>

namespace qwenrt {

struct ExportReport {
  size_t n_tensors = 0;
  size_t bytes = 0;
  std::vector<std::pair<std::string, DType>> types;  // per tensor, in file order
};

// `tokenizer_dir` (optional) supplies tokenizer.json & co. when the model's own source has none
// (synthetic models).
// `pure`: every quantizable matrix in the file type's base type (llama-quantize --pure).
ExportReport export_gguf(const Model& model, const std::string& out_path, FileType type, bool pure, ThreadPool& pool,
                         const std::string& tokenizer_dir = "");

}  // namespace qwenrt
