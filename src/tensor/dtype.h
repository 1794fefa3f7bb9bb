#pragma once
// Element types of weights, as the file formats define them. Quantized types are stored in blocks:
// `block_elems` values packed into `block_bytes` bytes; a row's length must be a multiple of it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qwenrt {

enum class DType : uint8_t {
  F32,
  F16,
  BF16,
  Q8_0,  // ggml block_q8_0: f16 scale + 32 x int8
  Q4_0,  // ggml block_q4_0: f16 scale + 32 x 4-bit, value = (q - 8) * d
  Q4_K,  // ggml block_q4_K: 256 values in 8 groups of 32 with 6-bit scales and mins
  Q5_K,  // ggml block_q5_K: as Q4_K with a fifth bit per value
  Q6_K,  // ggml block_q6_K: 256 values, 6 bits each, 16 groups of 16 with 8-bit scales
};
inline constexpr int kNumDTypes = 8;

struct DTypeInfo {
  DType dtype;
  std::string_view name;  // as llama.cpp spells it: "F32", "Q8_0"
  int block_elems;
  int block_bytes;
  uint32_t ggml_type;  // id in the GGUF tensor-info table
};

const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) { return dtype_info(t).name; }
inline bool is_quantized(DType t) { return dtype_info(t).block_elems > 1; }

std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive
// Name of a ggml type id we cannot read (for error messages), e.g. "Q4_K".
std::string_view ggml_type_name(uint32_t ggml_type);

// Bytes of `n` consecutive elements; n must be a multiple of the block size (checked by callers
// that handle untrusted shapes via row_bytes_checked).
size_t row_bytes(DType t, int64_t n);
std::optional<size_t> row_bytes_checked(DType t, int64_t n);

}  // namespace qwenrt
