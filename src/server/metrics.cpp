#include "server/metrics.h"

#include <fmt/format.h>

#include <string>

namespace qwenrt::server {

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::first_token(double seconds) {
  std::lock_guard lock(mu_);
  ttft_sum_ += seconds;
  ++ttft_count_;
}

void Metrics::request_finished(double seconds, const std::string& finish_reason) {
  std::lock_guard lock(mu_);
  e2e_sum_ += seconds;
  ++e2e_count_;
  ++finished_[finish_reason];
}

std::string Metrics::render(const SchedulerStats& s) const {
  std::lock_guard lock(mu_);
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("qwenrt_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
  for (const auto& [key, n] : requests_) {
    out += fmt::format("qwenrt_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  }
  metric("qwenrt_request_success_total", "counter", "Generation requests finished, by finish reason.");
  for (const auto& [reason, n] : finished_) out += fmt::format("qwenrt_request_success_total{{finish_reason=\"{}\"}} {}\n", reason, n);
  // One unlabelled sample per metric.
  auto scalar = [&](const char* name, const char* type, const char* help, const std::string& value) {
    metric(name, type, help);
    out += fmt::format("{} {}\n", name, value);
  };
  scalar("qwenrt_prompt_tokens_total", "counter", "Prompt tokens run through the model (recomputed ones included).",
         std::to_string(s.prompt_tokens));
  scalar("qwenrt_generation_tokens_total", "counter", "Tokens generated.", std::to_string(s.generated_tokens));
  scalar("qwenrt_generation_tokens_per_second", "gauge",
         "Tokens generated per second over the last few seconds, all sequences together.",
         fmt::format("{:.3f}", s.generation_tokens_per_second));
  scalar("qwenrt_num_requests_running", "gauge", "Sequences in the running batch.", std::to_string(s.running));
  scalar("qwenrt_num_requests_waiting", "gauge", "Requests waiting in the queue.", std::to_string(s.waiting));
  scalar("qwenrt_kv_cache_usage_bytes", "gauge", "Cache memory in use (KV cache and recurrent states).",
         std::to_string(s.cache_bytes_in_use));
  scalar("qwenrt_kv_cache_budget_bytes", "gauge", "The cache memory budget (--kv-cache-memory; 0: unbounded).",
         std::to_string(s.cache_bytes_budget));
  scalar("qwenrt_num_preemptions_total", "counter", "Sequences preempted for lack of cache memory (recomputed later).",
         std::to_string(s.preemptions));
  scalar("qwenrt_engine_steps_total", "counter", "Batched forward passes run.", std::to_string(s.steps));
  metric("qwenrt_time_to_first_token_seconds", "summary", "Time from a request's arrival to its first generated token.");
  out += fmt::format("qwenrt_time_to_first_token_seconds_sum {:.6f}\nqwenrt_time_to_first_token_seconds_count {}\n", ttft_sum_, ttft_count_);
  metric("qwenrt_e2e_request_latency_seconds", "summary", "Time from a request's arrival to its end.");
  out += fmt::format("qwenrt_e2e_request_latency_seconds_sum {:.6f}\nqwenrt_e2e_request_latency_seconds_count {}\n", e2e_sum_, e2e_count_);
  return out;
}

}  // namespace qwenrt::server
