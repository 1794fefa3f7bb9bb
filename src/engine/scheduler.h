#pragma once
// Continuous batching: one engine thread owns the model state and runs every active sequence
// together. Each step takes the next token of every decoding sequence plus chunks of waiting
// prompts (decode first, so running streams keep flowing while a long prompt is read), runs them
// as one batch through Model::forward, samples each sequence's next token and hands it to the
// sequence's handle. New requests join at step boundaries; a bound on parallel sequences and a
// cache-memory budget decide who runs, the rest wait in a queue (first come, first served).
// When the cache runs out mid-generation the newest sequence is preempted: its cache is freed and
// it is recomputed later from its tokens, as vLLM's recompute preemption does (for attention models
// its output does not change; a linear-attention state recomputed in chunks may differ in the last
// bits from the one built token by token). Token ids in, token ids out: text, stop strings and parsers belong to the callers.
#include "engine/sampler.h"
#include "model/model.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qwenrt {

struct SequenceParams {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int max_tokens = 16;             // new tokens at most
  int min_tokens = 0;              // stop ids do not end the sequence before this many
  std::vector<int32_t> stop_ids;   // the sequence ends after producing one (it is delivered)
  int logprobs = -1;               // -1: none; 0: the chosen token's; k > 0: also the k most likely
  std::vector<int32_t> forced;     // test seam: produce these tokens (then stop ids end it) instead of sampling
};

enum class FinishReason { None, Stop, Length, Cancelled, Error };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", "error"

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct GeneratedToken {
  int32_t token = 0;
  float logprob = 0.0f;           // log-softmax of the model's raw logits (when asked for)
  std::vector<TokenLogprob> top;  // the most likely tokens, most likely first (when asked for)
};

// The consumer's side of one sequence: tokens arrive as the engine makes them.
class SequenceHandle {
 public:
  struct Update {
    std::vector<GeneratedToken> tokens;  // new since the last wait
    bool finished = false;
    FinishReason reason = FinishReason::None;
    bool ended_by_stop_id = false;  // the last token of the sequence is one of its stop ids
    std::string error;               // FinishReason::Error
    int64_t prompt_tokens = 0;
  };
  // Waits up to `timeout` for new tokens or the end; false when nothing came.
  bool wait(Update& out, std::chrono::milliseconds timeout);
  // Asks the engine to stop this sequence and free its memory (at the next step boundary).
  void cancel();
  bool cancelled() const { return cancelled_.load(); }

 private:
  friend class Scheduler;
  void deliver(GeneratedToken token);
  void finish(FinishReason reason, bool by_stop_id, std::string error = {});

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<GeneratedToken> pending_;
  bool finished_ = false, reported_end_ = false, by_stop_id_ = false;
  FinishReason reason_ = FinishReason::None;
  std::string error_;
  int64_t prompt_tokens_ = 0;
  std::atomic<bool> cancelled_{false};
  std::function<void()> wake_engine_;
};

// Prompts are read in chunks of this grid (positions [0, 256), [256, 512), ...), alone or batched,
// in generate() as in the scheduler: a sequence's computation never depends on what else runs.
inline constexpr int64_t kPrefillChunk = 256;

struct SchedulerOptions {
  int max_num_seqs = 16;          // sequences running at once
  int max_batch_tokens = 512;     // tokens per step (decode tokens first, then prompt chunks); at least
                                  // max_num_seqs + kPrefillChunk
  size_t cache_bytes = 0;         // KV + recurrent state budget; 0: unbounded
  DType kv_type = DType::F32;     // the KV cache's element type: F32, or F16 (half the memory)
  int64_t max_model_len = 4096;   // prompt + generated tokens of one sequence
  std::function<void()> on_step;  // test seam: runs after each step (e.g. to slow the engine down)
};

struct SchedulerStats {
  int running = 0, waiting = 0;
  int max_running_seen = 0;
  size_t cache_bytes_in_use = 0, cache_bytes_budget = 0;
  uint64_t prompt_tokens = 0;     // prompt tokens run (recomputed ones included)
  uint64_t generated_tokens = 0;
  uint64_t steps = 0, preemptions = 0;
  uint64_t finished = 0;
  double generation_tokens_per_second = 0;  // over the last few seconds
};

class Scheduler {
 public:
  // `ctx` must outlive the scheduler; the engine thread is the only user of its pool.
  Scheduler(const Model& model, const ExecContext& ctx, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a sequence. Throws Error for a request that can never run (empty prompt, prompt at or
  // over max_model_len, more cache than the whole budget, bad sampling parameters).
  std::shared_ptr<SequenceHandle> submit(SequenceParams params);
  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return opts_; }

 private:
  struct Seq;
  void loop();
  bool step();  // false when there was nothing to do
  void admit();
  void finish(Seq& s, FinishReason reason, bool by_stop_id = false, std::string error = {});
  size_t bytes_for_tokens(int64_t n) const;
  void note_generated(uint64_t n);

  const Model& model_;
  const ExecContext& ctx_;
  SchedulerOptions opts_;
  std::unique_ptr<ModelState> state_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Seq>> incoming_;  // submitted, not yet seen by the engine
  bool stop_ = false;

  // Engine-thread only.
  std::deque<std::unique_ptr<Seq>> waiting_;
  std::vector<std::unique_ptr<Seq>> running_;
  std::vector<int> free_slots_;
  int next_slot_ = 0;
  uint64_t admitted_ = 0;

  // Published for stats().
  SchedulerStats stats_;
  std::deque<std::pair<double, uint64_t>> rate_window_;  // (time, generated tokens so far)

  std::thread thread_;
};

// log-softmax of one row of logits: the chosen token's value and, for k > 0, the k largest.
GeneratedToken token_logprobs(const float* logits, int64_t n_vocab, int32_t token, int k);

}  // namespace qwenrt
