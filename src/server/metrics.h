#pragma once
// The server's counters, written in the Prometheus text format (GET /metrics), names prefixed
// qwenrt_: requests by endpoint and status, prompt and generated tokens, generation speed, queue
// depth, running sequences, cache memory, time to first token.
#include "engine/scheduler.h"

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace qwenrt::server {

class Metrics {
 public:
  void request(const std::string& endpoint, int status);
  void first_token(double seconds);
  void request_finished(double seconds, const std::string& finish_reason);
  std::string render(const SchedulerStats& engine) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> finished_;
  double ttft_sum_ = 0, e2e_sum_ = 0;
  uint64_t ttft_count_ = 0, e2e_count_ = 0;
};

}  // namespace qwenrt::server
