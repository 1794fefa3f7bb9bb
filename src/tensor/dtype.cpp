#include "tensor/dtype.h"

#include "base/error.h"

#include <cctype>

namespace qwenrt {
namespace {

constexpr DTypeInfo kInfos[kNumDTypes] = {
    {DType::F32, "F32", 1, 4, 0},
    {DType::F16, "F16", 1, 2, 1},
    {DType::BF16, "BF16", 1, 2, 30},
    {DType::Q8_0, "Q8_0", 32, 34, 8},
    {DType::Q4_0, "Q4_0", 32, 18, 2},
    {DType::Q4_K, "Q4_K", 256, 144, 12},
    {DType::Q5_K, "Q5_K", 256, 176, 13},
    {DType::Q6_K, "Q6_K", 256, 210, 14},
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

const DTypeInfo& dtype_info(DType t) {
  const auto i = static_cast<size_t>(t);
  QW_CHECK(i < kNumDTypes);
  return kInfos[i];
}

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  for (const auto& info : kInfos) {
    if (info.ggml_type == ggml_type) return info.dtype;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& info : kInfos) {
    if (iequals(info.name, name)) return info.dtype;
  }
  return std::nullopt;
}

std::string_view ggml_type_name(uint32_t t) {
  // ggml's type table (ggml.h enum ggml_type); ids 4 and 5 are retired.
  static constexpr std::string_view names[] = {
      "F32",  "F16",  "Q4_0",    "Q4_1",    "Q4_2(removed)", "Q4_3(removed)", "Q5_0",   "Q5_1",  "Q8_0",  "Q8_1",
      "Q2_K", "Q3_K", "Q4_K",    "Q5_K",    "Q6_K",          "Q8_K",          "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
      "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8",            "I16",           "I32",    "I64",   "F64",   "IQ1_M",
      "BF16", "Q4_0_4_4(removed)", "Q4_0_4_8(removed)", "Q4_0_8_8(removed)", "TQ1_0", "TQ2_0"};
  if (t < std::size(names)) return names[t];
  return "unknown";
}

std::optional<size_t> row_bytes_checked(DType t, int64_t n) {
  const auto& info = dtype_info(t);
  if (n < 0 || n % info.block_elems != 0) return std::nullopt;
  return static_cast<size_t>(n / info.block_elems) * static_cast<size_t>(info.block_bytes);
}

size_t row_bytes(DType t, int64_t n) {
  auto r = row_bytes_checked(t, n);
  QW_CHECK(r.has_value());
  return *r;
}

}  // namespace qwenrt
