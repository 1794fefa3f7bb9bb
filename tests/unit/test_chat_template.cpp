// The chat-template engine against the golden renderings of three real Qwen templates made with
// Python Jinja2 the way transformers' apply_chat_template makes them (tests/data/chat/README.md):
// every case renders byte-exact, or fails where the reference fails (with the template's own
// message when it called raise_exception). The Qwen3 renderings also carry their token ids,
// which checks the renderer and the tokenizer together.
#include "chat/chat_template.h"
#include "support/test_support.h"
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

using namespace qwenrt;
using namespace qwenrt::test;
using nlohmann::ordered_json;

namespace {

struct Case {
  std::string id;
  ordered_json json;
};

std::vector<Case> load_cases() {
  std::ifstream in(data_path("chat/cases.jsonl"));
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ordered_json j = ordered_json::parse(line);
    cases.push_back({j["id"].get<std::string>(), std::move(j)});
  }
  return cases;
}

const chat::ChatTemplate& template_for(const std::string& relative) {
  static std::map<std::string, chat::ChatTemplate> cache;
  auto it = cache.find(relative);
  if (it == cache.end()) it = cache.emplace(relative, chat::ChatTemplate(read_text(data_path("chat/" + relative)))).first;
  return it->second;
}

chat::ChatRequest request_of(const ordered_json& input) {
  chat::ChatRequest r;
  r.messages = input.at("messages");
  if (input.contains("tools")) r.tools = input["tools"];
  r.add_generation_prompt = input.value("add_generation_prompt", false);
  r.continue_final_message = input.value("continue_final_message", false);
  if (input.contains("template_kwargs")) r.variables = input["template_kwargs"];
  return r;
}

// The special-token variables the goldens were rendered with.
ordered_json special_tokens() {
  ordered_json t = {{"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"}};
  t["additional_special_tokens"] = {"<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                                    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                                    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"};
  return t;
}

}  // namespace

TEST(ChatTemplateGolden, AllCasesMatchTheReference) {
  const std::vector<Case> cases = load_cases();
  ASSERT_EQ(cases.size(), 177u);
  int rendered = 0, failed_as_expected = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id);
    const chat::ChatTemplate& tmpl = template_for(c.json["template"].get<std::string>());
    const chat::ChatRequest request = request_of(c.json["input"]);
    if (c.json.contains("rendered")) {
      try {
        EXPECT_EQ(tmpl.render(request, special_tokens()), c.json["rendered"].get<std::string>());
        ++rendered;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "render failed: " << e.what();
      }
      continue;
    }
    const ordered_json& error = c.json["error"];
    try {
      const std::string out = tmpl.render(request, special_tokens());
      ADD_FAILURE() << "expected an error (" << error["message"] << "), got a rendering:\n" << out;
    } catch (const chat::TemplateError& e) {
      ++failed_as_expected;
      if (error["raised_by"] == "raise_exception") {
        EXPECT_TRUE(e.raised_by_template());
        EXPECT_EQ(e.message(), error["message"].get<std::string>());
      } else {
        EXPECT_FALSE(e.raised_by_template()) << e.what();
      }
    }
  }
  EXPECT_EQ(rendered, 162);
  EXPECT_EQ(failed_as_expected, 15);
}

TEST(ChatTemplateGolden, Qwen3RenderingsTokenizeToTheReferenceIds) {
  const auto tok = text::Tokenizer::from_hf_json(data_path("tokenizer/tokenizer.json"), 151936);
  int checked = 0;
  for (const Case& c : load_cases()) {
    if (!c.json.contains("qwen3_tokenizer_ids")) continue;
    SCOPED_TRACE(c.id);
    const std::string out = template_for(c.json["template"].get<std::string>()).render(request_of(c.json["input"]), special_tokens());
    EXPECT_EQ(tok->encode(out), c.json["qwen3_tokenizer_ids"].get<std::vector<int32_t>>());
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

TEST(ChatTemplateGolden, RuntimeFailuresNameTheProblem) {
  // Where Python failed at run time, the message says what went wrong in Python's words for the
  // cases the reference names (an independent property from the rendering itself).
  std::map<std::string, std::string> expected = {
      {"qwen3.5/tool-calls/string-arguments", "Can only get item pairs from a mapping."},
      {"qwen3-coder/content-parts/text-image-text", "can only concatenate str (not \"list\") to str"},
      {"qwen3/errors/no-messages", "list object has no element 0"},
      {"qwen3/tool-calls/content-missing", "'dict object' has no attribute 'content'"},
  };
  for (const Case& c : load_cases()) {
    auto it = expected.find(c.id);
    if (it == expected.end()) continue;
    SCOPED_TRACE(c.id);
    try {
      template_for(c.json["template"].get<std::string>()).render(request_of(c.json["input"]), special_tokens());
      ADD_FAILURE() << "rendered";
    } catch (const chat::TemplateError& e) {
      EXPECT_EQ(e.message(), it->second);
      EXPECT_NE(std::string(e.what()).find("chat template, line "), std::string::npos) << e.what();
    }
    expected.erase(it);
  }
  EXPECT_TRUE(expected.empty());
}

TEST(ChatTemplateGolden, ContinueFinalMessageAndGenerationPromptConflict) {
  chat::ChatRequest r;
  r.messages = ordered_json::parse(R"([{"role":"user","content":"hi"},{"role":"assistant","content":"Sure"}])");
  r.add_generation_prompt = true;
  r.continue_final_message = true;
  EXPECT_THROW(template_for("templates/Qwen3.jinja").render(r), Error);
  r.add_generation_prompt = false;
  const std::string out = template_for("templates/Qwen3.jinja").render(r);
  EXPECT_EQ(out.substr(out.size() - 4), "Sure");
  r.messages = ordered_json::parse(R"([{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"image"}]}])");
  EXPECT_THROW(template_for("templates/Qwen3.jinja").render(r), Error);  // nothing to continue
}
