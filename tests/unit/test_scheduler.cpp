// The continuous-batching scheduler: sequences batched together produce exactly what each produces
// alone (greedy, on the demo model in Q8_0 and BF16: the kernels compute every row in the same order
// whatever the batch), whatever joins or leaves; the limits on parallel sequences and cache memory hold, with
// preemption that does not change the output; cancellation frees memory.
#include "api/runtime.h"
#include "engine/generate.h"
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "support/test_support.h"

#include <atomic>
#include <chrono>
#include <map>
#include <cmath>
#include <thread>

namespace qwenrt {
namespace {

using namespace std::chrono_literals;
using test::data_path;

const std::string kDemoQ8 = std::string(QWENRT_MODELS_DIR) + "/qwen3-demo-q8_0.gguf";
const std::string kDemoBf16 = std::string(QWENRT_MODELS_DIR) + "/qwen3-demo";

// The engine thread owns the runtime's thread pool while a scheduler lives: solo runs (which use the
// same pool) are computed before the scheduler starts.
Runtime& load(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Runtime>> loaded;
  auto& rt = loaded[path];
  if (!rt) rt = Runtime::load(path, {.n_threads = 2});
  return *rt;
}
Runtime& demo() { return load(kDemoQ8); }

std::vector<int32_t> prompt(int i) {
  // Different lengths and contents: token ids from the demo vocabulary's ordinary range.
  std::vector<int32_t> p;
  for (int j = 0; j < 5 + 7 * i; ++j) p.push_back(100 + (i * 37 + j * 11) % 1500);
  return p;
}

std::vector<int32_t> solo(const std::vector<int32_t>& p, int n, Runtime& rt = demo()) {
  auto state = rt.model().new_state({});
  GenerateParams gp;
  gp.max_new_tokens = n;
  return generate(rt.model(), *state, rt.context(), 0, p, gp);
}

struct Collected {
  std::vector<int32_t> tokens;
  FinishReason reason = FinishReason::None;
};

Collected drain(SequenceHandle& h) {
  Collected c;
  SequenceHandle::Update u;
  while (true) {
    if (!h.wait(u, 10s)) {
      ADD_FAILURE() << "no progress for 10 s";
      return c;
    }
    for (const auto& g : u.tokens) c.tokens.push_back(g.token);
    if (u.finished) {
      c.reason = u.reason;
      return c;
    }
  }
}

void batched_equals_alone(Runtime& rt) {
  SchedulerOptions so;
  so.max_num_seqs = 6;
  so.max_batch_tokens = 24;  // small: long prompts are read in chunks beside the decoding streams
  so.max_model_len = 512;
  const int n = 10;
  std::vector<std::vector<int32_t>> want;
  for (int i = 0; i < n; ++i) want.push_back(solo(prompt(i), 20 + i, rt));
  Scheduler sched(rt.model(), rt.context(), so);
  std::vector<std::shared_ptr<SequenceHandle>> handles;
  for (int i = 0; i < n; ++i) {
    SequenceParams sp;
    sp.prompt = prompt(i);
    sp.max_tokens = 20 + i;
    handles.push_back(sched.submit(sp));
    if (i % 3 == 0) std::this_thread::sleep_for(2ms);  // some join while others run
  }
  for (int i = 0; i < n; ++i) {
    const Collected c = drain(*handles[static_cast<size_t>(i)]);
    EXPECT_EQ(c.reason, FinishReason::Length);
    EXPECT_EQ(c.tokens, want[static_cast<size_t>(i)]) << "sequence " << i;
  }
  const SchedulerStats st = sched.stats();
  EXPECT_LE(st.max_running_seen, 6);
  EXPECT_GE(st.max_running_seen, 2) << "the sequences never overlapped";
  EXPECT_EQ(st.cache_bytes_in_use, 0u);
  EXPECT_EQ(st.finished, static_cast<uint64_t>(n));
}

TEST(Scheduler, BatchedEqualsAloneWithStaggeredArrivals) { batched_equals_alone(demo()); }
TEST(Scheduler, BatchedEqualsAloneBf16) { batched_equals_alone(load(kDemoBf16)); }

// Bit for bit, logprobs included, on the hybrid architectures (Gated DeltaNet + attention, and the
// MoE one): prompts longer than a prefill chunk, read in chunks beside decoding streams, must give
// the same floats as the prompt run alone.
void hybrid_batched_equals_alone(const std::string& model_dir) {
  Runtime& rt = load(data_path(model_dir));
  const int64_t vocab = rt.model().info().n_vocab;
  const std::vector<int> lengths = {3, 300, 40, 257, 513, 90};
  auto make_prompt = [&](int i) {
    std::vector<int32_t> p;
    for (int j = 0; j < lengths[static_cast<size_t>(i)]; ++j) p.push_back(static_cast<int32_t>((i * 37 + j * 11) % vocab));
    return p;
  };
  const int n_gen = 6;
  struct Out {
    std::vector<int32_t> tokens;
    std::vector<float> logprobs;
  };
  std::vector<Out> want;
  for (size_t i = 0; i < lengths.size(); ++i) {
    auto state = rt.model().new_state({});
    GenerateParams gp;
    gp.max_new_tokens = n_gen;
    Out o;
    generate(rt.model(), *state, rt.context(), 0, make_prompt(static_cast<int>(i)), gp, [&](int32_t t, const float* logits, int64_t n) {
      o.tokens.push_back(t);
      o.logprobs.push_back(token_logprobs(logits, n, t, 0).logprob);
      return true;
    });
    want.push_back(o);
  }
  SchedulerOptions so;
  so.max_num_seqs = 4;
  so.max_batch_tokens = 300;
  so.max_model_len = 1024;
  Scheduler sched(rt.model(), rt.context(), so);
  std::vector<std::shared_ptr<SequenceHandle>> handles;
  for (size_t i = 0; i < lengths.size(); ++i) {
    SequenceParams sp;
    sp.prompt = make_prompt(static_cast<int>(i));
    sp.max_tokens = n_gen;
    sp.logprobs = 0;
    handles.push_back(sched.submit(sp));
    if (i % 2 == 1) std::this_thread::sleep_for(3ms);
  }
  for (size_t i = 0; i < lengths.size(); ++i) {
    Out got;
    SequenceHandle::Update u;
    while (handles[i]->wait(u, 10s)) {
      for (const auto& g : u.tokens) {
        got.tokens.push_back(g.token);
        got.logprobs.push_back(g.logprob);
      }
      if (u.finished) break;
    }
    EXPECT_EQ(got.tokens, want[i].tokens) << model_dir << " sequence " << i;
    EXPECT_EQ(got.logprobs, want[i].logprobs) << model_dir << " sequence " << i << " (bit for bit)";
  }
  EXPECT_GE(sched.stats().max_running_seen, 2);
}

TEST(Scheduler, HybridQwen35BatchedEqualsAloneBitForBit) { hybrid_batched_equals_alone("models/qwen3_5-dense"); }
TEST(Scheduler, HybridMoeQwen3NextBatchedEqualsAloneBitForBit) { hybrid_batched_equals_alone("models/qwen3-next"); }

TEST(Scheduler, PreemptionUnderATightCacheBudgetKeepsTheOutput) {
  Runtime& rt = demo();
  const size_t per_token = rt.model().state_bytes_per_token();
  SchedulerOptions so;
  so.max_num_seqs = 8;
  so.max_model_len = 512;
  so.cache_bytes = per_token * 32 * 9;  // nine cache blocks for eight sequences that want two or three each
  std::vector<std::vector<int32_t>> want;
  for (int i = 0; i < 3; ++i) want.push_back(solo(prompt(i), 60));
  Scheduler sched(rt.model(), rt.context(), so);
  std::vector<std::shared_ptr<SequenceHandle>> handles;
  for (int i = 0; i < 8; ++i) {
    SequenceParams sp;
    sp.prompt = prompt(i % 3);
    sp.max_tokens = 60;
    handles.push_back(sched.submit(sp));
  }
  for (int i = 0; i < 8; ++i) {
    const Collected c = drain(*handles[static_cast<size_t>(i)]);
    EXPECT_EQ(c.tokens, want[static_cast<size_t>(i % 3)]) << "sequence " << i;
  }
  const SchedulerStats st = sched.stats();
  EXPECT_GT(st.preemptions, 0u) << "the budget was meant to force preemption";
  EXPECT_EQ(st.cache_bytes_in_use, 0u);
}

TEST(Scheduler, StopIdsMinTokensAndForcedTokens) {
  Runtime& rt = demo();
  const std::vector<int32_t> free_run = solo(prompt(1), 12);
  SchedulerOptions so;
  so.max_model_len = 256;
  Scheduler sched(rt.model(), rt.context(), so);
  SequenceParams sp;
  sp.prompt = prompt(1);
  sp.max_tokens = 12;
  sp.stop_ids = {free_run[3]};
  Collected c = drain(*sched.submit(sp));
  EXPECT_EQ(c.reason, FinishReason::Stop);
  EXPECT_EQ(c.tokens, std::vector<int32_t>(free_run.begin(), free_run.begin() + 4)) << "ends after the first stop id";

  sp.min_tokens = 12;
  c = drain(*sched.submit(sp));
  EXPECT_EQ(c.tokens, free_run) << "min_tokens holds the stop id back";

  SequenceParams forced;
  forced.prompt = prompt(2);
  forced.max_tokens = 10;
  forced.forced = {5, 6, 7};
  forced.stop_ids = {7};
  c = drain(*sched.submit(forced));
  EXPECT_EQ(c.tokens, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(c.reason, FinishReason::Stop);
}

TEST(Scheduler, CancelFreesTheSequenceAndQueueWaits) {
  Runtime& rt = demo();
  SchedulerOptions so;
  so.max_num_seqs = 2;
  so.max_model_len = 4096;
  std::atomic<int> steps{0};
  so.on_step = [&] {
    ++steps;
    std::this_thread::sleep_for(1ms);
  };
  Scheduler sched(rt.model(), rt.context(), so);
  std::vector<std::shared_ptr<SequenceHandle>> hs;
  for (int i = 0; i < 3; ++i) {
    SequenceParams sp;
    sp.prompt = prompt(i);
    sp.max_tokens = 3000;
    hs.push_back(sched.submit(sp));
  }
  SequenceHandle::Update u;
  ASSERT_TRUE(hs[0]->wait(u, 10s));
  while (steps < 20) std::this_thread::sleep_for(1ms);
  SchedulerStats st = sched.stats();
  EXPECT_EQ(st.running, 2);
  EXPECT_EQ(st.waiting, 1) << "the third request waits for a free place";
  for (auto& h : hs) h->cancel();
  for (auto& h : hs) EXPECT_EQ(drain(*h).reason, FinishReason::Cancelled);
  for (int i = 0; i < 1000 && sched.stats().running != 0; ++i) std::this_thread::sleep_for(1ms);
  st = sched.stats();
  EXPECT_EQ(st.cache_bytes_in_use, 0u);
  EXPECT_EQ(st.running, 0);
}

TEST(Scheduler, RejectsWhatCanNeverRun) {
  Runtime& rt = demo();
  SchedulerOptions so;
  so.max_model_len = 16;
  so.cache_bytes = rt.model().state_bytes_per_token() * 64;
  Scheduler sched(rt.model(), rt.context(), so);
  SequenceParams sp;
  EXPECT_THROW(sched.submit(sp), Error);  // empty prompt
  sp.prompt = std::vector<int32_t>(16, 100);
  EXPECT_THROW(sched.submit(sp), Error);  // no room to generate
  sp.prompt = {100, static_cast<int32_t>(rt.model().info().n_vocab)};
  EXPECT_THROW(sched.submit(sp), Error);  // token out of range
  sp.prompt = {100};
  sp.sampling.temperature = -1;
  EXPECT_THROW(sched.submit(sp), Error);
}

TEST(Scheduler, LogprobsAreALogSoftmax) {
  const float logits[] = {1.0f, 3.0f, 2.0f, 3.0f};
  const GeneratedToken g = token_logprobs(logits, 4, 2, 3);
  const double lse = std::log(std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(g.logprob, 2.0 - lse, 1e-6);
  ASSERT_EQ(g.top.size(), 3u);
  EXPECT_EQ(g.top[0].token, 1);  // ties: the lower id first
  EXPECT_EQ(g.top[1].token, 3);
  EXPECT_EQ(g.top[2].token, 2);
  EXPECT_NEAR(g.top[0].logprob, 3.0 - lse, 1e-6);
}

}  // namespace
}  // namespace qwenrt
