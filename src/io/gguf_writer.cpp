#include "io/gguf_writer.h"

#include "base/aligned_buffer.h"
#include "base/error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace qwenrt {
namespace {

class Out {
 public:
  Out(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) fail("{}: cannot create: {}", path, std::strerror(errno));
  }
  ~Out() {
    if (f_) std::fclose(f_);
  }
  void bytes(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n) fail("{}: write failed: {}", path_, std::strerror(errno));
    written_ += n;
  }
  template <typename T>
  void pod(T v) {
    bytes(&v, sizeof v);
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(size_t alignment) {
    static const char zeros[64] = {};
    while (written_ % alignment) bytes(zeros, std::min(alignment - written_ % alignment, sizeof zeros));
  }
  void close() {
    if (std::fclose(f_) != 0) {
      f_ = nullptr;
      fail("{}: close failed: {}", path_, std::strerror(errno));
    }
    f_ = nullptr;
  }
  size_t written() const { return written_; }

 private:
  std::string path_;
  FILE* f_;
  size_t written_ = 0;
};

void write_int(Out& o, GgufType t, int64_t v) {
  switch (t) {
    case GgufType::U8:
    case GgufType::BOOL:
      o.pod<uint8_t>(static_cast<uint8_t>(v));
      break;
    case GgufType::I8:
      o.pod<int8_t>(static_cast<int8_t>(v));
      break;
    case GgufType::U16:
      o.pod<uint16_t>(static_cast<uint16_t>(v));
      break;
    case GgufType::I16:
      o.pod<int16_t>(static_cast<int16_t>(v));
      break;
    case GgufType::U32:
      o.pod<uint32_t>(static_cast<uint32_t>(v));
      break;
    case GgufType::I32:
      o.pod<int32_t>(static_cast<int32_t>(v));
      break;
    case GgufType::U64:
      o.pod<uint64_t>(static_cast<uint64_t>(v));
      break;
    case GgufType::I64:
      o.pod<int64_t>(v);
      break;
    default:
      QW_CHECK(false);
  }
}

void write_array(Out& o, const GgufArray& a) {
  o.pod<uint32_t>(static_cast<uint32_t>(a.elem));
  o.pod<uint64_t>(a.size());
  switch (a.elem) {
    case GgufType::STRING:
      for (const auto& s : a.strings) o.str(s);
      break;
    case GgufType::F32:
      for (double f : a.floats) o.pod<float>(static_cast<float>(f));
      break;
    case GgufType::F64:
      for (double f : a.floats) o.pod<double>(f);
      break;
    case GgufType::ARRAY:
      for (const auto& sub : a.arrays) write_array(o, sub);
      break;
    default:
      for (int64_t v : a.ints) write_int(o, a.elem, v);
      break;
  }
}

void write_value(Out& o, const GgufValue& v) {
  o.pod<uint32_t>(static_cast<uint32_t>(v.type));
  switch (v.type) {
    case GgufType::STRING:
      o.str(v.s);
      break;
    case GgufType::F32:
      o.pod<float>(static_cast<float>(v.f));
      break;
    case GgufType::F64:
      o.pod<double>(v.f);
      break;
    case GgufType::ARRAY:
      write_array(o, v.arr);
      break;
    default:
      write_int(o, v.type, v.i);
      break;
  }
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  if (key == "general.alignment") alignment_ = static_cast<size_t>(value.i);
  for (auto& kv : metadata_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::erase(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

const GgufValue* GgufWriter::find(const std::string& key) const {
  for (const auto& kv : metadata_) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, const Shape& shape, Producer produce) {
  const auto row = row_bytes_checked(dtype, shape.cols());
  if (!row) fail("tensor '{}': row length {} is not a multiple of the {} block size", name, shape.cols(), dtype_name(dtype));
  tensors_.push_back({name, dtype, shape, *row * static_cast<size_t>(shape.rows()), std::move(produce)});
}

void GgufWriter::write(const std::string& path) const {
  const std::string tmp = path + ".partial";
  {
    Out o(tmp);
    o.pod<uint32_t>(0x46554747u);  // "GGUF"
    o.pod<uint32_t>(3);
    o.pod<uint64_t>(tensors_.size());
    o.pod<uint64_t>(metadata_.size());
    for (const auto& [key, value] : metadata_) {
      o.str(key);
      write_value(o, value);
    }
    size_t offset = 0;
    for (const auto& t : tensors_) {
      o.str(t.name);
      o.pod<uint32_t>(static_cast<uint32_t>(t.shape.rank));
      for (int d = t.shape.rank - 1; d >= 0; --d) o.pod<uint64_t>(static_cast<uint64_t>(t.shape[d]));
      o.pod<uint32_t>(dtype_info(t.dtype).ggml_type);
      o.pod<uint64_t>(offset);
      offset += (t.nbytes + alignment_ - 1) / alignment_ * alignment_;
    }
    o.pad_to(alignment_);
    AlignedBuffer buffer;
    for (const auto& t : tensors_) {
      buffer.resize(t.nbytes);
      t.produce(buffer.data(), t.nbytes);
      o.bytes(buffer.data(), t.nbytes);
      o.pad_to(alignment_);
    }
    o.close();
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("{}: cannot rename from {}: {}", path, tmp, std::strerror(err));
  }
}

}  // namespace qwenrt
