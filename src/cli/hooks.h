#pragma once
// Seams the test build uses to drive the real command line with scripted model output (tests/
// builds a second binary that sets them; the shipped qwenrt never does).
#include "api/chat_session.h"

#include <functional>

namespace qwenrt::cli {

struct Hooks {
  // When set, `run` takes its replies from this source instead of the model.
  std::function<TokenSource(const TextAssets&)> reply_source;
};

Hooks& hooks();

// The whole command line: what main() runs.
int run_app(int argc, char** argv);

}  // namespace qwenrt::cli
