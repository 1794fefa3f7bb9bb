#include "api/gguf_export.h"

#include "base/error.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/tokenizer_metadata.h"
#include "tensor/quant.h"

#include <cstring>
#include <filesystem>
#include <vector>

namespace qwenrt {
namespace fs = std::filesystem;

ExportReport export_gguf(const Model& model, const std::string& out_path, FileType file_type, bool pure, ThreadPool& pool,
                         const std::string& tokenizer_dir) {
  const ModelInfo& info = model.info();
  GgufWriter w;
  const bool from_gguf = fs::is_regular_file(info.source);
  std::string name = fs::path(info.source).filename().string();
  if (from_gguf) {
    // Keep everything the source file says except what describes its encoding.
    const GgufFile src = GgufFile::open(info.source);
    for (const auto& [key, value] : src.metadata()) {
      if (key == "general.file_type" || key == "general.quantization_version" || key == "general.alignment") continue;
      w.set(key, value);
    }
  } else {
    w.set("general.architecture", GgufValue::string(info.gguf_architecture));
    w.set("general.type", GgufValue::string("model"));
    w.set("general.name", GgufValue::string(name.empty() || name.starts_with("synthetic:") ? info.arch : name));
    model.write_gguf_metadata(w);
  }
  w.set("general.file_type", GgufValue::u32(gguf_file_type(file_type)));
  w.set("general.quantization_version", GgufValue::u32(2));
  const std::string tok_dir = !tokenizer_dir.empty() ? tokenizer_dir : from_gguf ? "" : info.source;
  if (!tok_dir.empty() && fs::exists(fs::path(tok_dir) / "tokenizer.json")) {
    for (auto& [key, value] : hf_tokenizer_metadata(tok_dir, info.n_vocab, model.gguf_tokenizer_pre())) w.set(key, std::move(value));
  } else if (!tokenizer_dir.empty()) {
    fail("{}: no tokenizer.json there", tokenizer_dir);
  }

  std::vector<const StoredWeight*> exported;
  std::vector<TensorSpec> specs;
  for (const StoredWeight& stored : model.weights().tensors()) {
    if (!model.exports_tensor(stored.name)) continue;
    exported.push_back(&stored);
    specs.push_back({stored.name, stored.weight.shape});
  }
  const std::vector<DType> types = plan_tensor_types(file_type, specs, info.n_layer, pure);

  ExportReport report;
  for (size_t i = 0; i < exported.size(); ++i) {
    const StoredWeight& stored = *exported[i];
    const Weight& src = stored.weight;
    const DType type = types[i];
    report.types.emplace_back(stored.name, type);
    report.bytes += row_bytes(type, src.cols()) * static_cast<size_t>(src.rows());
    const ExportPermutation* perm = stored.export_permutation ? &*stored.export_permutation : nullptr;
    w.add_tensor(stored.name, type, src.shape, [&src, perm, type, &pool](std::byte* out, size_t) {
      const int64_t cols = src.cols();
      const size_t out_row = row_bytes(type, cols);
      pool.parallel_for(src.rows(), 16, [&](int64_t r0, int64_t r1, int) {
        std::vector<float> row(static_cast<size_t>(cols)), permuted(static_cast<size_t>(cols));
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t from = perm && !perm->rows.empty() ? perm->rows[static_cast<size_t>(r)] : r;
          std::byte* dst = out + static_cast<size_t>(r) * out_row;
          if (type == src.dtype && (!perm || perm->col_blocks.empty())) {
            std::memcpy(dst, src.row(from), out_row);
            continue;
          }
          dequantize_row(src.dtype, src.row(from), row.data(), cols);
          if (perm && !perm->col_blocks.empty()) {
            const int64_t b = perm->col_block;
            for (size_t blk = 0; blk < perm->col_blocks.size(); ++blk) {
              std::memcpy(permuted.data() + static_cast<int64_t>(blk) * b, row.data() + perm->col_blocks[blk] * b,
                          static_cast<size_t>(b) * sizeof(float));
            }
            row.swap(permuted);
          }
          quantize_row(type, row.data(), dst, cols);
        }
      });
    });
  }
  report.n_tensors = report.types.size();
  w.write(out_path);
  return report;
}

}  // namespace qwenrt
