// The per-tensor types of the quantized file types, against llama-quantize's rules worked out by
// hand for a given layer count (the rules: llama.cpp src/llama-quant.cpp; byte-for-byte equality
// with llama-quantize's own files is tested in test_export).
#include "api/quant_mix.h"
#include "base/error.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace qwenrt {
namespace {

std::vector<TensorSpec> dense_model(int layers, int64_t width, bool tied) {
  std::vector<TensorSpec> t{{"token_embd.weight", Shape{1024, width}}};
  for (int i = 0; i < layers; ++i) {
    for (const char* n : {"attn_norm", "attn_q_norm", "attn_k_norm", "ffn_norm"}) t.push_back({fmt::format("blk.{}.{}.weight", i, n), Shape{width}});
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"}) {
      t.push_back({fmt::format("blk.{}.{}.weight", i, n), Shape{width, width}});
    }
    t.push_back({fmt::format("blk.{}.ffn_down.weight", i), Shape{width, 3 * width}});
  }
  t.push_back({"output_norm.weight", Shape{width}});
  if (!tied) t.push_back({"output.weight", Shape{1024, width}});
  return t;
}

DType type_of(const std::vector<TensorSpec>& specs, const std::vector<DType>& types, const std::string& name) {
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name == name) return types[i];
  }
  ADD_FAILURE() << "no tensor " << name;
  return DType::F32;
}

TEST(QuantMix, NamesAndIdsAreLlamaCpps) {
  EXPECT_EQ(file_type_from_name("q4_k_m"), FileType::Q4_K_M);
  EXPECT_EQ(file_type_from_name("Q4_K"), FileType::Q4_K_M);
  EXPECT_EQ(file_type_from_name("Q5_K"), FileType::Q5_K_M);
  EXPECT_EQ(file_type_from_name("Q3_K_M"), std::nullopt);
  EXPECT_EQ(gguf_file_type(FileType::Q4_K_M), 15u);  // llama.h: LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_EQ(gguf_file_type(FileType::Q5_K_M), 17u);
  EXPECT_EQ(gguf_file_type(FileType::Q6_K), 18u);
  EXPECT_EQ(gguf_file_type(FileType::Q8_0), 7u);
  EXPECT_EQ(gguf_file_type(FileType::BF16), 32u);
}

// 8 layers: "more bits" layers are the first and last eighth (0 and 7) and (i - 1) % 3 == 2 (3, 6).
TEST(QuantMix, Q4KMGivesSixBitsToTheHeadAndSomeValueAndDownProjections) {
  const auto specs = dense_model(8, 256, /*tied=*/true);
  const auto types = plan_tensor_types(FileType::Q4_K_M, specs, 8, false);
  ASSERT_EQ(types.size(), specs.size());
  EXPECT_EQ(type_of(specs, types, "token_embd.weight"), DType::Q6_K);  // tied: it is the output head
  for (int i = 0; i < 8; ++i) {
    const bool more = i == 0 || i == 3 || i == 6 || i == 7;
    const DType want = more ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(type_of(specs, types, fmt::format("blk.{}.attn_v.weight", i)), want) << i;
    EXPECT_EQ(type_of(specs, types, fmt::format("blk.{}.ffn_down.weight", i)), want) << i;
    for (const char* n : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"}) {
      EXPECT_EQ(type_of(specs, types, fmt::format("blk.{}.{}.weight", i, n)), DType::Q4_K) << i << n;
    }
    EXPECT_EQ(type_of(specs, types, fmt::format("blk.{}.attn_norm.weight", i)), DType::F32);
  }
  EXPECT_EQ(type_of(specs, types, "output_norm.weight"), DType::F32);
}

TEST(QuantMix, UntiedEmbeddingsKeepTheBaseTypeAndTheHeadGetsSixBits) {
  const auto specs = dense_model(4, 256, /*tied=*/false);
  for (FileType ft : {FileType::Q4_K_M, FileType::Q5_K_S, FileType::Q4_0}) {
    const auto types = plan_tensor_types(ft, specs, 4, false);
    EXPECT_EQ(type_of(specs, types, "token_embd.weight"), base_type(ft)) << file_type_name(ft);
    EXPECT_EQ(type_of(specs, types, "output.weight"), DType::Q6_K) << file_type_name(ft);
  }
  // Q8_0 keeps Q8_0 everywhere, the head too.
  const auto q8 = plan_tensor_types(FileType::Q8_0, specs, 4, false);
  EXPECT_EQ(type_of(specs, q8, "output.weight"), DType::Q8_0);
}

// 16 layers, Q4_K_S: the first four attn_v and the first two ffn_down (16 / 8) get Q5_K.
TEST(QuantMix, Q4KSGivesFiveBitsToTheFirstLayers) {
  const auto specs = dense_model(16, 256, true);
  const auto types = plan_tensor_types(FileType::Q4_K_S, specs, 16, false);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(type_of(specs, types, fmt::format("blk.{}.attn_v.weight", i)), i < 4 ? DType::Q5_K : DType::Q4_K) << i;
    EXPECT_EQ(type_of(specs, types, fmt::format("blk.{}.ffn_down.weight", i)), i < 2 ? DType::Q5_K : DType::Q4_K) << i;
  }
}

TEST(QuantMix, PureGivesEveryMatrixTheBaseType) {
  const auto specs = dense_model(8, 256, true);
  const auto types = plan_tensor_types(FileType::Q5_K_M, specs, 8, true);
  for (size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(types[i], specs[i].shape.rank == 1 ? DType::F32 : DType::Q5_K) << specs[i].name;
}

// Rows that are not a multiple of 256: Q6_K falls back to Q8_0, rows off the 32-grid to F16, and a
// Q4_K tensor (llama-quantize: Q5_0) is refused with the tensor named.
TEST(QuantMix, RowsOffTheBlockGridFallBackOrAreRefused) {
  std::vector<TensorSpec> specs{{"token_embd.weight", Shape{64, 96}}, {"blk.0.attn_v.weight", Shape{96, 80}}};
  auto types = plan_tensor_types(FileType::Q6_K, specs, 1, false);
  EXPECT_EQ(types[0], DType::Q8_0);
  EXPECT_EQ(types[1], DType::F16);
  specs = {{"blk.0.attn_q.weight", Shape{96, 96}}};
  try {
    plan_tensor_types(FileType::Q4_K_M, specs, 1, false);
    ADD_FAILURE() << "a Q4_K tensor of 96 columns was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Q5_0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qwenrt
