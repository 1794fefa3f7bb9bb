#include "io/model_files.h"

#include "base/error.h"
#include "base/strings.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace qwenrt {
namespace fs = std::filesystem;
namespace {

bool has_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

nlohmann::ordered_json parse_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", path, e.what());
  }
}

}  // namespace

bool looks_like_model_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fs::exists(fs::path(path) / "config.json", ec);
  return fs::is_regular_file(path, ec) && has_gguf_magic(path);
}

std::shared_ptr<const ModelFiles> ModelFiles::open(const std::string& path, LoadMode mode) {
  auto m = std::make_shared<ModelFiles>();
  m->path_ = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: no such file or directory", path);
  if (fs::is_directory(path, ec)) {
    m->format_ = ModelFormat::HuggingFace;
    m->directory_ = path;
    const fs::path dir(path);
    m->config_origin_ = (dir / "config.json").string();
    if (!fs::exists(dir / "config.json", ec)) {
      fail("{}: not a model directory: config.json is missing", path);
    }
    m->config_ = parse_json_file(m->config_origin_);
    if (!m->config_.is_object()) fail("{}: the top level is not a JSON object", m->config_origin_);

    const fs::path single = dir / "model.safetensors";
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(index, ec)) {
      const auto idx = parse_json_file(index.string());
      if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object()) {
        fail("{}: 'weight_map' is missing or not an object", index.string());
      }
      std::set<std::string> shard_names;
      for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
        if (!it.value().is_string()) fail("{}: weight_map['{}'] is not a file name", index.string(), it.key());
        const std::string name = it.value().get<std::string>();
        if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
            name == "." || name == "..") {
          fail("{}: weight_map['{}'] = '{}' is not a plain file name", index.string(), it.key(), name);
        }
        shard_names.insert(name);
      }
      size_t bytes = 0;
      for (const auto& name : shard_names) bytes += fs::file_size(dir / name, ec);
      m->load_mode_ = resolve_load_mode(mode, bytes);
      for (const auto& name : shard_names) m->shards_.push_back(SafetensorsFile::open((dir / name).string(), m->load_mode_));
      m->index_tensors();
      for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
        const FileTensor* t = m->find(it.key());
        const std::string shard = (dir / it.value().get<std::string>()).string();
        if (!t || t->file != shard) {
          fail("{}: tensor '{}' is listed in {} but not found there", index.string(), it.key(), shard);
        }
      }
    } else if (fs::exists(single, ec)) {
      m->load_mode_ = resolve_load_mode(mode, fs::file_size(single, ec));
      m->shards_.push_back(SafetensorsFile::open(single.string(), m->load_mode_));
      m->index_tensors();
    } else if (fs::exists(dir / "pytorch_model.bin", ec)) {
      fail("{}: only safetensors weights are supported (found pytorch_model.bin)", path);
    } else {
      fail("{}: neither model.safetensors nor model.safetensors.index.json is present", path);
    }
    return m;
  }
  if (!has_gguf_magic(path)) {
    if (fs::path(path).extension() == ".safetensors") {
      fail("{}: pass the model directory (holding config.json and this file), not the .safetensors file", path);
    }
    fail("{}: not a model: expected a Hugging Face model directory or a GGUF file", path);
  }
  m->format_ = ModelFormat::Gguf;
  m->directory_ = fs::path(path).parent_path().string();
  if (m->directory_.empty()) m->directory_ = ".";
  m->config_origin_ = path;
  m->load_mode_ = resolve_load_mode(mode, fs::file_size(path, ec));
  m->gguf_ = std::make_unique<GgufFile>(GgufFile::open(path, m->load_mode_));
  m->tensors_ = m->gguf_->tensors();
  for (size_t i = 0; i < m->tensors_.size(); ++i) m->index_.emplace(m->tensors_[i].name, i);
  return m;
}

void ModelFiles::index_tensors() {
  for (const auto& shard : shards_) {
    for (const auto& t : shard.tensors()) {
      if (index_.count(t.name)) fail("{}: tensor '{}' appears in more than one file", path_, t.name);
      index_.emplace(t.name, tensors_.size());
      tensors_.push_back(t);
    }
  }
}

const nlohmann::ordered_json& ModelFiles::hf_config() const {
  QW_CHECK(format_ == ModelFormat::HuggingFace);
  return config_;
}

const GgufFile& ModelFiles::gguf() const {
  QW_CHECK(format_ == ModelFormat::Gguf);
  return *gguf_;
}

std::string ModelFiles::architecture() const {
  if (format_ == ModelFormat::Gguf) {
    const std::string arch = gguf_->architecture();
    if (arch.empty()) fail("{}: metadata key 'general.architecture' is missing", path_);
    return arch;
  }
  if (config_.contains("architectures")) {
    const auto& a = config_["architectures"];
    if (!a.is_array() || a.empty() || !a[0].is_string()) {
      fail("{}: key 'architectures' must be a non-empty array of strings", config_origin_);
    }
    return a[0].get<std::string>();
  }
  fail("{}: key 'architectures' is missing", config_origin_);
}

const FileTensor* ModelFiles::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qwenrt
