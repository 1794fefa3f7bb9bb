// qwenrt run [MODEL] [PROMPT]: chat with a model (the built-in demo model when none is given).
// With a prompt (or text piped on stdin) it answers once and exits; on a terminal it is an
// interactive chat whose history goes through the model's chat template. Replies stream; the
// thinking shows dimmed (or as "Thinking..." on a pipe, or not at all with --hide-thinking);
// Ctrl-C stops an answer, Ctrl-D or /exit quits.
#include "api/chat_session.h"
#include "api/generation_defaults.h"
#include "base/error.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/demo_model.h"
#include "cli/hooks.h"
#include "cli/model_source.h"
#include "cli/options.h"
#include "cli/terminal.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <utility>

namespace qwenrt::cli {
namespace {

const char* kHelp =
    "Commands:\n"
    "  /think, /no_think   Qwen3's soft switch: ask the model to think (or not) from now on\n"
    "  /clear              Forget the conversation\n"
    "  /set KEY VALUE      Change a sampling setting ({}), or /set system TEXT\n"
    "  /show               Show the settings\n"
    "  /help               This text\n"
    "  /exit, /bye         Quit (or Ctrl-D)\n"
    "Ctrl-C stops an answer. Start a message with \"\"\" to write several lines, and end it with \"\"\".\n";

struct Opts {
  ModelOptions model;
  SamplingFlags sampling;
  std::string prompt, chat_kwargs, system;
  int64_t ctx_size = 0;
  bool drop_oldest = false, hide_thinking = false, verbose = false;
};

// Writes a reply as it streams: the thinking set apart from the answer.
class ReplyPrinter {
 public:
  ReplyPrinter(bool hide_thinking) : hide_(hide_thinking), tty_(is_terminal(STDOUT_FILENO)) {}
  void operator()(const chat::ReasoningPiece& p) {
    if (!p.reasoning.empty() && !hide_) {
      if (!in_reasoning_) {
        std::fputs(tty_ ? kDim : "Thinking...\n", stdout);
        in_reasoning_ = true;
      }
      std::fputs(p.reasoning.c_str(), stdout);
    }
    if (!p.content.empty()) {
      end_reasoning();
      std::fputs(p.content.c_str(), stdout);
    }
    std::fflush(stdout);
  }
  void finish() {
    end_reasoning();
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }

 private:
  void end_reasoning() {
    if (!in_reasoning_) return;
    std::fputs(tty_ ? "\n" : "\n...done thinking.\n", stdout);
    if (tty_) std::fputs(kReset, stdout);
    std::fputs("\n", stdout);
    in_reasoning_ = false;
  }
  bool hide_, tty_;
  bool in_reasoning_ = false;
};

void print_stats(const TurnResult& t) {
  auto rate = [](int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  std::fprintf(stderr, "prompt: %lld tokens (%lld run) in %.2f s, %.1f tokens/s | generation: %lld tokens in %.2f s, %.1f tokens/s\n",
               static_cast<long long>(t.prompt_tokens), static_cast<long long>(t.prompt_tokens_run), t.prompt_seconds,
               rate(t.prompt_tokens_run, t.prompt_seconds), static_cast<long long>(t.generated_tokens), t.generate_seconds,
               rate(t.generated_tokens - 1, t.generate_seconds));
}

class Chat {
 public:
  Chat(Opts& o, ChatSession& session, const GenerationDefaults& defaults, bool thinking_off)
      : o_(o), session_(session), defaults_(defaults), thinking_off_(thinking_off) {}

  // One turn; false when it failed (the message is printed).
  bool answer(const std::string& text) {
    ChatOptions& opts = session_.options();
    const bool no_think = thinking_off_ || session_.thinking_switch() == ThinkingSwitch::NoThink;
    opts.sampling = o_.sampling.over(no_think ? defaults_.non_thinking : defaults_.thinking);
    if (!o_.sampling.seed) opts.sampling.seed = random_seed_ + turns_;
    opts.max_tokens = o_.sampling.max_tokens.value_or(-1);
    ++turns_;
    InterruptGuard::flag() = false;
    ReplyPrinter printer(o_.hide_thinking);
    try {
      const TurnResult t = session_.send(text, std::ref(printer), &InterruptGuard::flag());
      printer.finish();
      if (t.dropped_turns > 0) std::fprintf(stderr, "(dropped the %d oldest turn%s to fit the context)\n", t.dropped_turns, t.dropped_turns > 1 ? "s" : "");
      if (o_.verbose) print_stats(t);
      return true;
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return false;
    }
  }

  // An interactive command; false to quit.
  bool command(const std::string& line) {
    const std::string cmd = line.substr(0, line.find(' '));
    const std::string rest = line.size() > cmd.size() ? trim(line.substr(cmd.size())) : "";
    if (cmd == "/exit" || cmd == "/bye" || cmd == "/quit") return false;
    if (cmd == "/think") {
      session_.set_thinking_switch(ThinkingSwitch::Think);
      std::puts("Thinking mode: on (your turns end with /think).");
    } else if (cmd == "/no_think") {
      session_.set_thinking_switch(ThinkingSwitch::NoThink);
      std::puts("Thinking mode: off (your turns end with /no_think).");
    } else if (cmd == "/clear") {
      session_.clear();
      std::puts("Cleared the conversation.");
    } else if (cmd == "/set") {
      const std::string key = rest.substr(0, rest.find(' '));
      const std::string value = rest.size() > key.size() ? trim(rest.substr(key.size())) : "";
      try {
        if (key == "system") {
          session_.options().system = value;
          session_.clear();
          std::puts("Set the system message and cleared the conversation.");
        } else if (value.empty()) {
          std::fprintf(stderr, "usage: /set KEY VALUE (KEY: %s, system)\n", SamplingFlags::keys());
        } else if (o_.sampling.set(key, value)) {
          std::printf("Set %s to %s.\n", key.c_str(), value.c_str());
        } else {
          std::fprintf(stderr, "unknown setting '%s' (one of: %s, system)\n", key.c_str(), SamplingFlags::keys());
        }
      } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
      }
    } else if (cmd == "/show") {
      const bool no_think = thinking_off_ || session_.thinking_switch() == ThinkingSwitch::NoThink;
      const SamplingParams p = o_.sampling.over(no_think ? defaults_.non_thinking : defaults_.thinking);
      std::printf("temperature %g, top_k %d, top_p %g, min_p %g, presence_penalty %g, frequency_penalty %g, repeat_penalty %g\n",
                  p.temperature, p.top_k, p.top_p, p.min_p, p.presence_penalty, p.frequency_penalty, p.repetition_penalty);
      std::printf("defaults from %s; context %lld tokens; %zu messages in the conversation\n", defaults_.source.c_str(),
                  static_cast<long long>(session_.context_size()), session_.messages().size());
    } else if (cmd == "/help" || cmd == "/?") {
      std::fputs(fmt::format(fmt::runtime(kHelp), SamplingFlags::keys()).c_str(), stdout);
    } else {
      std::fprintf(stderr, "unknown command '%s'; /help lists the commands\n", cmd.c_str());
    }
    std::fflush(stdout);
    return true;
  }

  int interactive() {
    InterruptGuard guard;
    LineReader in(STDIN_FILENO);
    const bool tty = is_terminal(STDIN_FILENO);
    auto prompt = [&](const char* p) {
      if (tty) {
        std::fputs(p, stdout);
        std::fflush(stdout);
      }
    };
    std::string line;
    while (true) {
      InterruptGuard::flag() = false;
      prompt(">>> ");
      const auto status = in.read(line);
      if (status == LineReader::Status::End) break;
      if (status == LineReader::Status::Interrupted) {
        std::fputs("\n(Ctrl-D or /exit to quit)\n", stdout);
        continue;
      }
      std::string text = line;
      bool aborted = false;
      if (trim(line).starts_with("\"\"\"")) {  // a block of lines up to the closing """
        text = trim(line).substr(3);
        bool closed = text.size() >= 3 && text.ends_with("\"\"\"");
        if (closed) text.resize(text.size() - 3);
        while (!closed) {
          prompt("... ");
          const auto s = in.read(line);
          if (s != LineReader::Status::Line) {
            aborted = s == LineReader::Status::Interrupted;
            if (aborted) std::fputs("\n", stdout);
            break;
          }
          closed = trim(line).ends_with("\"\"\"");
          text += '\n';
          text += closed ? line.substr(0, line.rfind("\"\"\"")) : line;
        }
        if (!closed && !aborted) break;  // input ended inside the block
      } else {
        while (!text.empty() && text.back() == '\\') {  // a trailing backslash continues the line
          text.pop_back();
          prompt("... ");
          if (in.read(line) != LineReader::Status::Line) break;
          text += '\n';
          text += line;
        }
      }
      if (aborted) continue;
      const std::string trimmed = trim(text);
      if (trimmed.empty()) continue;
      if (trimmed[0] == '/' && trimmed.find('\n') == std::string::npos) {
        if (!command(trimmed)) return 0;
        continue;
      }
      answer(trimmed);
    }
    if (tty) std::fputs("\n", stdout);
    return 0;
  }

 private:
  Opts& o_;
  ChatSession& session_;
  const GenerationDefaults& defaults_;
  bool thinking_off_;
  uint64_t random_seed_ = std::random_device{}();
  uint64_t turns_ = 0;
};

}  // namespace

Run add_run(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  o->model.add(app, /*positional=*/true);
  app.get_option("model_path")->description("Model: a directory, a .gguf file, or a Hugging Face repo id (Qwen/Qwen3-0.6B, owner/repo:Q4_K_M); none: the built-in demo model");
  app.add_option("prompt", o->prompt, "Answer this once and exit (default: read stdin when piped, else chat)");
  o->sampling.add(app);
  app.add_option("--system", o->system, "System message");
  app.add_option("--chat-template-kwargs", o->chat_kwargs, "Template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
  app.add_option("-c,--ctx-size", o->ctx_size, "Context size in tokens (default: the model's, at most 8192)")->check(CLI::PositiveNumber);
  app.add_flag("--drop-oldest", o->drop_oldest, "When the conversation outgrows the context, drop its oldest turns");
  app.add_flag("--hide-thinking", o->hide_thinking, "Do not show the model's thinking");
  app.add_flag("--verbose", o->verbose, "Print prompt and generation speed after each answer");
  return [o, &app] {
    nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
    if (!o->chat_kwargs.empty()) {
      try {
        kwargs = nlohmann::ordered_json::parse(o->chat_kwargs);
      } catch (const nlohmann::json::exception& e) {
        fail("--chat-template-kwargs: not valid JSON: {}", e.what());
      }
      if (!kwargs.is_object()) fail("--chat-template-kwargs: expected a JSON object");
    }
    o->sampling.over({});  // bad flag values fail before the model loads
    bool prompt_given = app.count("prompt") > 0;
    // `qwenrt run "What is 2 + 2?"`: one positional with spaces that names no file is a prompt.
    if (!prompt_given && !o->model.model.empty() && o->model.model.find_first_of(" \t\n") != std::string::npos &&
        !std::filesystem::exists(o->model.model)) {
      o->prompt = std::exchange(o->model.model, "");
      prompt_given = true;
    }
    const bool demo = o->model.model.empty();
    if (demo) std::fputs(demo_model_notice("run").c_str(), stderr);
    const std::string path = demo ? demo_model_path() : resolve_model(o->model.model);
    auto rt = load_with_progress(path, o->model.runtime());
    const TextAssets assets = load_text_assets(path, rt->model().info().n_vocab);
    const GenerationDefaults defaults = demo ? demo_generation_defaults() : generation_defaults(path);
    ChatOptions options;
    options.stop = o->sampling.stop;
    options.ctx_size = o->ctx_size;
    options.drop_oldest = o->drop_oldest;
    options.system = o->system;
    options.kv_type = o->model.kv_dtype();
    options.template_kwargs = kwargs;
    TokenSource source = hooks().reply_source ? hooks().reply_source(assets) : TokenSource{};
    ChatSession session(*rt, assets, options, source);
    const bool thinking_off = kwargs.contains("enable_thinking") && kwargs["enable_thinking"].is_boolean() && !kwargs["enable_thinking"].get<bool>();
    Chat chat(*o, session, defaults, thinking_off);

    const bool one_shot = prompt_given || !is_terminal(STDIN_FILENO);
    if (!one_shot) return chat.interactive();
    std::string prompt = o->prompt;
    if (!prompt_given) prompt = LineReader(STDIN_FILENO).read_all();
    prompt = trim(prompt);
    if (prompt.empty()) fail("run: the prompt is empty");
    InterruptGuard guard;
    return chat.answer(prompt) ? 0 : 1;
  };
}

}  // namespace qwenrt::cli
