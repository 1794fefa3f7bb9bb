#pragma once
// The file types `qwenrt quantize` writes, named and mixed as llama.cpp's quantizer does it: a base
// tensor type plus per-tensor exceptions (the output head and the value projections of some layers
// get more bits in the K mixes), so that a file quantized here matches llama-quantize's, tensor for
// tensor, and the two tools' figures compare like for like.
#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt {

enum class FileType { F32, F16, BF16, Q8_0, Q4_0, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K };

// "Q4_K_M" (any case); "Q4_K" and "Q5_K" mean the _M mixes, as in llama-quantize.
std::optional<FileType> file_type_from_name(std::string_view name);
std::string_view file_type_name(FileType type);
std::string file_type_list();    // "F32, F16, ..." for help texts and errors
uint32_t gguf_file_type(FileType type);  // llama.cpp's llama_ftype (general.file_type)
DType base_type(FileType type);

struct TensorSpec {
  std::string name;  // GGUF name: "blk.3.attn_v.weight"
  Shape shape;
};

// Each tensor's type in a file of type `type`, in file order (some rules count the tensors before).
// F32/F16/BF16/Q8_0 follow llama.cpp's converter (norms, 1-D tensors and routers stay F32; rows the
// type cannot hold fall back to F16); Q4_0 and the K mixes follow llama-quantize, or with `pure`
// give every quantizable matrix the base type. `n_layer` is the file's block count. Fails, naming the
// tensor, where llama-quantize would fall back to a type qwenrt does not write.
std::vector<DType> plan_tensor_types(FileType type, const std::vector<TensorSpec>& tensors, int64_t n_layer, bool pure);

}  // namespace qwenrt
