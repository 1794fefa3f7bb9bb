// qwenrt with scripted replies: the real command line, but `run` takes each answer from
// $QWENRT_SCRIPT (a JSON array of reply texts, one per turn) instead of the model, token by token
// ($QWENRT_SCRIPT_DELAY_MS between tokens), and appends every prompt it is given to
// $QWENRT_SCRIPT_LOG as a JSON line. Tiny random models cannot think; this lets the tests check
// how thinking is shown and kept in the history.
//
// `serve` takes scripted replies from $QWENRT_SERVE_SCRIPT, a JSON object {"marker": "reply text"}:
// a prompt containing a marker gets that reply (as forced tokens, while the model still runs in the
// batch); other prompts are left to the model. $QWENRT_STEP_DELAY_MS sleeps after every engine step,
// so that concurrent streams overlap long enough to be observed. Built only with the tests.
#include "cli/hooks.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

int main(int argc, char** argv) {
  using namespace qwenrt;
  const char* script = std::getenv("QWENRT_SCRIPT");
  if (script) {
    auto replies = std::make_shared<nlohmann::json>(nlohmann::json::parse(std::ifstream(script)));
    const char* log = std::getenv("QWENRT_SCRIPT_LOG");
    const char* delay = std::getenv("QWENRT_SCRIPT_DELAY_MS");
    const std::string log_path = log ? log : "";
    const int delay_ms = delay ? std::atoi(delay) : 0;
    cli::hooks().reply_source = [replies, log_path, delay_ms](const TextAssets& assets) -> TokenSource {
      auto turn = std::make_shared<size_t>(0);
      const auto tok = assets.tokenizer;
      return [replies, log_path, delay_ms, turn, tok](const std::vector<int32_t>& context, const SamplingParams&, int max_tokens,
                                                      const std::function<bool(int32_t)>& on_token) {
        if (!log_path.empty()) std::ofstream(log_path, std::ios::app) << nlohmann::json(tok->decode(context)).dump() << "\n";
        std::vector<int32_t> ids = tok->encode(replies->at((*turn)++).get<std::string>());
        ids.push_back(*tok->find_token("<|im_end|>"));
        int n = 0;
        for (int32_t id : ids) {
          if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
          if (n++ >= max_tokens || !on_token(id)) return;
        }
      };
    };
  }
  if (const char* serve_script = std::getenv("QWENRT_SERVE_SCRIPT")) {
    auto replies = std::make_shared<nlohmann::json>(nlohmann::json::parse(serve_script));
    cli::hooks().scripted_reply = [replies](const std::string& prompt) -> std::optional<std::string> {
      for (auto it = replies->begin(); it != replies->end(); ++it) {
        if (prompt.find(it.key()) != std::string::npos) return it.value().get<std::string>();
      }
      return std::nullopt;
    };
  }
  if (const char* step_delay = std::getenv("QWENRT_STEP_DELAY_MS")) {
    const int ms = std::atoi(step_delay);
    cli::hooks().on_engine_step = [ms] { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  }
  return cli::run_app(argc, argv);
}
