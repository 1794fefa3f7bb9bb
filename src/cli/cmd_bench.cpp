// qwenrt bench: prefill (pp) and decode (tg) tokens/s in the manner of llama-bench: each test
// runs on a fresh cache, after a warm-up, repeated; the figure is the median of the repeats.
#include "base/aligned_buffer.h"
#include "base/error.h"
#include "base/strings.h"
#include "base/timer.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "engine/scheduler.h"
#include "kernels/kernels.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iostream>
#include <random>
#include <thread>

#include <sys/resource.h>

namespace qwenrt::cli {
namespace {

struct Result {
  std::string test;
  int n_prompt = 0, n_gen = 0, n_depth = 0;
  std::vector<double> samples;  // tokens/s per repeat
  double median() const {
    std::vector<double> s = samples;
    std::sort(s.begin(), s.end());
    const size_t n = s.size();
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  }
};

std::vector<int32_t> random_tokens(int n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab));
  return t;
}

// A new state holding `depth` tokens of context already (prefilled in batches of 512, not timed).
std::unique_ptr<ModelState> state_at_depth(const Model& m, const ExecContext& ctx, int depth, DType kv_type) {
  auto state = m.new_state({0, kv_type});
  const auto tokens = random_tokens(depth, m.info().n_vocab, 11);
  ForwardOutput out;
  for (int at = 0; at < depth; at += 512) {
    Batch b;
    const int end = std::min(depth, at + 512);
    for (int i = at; i < end; ++i) b.add(tokens[static_cast<size_t>(i)], i, 0, i + 1 == end);
    m.forward(b, *state, out, ctx);
  }
  return state;
}

// One prefill of n tokens in a single batch after `depth` tokens of context; returns seconds.
double run_prefill(const Model& m, const ExecContext& ctx, const std::vector<int32_t>& tokens, int depth, DType kv_type) {
  auto state = state_at_depth(m, ctx, depth, kv_type);
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], depth + static_cast<int32_t>(i), 0, i + 1 == tokens.size());
  ForwardOutput out;
  Timer t;
  m.forward(b, *state, out, ctx);
  return t.seconds();
}

// n single-token decode steps after `depth` tokens of context (0: an empty cache); returns seconds.
double run_decode(const Model& m, const ExecContext& ctx, const std::vector<int32_t>& tokens, int depth, DType kv_type) {
  auto state = state_at_depth(m, ctx, depth, kv_type);
  ForwardOutput out;
  Batch b;
  Timer t;
  for (size_t i = 0; i < tokens.size(); ++i) {
    b.clear();
    b.add(tokens[i], depth + static_cast<int32_t>(i), 0, true);
    m.forward(b, *state, out, ctx);
  }
  return t.seconds();
}

// Read bandwidth of all threads over a buffer far larger than the caches: the roofline for decode,
// which streams every active weight once per token. Median of repeats, in bytes/s.
double read_bandwidth(ThreadPool& pool, const kernels::KernelTable& kt, size_t bytes, int reps) {
  AlignedBuffer buf(bytes);
  std::memset(buf.data(), 1, bytes);  // fault the pages in
  std::vector<double> rates;
  std::atomic<uint64_t> sink{0};
  for (int r = 0; r < reps + 1; ++r) {
    const int64_t chunks = pool.size() * 16;
    const size_t per = bytes / static_cast<size_t>(chunks) / 256 * 256;
    Timer t;
    pool.run(chunks, [&](int64_t c, int) { sink ^= kt.stream_read(buf.data() + static_cast<size_t>(c) * per, per); });
    if (r > 0) rates.push_back(static_cast<double>(per * static_cast<size_t>(chunks)) / t.seconds());  // first: warm-up
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

// Continuous batching under load: `streams` sequences of n_prompt random tokens arrive at once and
// each generates n_gen tokens (no end-of-generation) through the Scheduler, as the server runs them.
struct ServingSample {
  double seconds = 0;               // first arrival to last token
  std::vector<double> ttft;         // per stream: arrival to first token
  std::vector<double> stream_rate;  // per stream: tokens/s after its first token
};

ServingSample run_serving(const Model& m, const ExecContext& ctx, int streams, int n_prompt, int n_gen, uint64_t seed, DType kv) {
  SchedulerOptions so;
  so.kv_type = kv;
  so.max_num_seqs = streams;
  so.max_model_len = n_prompt + n_gen + 1;
  Scheduler sched(m, ctx, so);
  std::vector<std::shared_ptr<SequenceHandle>> handles;
  Timer clock;
  for (int i = 0; i < streams; ++i) {
    SequenceParams sp;
    sp.prompt = random_tokens(n_prompt, m.info().n_vocab, seed + static_cast<uint64_t>(i));
    sp.max_tokens = n_gen;
    handles.push_back(sched.submit(std::move(sp)));
  }
  ServingSample out;
  // One waiter per stream: each records when its tokens came.
  std::vector<std::thread> waiters;
  out.ttft.resize(static_cast<size_t>(streams));
  out.stream_rate.resize(static_cast<size_t>(streams));
  for (int i = 0; i < streams; ++i) {
    waiters.emplace_back([&, i] {
      SequenceHandle::Update u;
      double first = -1;
      int got = 0;
      while (true) {
        if (!handles[static_cast<size_t>(i)]->wait(u, std::chrono::seconds(600))) break;
        if (!u.tokens.empty() && first < 0) first = clock.seconds();
        got += static_cast<int>(u.tokens.size());
        if (u.finished) break;
      }
      const double end = clock.seconds();
      out.ttft[static_cast<size_t>(i)] = first;
      out.stream_rate[static_cast<size_t>(i)] = got > 1 && end > first ? (got - 1) / (end - first) : 0.0;
    });
  }
  for (auto& w : waiters) w.join();
  out.seconds = clock.seconds();
  return out;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int serving_bench(Runtime& rt, const std::vector<int64_t>& levels, int n_prompt, int n_gen, int reps, bool as_json, DType kv) {
  const Model& m = rt.model();
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  if (!as_json) {
    std::cout << fmt::format("| {:>7} | {:>6} | {:>5} | {:>14} | {:>15} | {:>13} | {:>13} |\n", "streams", "prompt", "gen",
                             "aggregate t/s", "per-stream t/s", "TTFT median s", "TTFT max s");
    std::cout << fmt::format("|{:->9}|{:->8}|{:->7}|{:->16}|{:->17}|{:->15}|{:->15}|\n", "", "", "", "", "", "", "");
  }
  run_serving(m, rt.context(), 1, std::min(n_prompt, 16), 4, 99, kv);  // warm-up
  for (int64_t level : levels) {
    if (level < 1 || level > 4096) fail("--concurrency: {} streams is out of range (1 to 4096)", level);
    const int streams = static_cast<int>(level);
    std::vector<double> aggregate, per_stream, ttft_median, ttft_max;
    for (int r = 0; r < reps; ++r) {
      const ServingSample s = run_serving(m, rt.context(), streams, n_prompt, n_gen, 1000 + static_cast<uint64_t>(r) * 7919, kv);
      aggregate.push_back(static_cast<double>(streams) * n_gen / s.seconds);
      per_stream.push_back(median_of(s.stream_rate));
      ttft_median.push_back(median_of(s.ttft));
      ttft_max.push_back(*std::max_element(s.ttft.begin(), s.ttft.end()));
    }
    if (as_json) {
      arr.push_back({{"model", m.info().source}, {"test", fmt::format("serve_c{}", streams)}, {"streams", streams},
                     {"n_prompt", n_prompt}, {"n_gen", n_gen}, {"tokens_per_s", median_of(aggregate)},
                     {"per_stream_tokens_per_s", median_of(per_stream)}, {"ttft_median_s", median_of(ttft_median)},
                     {"ttft_max_s", median_of(ttft_max)}, {"samples_ts", aggregate}});
    } else {
      std::cout << fmt::format("| {:>7} | {:>6} | {:>5} | {:>14.1f} | {:>15.2f} | {:>13.3f} | {:>13.3f} |\n", streams, n_prompt, n_gen,
                               median_of(aggregate), median_of(per_stream), median_of(ttft_median), median_of(ttft_max));
      std::cout.flush();
    }
  }
  if (as_json) std::cout << arr.dump(2) << "\n";
  return 0;
}

}  // namespace

Run add_bench(CLI::App& app) {
  struct Opts {
    std::string model, synthetic, dtype = "BF16";
    int threads = 0, n_prompt = 512, n_gen = 128, reps = 5, layers = 0, depth = 0;
    bool json = false, roofline = true;
    std::string concurrency, load_mode = "auto", kv_type = "f32";
  };
  auto o = std::make_shared<Opts>();
  auto* model_opt = app.add_option("-m,--model", o->model, "Model: a Hugging Face directory or a .gguf file");
  app.add_option("--synthetic", o->synthetic, "Random-weight model of a real shape, built in memory: qwen3-0.6b, qwen3-30b-a3b, qwen3-next-80b-a3b, qwen3.5-35b-a3b")
      ->excludes(model_opt);
  app.add_option("--dtype", o->dtype, "Weight type of the synthetic model (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K: every matrix in it)")->capture_default_str();
  app.add_option("--layers", o->layers, "Depth of the synthetic model (default: the real depth)");
  app.add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens for the prefill test (0: skip)")->capture_default_str();
  app.add_option("-n,--n-gen", o->n_gen, "Tokens for the decode test (0: skip)")->capture_default_str();
  app.add_option("-d,--n-depth", o->depth, "Tokens already in the context before each test (prefilled, not timed), as llama-bench's -d")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("-r,--repetitions", o->reps, "Repeats per test (the median is reported)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("-t,--threads", o->threads, "Threads (default: one per available core)");
  add_load_mode(app, o->load_mode);
  add_kv_type(app, o->kv_type);
  app.add_flag("--json", o->json, "Print a JSON array of results");
  app.add_option("--concurrency", o->concurrency,
                 "Serving benchmark instead: for each count in the list (e.g. 1,4,16,64), that many streams of -p prompt "
                 "tokens arrive at once and each generates -n tokens through the continuous-batching scheduler; reports "
                 "aggregate tokens/s and time to first token");
  app.add_flag("!--no-roofline", o->roofline, "Skip the read-bandwidth probe (1 GiB) behind the decode roofline");
  return [o] {
    if (o->model.empty() == o->synthetic.empty()) fail("bench: give exactly one of --model PATH or --synthetic NAME");
    std::unique_ptr<Runtime> rt;
    if (!o->synthetic.empty()) {
      const auto dtype = dtype_from_name(o->dtype);
      if (!dtype) fail("--dtype: unknown type '{}'", o->dtype);
      rt = Runtime::synthetic(o->synthetic, *dtype, o->layers, 1234, RuntimeOptions{o->threads});
    } else {
      rt = Runtime::load(o->model, RuntimeOptions{o->threads, parse_load_mode(o->load_mode)});
    }
    if (!o->concurrency.empty()) {
      if (o->n_prompt < 1 || o->n_gen < 1) fail("--concurrency needs -p and -n of at least 1");
      return serving_bench(*rt, parse_int_list(o->concurrency, "--concurrency"), o->n_prompt, o->n_gen, o->reps, o->json,
                           kv_type_of(o->kv_type));
    }
    const Model& m = rt->model();
    const ExecContext& ctx = rt->context();
    std::vector<Result> results;
    const std::string at_depth = o->depth > 0 ? fmt::format(" @ d{}", o->depth) : "";
    const DType kv = kv_type_of(o->kv_type);
    if (o->n_prompt > 0) {
      Result r{fmt::format("pp{}{}", o->n_prompt, at_depth), o->n_prompt, 0, o->depth, {}};
      const auto tokens = random_tokens(o->n_prompt, m.info().n_vocab, 7);
      run_prefill(m, ctx, random_tokens(std::min(o->n_prompt, 32), m.info().n_vocab, 8), 0, kv);  // warm-up
      for (int i = 0; i < o->reps; ++i) r.samples.push_back(o->n_prompt / run_prefill(m, ctx, tokens, o->depth, kv));
      results.push_back(r);
    }
    if (o->n_gen > 0) {
      Result r{fmt::format("tg{}{}", o->n_gen, at_depth), 0, o->n_gen, o->depth, {}};
      const auto tokens = random_tokens(o->n_gen, m.info().n_vocab, 9);
      run_decode(m, ctx, random_tokens(std::min(o->n_gen, 8), m.info().n_vocab, 10), 0, kv);  // warm-up
      for (int i = 0; i < o->reps; ++i) r.samples.push_back(o->n_gen / run_decode(m, ctx, tokens, o->depth, kv));
      results.push_back(r);
    }
    const double weight_bytes = static_cast<double>(m.weights().total_bytes());
    // A decode step reads every active weight and the whole KV cache so far (on average the depth plus
    // half the test's tokens).
    const double step_bytes = static_cast<double>(m.decode_bytes_per_token()) +
                              static_cast<double>(m.state_bytes_per_token(kv)) * (o->depth + 0.5 * o->n_gen);
    int64_t params = 0;
    for (const StoredWeight& t : m.weights().tensors()) params += t.weight.shape.numel();
    const char* isa = kernels::isa_name(ctx.kernels->isa);
    // Peak resident memory so far (mapped weights that were read, repacked copies, caches, scratch),
    // taken before the bandwidth probe allocates its 1 GiB.
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto peak_rss = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
    const double bandwidth = o->roofline && o->n_gen > 0 ? read_bandwidth(rt->pool(), *ctx.kernels, size_t{1} << 30, 5) : 0.0;
    if (o->json) {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& r : results) {
        nlohmann::ordered_json e = {{"model", m.info().source},
                                    {"arch", m.info().arch},
                                    {"model_size", static_cast<uint64_t>(weight_bytes)},
                                    {"model_n_params", params},
                                    {"backend", std::string("cpu-") + isa},
                                    {"n_threads", rt->pool().size()},
                                    {"test", r.test},
                                    {"n_prompt", r.n_prompt},
                                    {"n_gen", r.n_gen},
                                    {"n_depth", r.n_depth},
                                    {"type_kv", o->kv_type},
                                    {"tokens_per_s", r.median()},
                                    {"samples_ts", r.samples},
                                    {"peak_rss_bytes", peak_rss}};
        if (r.n_gen > 0) {
          e["bytes_per_token"] = static_cast<uint64_t>(step_bytes);
          e["weight_gbs"] = r.median() * step_bytes / 1e9;
          if (bandwidth > 0) {
            e["read_bandwidth_gbs"] = bandwidth / 1e9;
            e["roofline_tokens_per_s"] = bandwidth / step_bytes;
            e["roofline_fraction"] = r.median() * step_bytes / bandwidth;
          }
        }
        arr.push_back(std::move(e));
      }
      std::cout << arr.dump(2) << "\n";
      return 0;
    }
    std::cout << fmt::format("| {:<40} | {:>10} | {:>8} | {:>10} | {:>7} | {:>13} | {:>12} | {:>24} |\n", "model", "size", "params",
                             "backend", "threads", "test", "t/s (median)", "weights GB/s (roofline)");
    std::cout << fmt::format("|{:-<42}|{:->12}|{:->10}|{:->12}|{:->9}|{:->15}|{:->14}|{:->26}|\n", "", "", "", "", "", "", "", "");
    for (const auto& r : results) {
      std::string roof;
      if (r.n_gen > 0) {
        roof = fmt::format("{:.1f}", r.median() * step_bytes / 1e9);
        if (bandwidth > 0) roof += fmt::format(" of {:.1f} ({:.0f}%)", bandwidth / 1e9, 100.0 * r.median() * step_bytes / bandwidth);
      }
      std::cout << fmt::format("| {:<40} | {:>10} | {:>8} | {:>10} | {:>7} | {:>13} | {:>12.2f} | {:>24} |\n", m.info().source,
                               format_bytes(weight_bytes), format_count(static_cast<double>(params)),
                               std::string("cpu-") + isa, rt->pool().size(), r.test, r.median(), roof);
    }
    std::cout << fmt::format("peak resident memory {} (weights {})\n", format_bytes(static_cast<double>(peak_rss)),
                             format_bytes(weight_bytes));
    return 0;
  };
}

}  // namespace qwenrt::cli
