#pragma once
// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
// names to {dtype, shape, data_offsets}, then the data. Everything is validated on open: header
// bounds, JSON, shapes, sizes, offsets inside the data region, and no two tensors overlapping.
#include "io/mapped_file.h"
#include "tensor/tensor_view.h"

#include <memory>
#include <string>
#include <vector>

namespace qwenrt {

struct FileTensor {
  std::string name;
  std::string dtype_name;  // as the file spells it (F32, BF16, I64, Q4_K ...)
  bool supported = false;  // dtype is one qwenrt can compute with
  TensorView view;         // dtype valid only when supported; data points into the map
  size_t nbytes = 0;
  std::string file;        // path of the file holding it
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path, LoadMode mode = LoadMode::Map);

  const std::vector<FileTensor>& tensors() const { return tensors_; }
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<FileTensor> tensors_;
};

}  // namespace qwenrt
