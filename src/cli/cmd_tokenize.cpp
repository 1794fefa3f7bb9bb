// qwenrt tokenize / detokenize: the model's tokenizer on its own (PATH may be a directory holding
// only tokenizer files).
#include "api/text_assets.h"
#include "base/error.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace qwenrt::cli {
namespace {

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  return s + "]";
}

}  // namespace

Run add_tokenize(CLI::App& app) {
  struct Opts {
    std::string model, text, file, jsonl;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, "Model or tokenizer: a directory with tokenizer.json, or a .gguf file")->required();
  auto* text = app.add_option("--text", o->text, "Text to encode (as is: special tokens written in it are recognised)");
  auto* file = app.add_option("--file", o->file, "File whose bytes to encode");
  auto* jsonl = app.add_option("--jsonl", o->jsonl, "File of JSON strings, one per line; prints one JSON array per line");
  text->excludes(file)->excludes(jsonl);
  file->excludes(jsonl);
  return [o, text, file, jsonl] {
    if (!*text && !*file && !*jsonl) fail("tokenize: give one of --text, --file or --jsonl");
    const TextAssets assets = load_text_assets(o->model);
    const text::Tokenizer& tok = *assets.tokenizer;
    if (*jsonl) {
      std::ifstream in(o->jsonl, std::ios::binary);
      if (!in) fail("{}: cannot open", o->jsonl);
      std::string line;
      size_t n = 0;
      while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        nlohmann::json s;
        try {
          s = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          fail("{}:{}: not a JSON string: {}", o->jsonl, n, e.what());
        }
        if (!s.is_string()) fail("{}:{}: not a JSON string", o->jsonl, n);
        std::cout << ids_json(tok.encode(s.get<std::string>())) << "\n";
      }
      return 0;
    }
    const std::string input = *file ? read_file(o->file) : o->text;
    std::cout << ids_json(tok.encode(input)) << "\n";
    return 0;
  };
}

Run add_detokenize(CLI::App& app) {
  struct Opts {
    std::string model, ids;
    bool skip_special = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, "Model or tokenizer: a directory with tokenizer.json, or a .gguf file")->required();
  app.add_option("--ids", o->ids, "Token ids, comma-separated")->required();
  app.add_flag("--skip-special", o->skip_special, "Leave out special tokens (<|im_end|> ...), as skip_special_tokens does");
  return [o] {
    const TextAssets assets = load_text_assets(o->model);
    std::vector<int32_t> ids;
    for (int64_t v : parse_int_list(o->ids, "--ids")) {
      if (v < INT32_MIN || v > INT32_MAX) fail("--ids: {} is not a valid token id", v);
      ids.push_back(static_cast<int32_t>(v));
    }
    const std::string out = assets.tokenizer->decode(ids, o->skip_special);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace qwenrt::cli
