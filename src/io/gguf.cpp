#include "io/gguf.h"

#include "base/error.h"
#include "io/byte_reader.h"

#include <algorithm>

namespace qwenrt {
namespace {

constexpr int kMaxArrayDepth = 4;

size_t min_encoded_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
    case GgufType::STRING:
      return 8;
    case GgufType::ARRAY:
      return 12;
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

int64_t read_int(ByteReader& r, GgufType t, const std::string& what) {
  switch (t) {
    case GgufType::U8:
      return r.read<uint8_t>(what);
    case GgufType::I8:
      return r.read<int8_t>(what);
    case GgufType::U16:
      return r.read<uint16_t>(what);
    case GgufType::I16:
      return r.read<int16_t>(what);
    case GgufType::U32:
      return r.read<uint32_t>(what);
    case GgufType::I32:
      return r.read<int32_t>(what);
    case GgufType::U64:
      return static_cast<int64_t>(r.read<uint64_t>(what));
    case GgufType::I64:
      return r.read<int64_t>(what);
    case GgufType::BOOL:
      return r.read<uint8_t>(what) != 0;
    default:
      QW_CHECK(false);
  }
}

GgufArray read_array(ByteReader& r, const std::string& what, const std::string& origin, int depth) {
  if (depth > kMaxArrayDepth) fail("{}: {}: arrays nested deeper than {}", origin, what, kMaxArrayDepth);
  GgufArray a;
  const uint32_t elem = r.read<uint32_t>(what + " element type");
  if (!valid_type(elem)) fail("{}: {}: unknown array element type {}", origin, what, elem);
  a.elem = static_cast<GgufType>(elem);
  const uint64_t n = r.read<uint64_t>(what + " length");
  if (n > r.remaining() / min_encoded_size(a.elem)) {
    fail("{}: truncated at offset {}: {} claims {} elements but only {} bytes remain", origin, r.offset(), what, n,
         r.remaining());
  }
  const size_t count = static_cast<size_t>(n);
  switch (a.elem) {
    case GgufType::STRING:
      a.strings.reserve(count);
      for (size_t i = 0; i < count; ++i) a.strings.push_back(r.read_string(what));
      break;
    case GgufType::F32:
      a.floats.reserve(count);
      for (size_t i = 0; i < count; ++i) a.floats.push_back(r.read<float>(what));
      break;
    case GgufType::F64:
      a.floats.reserve(count);
      for (size_t i = 0; i < count; ++i) a.floats.push_back(r.read<double>(what));
      break;
    case GgufType::ARRAY:
      for (size_t i = 0; i < count; ++i) a.arrays.push_back(read_array(r, what, origin, depth + 1));
      break;
    default:
      a.ints.reserve(count);
      for (size_t i = 0; i < count; ++i) a.ints.push_back(read_int(r, a.elem, what));
      break;
  }
  return a;
}

GgufValue read_value(ByteReader& r, GgufType t, const std::string& what, const std::string& origin) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufType::STRING:
      v.s = r.read_string(what);
      break;
    case GgufType::F32:
      v.f = r.read<float>(what);
      break;
    case GgufType::F64:
      v.f = r.read<double>(what);
      break;
    case GgufType::ARRAY:
      v.arr = read_array(r, what, origin, 1);
      break;
    default:
      v.i = read_int(r, t, what);
      break;
  }
  return v;
}

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                "BOOL",  "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(names) ? names[i] : "?";
}

size_t GgufArray::size() const {
  switch (elem) {
    case GgufType::STRING:
      return strings.size();
    case GgufType::F32:
    case GgufType::F64:
      return floats.size();
    case GgufType::ARRAY:
      return arrays.size();
    default:
      return ints.size();
  }
}

GgufValue GgufValue::string_array(std::vector<std::string> v) {
  GgufValue g;
  g.type = GgufType::ARRAY;
  g.arr.elem = GgufType::STRING;
  g.arr.strings = std::move(v);
  return g;
}

GgufValue GgufValue::int_array(GgufType elem, std::vector<int64_t> v) {
  GgufValue g;
  g.type = GgufType::ARRAY;
  g.arr.elem = elem;
  g.arr.ints = std::move(v);
  return g;
}

GgufValue GgufValue::float_array(std::vector<double> v) {
  GgufValue g;
  g.type = GgufType::ARRAY;
  g.arr.elem = GgufType::F32;
  g.arr.floats = std::move(v);
  return g;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64:
      return true;
    default:
      return false;
  }
}

GgufFile GgufFile::open(const std::string& path, LoadMode mode) {
  GgufFile g;
  g.file_ = MappedFile::open(path, mode);
  ByteReader r(g.file_->data(), g.file_->size(), path);
  const uint32_t magic = r.read<uint32_t>("magic");
  if (magic != 0x46554747u) fail("{}: not a GGUF file (the first 4 bytes are not 'GGUF')", path);
  g.version_ = r.read<uint32_t>("version");
  if (g.version_ != 2 && g.version_ != 3) fail("{}: GGUF version {} is not supported (2 and 3 are)", path, g.version_);
  const uint64_t n_tensors = r.read<uint64_t>("tensor count");
  const uint64_t n_kv = r.read<uint64_t>("metadata count");
  // Each metadata entry needs at least a key length, a type and one byte; each tensor info 24 bytes.
  if (n_kv > r.remaining() / 13) fail("{}: truncated or corrupt: metadata count {} cannot fit in the file", path, n_kv);
  if (n_tensors > r.remaining() / 24) {
    fail("{}: truncated or corrupt: tensor count {} cannot fit in the file", path, n_tensors);
  }

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.read_string(fmt::format("metadata key #{}", i));
    const uint32_t type = r.read<uint32_t>("metadata type of '" + key + "'");
    if (!valid_type(type)) fail("{}: metadata key '{}' has unknown type {}", path, key, type);
    GgufValue value = read_value(r, static_cast<GgufType>(type), "metadata '" + key + "'", path);
    if (g.index_.count(key)) fail("{}: metadata key '{}' appears twice", path, key);
    g.index_.emplace(key, g.metadata_.size());
    g.metadata_.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* a = g.find("general.alignment")) {
    if (a->type != GgufType::U32 || a->i == 0 || (a->i & (a->i - 1)) != 0) {
      fail("{}: general.alignment must be a power-of-two UINT32", path);
    }
    g.alignment_ = static_cast<size_t>(a->i);
  }

  struct Info {
    uint64_t offset;
    size_t bytes;
  };
  std::vector<Info> infos;
  std::map<std::string, size_t, std::less<>> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    FileTensor t;
    t.name = r.read_string(fmt::format("tensor name #{}", i));
    auto bad = [&](const std::string& why) { fail("{}: tensor '{}': {}", path, t.name, why); };
    if (names.count(t.name)) bad("appears twice");
    const uint32_t n_dims = r.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxRank) bad(fmt::format("{} dimensions (1 to {} allowed)", n_dims, kMaxRank));
    uint64_t ne[kMaxRank] = {1, 1, 1, 1};
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = r.read<uint64_t>("tensor dimension");
      if (ne[d] == 0 || ne[d] > (uint64_t{1} << 40)) bad(fmt::format("dimension {} is {}", d, ne[d]));
      numel *= ne[d];
      if (numel > (uint64_t{1} << 50)) bad("too many elements");
    }
    const uint32_t ggml_type = r.read<uint32_t>("tensor type");
    const uint64_t offset = r.read<uint64_t>("tensor offset");
    // Row-major shape, outermost first: the reverse of ggml's ne.
    t.view.shape.rank = static_cast<int>(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) t.view.shape.dims[d] = static_cast<int64_t>(ne[n_dims - 1 - d]);
    const auto dtype = dtype_from_ggml(ggml_type);
    t.supported = dtype.has_value();
    t.dtype_name = dtype ? std::string(dtype_name(*dtype)) : std::string(ggml_type_name(ggml_type));
    if (!dtype) {
      bad(fmt::format("tensor type {} (ggml id {}) is not supported; qwenrt reads F32, F16, BF16 and Q8_0",
                      t.dtype_name, ggml_type));
    }
    t.view.dtype = *dtype;
    const auto row = row_bytes_checked(*dtype, static_cast<int64_t>(ne[0]));
    if (!row) bad(fmt::format("row length {} is not a multiple of the {} block size", ne[0], t.dtype_name));
    t.nbytes = *row * static_cast<size_t>(numel / ne[0]);
    if (offset % g.alignment_ != 0) bad(fmt::format("offset {} is not a multiple of the alignment {}", offset, g.alignment_));
    t.file = path;
    names.emplace(t.name, g.tensors_.size());
    infos.push_back({offset, t.nbytes});
    g.tensors_.push_back(std::move(t));
  }

  const size_t header_end = r.offset();
  const size_t data_start = (header_end + g.alignment_ - 1) / g.alignment_ * g.alignment_;
  const size_t file_size = g.file_->size();
  if (n_tensors > 0 && data_start > file_size) fail("{}: truncated: the data section would start past the end", path);
  const size_t data_size = file_size > data_start ? file_size - data_start : 0;
  std::vector<size_t> order(g.tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return infos[a].offset < infos[b].offset; });
  uint64_t prev_end = 0;
  const FileTensor* prev = nullptr;
  for (size_t i : order) {
    FileTensor& t = g.tensors_[i];
    const uint64_t begin = infos[i].offset;
    const uint64_t end = begin + infos[i].bytes;
    if (begin > data_size || infos[i].bytes > data_size - begin) {
      fail("{}: tensor '{}' ({} bytes at data offset {}) runs past the end of the file ({} data bytes){}", path, t.name,
           infos[i].bytes, begin, data_size, data_size == 0 ? ": the file is truncated" : "");
    }
    if (prev && begin < prev_end) {
      fail("{}: tensors '{}' and '{}' overlap (data offsets {} and {})", path, prev->name, t.name, prev_end, begin);
    }
    t.view.data = g.file_->data() + data_start + begin;
    prev_end = end;
    prev = &t;
  }
  return g;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &metadata_[it->second].second;
}

std::string GgufFile::architecture() const {
  const GgufValue* v = find("general.architecture");
  return v && v->type == GgufType::STRING ? v->s : std::string();
}

}  // namespace qwenrt
