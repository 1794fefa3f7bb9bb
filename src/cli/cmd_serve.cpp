// qwenrt serve [MODEL]: the OpenAI-compatible server (the built-in demo model when none is given).
// Flags follow vLLM's names: --host, --port, --served-model-name, --max-num-seqs, --max-model-len,
// --api-key; plus --kv-cache-memory and --max-body-size. Ctrl-C (or SIGTERM) stops it cleanly.
#include "api/chat_prompt.h"
#include "api/generation_defaults.h"
#include "base/error.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/demo_model.h"
#include "cli/hooks.h"
#include "cli/model_source.h"
#include "cli/options.h"
#include "engine/scheduler.h"
#include "server/http_server.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace qwenrt::cli {
namespace {

struct Opts {
  ModelOptions model;
  std::string host = "127.0.0.1";
  int port = 8000;
  std::vector<std::string> served_names;
  int max_num_seqs = 16;
  int64_t max_model_len = 0;
  int max_batch_tokens = 512;
  std::string api_key;
  std::string kv_cache_memory = "4GiB";
  std::string max_body_size = "16MiB";
};

std::atomic<server::ApiServer*> g_server{nullptr};

// Signals go to one thread that waits for them: the server stops between requests' bytes, not in
// the middle of a handler. Before the server exists, a signal just ends the process.
void start_signal_thread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // every thread started from here on inherits it
  std::signal(SIGPIPE, SIG_IGN);               // a client gone mid-write is an error return, not death
  std::thread([set] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (server::ApiServer* s = g_server.load()) {
        std::fputs("\nqwenrt: stopping the server\n", stderr);
        s->stop();
        return;
      }
      _exit(128 + sig);
    }
  }).detach();
}

// The name clients use: a repo id as given, else the folder's (or file's) name.
std::string default_served_name(const std::string& spec, const std::string& path) {
  if (!std::filesystem::exists(spec)) return spec;  // a Hugging Face repo id
  std::filesystem::path p = std::filesystem::weakly_canonical(path);
  if (std::filesystem::is_directory(p)) return p.filename().string();
  return p.stem().string();
}

}  // namespace

Run add_serve(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  o->model.add(app, /*positional=*/true);
  app.get_option("model_path")->description("Model: a directory, a .gguf file, or a Hugging Face repo id; none: the built-in demo model");
  app.add_option("--host", o->host, "Address to listen on (default 127.0.0.1; 0.0.0.0 for all)");
  app.add_option("--port", o->port, "Port to listen on (0: any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--served-model-name", o->served_names, "Model name(s) clients use (default: the folder's name or the repo id); repeatable");
  app.add_option("--max-num-seqs", o->max_num_seqs, "Sequences generated at once; more requests wait in a queue")->check(CLI::PositiveNumber);
  app.add_option("--max-model-len", o->max_model_len, "Context length per sequence, prompt and answer (default: the model's)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-num-batched-tokens", o->max_batch_tokens, "Tokens per engine step: decode tokens, then prompt chunks")
      ->check(CLI::PositiveNumber);
  app.add_option("--api-key", o->api_key, "Require 'Authorization: Bearer KEY' on /v1 routes");
  app.add_option("--kv-cache-memory", o->kv_cache_memory, "Memory for the caches of all sequences, e.g. 4GiB");
  app.add_option("--max-body-size", o->max_body_size, "Largest request body accepted, e.g. 16MiB (larger: 413)");
  return [o] {
    const uint64_t cache_bytes = parse_byte_size(o->kv_cache_memory, "--kv-cache-memory");
    const uint64_t body_bytes = parse_byte_size(o->max_body_size, "--max-body-size");
    if (cache_bytes == 0) fail("--kv-cache-memory must be more than 0");
    if (body_bytes == 0) fail("--max-body-size must be more than 0");
    start_signal_thread();

    const bool demo = o->model.model.empty();
    if (demo) std::fputs(demo_model_notice("serve").c_str(), stderr);
    const std::string path = demo ? demo_model_path() : resolve_model(o->model.model);
    auto rt = load_with_progress(path, o->model.runtime());
    const TextAssets assets = load_text_assets(path, rt->model().info().n_vocab);
    const ModelInfo& info = rt->model().info();

    const int64_t trained = info.n_ctx_train > 0 ? info.n_ctx_train : 4096;
    const int64_t max_len = o->max_model_len > 0 ? o->max_model_len : trained;
    if (max_len > trained) {
      fail("--max-model-len {} is longer than the {} tokens this model was trained for (config: max_position_embeddings)", max_len, trained);
    }

    server::ServedModel served;
    served.assets = &assets;
    std::optional<chat::ChatTemplate> tmpl;
    if (assets.chat_template) {
      tmpl.emplace(model_chat_template(assets));
      served.chat_template = &*tmpl;
      served.xml_tool_calls = assets.chat_template->find("<function=") != std::string::npos;
    }
    served.defaults = demo ? demo_generation_defaults() : generation_defaults(path);
    served.max_model_len = max_len;
    served.names = o->served_names;
    if (served.names.empty()) served.names.push_back(demo ? "qwen3-demo" : default_served_name(o->model.model, path));
    served.eos_ids = info.eos_ids;
    for (int32_t id : assets.eos_ids) {
      if (std::find(served.eos_ids.begin(), served.eos_ids.end(), id) == served.eos_ids.end()) served.eos_ids.push_back(id);
    }

    SchedulerOptions so;
    so.max_num_seqs = o->max_num_seqs;
    so.max_batch_tokens = o->max_batch_tokens;
    so.cache_bytes = cache_bytes;
    so.kv_type = o->model.kv_dtype();
    so.max_model_len = max_len;
    so.on_step = hooks().on_engine_step;
    Scheduler scheduler(rt->model(), rt->context(), so);

    server::ServerOptions sv;
    sv.host = o->host;
    sv.port = o->port;
    sv.api_key = o->api_key;
    sv.max_body_bytes = body_bytes;
    sv.model_root = path;
    sv.scripted_reply = hooks().scripted_reply;
    server::ApiServer api(scheduler, served, sv);
    const int port = api.bind();
    g_server.store(&api);
    std::fprintf(stderr, "qwenrt: serving %s as '%s' on http://%s:%d (%d sequences at once, context %lld tokens, cache %s)\n",
                 path.c_str(), served.names.front().c_str(), o->host.c_str(), port, o->max_num_seqs,
                 static_cast<long long>(max_len), format_bytes(static_cast<double>(cache_bytes)).c_str());
    api.serve();
    g_server.store(nullptr);
    return 0;
  };
}

}  // namespace qwenrt::cli
