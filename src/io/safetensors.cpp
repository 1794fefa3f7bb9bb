#include "io/safetensors.h"

#include "base/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace qwenrt {
namespace {

struct StDType {
  const char* name;
  int bytes;
  std::optional<DType> dtype;
};

constexpr StDType kStDTypes[] = {
    {"F32", 4, DType::F32}, {"F16", 2, DType::F16},        {"BF16", 2, DType::BF16},     {"F64", 8, std::nullopt},
    {"I64", 8, std::nullopt}, {"U64", 8, std::nullopt},    {"I32", 4, std::nullopt},     {"U32", 4, std::nullopt},
    {"I16", 2, std::nullopt}, {"U16", 2, std::nullopt},    {"I8", 1, std::nullopt},      {"U8", 1, std::nullopt},
    {"BOOL", 1, std::nullopt}, {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
};

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own limit is 100 MB
constexpr int64_t kMaxDim = int64_t{1} << 40;

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path, LoadMode mode) {
  SafetensorsFile st;
  st.file_ = MappedFile::open(path, mode);
  const size_t size = st.file_->size();
  if (size < 8) fail("{}: truncated safetensors file: {} bytes, the header length alone needs 8", path, size);
  uint64_t header_len;
  std::memcpy(&header_len, st.file_->data(), 8);
  if (header_len > size - 8) {
    fail("{}: safetensors header length {} runs past the end of the file ({} bytes)", path, header_len, size);
  }
  if (header_len > kMaxHeaderBytes) fail("{}: safetensors header length {} exceeds 100 MB", path, header_len);
  const char* hp = reinterpret_cast<const char*>(st.file_->data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(hp, hp + header_len);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: safetensors header is not valid JSON: {}", path, e.what());
  }
  if (!header.is_object()) fail("{}: safetensors header is not a JSON object", path);

  const size_t data_start = 8 + static_cast<size_t>(header_len);
  const size_t data_size = size - data_start;
  struct Range {
    size_t begin, end;
    size_t index;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") continue;
    const auto& e = it.value();
    auto bad = [&](const std::string& why) { fail("{}: tensor '{}': {}", path, name, why); };
    if (!e.is_object()) bad("header entry is not an object");
    if (!e.contains("dtype") || !e["dtype"].is_string()) bad("missing or non-string 'dtype'");
    if (!e.contains("shape") || !e["shape"].is_array()) bad("missing or non-array 'shape'");
    if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2) {
      bad("'data_offsets' must be an array of two integers");
    }
    const std::string dtype_name = e["dtype"].get<std::string>();
    const StDType* dt = nullptr;
    for (const auto& d : kStDTypes) {
      if (dtype_name == d.name) dt = &d;
    }
    if (!dt) bad("unknown dtype '" + dtype_name + "'");
    const auto& shape_json = e["shape"];
    if (shape_json.size() > kMaxRank) bad(fmt::format("rank {} exceeds {}", shape_json.size(), kMaxRank));
    Shape shape;
    int64_t numel = 1;
    for (const auto& d : shape_json) {
      if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers");
      const uint64_t v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(kMaxDim)) bad(fmt::format("dimension {} is too large", v));
      shape.dims[static_cast<size_t>(shape.rank++)] = static_cast<int64_t>(v);
      numel *= static_cast<int64_t>(v);
      if (numel > (int64_t{1} << 50)) bad("too many elements");
    }
    if (shape.rank == 0) shape = Shape{1};  // a scalar
    for (const auto& o : e["data_offsets"]) {
      if (!o.is_number_unsigned()) bad("'data_offsets' must be non-negative integers");
    }
    const uint64_t begin = e["data_offsets"][0].get<uint64_t>();
    const uint64_t end = e["data_offsets"][1].get<uint64_t>();
    if (begin > end) bad(fmt::format("data_offsets [{}, {}] are reversed", begin, end));
    if (end > data_size) {
      bad(fmt::format("data_offsets [{}, {}] run past the end of the data ({} bytes)", begin, end, data_size));
    }
    const uint64_t expected = static_cast<uint64_t>(numel) * static_cast<uint64_t>(dt->bytes);
    if (end - begin != expected) {
      bad(fmt::format("data_offsets span {} bytes but shape {} of {} needs {}", end - begin, shape.str(), dtype_name,
                      expected));
    }
    FileTensor t;
    t.name = name;
    t.dtype_name = dtype_name;
    t.supported = dt->dtype.has_value();
    t.view.dtype = dt->dtype.value_or(DType::F32);
    t.view.shape = shape;
    t.view.data = st.file_->data() + data_start + begin;
    t.nbytes = static_cast<size_t>(expected);
    t.file = path;
    ranges.push_back({static_cast<size_t>(begin), static_cast<size_t>(end), st.tensors_.size()});
    st.tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  const Range* furthest = nullptr;  // the non-empty range seen so far that reaches furthest
  for (const Range& r : ranges) {
    if (r.end == r.begin) continue;
    if (furthest && r.begin < furthest->end) {
      fail("{}: tensors '{}' and '{}' overlap (bytes [{}, {}) and [{}, {}))", path, st.tensors_[furthest->index].name,
           st.tensors_[r.index].name, furthest->begin, furthest->end, r.begin, r.end);
    }
    if (!furthest || r.end > furthest->end) furthest = &r;
  }
  return st;
}

}  // namespace qwenrt
