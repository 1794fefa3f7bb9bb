#pragma once
// Writes a loaded model as a GGUF file llama.cpp loads: its canonical tensors under llama.cpp's
// names, the architecture metadata its converter writes, the tokenizer (from tokenizer.json for
// Hugging Face sources, copied for GGUF sources), and each tensor in the requested type with
// the converter's exceptions (norms, 1-D tensors and routers stay F32; rows that do not fit the
// type's block size fall back to F16).
#include "model/model.h"
#include "threading/thread_pool.h"

#include <string>

namespace qwenrt {

struct ExportReport {
  size_t n_tensors = 0;
  size_t bytes = 0;
  std::vector<std::pair<std::string, DType>> types;  // per tensor, in file order
};

// The llama.cpp file-type id (general.file_type) of an all-`type` file.
uint32_t gguf_file_type(DType type);

// The type the converter gives tensor `name` of `shape` when the file type is `target`.
DType export_tensor_type(const std::string& name, const Shape& shape, DType target);

// `tokenizer_dir` (optional) supplies tokenizer.json & co. when the model's own source has none
// (synthetic models).
ExportReport export_gguf(const Model& model, const std::string& out_path, DType target, ThreadPool& pool,
                         const std::string& tokenizer_dir = "");

}  // namespace qwenrt
