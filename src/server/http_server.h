#pragma once
// The OpenAI-compatible HTTP server: /v1/chat/completions and /v1/completions (JSON or server-sent
// events), /v1/models, /tokenize, /detokenize, /health and /metrics, over one continuous-batching
// Scheduler. Each request is parsed and checked on its connection's thread, queued as token ids,
// and its tokens are turned back into text, reasoning and tool calls as they arrive; a client that
// goes away cancels its sequence. Bad requests get OpenAI-style error objects, never a crash.
#include "engine/scheduler.h"
#include "server/openai_request.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace qwenrt::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                 // 0: any free port (bind() returns it)
  std::string api_key;             // non-empty: /v1 routes need "Authorization: Bearer KEY"
  size_t max_body_bytes = 16u << 20;
  int http_threads = 0;            // 0: enough for every running and waiting stream
  std::string model_root;          // where the model was loaded from (shown by /v1/models)
  // Test seam: a reply text to produce instead of the model's choice (the model still runs).
  std::function<std::optional<std::string>(const std::string& prompt)> scripted_reply;
};

class ApiServer {
 public:
  ApiServer(Scheduler& scheduler, ServedModel model, ServerOptions options);
  ~ApiServer();
  // Binds the socket; returns the port. Throws Error when the address cannot be bound.
  int bind();
  // Serves until stop() (from another thread or a signal handler's thread).
  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qwenrt::server
