// Structural properties on tiny random-weight models (STYLE habit 6): prompt-at-once equals
// token-by-token, chunked prefill equals one batch, several sequences in one batch equal each
// run alone, truncating a sequence and re-feeding equals never having gone further, and runs
// are deterministic.
#include "api/runtime.h"
#include "base/error.h"
#include "model/golden.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

namespace qwenrt::test {
namespace {

std::vector<int32_t> tokens(int n, int seed) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 37 + seed * 101 + 11) % 500);
  return t;
}

// Logits of all positions of `ids`, fed in chunks of `chunk` tokens.
std::vector<float> chunked(Runtime& rt, const std::vector<int32_t>& ids, size_t chunk) {
  auto state = rt.model().new_state({});
  ForwardOutput out;
  std::vector<float> all;
  for (size_t i = 0; i < ids.size(); i += chunk) {
    Batch b;
    for (size_t j = i; j < std::min(ids.size(), i + chunk); ++j) b.add(ids[j], static_cast<int32_t>(j), 0, true);
    rt.model().forward(b, *state, out, rt.context());
    all.insert(all.end(), out.logits.begin(), out.logits.end());
  }
  return all;
}

class Structural : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    rt_ = Runtime::load(data_path("models/" + GetParam()), RuntimeOptions{2});
    // Two float32 orders of the same computation differ by rounding, which the gated delta rule
    // amplifies (see the golden README): the models' stated tolerances bound that as well.
    tolerance_ = load_golden(GetParam()).tolerance;
  }
  std::unique_ptr<Runtime> rt_;
  double tolerance_ = 0;
};

// For the hybrid models this is the chunked Gated DeltaNet (a sequence's tokens in one batch)
// against its recurrence (one token at a time), from zero and from carried-over states.
TEST_P(Structural, ChunkedPrefillEqualsOneBatch) {
  const auto ids = tokens(100, 1);
  const auto whole = chunked(*rt_, ids, 100);
  for (size_t chunk : {1, 7, 64}) EXPECT_LE(max_abs_diff(chunked(*rt_, ids, chunk), whole), tolerance_) << chunk;
}

TEST_P(Structural, BatchedSequencesEqualEachAlone) {
  // Four sequences of different lengths, prefilled together, then decoded together; each
  // sequence's logits must equal those of running it alone.
  const std::vector<std::vector<int32_t>> seqs = {tokens(5, 2), tokens(17, 3), tokens(1, 4), tokens(33, 5)};
  std::vector<std::vector<float>> alone;
  for (const auto& s : seqs) alone.push_back(chunked(*rt_, s, s.size()));

  auto state = rt_->model().new_state({});
  const int64_t V = rt_->model().info().n_vocab;
  std::vector<std::vector<float>> together(seqs.size());
  // Prefill all but each sequence's last 3 tokens in one batch, then decode the rest one step at a time.
  Batch b;
  std::vector<size_t> next(seqs.size(), 0);
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (; next[s] + 3 < seqs[s].size(); ++next[s]) b.add(seqs[s][next[s]], static_cast<int32_t>(next[s]), static_cast<int32_t>(s), true);
  }
  ForwardOutput out;
  auto collect = [&] {
    for (size_t r = 0; r < out.rows.size(); ++r) {
      const auto s = static_cast<size_t>(b.seq_ids[static_cast<size_t>(out.rows[r])]);
      together[s].insert(together[s].end(), out.row(static_cast<int64_t>(r)), out.row(static_cast<int64_t>(r)) + V);
    }
  };
  if (b.size() > 0) {
    rt_->model().forward(b, *state, out, rt_->context());
    collect();
  }
  while (true) {
    b.clear();
    for (size_t s = 0; s < seqs.size(); ++s) {
      if (next[s] < seqs[s].size()) {
        b.add(seqs[s][next[s]], static_cast<int32_t>(next[s]), static_cast<int32_t>(s), true);
        ++next[s];
      }
    }
    if (b.size() == 0) break;
    rt_->model().forward(b, *state, out, rt_->context());
    collect();
  }
  for (size_t s = 0; s < seqs.size(); ++s) EXPECT_LE(max_abs_diff(together[s], alone[s]), tolerance_) << "sequence " << s;
}

TEST_P(Structural, TruncateThenRefeedEqualsFresh) {
  if (rt_->model().state_bytes_per_sequence() > 0) {
    // Linear-attention state only moves forward: rewinding is refused, forgetting works.
    auto state = rt_->model().new_state({});
    ForwardOutput out;
    Batch b;
    for (int i = 0; i < 10; ++i) b.add(i + 1, i, 0, false);
    rt_->model().forward(b, *state, out, rt_->context());
    EXPECT_THROW(state->truncate(0, 5), Error);
    state->truncate(0, 0);
    EXPECT_EQ(state->length(0), 0);
    return;
  }
  const auto ids = tokens(40, 6);
  auto state = rt_->model().new_state({});
  ForwardOutput out;
  Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, false);
  rt_->model().forward(b, *state, out, rt_->context());
  state->truncate(0, 20);
  EXPECT_EQ(state->length(0), 20);
  const auto other = tokens(10, 7);
  b.clear();
  for (size_t i = 0; i < other.size(); ++i) b.add(other[i], static_cast<int32_t>(20 + i), 0, true);
  rt_->model().forward(b, *state, out, rt_->context());
  std::vector<int32_t> fresh(ids.begin(), ids.begin() + 20);
  fresh.insert(fresh.end(), other.begin(), other.end());
  const auto ref = chunked(*rt_, fresh, fresh.size());
  const std::vector<float> tail(ref.end() - static_cast<int64_t>(other.size()) * rt_->model().info().n_vocab, ref.end());
  EXPECT_LE(max_abs_diff(out.logits, tail), tolerance_);
}

TEST_P(Structural, Deterministic) {
  const auto ids = tokens(30, 8);
  EXPECT_EQ(chunked(*rt_, ids, 30), chunked(*rt_, ids, 30));
}

TEST_P(Structural, OnlyRequestedLogitsAreReturned) {
  auto state = rt_->model().new_state({});
  Batch b;
  b.add(1, 0, 0, false);
  b.add(2, 1, 0, true);
  b.add(3, 2, 0, false);
  ForwardOutput out;
  rt_->model().forward(b, *state, out, rt_->context());
  EXPECT_EQ(out.rows, (std::vector<int64_t>{1}));
  EXPECT_EQ(static_cast<int64_t>(out.logits.size()), rt_->model().info().n_vocab);
}

TEST_P(Structural, OutOfRangeTokenIsAnErrorBeforeAnythingChanges) {
  auto state = rt_->model().new_state({});
  Batch b;
  b.add(1, 0, 0, true);
  b.add(static_cast<int32_t>(rt_->model().info().n_vocab), 1, 0, true);
  ForwardOutput out;
  EXPECT_THROW(rt_->model().forward(b, *state, out, rt_->context()), Error);
  EXPECT_EQ(state->length(0), 0);
  b.tokens[1] = -1;
  EXPECT_THROW(rt_->model().forward(b, *state, out, rt_->context()), Error);
}

TEST_P(Structural, CacheBudgetIsEnforced) {
  // Room for 40 tokens of KV cache and one sequence's linear-attention state (if any).
  auto state = rt_->model().new_state({rt_->model().state_bytes_per_token() * 40 + rt_->model().state_bytes_per_sequence()});
  Batch b;
  for (int i = 0; i < 32; ++i) b.add(1, i, 0, false);
  ForwardOutput out;
  rt_->model().forward(b, *state, out, rt_->context());
  b.clear();
  for (int i = 0; i < 32; ++i) b.add(1, i, 1, false);
  EXPECT_THROW(rt_->model().forward(b, *state, out, rt_->context()), Error);
  EXPECT_EQ(state->length(1), 0);
}

// Qwen3.5 checkpoints carry a vision tower; the text model recognises its weights and leaves them
// unused (without complaint) until vision support arrives.
TEST(Qwen35, VisionTowerWeightsAreRecognisedAndIgnored) {
  TempDir tmp;
  const std::string src = data_path("models/qwen3_5-dense");
  const std::string dir = tmp.file("m");
  std::filesystem::create_directories(dir);
  for (const auto& e : std::filesystem::directory_iterator(src)) {
    std::filesystem::copy_file(e.path(), dir + "/" + e.path().filename().string());
  }
  const std::string bytes = read_text(dir + "/model.safetensors");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  const size_t data_size = bytes.size() - 8 - n;
  header["model.visual.blocks.0.attn.qkv.weight"] = {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {data_size, data_size + 16}}};
  const std::string h = header.dump();
  std::string out(8, '\0');
  const uint64_t len = h.size();
  std::memcpy(out.data(), &len, 8);
  write_bytes(dir + "/model.safetensors", out + h + bytes.substr(8 + n) + std::string(16, '\0'));
  const CommandResult r = run_qwenrt({"info", "--model", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("not used"), std::string::npos) << r.err;
  // Whereas a stray text tensor is reported.
  header["model.language_model.layers.0.stray.weight"] = {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {data_size, data_size + 16}}};
  header.erase("model.visual.blocks.0.attn.qkv.weight");
  const std::string h2 = header.dump();
  const uint64_t len2 = h2.size();
  std::memcpy(out.data(), &len2, 8);
  write_bytes(dir + "/model.safetensors", out.substr(0, 8) + h2 + bytes.substr(8 + n) + std::string(16, '\0'));
  const CommandResult r2 = run_qwenrt({"info", "--model", dir});
  EXPECT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_NE(r2.err.find("tensor 'model.language_model.layers.0.stray.weight' is not used"), std::string::npos) << r2.err;
}

INSTANTIATE_TEST_SUITE_P(Models, Structural,
                         testing::Values("qwen3-tied", "qwen3-untied", "qwen3-moe", "qwen3-moe-sparse", "qwen3-next",
                                         "qwen3_5-dense", "qwen3_5-moe"),
                         [](const testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

}  // namespace
}  // namespace qwenrt::test
