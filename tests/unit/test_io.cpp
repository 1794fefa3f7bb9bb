#include "base/error.h"
#include "io/config_reader.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/mapped_file.h"
#include "io/model_files.h"
#include "io/safetensors.h"
#include "io/tokenizer_metadata.h"
#include "support/test_support.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"

#include <gtest/gtest.h>

#include <cstring>

namespace qwenrt {
namespace {

using test::TempDir;

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

// Element i of a tensor the file may store at any alignment.
template <typename T>
T element(const TensorView& v, size_t i) {
  T out;
  std::memcpy(&out, v.data + i * sizeof(T), sizeof(T));
  return out;
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST(Safetensors, ReadsTensorsAndShapes) {
  TempDir tmp;
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::vector<uint16_t> b = {fp32_to_bf16(1.5f), fp32_to_bf16(-2.0f)};
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},"c":{"dtype":"I64","shape":[1],"data_offsets":[28,36]}})";
  test::write_bytes(tmp.file("m.safetensors"), safetensors_bytes(header, raw(a) + raw(b) + std::string(8, '\0')));
  const auto st = SafetensorsFile::open(tmp.file("m.safetensors"));
  ASSERT_EQ(st.tensors().size(), 3u);
  const FileTensor* ta = nullptr;
  const FileTensor* tb = nullptr;
  const FileTensor* tc = nullptr;
  for (const auto& t : st.tensors()) {
    if (t.name == "a") ta = &t;
    if (t.name == "b") tb = &t;
    if (t.name == "c") tc = &t;
  }
  ASSERT_TRUE(ta && tb && tc);
  EXPECT_EQ(ta->view.shape, (Shape{2, 3}));
  EXPECT_EQ(element<float>(ta->view, 5), 6.0f);
  EXPECT_EQ(tb->view.dtype, DType::BF16);
  EXPECT_EQ(bf16_to_fp32(element<uint16_t>(tb->view, 1)), -2.0f);
  EXPECT_FALSE(tc->supported);  // readable, but not something qwenrt computes with
  EXPECT_EQ(tc->dtype_name, "I64");
}

TEST(Gguf, WriterAndReaderRoundTrip) {
  TempDir tmp;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("qwen3"));
  w.set("qwen3.block_count", GgufValue::u32(3));
  w.set("qwen3.rope.freq_base", GgufValue::f32(1e6f));
  w.set("x.flag", GgufValue::boolean(true));
  w.set("x.big", GgufValue::u64(1ull << 40));
  w.set("x.names", GgufValue::string_array({"a", "", "ü"}));
  w.set("x.ids", GgufValue::int_array(GgufType::I32, {-1, 5}));
  w.set("qwen3.block_count", GgufValue::u32(4));  // replacing keeps the position
  const std::vector<float> f = {1, 2, 3, 4, 5, 6};
  w.add_tensor("t.f32", DType::F32, Shape{2, 3}, [&](std::byte* out, size_t n) { std::memcpy(out, f.data(), n); });
  std::vector<float> q_src(64);
  for (int i = 0; i < 64; ++i) q_src[static_cast<size_t>(i)] = static_cast<float>(i) - 31.5f;
  w.add_tensor("t.q8", DType::Q8_0, Shape{64}, [&](std::byte* out, size_t) { quantize_row(DType::Q8_0, q_src.data(), out, 64); });
  w.write(tmp.file("x.gguf"));

  const GgufFile g = GgufFile::open(tmp.file("x.gguf"));
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.architecture(), "qwen3");
  ASSERT_EQ(g.metadata().size(), 7u);
  EXPECT_EQ(g.metadata()[1].first, "qwen3.block_count");
  EXPECT_EQ(g.find("qwen3.block_count")->i, 4);
  EXPECT_FLOAT_EQ(static_cast<float>(g.find("qwen3.rope.freq_base")->f), 1e6f);
  EXPECT_EQ(g.find("x.flag")->i, 1);
  EXPECT_EQ(g.find("x.big")->i, int64_t{1} << 40);
  EXPECT_EQ(g.find("x.names")->arr.strings, (std::vector<std::string>{"a", "", "ü"}));
  EXPECT_EQ(g.find("x.ids")->arr.ints, (std::vector<int64_t>{-1, 5}));
  ASSERT_EQ(g.tensors().size(), 2u);
  EXPECT_EQ(g.tensors()[0].view.shape, (Shape{2, 3}));
  EXPECT_EQ(g.tensors()[0].view.as<float>()[4], 5.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g.tensors()[1].view.data) % 32, reinterpret_cast<uintptr_t>(g.tensors()[0].view.data) % 32);
  std::vector<float> back(64);
  dequantize_row(DType::Q8_0, g.tensors()[1].view.data, back.data(), 64);
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(back[static_cast<size_t>(i)], q_src[static_cast<size_t>(i)], 0.13f);
}

TEST(Gguf, ReadsTheGoldenFile) {
  const GgufFile g = GgufFile::open(test::data_path("models/qwen3-untied/model.gguf"));
  EXPECT_EQ(g.architecture(), "qwen3");
  EXPECT_EQ(g.find("qwen3.block_count")->i, 3);
  EXPECT_EQ(g.find("tokenizer.ggml.tokens")->arr.strings.size(), 512u);
  const FileTensor* q = nullptr;
  for (const auto& t : g.tensors()) {
    if (t.name == "blk.0.attn_q.weight") q = &t;
  }
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->view.shape, (Shape{128, 64}));  // [n_head * head_dim, n_embd]: ggml ne {64, 128} reversed
}

TEST(ConfigReader, NamesTheKeyAndTheProblem) {
  const auto j = nlohmann::ordered_json::parse(R"({"hidden_size": 64, "rms_norm_eps": "tiny", "heads": 2.5, "n": -3})");
  const auto cfg = ConfigReader::from_json(j, "dir/config.json");
  EXPECT_EQ(cfg.get_int({"hidden_size", ""}, 1, 100), 64);
  auto message = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { cfg.get_int({"num_hidden_layers", ""}, 1, 10); }),
            "dir/config.json: key 'num_hidden_layers' is missing");
  EXPECT_EQ(message([&] { cfg.get_float({"rms_norm_eps", ""}); }),
            "dir/config.json: key 'rms_norm_eps' is a string, expected a number");
  EXPECT_EQ(message([&] { cfg.get_int({"heads", ""}, 1, 10); }), "dir/config.json: key 'heads' is a number, expected an integer");
  EXPECT_EQ(message([&] { cfg.get_int({"n", ""}, 1, 10); }), "dir/config.json: key 'n' is -3, expected a value in [1, 10]");
  EXPECT_EQ(cfg.get_int_or({"absent", ""}, 7, 1, 10), 7);
}

TEST(ConfigReader, ReadsGgufKeysUnderTheArchitecture) {
  const GgufFile g = GgufFile::open(test::data_path("models/qwen3-yarn/model.gguf"));
  const auto cfg = ConfigReader::from_gguf(g, "qwen3");
  EXPECT_EQ(cfg.get_int({"num_hidden_layers", "block_count"}, 1, 100), 3);
  EXPECT_EQ(cfg.get_string_or({"", "rope.scaling.type"}, ""), "yarn");
  EXPECT_THROW(cfg.get_int({"", "expert_count"}, 1, 10), Error);
  EXPECT_THROW(cfg.get_int({"", "rope.scaling.type"}, 1, 10), Error);  // a string, not an integer
}

// The tokenizer metadata built from tokenizer.json must be what llama.cpp's converter wrote
// into the golden GGUF.
TEST(TokenizerMetadata, EqualsTheConvertersOutput) {
  const GgufFile g = GgufFile::open(test::data_path("models/qwen3-tied/model.gguf"));
  const auto kv = hf_tokenizer_metadata(test::data_path("models/qwen3-tied"), 512, "qwen2");
  int compared = 0;
  for (const auto& [key, value] : kv) {
    const GgufValue* ref = g.find(key);
    ASSERT_NE(ref, nullptr) << key;
    EXPECT_EQ(value.type, ref->type) << key;
    EXPECT_EQ(value.s, ref->s) << key;
    EXPECT_EQ(value.i, ref->i) << key;
    EXPECT_EQ(value.arr.strings, ref->arr.strings) << key;
    EXPECT_EQ(value.arr.ints, ref->arr.ints) << key;
    ++compared;
  }
  for (const auto& [key, value] : g.metadata()) {
    if (!key.starts_with("tokenizer.")) continue;
    EXPECT_NE(std::find_if(kv.begin(), kv.end(), [&](const auto& p) { return p.first == key; }), kv.end()) << key;
  }
  EXPECT_EQ(compared, 10);
}

TEST(MappedFile, CopiedAndMappedBytesAreTheSame) {
  TempDir tmp;
  std::string bytes(5u << 20, '\0');  // over the 4 MiB from which copies go on huge pages
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 2654435761u >> 24);
  test::write_bytes(tmp.file("f.bin"), bytes);
  const auto mapped = MappedFile::open(tmp.file("f.bin"), LoadMode::Map);
  const auto copied = MappedFile::open(tmp.file("f.bin"), LoadMode::Copy);
  EXPECT_FALSE(mapped->copied());
  EXPECT_TRUE(copied->copied());
  ASSERT_EQ(copied->size(), bytes.size());
  EXPECT_EQ(std::memcmp(copied->data(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(std::memcmp(mapped->data(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copied->data()) % 64, 0u);  // GGUF's tensor alignment (32) holds
  // An empty file in either mode.
  test::write_bytes(tmp.file("empty"), "");
  EXPECT_EQ(MappedFile::open(tmp.file("empty"), LoadMode::Copy)->size(), 0u);
  EXPECT_THROW(MappedFile::open(tmp.file("missing"), LoadMode::Copy), Error);
}

TEST(MappedFile, LoadModes) {
  EXPECT_EQ(parse_load_mode("copy"), LoadMode::Copy);
  EXPECT_EQ(parse_load_mode("map"), LoadMode::Map);
  EXPECT_EQ(parse_load_mode("auto"), LoadMode::Auto);
  EXPECT_THROW(parse_load_mode("mmap"), Error);
  EXPECT_STREQ(load_mode_name(LoadMode::Copy), "copy");
  EXPECT_EQ(resolve_load_mode(LoadMode::Map, 1), LoadMode::Map);
  EXPECT_EQ(resolve_load_mode(LoadMode::Copy, SIZE_MAX), LoadMode::Copy);
  // Auto maps what would not fit in half of the available memory, and copies what does.
  EXPECT_EQ(resolve_load_mode(LoadMode::Auto, SIZE_MAX), LoadMode::Map);
  ASSERT_GT(available_memory_bytes(), 0u);
  EXPECT_EQ(resolve_load_mode(LoadMode::Auto, 4096), LoadMode::Copy);
  // ModelFiles decides once for the model and says what it chose.
  EXPECT_EQ(ModelFiles::open(test::data_path("models/qwen3-tied"), LoadMode::Auto)->load_mode(), LoadMode::Copy);
  EXPECT_EQ(ModelFiles::open(test::data_path("models/qwen3-tied/model.gguf"), LoadMode::Map)->load_mode(), LoadMode::Map);
}

TEST(ModelFiles, DetectsTheFormat) {
  const auto hf = ModelFiles::open(test::data_path("models/qwen3-tied"));
  EXPECT_EQ(hf->format(), ModelFormat::HuggingFace);
  EXPECT_EQ(hf->architecture(), "Qwen3ForCausalLM");
  EXPECT_NE(hf->find("model.embed_tokens.weight"), nullptr);
  const auto gg = ModelFiles::open(test::data_path("models/qwen3-tied/model.gguf"));
  EXPECT_EQ(gg->format(), ModelFormat::Gguf);
  EXPECT_EQ(gg->architecture(), "qwen3");
  EXPECT_NE(gg->find("token_embd.weight"), nullptr);
}

TEST(ModelFiles, ReadsShardedCheckpoints) {
  TempDir tmp;
  const std::vector<float> a = {1, 2}, b = {3, 4, 5};
  test::write_bytes(tmp.file("model-00001-of-00002.safetensors"),
                    safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", raw(a)));
  test::write_bytes(tmp.file("model-00002-of-00002.safetensors"),
                    safetensors_bytes(R"({"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", raw(b)));
  test::write_bytes(tmp.file("model.safetensors.index.json"),
                    R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  test::write_bytes(tmp.file("config.json"), R"({"architectures":["Qwen3ForCausalLM"]})");
  const auto m = ModelFiles::open(tmp.path());
  ASSERT_NE(m->find("b"), nullptr);
  EXPECT_EQ(element<float>(m->find("b")->view, 2), 5.0f);
  EXPECT_EQ(m->tensors().size(), 2u);
  // An index naming a shard that does not hold the tensor is an error.
  test::write_bytes(tmp.file("model.safetensors.index.json"),
                    R"({"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  EXPECT_THROW(ModelFiles::open(tmp.path()), Error);
  test::write_bytes(tmp.file("model.safetensors.index.json"), R"({"weight_map":{"a":"../../etc/passwd"}})");
  EXPECT_THROW(ModelFiles::open(tmp.path()), Error);
}

}  // namespace
}  // namespace qwenrt
