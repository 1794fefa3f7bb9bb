#pragma once
// GGUF (v2 and v3) as llama.cpp writes it: magic, version, tensor and metadata counts, typed
// metadata key/values, tensor infos (name, dims in ggml order, type, offset), then the aligned
// data section. Everything is validated on open; tensors are views into the memory map.
#include "io/mapped_file.h"
#include "io/safetensors.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qwenrt {

enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
const char* gguf_type_name(GgufType t);

struct GgufValue;

struct GgufArray {
  GgufType elem = GgufType::U8;
  std::vector<int64_t> ints;        // integer and BOOL elements (U64 kept as its bit pattern)
  std::vector<double> floats;       // F32 / F64 elements
  std::vector<std::string> strings; // STRING elements
  std::vector<GgufArray> arrays;    // nested ARRAY elements
  size_t size() const;
};

struct GgufValue {
  GgufType type = GgufType::U32;
  int64_t i = 0;     // integer types and BOOL
  double f = 0.0;    // F32, F64
  std::string s;     // STRING
  GgufArray arr;     // ARRAY

  static GgufValue u32(uint32_t v) { return integer(GgufType::U32, static_cast<int64_t>(v)); }
  static GgufValue i32(int32_t v) { return integer(GgufType::I32, v); }
  static GgufValue u64(uint64_t v) { return integer(GgufType::U64, static_cast<int64_t>(v)); }
  static GgufValue f32(float v) {
    GgufValue g;
    g.type = GgufType::F32;
    g.f = v;
    return g;
  }
  static GgufValue boolean(bool v) { return integer(GgufType::BOOL, v ? 1 : 0); }
  static GgufValue string(std::string v) {
    GgufValue g;
    g.type = GgufType::STRING;
    g.s = std::move(v);
    return g;
  }
  static GgufValue integer(GgufType type, int64_t v) {
    GgufValue g;
    g.type = type;
    g.i = v;
    return g;
  }
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue int_array(GgufType elem, std::vector<int64_t> v);
  static GgufValue float_array(std::vector<double> v);

  bool is_integer() const;
  bool is_float() const { return type == GgufType::F32 || type == GgufType::F64; }
};

class GgufFile {
 public:
  static GgufFile open(const std::string& path, LoadMode mode = LoadMode::Map);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;
  const std::vector<FileTensor>& tensors() const { return tensors_; }
  std::string architecture() const;  // general.architecture, or "" when absent

 private:
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<FileTensor> tensors_;
};

}  // namespace qwenrt
