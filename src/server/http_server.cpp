#include "server/http_server.h"

#include "api/reply_stream.h"
#include "base/log.h"
#include "base/timer.h"
#include "server/metrics.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>

namespace qwenrt::server {
namespace {

using namespace std::chrono_literals;

std::string random_hex(size_t n) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* digits = "0123456789abcdef";
  std::string s(n, '0');
  for (char& c : s) c = digits[rng() & 15];
  return s;
}

int64_t unix_time() { return static_cast<int64_t>(std::time(nullptr)); }

// Model text may hold U+FFFD where the model produced broken UTF-8; never let dump() throw.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status, e.body()); }

// One server-sent event; false when the client is gone.
bool send_event(httplib::DataSink& sink, const json& j) {
  const std::string s = "data: " + dump(j) + "\n\n";
  return sink.write(s.data(), s.size());
}

// One generation request while it runs: what was asked, its sequence in the engine, and the
// reply assembled so far.
struct Job {
  GenerationJob req;
  std::shared_ptr<SequenceHandle> handle;
  std::unique_ptr<ReplyStream> reply;
  std::string id;
  int64_t created = unix_time();
  Timer timer;
  bool started = false;       // the first event was written
  bool first_token = false;   // a token has arrived
  bool done = false;          // the reply is complete
  FinishReason reason = FinishReason::None;
  std::string stop_reason;    // the stop string that ended it
  std::string error;
  int64_t completion_tokens = 0;
  std::chrono::steady_clock::time_point last_probe = std::chrono::steady_clock::now();
  // Accumulated for non-streamed answers.
  std::string reasoning, content;
  struct Call {
    std::string id, name, arguments;
  };
  std::vector<Call> calls;
  std::vector<GeneratedToken> logprob_tokens;

  std::string finish_reason() const {
    switch (reason) {
      case FinishReason::Length: return "length";
      case FinishReason::Stop:
        return !calls.empty() && req.tool_choice != ToolChoice::Named ? "tool_calls" : "stop";
      default: return finish_reason_name(reason);
    }
  }
  // The fields every response object and chunk starts with.
  json envelope(const char* object, json choices) const {
    return {{"id", id}, {"object", object}, {"created", created}, {"model", req.model}, {"choices", std::move(choices)}};
  }
  json usage() const {
    const auto prompt = static_cast<int64_t>(req.prompt.size());
    return {{"prompt_tokens", prompt}, {"total_tokens", prompt + completion_tokens}, {"completion_tokens", completion_tokens}};
  }
};

}  // namespace

struct ApiServer::Impl {
  Scheduler& scheduler;
  ServedModel model;
  ServerOptions opts;
  Metrics metrics;
  httplib::Server http;
  int port = 0;

  Impl(Scheduler& s, ServedModel m, ServerOptions o) : scheduler(s), model(std::move(m)), opts(std::move(o)) {}

  const text::Tokenizer& tok() const { return *model.assets->tokenizer; }

  // ---- tokens to text --------------------------------------------------------------------

  json token_entry(int32_t id, float logprob) const {
    std::string text = tok().decode({id});
    std::string_view raw = tok().token_bytes(id);
    if (raw.empty()) raw = text;
    json bytes = json::array();
    for (unsigned char c : raw) bytes.push_back(static_cast<int>(c));
    return {{"token", text}, {"logprob", logprob}, {"bytes", bytes}};
  }

  json chat_logprobs(const std::vector<GeneratedToken>& tokens) const {
    json content = json::array();
    for (const GeneratedToken& g : tokens) {
      json e = token_entry(g.token, g.logprob);
      json top = json::array();
      for (const TokenLogprob& t : g.top) top.push_back(token_entry(t.token, t.logprob));
      e["top_logprobs"] = top;
      content.push_back(std::move(e));
    }
    return {{"content", content}};
  }

  // The completions API's older shape: parallel lists and a {token: logprob} map per position.
  json completion_logprobs(const std::vector<GeneratedToken>& tokens, size_t text_offset) const {
    json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()}, {"text_offset", json::array()}};
    for (const GeneratedToken& g : tokens) {
      const std::string text = tok().decode({g.token});
      out["tokens"].push_back(text);
      out["token_logprobs"].push_back(g.logprob);
      json top = json::object();
      for (const TokenLogprob& t : g.top) top[tok().decode({t.token})] = t.logprob;
      out["top_logprobs"].push_back(top);
      out["text_offset"].push_back(text_offset);
      text_offset += text.size();
    }
    return out;
  }

  // Feeds new tokens through the reply pipeline. `covered` gets the tokens whose logprobs go out.
  ReplyDelta absorb(Job& job, const SequenceHandle::Update& u, std::vector<GeneratedToken>& covered) {
    ReplyDelta delta;
    for (size_t i = 0; i < u.tokens.size() && !job.done; ++i) {
      if (!job.first_token) {
        job.first_token = true;
        metrics.first_token(job.timer.seconds());
      }
      ++job.completion_tokens;
      if (u.finished && u.ended_by_stop_id && i + 1 == u.tokens.size()) continue;  // the end-of-turn token: no text
      delta.append(job.reply->push(u.tokens[i].token));
      if (job.req.logprobs >= 0) covered.push_back(u.tokens[i]);
      if (job.reply->stopped()) {
        job.done = true;
        job.reason = FinishReason::Stop;
        job.stop_reason = job.reply->matched_stop();
        job.handle->cancel();
      }
    }
    if (u.finished && !job.done) {
      job.done = true;
      job.reason = u.reason;
      job.error = u.error;
    }
    if (job.done) delta.append(job.reply->finish());
    return delta;
  }

  void accumulate(Job& job, ReplyDelta& d, std::vector<GeneratedToken>& covered) {
    job.reasoning += d.reasoning;
    job.content += d.content;
    for (auto& c : d.tool_calls) {
      if (static_cast<size_t>(c.index) >= job.calls.size()) job.calls.push_back({"chatcmpl-tool-" + random_hex(32), c.name, ""});
      job.calls[static_cast<size_t>(c.index)].arguments += c.arguments;
    }
    for (auto& g : covered) job.logprob_tokens.push_back(std::move(g));
    covered.clear();
  }

  // ---- request set-up ----------------------------------------------------------------------

  std::shared_ptr<Job> start(GenerationJob req) {
    auto job = std::make_shared<Job>();
    job->id = (req.chat ? "chatcmpl-" : "cmpl-") + random_hex(32);
    ReplyOptions ro;
    ro.stop = req.stop;
    ro.skip_special = req.skip_special;
    if (req.chat) {
      ro.split_reasoning = req.split_reasoning;
      ro.starts_in_reasoning = req.starts_in_reasoning;
      ro.parse_tool_calls = req.tool_choice != ToolChoice::None;
      if (ro.parse_tool_calls) ro.tool_schemas = chat::ToolSchemas(req.tools);
    }
    job->reply = std::make_unique<ReplyStream>(tok(), std::move(ro));
    SequenceParams sp;
    sp.prompt = req.prompt;
    sp.sampling = req.sampling;
    sp.max_tokens = req.max_tokens;
    sp.min_tokens = req.min_tokens;
    sp.logprobs = req.logprobs;
    if (!req.ignore_eos) sp.stop_ids = model.eos_ids;
    for (int32_t id : req.stop_token_ids) sp.stop_ids.push_back(id);
    if (opts.scripted_reply) {
      if (auto text = opts.scripted_reply(req.prompt_text)) {
        sp.forced = tok().encode(*text);
        if (!model.eos_ids.empty()) sp.forced.push_back(model.eos_ids.front());
      }
    }
    try {
      job->handle = scheduler.submit(std::move(sp));
    } catch (const Error& e) {
      throw ApiError(400, e.what(), req.chat ? "messages" : "prompt");
    }
    job->req = std::move(req);
    // What the reply was made to start with is part of it (a forced tool call's opening).
    if (!job->req.forced_prefix.empty()) {
      std::vector<GeneratedToken> none;
      ReplyDelta d = job->reply->push_text(job->req.forced_prefix);
      accumulate(*job, d, none);
    }
    return job;
  }

  // The end of a stream: the finishing chunk (or the error), the usage chunk when asked, [DONE].
  bool write_end(const Job& job, httplib::DataSink& sink, const json& finish_chunk, const char* object) {
    if (job.reason == FinishReason::Error) {
      if (!send_event(sink, ApiError(500, "generation failed: " + job.error, "", "internal_error").body())) return false;
    } else {
      if (!send_event(sink, finish_chunk)) return false;
      if (job.req.include_usage) {
        json u = job.envelope(object, json::array());
        u["usage"] = job.usage();
        if (!send_event(sink, u)) return false;
      }
    }
    static const std::string kDone = "data: [DONE]\n\n";
    return sink.write(kDone.data(), kDone.size());
  }

  // ---- chat completions ------------------------------------------------------------------

  json chat_chunk(const Job& job, json delta, json finish = nullptr, json logprobs = nullptr) const {
    json choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", std::move(logprobs)}, {"finish_reason", finish}};
    if (!finish.is_null()) choice["stop_reason"] = job.stop_reason.empty() ? json(nullptr) : json(job.stop_reason);
    json c = job.envelope("chat.completion.chunk", json::array({choice}));
    if (job.req.include_usage) c["usage"] = nullptr;
    return c;
  }

  json chat_response(const Job& job) const {
    json message = {{"role", "assistant"}};
    message["content"] = job.content.empty() && !job.calls.empty() ? json(nullptr) : json(job.content);
    message["reasoning_content"] = job.reasoning.empty() ? json(nullptr) : json(job.reasoning);
    json calls = json::array();
    for (const auto& c : job.calls) {
      calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    message["tool_calls"] = calls;
    json choice = {{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", job.finish_reason()},
                   {"stop_reason", job.stop_reason.empty() ? json(nullptr) : json(job.stop_reason)}};
    if (job.req.logprobs >= 0) choice["logprobs"] = chat_logprobs(job.logprob_tokens);
    json r = job.envelope("chat.completion", json::array({choice}));
    r["usage"] = job.usage();
    return r;
  }

  // Writes one update's worth of chat events; false when the client is gone.
  bool write_chat_events(Job& job, httplib::DataSink& sink, ReplyDelta& d, std::vector<GeneratedToken>& covered) {
    json lp = covered.empty() ? json(nullptr) : chat_logprobs(covered);
    if (!d.reasoning.empty() && !send_event(sink, chat_chunk(job, {{"reasoning_content", d.reasoning}}))) return false;
    if (!d.content.empty() || !lp.is_null()) {
      if (!send_event(sink, chat_chunk(job, {{"content", d.content}}, nullptr, lp))) return false;
    }
    if (!d.tool_calls.empty()) {
      json calls = json::array();
      for (const auto& c : d.tool_calls) {
        if (!c.name.empty()) {
          job.calls.push_back({"chatcmpl-tool-" + random_hex(32), c.name, ""});
          calls.push_back({{"index", c.index}, {"id", job.calls.back().id}, {"type", "function"},
                           {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
        } else {
          calls.push_back({{"index", c.index}, {"function", {{"arguments", c.arguments}}}});
        }
      }
      if (!send_event(sink, chat_chunk(job, {{"tool_calls", calls}}))) return false;
    }
    covered.clear();
    return !job.done || write_end(job, sink, chat_chunk(job, json::object(), job.finish_reason()), "chat.completion.chunk");
  }

  // ---- completions -----------------------------------------------------------------------

  json completion_chunk(const Job& job, const std::string& text, json finish, json logprobs) const {
    json choice = {{"index", 0}, {"text", text}, {"logprobs", std::move(logprobs)}, {"finish_reason", finish}};
    if (!finish.is_null()) choice["stop_reason"] = job.stop_reason.empty() ? json(nullptr) : json(job.stop_reason);
    json c = job.envelope("text_completion", json::array({choice}));
    if (job.req.include_usage) c["usage"] = nullptr;
    return c;
  }

  bool write_completion_events(Job& job, httplib::DataSink& sink, ReplyDelta& d, std::vector<GeneratedToken>& covered) {
    std::string text = std::move(d.content);
    if (!job.started) {
      job.started = true;
      if (job.req.echo) text = job.req.prompt_text + text;
    }
    json lp = job.req.logprobs >= 0 && !covered.empty() ? completion_logprobs(covered, job.content.size()) : json(nullptr);
    job.content += text;
    covered.clear();
    if ((!text.empty() || !lp.is_null()) && !send_event(sink, completion_chunk(job, text, nullptr, lp))) return false;
    return !job.done || write_end(job, sink, completion_chunk(job, "", job.finish_reason(), nullptr), "text_completion");
  }

  json completion_response(const Job& job) const {
    const std::string text = (job.req.echo ? job.req.prompt_text : "") + job.content;
    json choice = {{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", job.finish_reason()},
                   {"stop_reason", job.stop_reason.empty() ? json(nullptr) : json(job.stop_reason)}};
    if (job.req.logprobs >= 0) choice["logprobs"] = completion_logprobs(job.logprob_tokens, job.req.echo ? job.req.prompt_text.size() : 0);
    json r = job.envelope("text_completion", json::array({choice}));
    r["usage"] = job.usage();
    return r;
  }

  // ---- the response body, streamed or whole ----------------------------------------------

  void respond(std::shared_ptr<Job> job, httplib::Response& res) {
    res.status = 200;
    auto finished = [this, job] {
      metrics.request_finished(job->timer.seconds(), job->finish_reason());
    };
    if (job->req.stream) {
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider(
          "text/event-stream",
          [this, job, finished](size_t, httplib::DataSink& sink) {
            auto gone = [&] {
              job->handle->cancel();
              return false;
            };
            if (job->req.chat && !job->started) {
              job->started = true;
              if (!send_event(sink, chat_chunk(*job, {{"role", "assistant"}, {"content", ""}}))) return gone();
            }
            SequenceHandle::Update u;
            if (!job->handle->wait(u, 200ms)) return true;
            std::vector<GeneratedToken> covered;
            ReplyDelta d = absorb(*job, u, covered);
            const bool ok = job->req.chat ? write_chat_events(*job, sink, d, covered) : write_completion_events(*job, sink, d, covered);
            if (!ok) return gone();
            if (job->done) {
              finished();
              sink.done();
            }
            return true;
          },
          [job](bool) {
            if (!job->done) job->handle->cancel();
          });
      return;
    }
    // Whole answers also go out chunked: leading whitespace (valid before a JSON value) written
    // now and then tells a client that left apart from one that waits, so its sequence stops.
    res.set_chunked_content_provider(
        "application/json",
        [this, job, finished](size_t, httplib::DataSink& sink) {
          auto now = std::chrono::steady_clock::now();
          if (now - job->last_probe > 500ms) {
            job->last_probe = now;
            if (!sink.write(" ", 1)) {
              job->handle->cancel();
              return false;
            }
          }
          SequenceHandle::Update u;
          if (!job->handle->wait(u, 200ms)) return true;
          std::vector<GeneratedToken> covered;
          ReplyDelta d = absorb(*job, u, covered);
          if (job->req.chat) {
            accumulate(*job, d, covered);
          } else {
            job->content += d.content;
            for (auto& g : covered) job->logprob_tokens.push_back(std::move(g));
          }
          if (!job->done) return true;
          json body;
          if (job->reason == FinishReason::Error) {
            body = ApiError(500, "generation failed: " + job->error, "", "internal_error").body();
          } else {
            body = job->req.chat ? chat_response(*job) : completion_response(*job);
          }
          const std::string s = dump(body);
          finished();
          if (!sink.write(s.data(), s.size())) return false;
          sink.done();
          return true;
        },
        [job](bool) {
          if (!job->done) job->handle->cancel();
        });
  }

  // ---- routes ----------------------------------------------------------------------------

  template <class F>
  auto guarded(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const Error& e) {
        send_error(res, ApiError(400, e.what()));
      } catch (const std::bad_alloc&) {
        send_error(res, ApiError(500, "out of memory", "", "internal_error"));
      } catch (const std::exception& e) {
        send_error(res, ApiError(500, std::string("internal error: ") + e.what(), "", "internal_error"));
      }
    };
  }

  json model_card(const std::string& name) const {
    return {{"id", name}, {"object", "model"}, {"created", unix_time()}, {"owned_by", "qwenrt"}, {"root", opts.model_root},
            {"parent", nullptr}, {"max_model_len", model.max_model_len}};
  }

  void routes() {
    http.Post("/v1/chat/completions", guarded([this](const httplib::Request& req, httplib::Response& res) {
      respond(start(parse_chat_request(parse_body(req.body), model)), res);
    }));
    http.Post("/v1/completions", guarded([this](const httplib::Request& req, httplib::Response& res) {
      respond(start(parse_completion_request(parse_body(req.body), model)), res);
    }));
    http.Get("/v1/models", guarded([this](const httplib::Request&, httplib::Response& res) {
      json data = json::array();
      for (const auto& n : model.names) data.push_back(model_card(n));
      send_json(res, 200, {{"object", "list"}, {"data", data}});
    }));
    http.Get(R"(/v1/models/(.+))", guarded([this](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1];
      if (std::find(model.names.begin(), model.names.end(), name) == model.names.end()) {
        throw ApiError(404, fmt::format("The model `{}` does not exist.", name), "model", "invalid_request_error", "model_not_found");
      }
      send_json(res, 200, model_card(name));
    }));
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    http.Get("/version", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"version", "0.1.0"}}); });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.render(scheduler.stats()), "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Post("/tokenize", guarded([this](const httplib::Request& req, httplib::Response& res) {
      const json body = parse_body(req.body);
      if (body.contains("model")) requested_model(body, model);
      std::vector<int32_t> ids;
      if (body.contains("messages")) {
        ids = tok().encode(render_checked(checked_chat_request(body), model));
      } else if (body.contains("prompt") && body["prompt"].is_string()) {
        ids = tok().encode(body["prompt"].get<std::string>());
      } else {
        throw ApiError(400, "/tokenize needs a string 'prompt' or a list of 'messages'", "prompt");
      }
      json out = {{"count", ids.size()}, {"max_model_len", model.max_model_len}, {"tokens", ids}};
      if (body.value("return_token_strs", false)) {
        json strs = json::array();
        for (int32_t id : ids) strs.push_back(tok().decode({id}));
        out["token_strs"] = strs;
      } else {
        out["token_strs"] = nullptr;
      }
      send_json(res, 200, out);
    }));
    http.Post("/detokenize", guarded([this](const httplib::Request& req, httplib::Response& res) {
      const json body = parse_body(req.body);
      if (body.contains("model")) requested_model(body, model);
      if (!body.contains("tokens") || !body["tokens"].is_array()) throw ApiError(400, "/detokenize needs a list of 'tokens'", "tokens");
      std::vector<int32_t> ids;
      for (const json& id : body["tokens"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= tok().vocab_size()) {
          throw ApiError(400, fmt::format("invalid token id {} (the vocabulary has {} tokens)", id.dump(), tok().vocab_size()), "tokens");
        }
        ids.push_back(id.get<int32_t>());
      }
      send_json(res, 200, {{"prompt", tok().decode(ids)}});
    }));

    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (opts.api_key.empty() || req.path.rfind("/v1", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
      const std::string auth = req.get_header_value("Authorization");
      if (auth == "Bearer " + opts.api_key) return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, ApiError(401, auth.empty() ? "Missing API key: send it as 'Authorization: Bearer KEY'" : "Incorrect API key provided.",
                               "", "invalid_request_error", "invalid_api_key"));
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (res.status == 413) {
        send_error(res, ApiError(413, fmt::format("the request body is larger than this server accepts ({} bytes, --max-body-size)", opts.max_body_bytes)));
      } else if (res.status == 404) {
        send_error(res, ApiError(404, fmt::format("no route for {} {}", req.method, req.path), "", "invalid_request_error", "not_found"));
      } else {
        send_error(res, ApiError(res.status, fmt::format("HTTP error {}", res.status)));
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, ApiError(500, "internal error", "", "internal_error"));
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      static const char* known[] = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/tokenize", "/detokenize", "/health", "/metrics", "/version"};
      std::string endpoint = "other";
      for (const char* k : known) {
        if (req.path == k) endpoint = k;
      }
      if (endpoint == "other" && req.path.rfind("/v1/models/", 0) == 0) endpoint = "/v1/models";
      metrics.request(endpoint, res.status);
      log_debug("{} {} -> {}", req.method, req.path, res.status);
    });
  }
};

ApiServer::ApiServer(Scheduler& scheduler, ServedModel model, ServerOptions options)
    : impl_(std::make_unique<Impl>(scheduler, std::move(model), std::move(options))) {
  if (impl_->model.names.empty()) fail("the server needs at least one served model name");
  const int threads = impl_->opts.http_threads > 0 ? impl_->opts.http_threads
                                                   : std::max(64, 2 * scheduler.options().max_num_seqs + 16);
  impl_->http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  impl_->http.set_payload_max_length(impl_->opts.max_body_bytes);
  impl_->http.set_read_timeout(60, 0);
  impl_->http.set_write_timeout(60, 0);
  impl_->http.set_keep_alive_max_count(1000);
  impl_->routes();
}

ApiServer::~ApiServer() = default;

int ApiServer::bind() {
  Impl& s = *impl_;
  if (s.opts.port == 0) {
    s.port = s.http.bind_to_any_port(s.opts.host);
    if (s.port <= 0) fail("cannot listen on {}: no free port", s.opts.host);
  } else {
    if (!s.http.bind_to_port(s.opts.host, s.opts.port)) fail("cannot listen on {}:{} (in use, or not an address of this machine)", s.opts.host, s.opts.port);
    s.port = s.opts.port;
  }
  return s.port;
}

void ApiServer::serve() { impl_->http.listen_after_bind(); }

void ApiServer::stop() { impl_->http.stop(); }

}  // namespace qwenrt::server
