#include "engine/scheduler.h"

#include "base/error.h"
#include "base/log.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>

namespace qwenrt {
namespace {

using Clock = std::chrono::steady_clock;

double now_seconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

constexpr int64_t kBlockTokens = 32;  // the KV cache's page: memory is reserved in these steps

}  // namespace

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Error: return "error";
    case FinishReason::None: break;
  }
  return "none";
}

// ---- SequenceHandle ------------------------------------------------------------------------

bool SequenceHandle::wait(Update& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  out = Update{};
  if (!cv_.wait_for(lock, timeout, [&] { return !pending_.empty() || (finished_ && !reported_end_); })) return false;
  out.tokens.swap(pending_);
  out.prompt_tokens = prompt_tokens_;
  if (finished_) {
    out.finished = true;
    out.reason = reason_;
    out.ended_by_stop_id = by_stop_id_;
    out.error = error_;
    reported_end_ = true;
  }
  return true;
}

void SequenceHandle::cancel() {
  cancelled_.store(true);
  if (wake_engine_) wake_engine_();
}

void SequenceHandle::deliver(GeneratedToken token) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(token));
  }
  cv_.notify_all();
}

void SequenceHandle::finish(FinishReason reason, bool by_stop_id, std::string error) {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    reason_ = reason;
    by_stop_id_ = by_stop_id;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

// ---- Scheduler -----------------------------------------------------------------------------

struct Scheduler::Seq {
  std::shared_ptr<SequenceHandle> handle;
  SequenceParams params;
  Sampler sampler;
  std::vector<int32_t> tokens;  // prompt + generated: what the cache must end up holding
  int64_t n_cached = 0;         // tokens of `tokens` already in the model state
  int generated = 0;
  int slot = -1;                // sequence id in the model state (-1: none)
  uint64_t order = 0;           // admission order: the newest is preempted first

  Seq(SequenceParams p) : params(std::move(p)), sampler(params.sampling) { sampler.set_prompt(params.prompt); }
  int64_t pending() const { return static_cast<int64_t>(tokens.size()) - n_cached; }
};

Scheduler::Scheduler(const Model& model, const ExecContext& ctx, SchedulerOptions options)
    : model_(model), ctx_(ctx), opts_(std::move(options)) {
  if (opts_.max_num_seqs < 1) fail("max_num_seqs must be at least 1, got {}", opts_.max_num_seqs);
  if (opts_.max_model_len < 2) fail("max_model_len must be at least 2, got {}", opts_.max_model_len);
  opts_.max_batch_tokens = std::max<int>(opts_.max_batch_tokens, opts_.max_num_seqs + static_cast<int>(kPrefillChunk));
  StateOptions so;
  so.max_bytes = opts_.cache_bytes;
  so.kv_type = opts_.kv_type;
  state_ = model_.new_state(so);
  stats_.cache_bytes_budget = opts_.cache_bytes;
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

size_t Scheduler::bytes_for_tokens(int64_t n) const {
  const int64_t blocks = (n + kBlockTokens - 1) / kBlockTokens + 1;  // +1: room to grow into
  return static_cast<size_t>(blocks * kBlockTokens) * model_.state_bytes_per_token(opts_.kv_type) + model_.state_bytes_per_sequence();
}

std::shared_ptr<SequenceHandle> Scheduler::submit(SequenceParams params) {
  if (params.prompt.empty()) fail("the prompt is empty: generation needs at least one token");
  const auto n_prompt = static_cast<int64_t>(params.prompt.size());
  if (n_prompt >= opts_.max_model_len) {
    fail("the prompt has {} tokens, more than this model's context of {} tokens leaves room for (at least one token must "
         "be generated)",
         n_prompt, opts_.max_model_len);
  }
  const int64_t vocab = model_.info().n_vocab;
  for (int32_t t : params.prompt) {
    if (t < 0 || t >= vocab) fail("token id {} is out of range: the vocabulary has {} tokens", t, vocab);
  }
  params.sampling.validate();
  if (opts_.cache_bytes != 0 && bytes_for_tokens(n_prompt) > opts_.cache_bytes) {
    fail("the prompt of {} tokens needs {} bytes of cache, more than the whole cache budget of {} bytes", n_prompt,
         bytes_for_tokens(n_prompt), opts_.cache_bytes);
  }
  auto seq = std::make_unique<Seq>(std::move(params));
  seq->tokens = seq->params.prompt;
  seq->handle = std::make_shared<SequenceHandle>();
  seq->handle->prompt_tokens_ = n_prompt;
  seq->handle->wake_engine_ = [this] { cv_.notify_all(); };
  auto handle = seq->handle;
  {
    std::lock_guard lock(mu_);
    incoming_.push_back(std::move(seq));
    ++stats_.waiting;
  }
  cv_.notify_all();
  return handle;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mu_);
  SchedulerStats s = stats_;
  // The rate is over recent steps: an idle engine generates nothing.
  if (rate_window_.empty() || rate_window_.back().first < now_seconds() - 5.0) s.generation_tokens_per_second = 0;
  return s;
}

void Scheduler::loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      auto has_work = [&] {
        if (stop_ || !incoming_.empty()) return true;
        for (const auto& s : running_) {
          if (s->handle->cancelled()) return true;
        }
        for (const auto& s : waiting_) {
          if (s->handle->cancelled()) return true;
        }
        return !running_.empty() || !waiting_.empty();
      };
      cv_.wait(lock, has_work);
      if (stop_) break;
      while (!incoming_.empty()) {
        waiting_.push_back(std::move(incoming_.front()));
        incoming_.pop_front();
      }
    }
    bool did = false;
    try {
      did = step();
    } catch (const std::exception& e) {  // a broken step fails its sequences, never the server
      log_warn("engine step failed: {}", e.what());
      for (auto& s : running_) finish(*s, FinishReason::Error, false, e.what());
      running_.clear();
    }
    if (did && opts_.on_step) opts_.on_step();
  }
  for (auto& s : running_) s->handle->finish(FinishReason::Cancelled, false);
  for (auto& s : waiting_) s->handle->finish(FinishReason::Cancelled, false);
  std::lock_guard lock(mu_);
  for (auto& s : incoming_) s->handle->finish(FinishReason::Cancelled, false);
}

void Scheduler::finish(Seq& s, FinishReason reason, bool by_stop_id, std::string error) {
  if (s.slot >= 0) {
    state_->release(s.slot);
    free_slots_.push_back(s.slot);
    s.slot = -1;
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.finished;
    stats_.cache_bytes_in_use = state_->bytes_in_use();
  }
  s.handle->finish(reason, by_stop_id, std::move(error));  // last: a waiter sees the stats of its end
}

void Scheduler::admit() {
  // Cancelled sequences leave first, wherever they are.
  auto drop_cancelled = [&](auto& list) {
    for (auto it = list.begin(); it != list.end();) {
      if ((*it)->handle->cancelled()) {
        finish(**it, FinishReason::Cancelled);
        it = list.erase(it);
      } else {
        ++it;
      }
    }
  };
  drop_cancelled(running_);
  drop_cancelled(waiting_);

  // Memory the running sequences are still owed: the rest of their prompts and a block to grow.
  size_t committed = state_->bytes_in_use();
  for (const auto& s : running_) {
    committed += bytes_for_tokens(s->pending()) - model_.state_bytes_per_sequence();
  }
  while (!waiting_.empty() && static_cast<int>(running_.size()) < opts_.max_num_seqs) {
    Seq& s = *waiting_.front();
    const size_t need = bytes_for_tokens(static_cast<int64_t>(s.tokens.size()));
    if (opts_.cache_bytes != 0 && committed + need > opts_.cache_bytes && !running_.empty()) break;
    committed += need;
    if (!free_slots_.empty()) {
      s.slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      s.slot = next_slot_++;
    }
    s.order = ++admitted_;
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

bool Scheduler::step() {
  admit();
  {
    std::lock_guard lock(mu_);
    stats_.running = static_cast<int>(running_.size());
    stats_.waiting = static_cast<int>(waiting_.size() + incoming_.size());
    stats_.max_running_seen = std::max(stats_.max_running_seen, stats_.running);
    stats_.cache_bytes_in_use = state_->bytes_in_use();
  }
  if (running_.empty()) return false;

  Batch batch;
  ForwardOutput out;
  std::vector<Seq*> row_seq;  // the sequence of each output row
  std::vector<int64_t> taken(running_.size());
  while (true) {
    batch.clear();
    row_seq.clear();
    int64_t budget = opts_.max_batch_tokens;
    // Decoding sequences first (one token each), then prompt chunks in arrival order.
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < running_.size(); ++i) {
        Seq& s = *running_[i];
        const bool decoding = s.pending() == 1;
        if ((pass == 0) != decoding) continue;
        int64_t n = 1;
        if (pass == 1) {
          // Whole chunks of a fixed grid (the last one of a prompt may be shorter), so that the
          // chunked linear-attention form sees the same boundaries whatever else runs.
          n = 0;
          while (n < s.pending()) {
            const int64_t start = s.n_cached + n;
            const int64_t piece = std::min(kPrefillChunk - start % kPrefillChunk, s.pending() - n);
            if (piece > budget - n) break;
            n += piece;
          }
        }
        taken[i] = n;
        if (n <= 0) continue;
        budget -= n;
        for (int64_t j = 0; j < n; ++j) {
          const int64_t pos = s.n_cached + j;
          const bool last = pos + 1 == static_cast<int64_t>(s.tokens.size());
          batch.add(s.tokens[static_cast<size_t>(pos)], static_cast<int32_t>(pos), s.slot, last);
          if (last) row_seq.push_back(&s);
        }
      }
    }
    try {
      model_.forward(batch, *state_, out, ctx_);
      break;
    } catch (const Error& e) {
      // Out of cache (the state is unchanged): preempt the newest sequence and recompute it
      // later; a sequence alone that does not fit ends here.
      if (running_.size() <= 1) {
        // "KV cache full" / "cache memory full" (KvCache, HybridState): the budget, not a bug.
        const std::string_view what = e.what();
        const bool out_of_cache = what.find("cache") != what.npos && what.find("full") != what.npos;
        finish(*running_.front(), out_of_cache ? FinishReason::Length : FinishReason::Error, false, out_of_cache ? "" : e.what());
        running_.clear();
        return true;
      }
      auto newest = std::max_element(running_.begin(), running_.end(),
                                     [](const auto& a, const auto& b) { return a->order < b->order; });
      Seq& victim = **newest;
      state_->release(victim.slot);
      free_slots_.push_back(victim.slot);
      victim.slot = -1;
      victim.n_cached = 0;
      waiting_.push_front(std::move(*newest));
      running_.erase(newest);
      taken.resize(running_.size());
      std::lock_guard lock(mu_);
      ++stats_.preemptions;
      log_info("cache full: preempted a sequence ({} tokens), it will be recomputed", waiting_.front()->tokens.size());
    }
  }

  uint64_t prompt_run = 0;
  for (size_t i = 0; i < running_.size(); ++i) {
    Seq& s = *running_[i];
    if (s.pending() > 1 || (s.pending() == 1 && s.generated == 0)) prompt_run += static_cast<uint64_t>(taken[i]);
    s.n_cached += taken[i];
  }
  // One new token for each sequence whose input is all in the cache now.
  uint64_t generated = 0;
  for (size_t r = 0; r < row_seq.size(); ++r) {
    Seq& s = *row_seq[r];
    const float* logits = out.row(static_cast<int64_t>(r));
    int32_t token;
    if (static_cast<size_t>(s.generated) < s.params.forced.size()) {
      token = s.params.forced[static_cast<size_t>(s.generated)];
    } else {
      token = s.sampler.sample(logits, out.n_vocab);
    }
    s.sampler.accept(token);
    GeneratedToken g;
    if (s.params.logprobs >= 0) {
      g = token_logprobs(logits, out.n_vocab, token, s.params.logprobs);
    } else {
      g.token = token;
    }
    s.tokens.push_back(token);
    ++s.generated;
    ++generated;
    s.handle->deliver(std::move(g));
    const bool is_stop = std::find(s.params.stop_ids.begin(), s.params.stop_ids.end(), token) != s.params.stop_ids.end();
    if (is_stop && s.generated >= s.params.min_tokens) {
      finish(s, FinishReason::Stop, true);
    } else if (s.generated >= s.params.max_tokens || static_cast<int64_t>(s.tokens.size()) >= opts_.max_model_len) {
      finish(s, FinishReason::Length);
    }
  }
  std::erase_if(running_, [](const auto& s) { return s->slot < 0; });

  std::lock_guard lock(mu_);
  ++stats_.steps;
  stats_.prompt_tokens += prompt_run;
  stats_.generated_tokens += generated;
  stats_.cache_bytes_in_use = state_->bytes_in_use();
  stats_.running = static_cast<int>(running_.size());
  const double t = now_seconds();
  rate_window_.emplace_back(t, stats_.generated_tokens);
  while (rate_window_.size() > 2 && rate_window_.front().first < t - 5.0) rate_window_.pop_front();
  const double span = rate_window_.back().first - rate_window_.front().first;
  stats_.generation_tokens_per_second =
      span > 0 ? static_cast<double>(rate_window_.back().second - rate_window_.front().second) / span : 0.0;
  return true;
}

GeneratedToken token_logprobs(const float* logits, int64_t n_vocab, int32_t token, int k) {
  float max = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) max = std::max(max, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
  const float lse = max + static_cast<float>(std::log(sum));
  GeneratedToken g;
  g.token = token;
  g.logprob = logits[token] - lse;
  if (k > 0) {
    const auto kk = static_cast<size_t>(std::min<int64_t>(k, n_vocab));
    std::vector<int32_t> ids(static_cast<size_t>(n_vocab));
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(kk), ids.end(), [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    for (size_t i = 0; i < kk; ++i) g.top.push_back({ids[i], logits[ids[i]] - lse});
  }
  return g;
}

}  // namespace qwenrt
