#pragma once
// Seams the test build uses to drive the real command line with scripted model output (tests/
// builds a second binary that sets them; the shipped qwenrt never does).
#include "api/chat_session.h"

#include <functional>
#include <optional>
#include <string>

namespace qwenrt::cli {

struct Hooks {
  // When set, `run` takes its replies from this source instead of the model.
  std::function<TokenSource(const TextAssets&)> reply_source;
  // When set, `serve` produces this reply text for a prompt instead of the model's choice (the
  // model still runs, so batching is exercised); nullopt leaves the prompt to the model.
  std::function<std::optional<std::string>(const std::string& prompt)> scripted_reply;
  // When set, `serve` runs it after every engine step (tests slow the engine down with it).
  std::function<void()> on_engine_step;
};

Hooks& hooks();

// The whole command line: what main() runs.
int run_app(int argc, char** argv);

}  // namespace qwenrt::cli
