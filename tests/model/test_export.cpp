// `qwenrt quantize --type F32` from each Hugging Face checkpoint must write what llama.cpp's own
// converter wrote for it (the golden model.gguf files): the same metadata keys and values and the
// same tensors, byte for byte. This covers the tensor renames, norm offsets, -exp(A_log), expert
// stacking, Qwen3-Next's regrouped projections, Qwen3.5's value-head tiling, the MTP remapping,
// and the tokenizer metadata.
#include "api/runtime.h"
#include "base/sha256.h"
#include "io/gguf.h"
#include "model/golden.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <map>

namespace qwenrt::test {
namespace {

bool same_array(const GgufArray& a, const GgufArray& b) {
  if (a.elem != b.elem || a.ints != b.ints || a.floats != b.floats || a.strings != b.strings || a.arrays.size() != b.arrays.size()) {
    return false;
  }
  for (size_t i = 0; i < a.arrays.size(); ++i) {
    if (!same_array(a.arrays[i], b.arrays[i])) return false;
  }
  return true;
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  return a.type == b.type && a.i == b.i && a.f == b.f && a.s == b.s && same_array(a.arr, b.arr);
}

class ExportMatchesConverter : public testing::TestWithParam<std::string> {};

TEST_P(ExportMatchesConverter, F32FileEqualsGolden) {
  const GoldenModel g = load_golden(GetParam());
  TempDir tmp;
  const CommandResult r = run_qwenrt({"quantize", g.dir, tmp.file("out.gguf"), "--type", "F32", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const GgufFile ours = GgufFile::open(tmp.file("out.gguf"));
  const GgufFile ref = GgufFile::open(g.gguf);
  ASSERT_EQ(ours.metadata().size(), ref.metadata().size());
  for (const auto& [key, value] : ref.metadata()) {
    const GgufValue* v = ours.find(key);
    ASSERT_NE(v, nullptr) << "missing key " << key;
    EXPECT_TRUE(same_value(*v, value)) << key;
  }
  std::map<std::string, const FileTensor*> by_name;
  for (const auto& t : ours.tensors()) by_name[t.name] = &t;
  ASSERT_EQ(ours.tensors().size(), ref.tensors().size());
  for (const auto& t : ref.tensors()) {
    ASSERT_TRUE(by_name.count(t.name)) << "missing tensor " << t.name;
    const FileTensor& o = *by_name[t.name];
    EXPECT_EQ(o.view.shape, t.view.shape) << t.name;
    EXPECT_EQ(o.view.dtype, t.view.dtype) << t.name;
    ASSERT_EQ(o.nbytes, t.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(o.view.data, t.view.data, t.nbytes), 0) << t.name << " differs";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ExportMatchesConverter,
                         testing::Values("qwen3-tied", "qwen3-untied", "qwen3-yarn", "qwen3-moe", "qwen3-next",
                                         "qwen3_5-dense", "qwen3_5-moe"),
                         [](const testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

// llama.cpp cannot represent dense layers in a qwen3moe file nor un-normalised routing; qwenrt
// writes them anyway (with a warning) and reads its own file back to the same logits.
TEST(Export, SparseMoeRoundTripsThroughQwenrtGguf) {
  const GoldenModel g = load_golden("qwen3-moe-sparse");
  TempDir tmp;
  const CommandResult r = run_qwenrt({"quantize", g.dir, tmp.file("sparse.gguf"), "--type", "F32", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("llama.cpp's qwen3moe cannot load"), std::string::npos) << r.err;
  auto rt = Runtime::load(tmp.file("sparse.gguf"), RuntimeOptions{2});
  const auto& c = g.find("len33");
  auto state = rt->model().new_state({});
  Batch b;
  for (size_t i = 0; i < c.input_ids.size(); ++i) b.add(c.input_ids[i], static_cast<int32_t>(i), 0, true);
  ForwardOutput out;
  rt->model().forward(b, *state, out, rt->context());
  EXPECT_LE(max_abs_diff(out.logits, read_f32(c.logits_file)), g.tolerance);
}

// A Q4_0 file runs end to end: its logits equal those of its own weights dequantized to F32 (the
// F32 file qwenrt writes from it), up to float summation order, on a dense and a hybrid model.
// (--pure: every matrix Q4_0, whose kernel takes float activations; llama-quantize's mix would put
// the head in Q8_0, whose kernel quantizes the activations.)
// (How close 4 bits stay to full precision is measured on real widths in the benchmarks: these
// golden models are random and a few dozen wide.)
std::vector<float> all_logits(const std::string& path, const std::vector<int32_t>& ids) {
  auto rt = Runtime::load(path, RuntimeOptions{2});
  auto state = rt->model().new_state({});
  Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, true);
  ForwardOutput out;
  rt->model().forward(b, *state, out, rt->context());
  return out.logits;
}

TEST(Export, Q4_0FilesComputeWhatTheirWeightsSay) {
  for (const char* name : {"qwen3-untied", "qwen3_5-dense"}) {
    const GoldenModel g = load_golden(name);
    TempDir tmp;
    CommandResult r = run_qwenrt({"quantize", g.dir, tmp.file("q4.gguf"), "--type", "Q4_0", "--pure", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qwenrt({"quantize", tmp.file("q4.gguf"), tmp.file("twin.gguf"), "--type", "F32", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto& c = g.find("len33");
    const std::vector<float> q4 = all_logits(tmp.file("q4.gguf"), c.input_ids);
    const std::vector<float> twin = all_logits(tmp.file("twin.gguf"), c.input_ids);
    const std::vector<float> ref = read_f32(c.logits_file);
    ASSERT_EQ(q4.size(), ref.size());
    EXPECT_LE(max_abs_diff(q4, twin), 1e-4) << name;
    EXPECT_GT(max_abs_diff(q4, ref), 1e-4) << name << ": the weights were not quantized";
  }
}

// Q4_0 and the K mixes from the demo model (whose widths are all multiples of 256) against
// llama-quantize's own files of the same F32 source: the same tensor types and the same bytes, hashed
// (tests/data/quant/llama_quantize_demo.json, tools/gen_llama_quantize_cases.py). This checks the
// quantizers (ggml's reference algorithms, float for float) and the per-tensor mix rules at once.
TEST(Export, QuantizedFilesEqualLlamaQuantizes) {
  const auto ref = nlohmann::json::parse(read_text(data_path("quant/llama_quantize_demo.json")));
  const std::string demo = std::string(QWENRT_MODELS_DIR) + "/qwen3-demo";
  ASSERT_EQ(sha256_file(demo + "/model.safetensors"), ref["source_sha256"].get<std::string>())
      << "the demo model was retrained: regenerate the reference with tools/gen_llama_quantize_cases.py";
  for (const auto& [file_type, want] : ref["files"].items()) {
    TempDir tmp;
    const CommandResult r = run_qwenrt({"quantize", demo, tmp.file("q.gguf"), "--type", file_type, "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const GgufFile ours = GgufFile::open(tmp.file("q.gguf"));
    ASSERT_NE(ours.find("general.file_type"), nullptr);
    EXPECT_EQ(ours.find("general.file_type")->i, want["file_type"].get<int64_t>()) << file_type;
    std::map<std::string, const FileTensor*> by_name;
    for (const auto& t : ours.tensors()) by_name[t.name] = &t;
    ASSERT_EQ(ours.tensors().size(), want["tensors"].size()) << file_type;
    for (const auto& t : want["tensors"]) {
      const std::string name = t["name"].get<std::string>();
      ASSERT_TRUE(by_name.count(name)) << file_type << ": missing tensor " << name;
      const FileTensor& o = *by_name[name];
      EXPECT_EQ(dtype_name(o.view.dtype), t["type"].get<std::string>()) << file_type << " " << name;
      Sha256 h;
      h.update(o.view.data, o.nbytes);
      EXPECT_EQ(h.hex_digest(), t["sha256"].get<std::string>()) << file_type << " " << name << ": the bytes differ";
    }
  }
}

}  // namespace
}  // namespace qwenrt::test
