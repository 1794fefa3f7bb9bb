#include "api/quant_mix.h"

#include "base/error.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace qwenrt {
namespace {

struct FileTypeRow {
  FileType type;
  std::string_view name;
  uint32_t gguf_id;  // llama.cpp's enum llama_ftype
  DType base;
};
constexpr std::array kFileTypes{
    FileTypeRow{FileType::F32, "F32", 0, DType::F32},         FileTypeRow{FileType::F16, "F16", 1, DType::F16},
    FileTypeRow{FileType::BF16, "BF16", 32, DType::BF16},     FileTypeRow{FileType::Q8_0, "Q8_0", 7, DType::Q8_0},
    FileTypeRow{FileType::Q4_0, "Q4_0", 2, DType::Q4_0},      FileTypeRow{FileType::Q4_K_S, "Q4_K_S", 14, DType::Q4_K},
    FileTypeRow{FileType::Q4_K_M, "Q4_K_M", 15, DType::Q4_K}, FileTypeRow{FileType::Q5_K_S, "Q5_K_S", 16, DType::Q5_K},
    FileTypeRow{FileType::Q5_K_M, "Q5_K_M", 17, DType::Q5_K}, FileTypeRow{FileType::Q6_K, "Q6_K", 18, DType::Q6_K},
};

const FileTypeRow& row_of(FileType t) {
  for (const auto& r : kFileTypes) {
    if (r.type == t) return r;
  }
  QW_CHECK(false);
  return kFileTypes[0];
}

// llama-quantize's tensor categories, by name.
enum class Category { TokenEmbd, Output, AttnV, AttnK, AttnQ, AttnOutput, FfnUp, FfnGate, FfnDown, Other };

Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::Output;
  if (name == "token_embd.weight") return Category::TokenEmbd;
  const auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
  // attn_qkv (fused projections) and attn_kv_b count as value projections: they hold the values.
  if (has("attn_qkv.weight") || has("attn_kv_b.weight") || has("attn_v.weight")) return Category::AttnV;
  if (has("attn_k.weight")) return Category::AttnK;
  if (has("attn_q.weight")) return Category::AttnQ;
  if (has("attn_output.weight")) return Category::AttnOutput;
  if (has("ffn_up")) return Category::FfnUp;
  if (has("ffn_gate")) return Category::FfnGate;
  if (has("ffn_down")) return Category::FfnDown;
  return Category::Other;
}

// What llama-quantize leaves in the source type: vectors, norms, routers, convolutions.
bool quantizable(const TensorSpec& t) {
  const auto has = [&](const char* s) { return t.name.find(s) != std::string::npos; };
  return t.shape.rank >= 2 && t.name.ends_with("weight") && !has("_norm.weight") && !has("ffn_gate_inp.weight") &&
         !has("ssm_conv1d") && !has(".position_embd");
}

// The "more bits" layers of the K mixes: the first and last eighth, and every third one between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

int64_t layer_from_name(const std::string& name, int64_t fallback) {
  int layer = 0;
  return std::sscanf(name.c_str(), "blk.%d.", &layer) == 1 ? layer : fallback;
}

DType converter_type(const TensorSpec& t, DType target) {
  const bool keep_f32 = t.shape.rank <= 1 || t.name.ends_with("_norm.weight") || !t.name.ends_with(".weight") ||
                        t.name.find("ffn_gate_inp") != std::string::npos || t.name.find("ssm_conv1d") != std::string::npos;
  if (keep_f32) return DType::F32;
  if (!row_bytes_checked(target, t.shape.cols())) return DType::F16;  // gguf-py: quantization error -> F16
  return target;
}

}  // namespace

std::optional<FileType> file_type_from_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "Q4_K") return FileType::Q4_K_M;
  if (upper == "Q5_K") return FileType::Q5_K_M;
  for (const auto& r : kFileTypes) {
    if (r.name == upper) return r.type;
  }
  return std::nullopt;
}

std::string_view file_type_name(FileType type) { return row_of(type).name; }

std::string file_type_list() {
  std::string out;
  for (const auto& r : kFileTypes) out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}

uint32_t gguf_file_type(FileType type) { return row_of(type).gguf_id; }

DType base_type(FileType type) { return row_of(type).base; }

std::vector<DType> plan_tensor_types(FileType type, const std::vector<TensorSpec>& tensors, int64_t n_layer, bool pure) {
  const DType base = base_type(type);
  std::vector<DType> out;
  out.reserve(tensors.size());
  if (type == FileType::F32 || type == FileType::F16 || type == FileType::BF16 || type == FileType::Q8_0) {
    for (const auto& t : tensors) out.push_back(converter_type(t, base));
    return out;
  }
  bool tied_embeddings = true;
  int64_t n_attn_v = 0, n_expert = 0;
  for (const auto& t : tensors) {
    if (category_of(t.name) == Category::Output) tied_embeddings = false;
    if (category_of(t.name) == Category::AttnV) ++n_attn_v;
    if (t.name == "blk.0.ffn_gate_inp.weight" && t.shape.rank == 2) n_expert = t.shape.dims[0];
  }
  int64_t i_attn_v = 0, i_ffn_down = 0;
  for (const auto& t : tensors) {
    if (!quantizable(t)) {
      out.push_back(DType::F32);
      continue;
    }
    DType chosen = base;
    const Category cat = category_of(t.name);
    if (!pure) {
      if (cat == Category::Output || (tied_embeddings && cat == Category::TokenEmbd)) {
        // The output head (or the embedding that doubles as it) gets 6 bits.
        if (t.shape.cols() % dtype_info(base).block_elems != 0) {
          chosen = DType::Q8_0;
        } else if (base != DType::Q8_0) {
          chosen = DType::Q6_K;
        }
      } else if (cat == Category::AttnV) {
        const bool k_mix_m = type == FileType::Q4_K_M || type == FileType::Q5_K_M;
        if (k_mix_m && use_more_bits(i_attn_v, n_attn_v)) chosen = DType::Q6_K;
        if (type == FileType::Q4_K_S && i_attn_v < 4) chosen = DType::Q5_K;
        if (n_expert == 8) chosen = DType::Q8_0;
        ++i_attn_v;
      } else if (cat == Category::AttnK) {
        if (n_expert == 8) chosen = DType::Q8_0;
      } else if (cat == Category::FfnDown) {
        const int64_t layer = n_expert > 1 ? layer_from_name(t.name, i_ffn_down) : i_ffn_down;
        if ((type == FileType::Q4_K_M || type == FileType::Q5_K_M) && use_more_bits(layer, n_layer)) chosen = DType::Q6_K;
        if (type == FileType::Q4_K_S && layer < n_layer / 8) chosen = DType::Q5_K;
        ++i_ffn_down;
      } else if (cat == Category::AttnOutput) {
        if (n_expert == 8 && (type == FileType::Q4_K_S || type == FileType::Q4_K_M)) chosen = DType::Q5_K;
      }
    }
    // Rows that do not fill the type's blocks fall back as in llama-quantize: to F16 when they do not
    // fill 32-value blocks either, Q6_K to Q8_0; Q4_K and Q5_K would go to Q5_0 and Q5_1, which qwenrt
    // does not write.
    const int64_t cols = t.shape.cols();
    if (cols % dtype_info(chosen).block_elems != 0) {
      if (cols % 32 != 0) {
        chosen = DType::F16;
      } else if (chosen == DType::Q6_K) {
        chosen = DType::Q8_0;
      } else {
        fail("{}: rows of {} values do not fill {} blocks of {}, and llama-quantize would write it as {}, which qwenrt "
             "does not write; choose Q8_0, Q6_K or a float type for this model",
             t.name, cols, dtype_name(chosen), dtype_info(chosen).block_elems, chosen == DType::Q4_K ? "Q5_0" : "Q5_1");
      }
    }
    out.push_back(chosen);
  }
  return out;
}

}  // namespace qwenrt
