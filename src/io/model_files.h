#pragma once
// Opens a model from a path, detecting its format: a Hugging Face directory (config.json plus
// model.safetensors or a sharded model.safetensors.index.json) or a GGUF file. Gives access to
// the configuration and to every tensor as the file names and shapes it, memory-mapped.
#include "io/gguf.h"
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qwenrt {

enum class ModelFormat { HuggingFace, Gguf };

class ModelFiles {
 public:
  // `mode`: how the weight files are held (Auto decides once for all of them).
  static std::shared_ptr<const ModelFiles> open(const std::string& path, LoadMode mode = LoadMode::Map);
  // Copy when the weights were read into memory, Map when they are mapped.
  LoadMode load_mode() const { return load_mode_; }

  ModelFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  // HF: the directory; GGUF: the directory holding the file.
  const std::string& directory() const { return directory_; }
  // The file that names the configuration in error messages: config.json or the .gguf.
  const std::string& config_origin() const { return config_origin_; }

  const nlohmann::ordered_json& hf_config() const;  // HuggingFace only
  const GgufFile& gguf() const;                     // Gguf only

  // HF: config.json "architectures"[0] (or model_type); GGUF: general.architecture.
  std::string architecture() const;

  const std::vector<FileTensor>& tensors() const { return tensors_; }
  const FileTensor* find(const std::string& name) const;

 private:
  void index_tensors();

  ModelFormat format_ = ModelFormat::HuggingFace;
  LoadMode load_mode_ = LoadMode::Map;
  std::string path_;
  std::string directory_;
  std::string config_origin_;
  nlohmann::ordered_json config_;
  std::unique_ptr<GgufFile> gguf_;
  std::vector<SafetensorsFile> shards_;
  std::vector<FileTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

// True when `path` looks like a model this library can open (a directory with config.json, or a
// file starting with the GGUF magic).
bool looks_like_model_path(const std::string& path);

}  // namespace qwenrt
