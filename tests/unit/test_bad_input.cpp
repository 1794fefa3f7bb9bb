// Bad input gets a clear message naming the file and the problem and a non-zero exit, never a
// crash or an out-of-bounds read (this suite also runs under AddressSanitizer in CI).
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

namespace qwenrt::test {
namespace {
namespace fs = std::filesystem;

const std::string kGolden = data_path("models/qwen3-tied");

// A copy of the golden HF directory to break.
std::string copy_model(const TempDir& tmp) {
  const std::string dir = tmp.file("model");
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    fs::copy_file(kGolden + "/" + f, dir + "/" + f);
  }
  return dir;
}

// Rewrites the safetensors header of `path` through `edit`, keeping the data bytes.
void edit_safetensors_header(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  const std::string bytes = read_text(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  edit(header);
  const std::string h = header.dump();
  std::string out(8, '\0');
  const uint64_t len = h.size();
  std::memcpy(out.data(), &len, 8);
  write_bytes(path, out + h + bytes.substr(8 + n));
}

void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto cfg = nlohmann::json::parse(read_text(dir + "/config.json"));
  edit(cfg);
  write_bytes(dir + "/config.json", cfg.dump());
}

// `qwenrt info` fails with exit code 1 and a message containing every fragment.
void expect_failure(const std::string& model, const std::vector<std::string>& fragments,
                    const std::vector<std::string>& command = {"info", "--model"}) {
  std::vector<std::string> args = command;
  args.push_back(model);
  const CommandResult r = run_qwenrt(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("qwenrt: error: ")) << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "'" << f << "' not in: " << r.err;
}

TEST(BadInput, TruncatedGguf) {
  TempDir tmp;
  const std::string bytes = read_text(kGolden + "/model.gguf");
  for (size_t keep : {size_t{3}, size_t{20}, size_t{1000}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = tmp.file("cut.gguf");
    write_bytes(path, bytes.substr(0, keep));
    const CommandResult r = run_qwenrt({"info", "--model", path});
    EXPECT_EQ(r.exit_code, 1) << keep;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_TRUE(r.err.find("truncated") != std::string::npos || r.err.find("past the end") != std::string::npos ||
                r.err.find("not a") != std::string::npos)
        << r.err;
  }
}

TEST(BadInput, TruncatedSafetensors) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  const std::string bytes = read_text(dir + "/model.safetensors");
  write_bytes(dir + "/model.safetensors", bytes.substr(0, bytes.size() - 100));
  expect_failure(dir, {"model.safetensors", "run past the end of the data"});
  write_bytes(dir + "/model.safetensors", bytes.substr(0, 5));
  expect_failure(dir, {"model.safetensors", "truncated"});
}

TEST(BadInput, HeaderLengthPastTheEnd) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  std::string bytes = read_text(dir + "/model.safetensors");
  const uint64_t huge = 1ull << 40;
  std::memcpy(bytes.data(), &huge, 8);
  write_bytes(dir + "/model.safetensors", bytes);
  expect_failure(dir, {"model.safetensors", "header length 1099511627776 runs past the end"});
  // GGUF: a metadata string whose length runs past the end.
  std::string g = read_text(kGolden + "/model.gguf");
  const uint64_t big = 1ull << 50;
  std::memcpy(g.data() + 24, &big, 8);  // length of the first metadata key
  write_bytes(tmp.file("bad.gguf"), g);
  expect_failure(tmp.file("bad.gguf"), {"bad.gguf", "truncated at offset 32"});
}

TEST(BadInput, InvalidHeaderJson) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  std::string bytes = read_text(dir + "/model.safetensors");
  bytes[8] = '[';
  bytes[9] = '!';
  write_bytes(dir + "/model.safetensors", bytes);
  expect_failure(dir, {"model.safetensors", "not valid JSON"});
}

TEST(BadInput, OverlappingTensors) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  edit_safetensors_header(dir + "/model.safetensors", [](nlohmann::json& h) {
    auto& a = h["model.layers.0.self_attn.k_norm.weight"]["data_offsets"];
    auto& b = h["model.layers.0.self_attn.q_norm.weight"]["data_offsets"];
    b = a;  // same bytes for two tensors
  });
  expect_failure(dir, {"model.safetensors", "overlap"});
}

TEST(BadInput, GgufTensorOffsetsOverlapOrRunPastTheData) {
  TempDir tmp;
  std::string g = read_text(kGolden + "/model.gguf");
  // Tensor infos end just before the data section; patch the offset of the second tensor
  // (blk.0.attn_k.weight, at data offset 131072) to overlap the first.
  const std::string name = "blk.0.attn_k.weight";
  const size_t at = g.find(name);
  ASSERT_NE(at, std::string::npos);
  const size_t offset_pos = at + name.size() + 4 + 2 * 8 + 4;  // n_dims, 2 dims, type
  uint64_t off;
  std::memcpy(&off, g.data() + offset_pos, 8);
  ASSERT_EQ(off, 131072u);
  std::string overlap = g;
  const uint64_t bad = 32;
  std::memcpy(overlap.data() + offset_pos, &bad, 8);
  write_bytes(tmp.file("overlap.gguf"), overlap);
  expect_failure(tmp.file("overlap.gguf"), {"overlap.gguf", "overlap"});
  std::string past = g;
  const uint64_t far = 1ull << 30;
  std::memcpy(past.data() + offset_pos, &far, 8);
  write_bytes(tmp.file("past.gguf"), past);
  expect_failure(tmp.file("past.gguf"), {"past.gguf", "blk.0.attn_k.weight", "runs past the end"});
  std::string type = g;
  const uint32_t q3k = 11;
  std::memcpy(type.data() + offset_pos - 4, &q3k, 4);
  write_bytes(tmp.file("type.gguf"), type);
  expect_failure(tmp.file("type.gguf"), {"type.gguf", "blk.0.attn_k.weight", "Q3_K", "not supported"});
  std::string blocks = g;  // a readable type whose 256-value blocks do not divide the row
  const uint32_t q4k = 12;
  std::memcpy(blocks.data() + offset_pos - 4, &q4k, 4);
  write_bytes(tmp.file("blocks.gguf"), blocks);
  expect_failure(tmp.file("blocks.gguf"), {"blocks.gguf", "blk.0.attn_k.weight", "Q4_K"});
}

TEST(BadInput, MissingTensor) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  edit_safetensors_header(dir + "/model.safetensors", [](nlohmann::json& h) { h.erase("model.layers.1.mlp.up_proj.weight"); });
  expect_failure(dir, {dir, "missing tensor 'model.layers.1.mlp.up_proj.weight'", "blk.1.ffn_up.weight"});
}

TEST(BadInput, WrongShapeOrDtype) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  const std::string original = read_text(dir + "/model.safetensors");
  edit_safetensors_header(dir + "/model.safetensors",
                          [](nlohmann::json& h) { h["model.layers.0.self_attn.q_proj.weight"]["shape"] = {64, 128}; });
  expect_failure(dir, {"model.layers.0.self_attn.q_proj.weight", "has shape [64, 128], expected [128, 64]"});
  write_bytes(dir + "/model.safetensors", original);
  edit_safetensors_header(dir + "/model.safetensors",
                          [](nlohmann::json& h) { h["model.layers.0.self_attn.q_proj.weight"]["dtype"] = "I32"; });
  expect_failure(dir, {"model.layers.0.self_attn.q_proj.weight", "dtype I32"});
  write_bytes(dir + "/model.safetensors", original);
  edit_safetensors_header(dir + "/model.safetensors",
                          [](nlohmann::json& h) { h["model.layers.0.self_attn.q_proj.weight"]["shape"] = {128, 63}; });
  expect_failure(dir, {"model.layers.0.self_attn.q_proj.weight", "shape [128, 63] of F32 needs"});
}

TEST(BadInput, UnknownArchitecture) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  edit_config(dir, [](nlohmann::json& c) { c["architectures"] = {"LlamaForCausalLM"}; });
  expect_failure(dir, {"config.json", "unknown architecture 'LlamaForCausalLM'", "Qwen3ForCausalLM"});
  std::string g = read_text(kGolden + "/model.gguf");
  const size_t at = g.find("qwen3");  // general.architecture's value comes first
  g.replace(at, 5, "llama");
  write_bytes(tmp.file("llama.gguf"), g);
  expect_failure(tmp.file("llama.gguf"), {"llama.gguf", "unknown architecture 'llama'"});
}

TEST(BadInput, ConfigMissingOrMistypedKey) {
  TempDir tmp;
  const std::string dir = copy_model(tmp);
  const std::string original = read_text(dir + "/config.json");
  edit_config(dir, [](nlohmann::json& c) { c.erase("num_hidden_layers"); });
  expect_failure(dir, {"config.json", "key 'num_hidden_layers' is missing"});
  write_bytes(dir + "/config.json", original);
  edit_config(dir, [](nlohmann::json& c) { c["hidden_size"] = "64"; });
  expect_failure(dir, {"config.json", "key 'hidden_size' is a string, expected an integer"});
  write_bytes(dir + "/config.json", original);
  edit_config(dir, [](nlohmann::json& c) { c["num_key_value_heads"] = 3; });
  expect_failure(dir, {"config.json", "4 attention heads cannot be shared by 3 key/value heads"});
  write_bytes(dir + "/config.json", "{\"architectures\": [\"Qwen3ForCausalLM\"");
  expect_failure(dir, {"config.json", "invalid JSON"});
}

// A copy of another golden HF directory to break.
std::string copy_golden(const TempDir& tmp, const std::string& name) {
  const std::string src = data_path("models/" + name), dir = tmp.file(name);
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(src)) fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
  return dir;
}

TEST(BadInput, HybridConfigInconsistencies) {
  TempDir tmp;
  const std::string next = copy_golden(tmp, "qwen3-next");
  const std::string original = read_text(next + "/config.json");
  edit_config(next, [](nlohmann::json& c) { c["linear_num_value_heads"] = 3; });
  expect_failure(next, {"config.json", "3 linear-attention value heads cannot share 2 key heads"});
  write_bytes(next + "/config.json", original);
  edit_config(next, [](nlohmann::json& c) { c["num_experts_per_tok"] = 9; });
  expect_failure(next, {"config.json", "key 'num_experts_per_tok' is 9, expected a value in [1, 8]"});
  write_bytes(next + "/config.json", original);
  edit_config(next, [](nlohmann::json& c) { c["linear_key_head_dim"] = 8; });  // the projections no longer fit
  expect_failure(next, {"in_proj_qkvz.weight", "has shape [192, 64], expected"});

  const std::string q35 = copy_golden(tmp, "qwen3_5-moe");
  edit_config(q35, [](nlohmann::json& c) { c["text_config"]["layer_types"].erase(0); });
  expect_failure(q35, {"config.json: text_config", "layer_types", "each of the 8 layers"});
  edit_config(q35, [](nlohmann::json& c) { c.erase("text_config"); });
  expect_failure(q35, {"config.json", "key 'hidden_size' is missing"});
}

TEST(BadInput, MissingExpertsOrMtpQuery) {
  TempDir tmp;
  const std::string moe = copy_golden(tmp, "qwen3-moe");
  edit_safetensors_header(moe + "/model.safetensors", [](nlohmann::json& h) { h.erase("model.layers.2.mlp.experts.5.down_proj.weight"); });
  expect_failure(moe, {"missing tensor 'model.layers.2.mlp.experts.5.down_proj.weight'"});
  // --mtp on a model without an MTP layer is refused with a message.
  const CommandResult r = run_qwenrt({"logits", "--model", kGolden, "--tokens", "1,2,3", "-o", tmp.file("m.f32"), "--mtp"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no multi-token-prediction layer"), std::string::npos) << r.err;
}

TEST(BadInput, TokenIdsOutOfRange) {
  TempDir tmp;
  for (const char* tokens : {"1,512", "-1", "5,99999999999"}) {
    const CommandResult r = run_qwenrt({"logits", "--model", kGolden, "--tokens", tokens, "-o", tmp.file("l.f32")});
    EXPECT_EQ(r.exit_code, 1) << tokens;
    EXPECT_TRUE(r.err.find("out of range") != std::string::npos || r.err.find("not a valid token id") != std::string::npos)
        << r.err;
  }
  const CommandResult gen = run_qwenrt({"generate", "--model", kGolden, "--tokens", "600", "-n", "2"});
  EXPECT_EQ(gen.exit_code, 1);
  EXPECT_NE(gen.err.find("token id 600 at index 0 is out of range"), std::string::npos) << gen.err;
  const CommandResult bad = run_qwenrt({"generate", "--model", kGolden, "--tokens", "1,x"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--tokens"), std::string::npos) << bad.err;
}

TEST(BadInput, NotAModel) {
  TempDir tmp;
  write_bytes(tmp.file("notes.txt"), "hello");
  expect_failure(tmp.file("notes.txt"), {"notes.txt", "not a model"});
  expect_failure(tmp.file("absent"), {"absent", "no such file"});
  fs::create_directories(tmp.file("empty"));
  expect_failure(tmp.file("empty"), {"empty", "config.json is missing"});
  std::string g = read_text(kGolden + "/model.gguf");
  const uint32_t v1 = 1;
  std::memcpy(g.data() + 4, &v1, 4);
  write_bytes(tmp.file("v1.gguf"), g);
  expect_failure(tmp.file("v1.gguf"), {"v1.gguf", "GGUF version 1 is not supported"});
}

}  // namespace
}  // namespace qwenrt::test
