// Tool-call parsing: both Qwen forms, typing by schema, malformed text kept as content, and the
// streamed split equal to the whole-text one however the text is cut.
#include "chat/tool_calls.h"

#include <gtest/gtest.h>

#include <random>

namespace qwenrt::chat {
namespace {

using json = nlohmann::ordered_json;

const json kTools = json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
      "city": {"type": "string"}, "days": {"type": "integer"}, "scale": {"type": "number"},
      "detailed": {"type": "boolean"}, "fields": {"type": "array"}, "where": {"type": "object"}, "zip": {"type": "string"}}}}},
  {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
])");

ToolParse streamed(std::string_view text, const std::vector<size_t>& cuts, bool check_shape = true) {
  ToolCallStream s{ToolSchemas(kTools)};
  ToolParse p;
  int expect_index = 0;
  auto take = [&](ToolCallStream::Out o) {
    p.content += o.content;
    for (const auto& d : o.calls) {
      if (!d.name.empty()) {
        if (check_shape) {
          EXPECT_EQ(d.index, expect_index) << "calls are numbered in order";
          EXPECT_EQ(d.arguments, "") << "a call's first delta carries its name only";
        }
        ++expect_index;
        p.calls.push_back({d.name, ""});
      } else {
        EXPECT_EQ(d.index, expect_index - 1);
        p.calls.back().arguments += d.arguments;
      }
    }
  };
  size_t at = 0;
  for (size_t c : cuts) {
    take(s.push(text.substr(at, c - at)));
    at = c;
  }
  take(s.push(text.substr(at)));
  take(s.finish());
  EXPECT_EQ(s.calls(), static_cast<int>(p.calls.size()));
  return p;
}

// Cut points in a text of `size` bytes: each position with chance 1 in `one_in`.
std::vector<size_t> random_cuts(size_t size, std::mt19937& rng, unsigned one_in) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < size; ++i) {
    if (rng() % one_in == 0) cuts.push_back(i);
  }
  return cuts;
}

// The whole-text parse, and the same text streamed one byte at a time and in random pieces.
ToolParse parse_all_ways(std::string_view text) {
  const ToolParse whole = parse_tool_calls(text, ToolSchemas(kTools));
  std::mt19937 rng(7);
  const ToolParse one = streamed(text, random_cuts(text.size(), rng, 1));  // every byte on its own
  EXPECT_EQ(one.content, whole.content) << text;
  EXPECT_EQ(one.calls, whole.calls) << text;
  for (int trial = 0; trial < 20; ++trial) {
    const ToolParse r = streamed(text, random_cuts(text.size(), rng, 5));
    EXPECT_EQ(r.content, whole.content) << text;
    EXPECT_EQ(r.calls, whole.calls) << text;
  }
  return whole;
}

TEST(ToolCalls, Qwen3JsonForm) {
  const ToolParse p = parse_all_ways(
      "Let me check.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>");
  EXPECT_EQ(p.content, "Let me check.");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, R"({"city": "Paris", "days": 3})");  // json.dumps' spacing, the model's key order
}

TEST(ToolCalls, SeveralCallsAndTheTextAroundThem) {
  const ToolParse p = parse_all_ways(
      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"city\": \"Lima\"}}\n</tool_call>\n");
  EXPECT_EQ(p.content, "");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[1].arguments, R"({"city": "Lima"})");
  const ToolParse after = parse_all_ways("<tool_call>{\"name\": \"f\"}</tool_call>\n\nDone.  Really.\n");
  EXPECT_EQ(after.content, "Done.  Really.");
  EXPECT_EQ(after.calls[0].arguments, "{}");
}

TEST(ToolCalls, ArgumentsWrittenAsAStringOrUnderParameters) {
  EXPECT_EQ(parse_all_ways(R"(<tool_call>{"name": "f", "arguments": "{\"a\": [1, 2]}"}</tool_call>)").calls.at(0).arguments,
            R"({"a": [1, 2]})");
  EXPECT_EQ(parse_all_ways(R"(<tool_call>{"name": "f", "parameters": {"x": "é"}}</tool_call>)").calls.at(0).arguments,
            "{\"x\": \"é\"}");
}

TEST(ToolCalls, CoderFormTypedByTheSchema) {
  const ToolParse p = parse_all_ways(
      "<tool_call>\n<function=get_weather>\n"
      "<parameter=city>\nNew York\n</parameter>\n"
      "<parameter=days>\n5\n</parameter>\n"
      "<parameter=scale>\n2.5\n</parameter>\n"
      "<parameter=detailed>\nTrue\n</parameter>\n"
      "<parameter=fields>\n[\"wind\", \"rain\"]\n</parameter>\n"
      "<parameter=where>\n{\"lat\": 1}\n</parameter>\n"
      "<parameter=zip>\n01234\n</parameter>\n"
      "<parameter=note>\ntwo\nlines\n</parameter>\n"
      "</function>\n</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments,
            R"({"city": "New York", "days": 5, "scale": 2.5, "detailed": true, "fields": ["wind", "rain"], )"
            R"("where": {"lat": 1}, "zip": "01234", "note": "two\nlines"})");
}

TEST(ToolCalls, CoderFormEdgeValues) {
  const auto args = [](const std::string& params) {
    const ToolParse p = parse_all_ways("<tool_call>\n<function=get_weather>\n" + params + "</function>\n</tool_call>");
    return p.calls.empty() ? std::string("(no call)") : p.calls[0].arguments;
  };
  EXPECT_EQ(args("<parameter=scale>\n3.0\n</parameter>\n"), R"({"scale": 3})");  // as vLLM: whole floats become ints
  EXPECT_EQ(args("<parameter=days>\nfive\n</parameter>\n"), R"({"days": "five"})");  // not a number: kept as text
  EXPECT_EQ(args("<parameter=days>\nnull\n</parameter>\n"), R"({"days": null})");
  EXPECT_EQ(args("<parameter=fields>\n[broken\n</parameter>\n"), R"({"fields": "[broken"})");
  EXPECT_EQ(args("<parameter=detailed>\nmaybe\n</parameter>\n"), R"({"detailed": "maybe"})");
  EXPECT_EQ(args("<parameter=days>\ninf\n</parameter>\n"), R"({"days": "inf"})");
  // A forgotten </parameter> ends at the next parameter.
  EXPECT_EQ(args("<parameter=city>\nRome\n<parameter=days>\n2\n</parameter>\n"), R"({"city": "Rome", "days": 2})");
  EXPECT_EQ(args(""), "{}");
}

TEST(ToolCalls, WhatOnlyLooksLikeACallStaysContent) {
  for (const std::string& text : {
           std::string("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call>"),  // JSON cut short
           std::string("<tool_call>{\"arguments\": {}}</tool_call>"),                             // no name
           std::string("<tool_call>{\"name\": \"\"}</tool_call>"),
           std::string("<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>"),  // arguments not an object
           std::string("<tool_call>just words</tool_call>"),
           std::string("<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n</tool_call>"),  // no </function>
           std::string("<tool_call>\n<function=f>\nstray\n</function>\n</tool_call>"),
           std::string("Use <tool_call> tags like this."),  // never closed
           std::string("a <tool_ca"),
           std::string("x < y and <tool_call"),
       }) {
    const ToolParse p = parse_all_ways(text);
    EXPECT_TRUE(p.calls.empty()) << text;
    EXPECT_EQ(p.content, text);
  }
  // A bad block does not spoil a good one after it.
  const ToolParse mixed = parse_all_ways("<tool_call>oops</tool_call> then <tool_call>{\"name\": \"g\"}</tool_call>");
  EXPECT_EQ(mixed.content, "<tool_call>oops</tool_call> then");
  ASSERT_EQ(mixed.calls.size(), 1u);
  EXPECT_EQ(mixed.calls[0].name, "g");
}

TEST(ToolCalls, PlainTextIsReleasedAsItComes) {
  ToolCallStream s;
  EXPECT_EQ(s.push("Hello").content, "Hello");
  EXPECT_EQ(s.push(" wor").content, " wor");
  EXPECT_EQ(s.push("ld <tool").content, "ld");  // " <tool" may start a tag
  EXPECT_EQ(s.push("box> ok").content, " <toolbox> ok");
  EXPECT_EQ(s.finish().content, "");
}

TEST(ToolCalls, PythonJson) {
  EXPECT_EQ(python_json(json::parse(R"({"b": [1, 2.5, {"c": null}], "a": "x\"y\n", "u": "日本", "t": true})")),
            R"({"b": [1, 2.5, {"c": null}], "a": "x\"y\n", "u": "日本", "t": true})");
  EXPECT_EQ(python_json(json::array()), "[]");
  EXPECT_EQ(python_json(json::object()), "{}");
}

TEST(ToolCalls, RandomTextNeverBreaksTheParser) {
  const std::vector<std::string> parts = {"<tool_call>", "</tool_call>", "<function=", "</function>", "<parameter=", "</parameter>",
                                          "{", "}", "\"name\"", ":", "\"f\"", "\n", " ", "x", ">", "<", "\xff", "\"arguments\""};
  std::mt19937 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) text += parts[rng() % parts.size()];
    const ToolParse whole = parse_tool_calls(text, ToolSchemas(kTools));
    const ToolParse s = streamed(text, random_cuts(text.size(), rng, 3));
    EXPECT_EQ(s.content, whole.content) << text;
    EXPECT_EQ(s.calls, whole.calls) << text;
    if (whole.calls.empty()) {
      EXPECT_EQ(whole.content, text) << "with no call, the text is content verbatim";
    }
  }
}

}  // namespace
}  // namespace qwenrt::chat
