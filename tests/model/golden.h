#pragma once
// Access to the golden model data in tests/data/models/<name>/ (see PROVENANCE.md there).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace qwenrt::test {

struct GoldenCase {
  std::string name;
  std::vector<int32_t> input_ids;
  std::vector<int32_t> greedy_ids;
  std::string logits_file;  // absolute path
  std::string mtp_logits_file;  // absolute path or empty
};

struct GoldenModel {
  std::string name;
  std::string dir;   // HF directory
  std::string gguf;  // model.gguf path, or empty
  int64_t vocab_size = 0;
  double tolerance = 0;  // recommended max |logit difference|
  nlohmann::json cases_json;
  std::vector<GoldenCase> cases;
  const GoldenCase& find(const std::string& case_name) const;
};

GoldenModel load_golden(const std::string& name);

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace qwenrt::test
