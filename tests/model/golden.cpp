#include "model/golden.h"

#include "support/test_support.h"

#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace qwenrt::test {

GoldenModel load_golden(const std::string& name) {
  GoldenModel g;
  g.name = name;
  g.dir = data_path("models/" + name);
  if (std::filesystem::exists(g.dir + "/model.gguf")) g.gguf = g.dir + "/model.gguf";
  g.cases_json = nlohmann::json::parse(read_text(g.dir + "/cases.json"));
  g.vocab_size = g.cases_json["vocab_size"].get<int64_t>();
  g.tolerance = g.cases_json["recommended_tolerance"]["logits_max_abs"].get<double>();
  for (const auto& c : g.cases_json["cases"]) {
    GoldenCase gc;
    gc.name = c["name"].get<std::string>();
    gc.input_ids = c["input_ids"].get<std::vector<int32_t>>();
    gc.greedy_ids = c["greedy"]["ids"].get<std::vector<int32_t>>();
    gc.logits_file = g.dir + "/" + c["logits"]["file"].get<std::string>();
    if (c.contains("mtp_logits")) gc.mtp_logits_file = g.dir + "/" + c["mtp_logits"]["file"].get<std::string>();
    g.cases.push_back(std::move(gc));
  }
  return g;
}

const GoldenCase& GoldenModel::find(const std::string& case_name) const {
  for (const auto& c : cases) {
    if (c.name == case_name) return c;
  }
  throw std::runtime_error("no golden case " + case_name);
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= m)) m = d;  // NaN propagates as a failure
  }
  return m;
}

}  // namespace qwenrt::test
