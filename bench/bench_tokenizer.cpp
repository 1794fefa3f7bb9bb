// Tokenizer speed: encode throughput on one core over the golden corpus (tests/data/tokenizer,
// 4,064 strings in ~25 categories: prose in ~530 languages, code, JSON, emoji, whitespace runs),
// decode throughput, and the load time of the real 11 MB tokenizer.json.
#include "text/tokenizer.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace qwenrt::text {
namespace {

const std::string kData = QWENRT_TEST_DATA;

const Tokenizer& tokenizer() {
  static const auto tok = Tokenizer::from_hf_json(kData + "/tokenizer/tokenizer.json", 151936);
  return *tok;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    std::ifstream in(kData + "/tokenizer/cases.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) out.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
    }
    return out;
  }();
  return texts;
}

void BM_EncodeCorpus(benchmark::State& state) {
  const Tokenizer& tok = tokenizer();
  size_t bytes = 0, tokens = 0;
  for (const auto& t : corpus()) bytes += t.size();
  for (auto _ : state) {
    Bpe::clear_thread_cache();  // each pass starts cold: only reuse within the corpus counts
    tokens = 0;
    for (const auto& t : corpus()) tokens += tok.encode(t).size();
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["corpus_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeCorpus)->Unit(benchmark::kMillisecond);

// Steady state on English prose and code (the piece cache warm from earlier passes), the
// common case of a server tokenizing chat.
void BM_EncodeProseAndCodeWarm(benchmark::State& state) {
  const Tokenizer& tok = tokenizer();
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    std::ifstream in(kData + "/tokenizer/cases.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      const std::string cat = j["category"].get<std::string>();
      if (cat == "prose_en" || cat == "prose_long" || cat.starts_with("code_") || cat == "json") out.push_back(j["text"].get<std::string>());
    }
    return out;
  }();
  size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  for (auto _ : state) {
    for (const auto& t : texts) benchmark::DoNotOptimize(tok.encode(t));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["corpus_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeProseAndCodeWarm)->Unit(benchmark::kMillisecond);

void BM_DecodeCorpus(benchmark::State& state) {
  const Tokenizer& tok = tokenizer();
  std::vector<std::vector<int32_t>> ids;
  size_t bytes = 0;
  for (const auto& t : corpus()) {
    ids.push_back(tok.encode(t));
    bytes += t.size();
  }
  for (auto _ : state) {
    for (const auto& v : ids) benchmark::DoNotOptimize(tok.decode(v));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_DecodeCorpus)->Unit(benchmark::kMillisecond);

void BM_LoadTokenizerJson(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::from_hf_json(kData + "/tokenizer/tokenizer.json", 151936));
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace qwenrt::text

BENCHMARK_MAIN();
