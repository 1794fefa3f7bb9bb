// The template language itself: Jinja2's whitespace rules, scoping, filters, tests and Python's
// value semantics. Expected strings are what Python Jinja2 3.1 (trim_blocks, lstrip_blocks)
// prints for the same template, worked out from Jinja2's documented rules and Python's.
#include "chat/chat_template.h"
#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "chat/python_text.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace qwenrt;
using namespace qwenrt::chat;
using nlohmann::ordered_json;

namespace {

std::string render(const std::string& source, const std::string& vars_json = "{}") {
  const Body program = parse_template(tokenize(source));
  std::map<std::string, Value, std::less<>> vars;
  const ordered_json j = ordered_json::parse(vars_json);
  for (auto it = j.begin(); it != j.end(); ++it) vars[it.key()] = Value::from_json(it.value());
  Interpreter in(program);
  return in.render(vars);
}

std::string error_of(const std::string& source, const std::string& vars_json = "{}") {
  try {
    render(source, vars_json);
  } catch (const TemplateError& e) {
    return e.message();
  }
  return "(no error)";
}

}  // namespace

TEST(JinjaWhitespace, TrimBlocksDropsTheNewlineAfterABlockTag) {
  EXPECT_EQ(render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");
  EXPECT_EQ(render("{# c #}\nx"), "x");
  EXPECT_EQ(render("{{ 1 }}\nx"), "1\nx");  // only block and comment tags trim
}

TEST(JinjaWhitespace, LstripBlocksDropsIndentationBeforeABlockTag) {
  EXPECT_EQ(render("a\n    {% if true %}b{% endif %}"), "a\nb");
  EXPECT_EQ(render("a  {% if true %}b{% endif %}"), "a  b");  // not at the start of a line
  EXPECT_EQ(render("a\n    {{ 1 }}"), "a\n    1");            // print tags keep it
}

TEST(JinjaWhitespace, DashAndPlusModifiers) {
  EXPECT_EQ(render("a  \n  {{- 'b' -}}  \n  c"), "abc");
  EXPECT_EQ(render("a\n  {%+ if true %}b{% endif %}"), "a\n  b");
  EXPECT_EQ(render("{% if true +%}\nb{% endif %}"), "\nb");
  EXPECT_EQ(render("x {%- if true %} y{% endif %}"), "x y");
}

TEST(JinjaWhitespace, RawAndComments) {
  EXPECT_EQ(render("{% raw %}{{ not parsed }}{% endraw %}"), "{{ not parsed }}");
  EXPECT_EQ(render("a{# {{ ignored }} #}b"), "ab");
}

TEST(JinjaScoping, ForLoopsDoNotLeakButNamespacesCarryState) {
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1,2] %}{% set x = i %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% for i in [1,2] %}{% set ns.x = i %}{% endfor %}{{ ns.x }}"), "2");
  EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");  // if blocks share the scope
  EXPECT_EQ(error_of("{% set d = {} %}{% set d.x = 1 %}"), "cannot assign attribute on non-namespace object");
}

TEST(JinjaScoping, LoopVariables) {
  EXPECT_EQ(render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}|{% endfor %}"),
            "103TrueFalse|212FalseFalse|321FalseTrue|");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}"), "-2;1-3;2-;");
  EXPECT_EQ(render("{% for x in [1,2,3,4] if x is even %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% endfor %}"), "1/2:2 2/2:4 ");
  EXPECT_EQ(render("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "1");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}"), "13");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}={{ v }},{% endfor %}"), "a=1,b=2,");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "aba");
}

TEST(JinjaMacros, ArgumentsDefaultsAndClosures) {
  EXPECT_EQ(render("{% macro m(a, b='B') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(1, 2) }}{{ m(a=3, b=4) }}"), "[1B][12][34]");
  EXPECT_EQ(render("{% set g = 'G' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}"), "G");
  EXPECT_EQ(render("{% macro m() %}  x  {% endmacro %}[{{ m() | trim }}]"), "[x]");
  EXPECT_EQ(error_of("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"), "macro 'm' takes 1 arguments, 2 given");
  EXPECT_EQ(error_of("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"), "macro calls are nested too deeply");
}

TEST(JinjaPython, StrOfValuesIsPythons) {
  EXPECT_EQ(render("{{ true }} {{ none }} {{ 2.5 }} {{ 10.0 }} {{ 1e-7 }} {{ 1e16 }} {{ [1, 'a', none] }} {{ {'k': false} }}"),
            "True None 2.5 10.0 1e-07 1e+16 [1, 'a', None] {'k': False}");
  EXPECT_EQ(render("{{ x }}|{{ x | string }}", R"({"x": 12345678901234567890})"), "12345678901234567890|12345678901234567890");
  EXPECT_EQ(render("{{ (1, 2) }} {{ (1,) }} {{ \"it's\" ~ 1 }}"), "(1, 2) (1,) it's1");
  EXPECT_EQ(render("{{ ['it\\'s', \"q\\\"\"] }}"), "[\"it's\", 'q\"']");
}

TEST(JinjaPython, Arithmetic) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2.0 }} {{ 'ab' * 2 }}"),
            "3 -4 2 3.5 1024 3.0 abab");
  EXPECT_EQ(render("{{ '%s is %d (%.2f)' % ('x', 3, 2.5) }}"), "x is 3 (2.50)");
  EXPECT_EQ(error_of("{{ 1 / 0 }}"), "division by zero");
  EXPECT_EQ(error_of("{{ 'a' + 1 }}"), "can only concatenate str (not \"int\") to str");
  EXPECT_EQ(error_of("{{ 'a' < 1 }}"), "'<' not supported between instances of 'str' and 'int'");
}

TEST(JinjaPython, SubscriptsAndSlices) {
  EXPECT_EQ(render("{{ xs[-1] }} {{ xs[::-1] }} {{ xs[1:] }} {{ 'héllo'[1] }} {{ 'héllo'[::-1] }}", R"({"xs":[1,2,3]})"),
            "3 [3, 2, 1] [2, 3] é olléh");
  EXPECT_EQ(error_of("{{ xs[5] + 1 }}", R"({"xs":[1]})"), "list object has no element 5");
  EXPECT_EQ(render("{{ d.a }}{{ d['a'] }}{{ d.missing }}", R"({"d":{"a":1}})"), "11");
  EXPECT_EQ(render("{{ d.items()|list }}", R"({"d":{"items":5}})"), "[('items', 5)]");  // attribute first
  EXPECT_EQ(render("{{ d['items'] }}", R"({"d":{"items":5}})"), "5");                    // item first
}

TEST(JinjaPython, UndefinedBehavesLikeJinja2Undefined) {
  EXPECT_EQ(render("[{{ missing }}]{% for x in missing %}x{% endfor %}{{ missing | length }}{{ missing is defined }}"), "[]0False");
  EXPECT_EQ(render("{{ missing | default('d') }} {{ '' | default('e', true) }}"), "d e");
  EXPECT_EQ(error_of("{{ missing.attr }}"), "'missing' is undefined");
  EXPECT_EQ(render("{{ 'x' in missing }}"), "False");
  EXPECT_EQ(error_of("{{ 'x' in none }}"), "argument of type 'NoneType' is not iterable");
  EXPECT_EQ(error_of("{{ missing + 1 }}"), "'missing' is undefined");
  EXPECT_EQ(error_of("{{ missing() }}"), "'missing' is undefined");
}

TEST(JinjaPython, StringMethods) {
  EXPECT_EQ(render("{{ ' a b '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\n\na\n'.lstrip('\n') }}|{{ 'a b  c'.split() }}"),
            "a b|a|a\n|['a', 'b', 'c']");
  EXPECT_EQ(render("{{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'x</think>y'.split('</think>')[-1] }}"),
            "['a', 'b,c'] ['a,b', 'c'] y");
  EXPECT_EQ(render("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'aXa'.replace('a', 'b') }} {{ 'é'.upper() }}"),
            "True True bXb É");
  EXPECT_EQ(render("{{ 'hello world'.title() }} {{ 'ab'.find('b') }} {{ 'abab'.count('ab') }} {{ '-'.join(['a', 'b']) }}"),
            "Hello World 1 2 a-b");
  EXPECT_EQ(render("{{ '{} and {name}'.format(1, name='n') }}"), "1 and n");
  // Python whitespace: U+3000 and U+001F are spaces, U+FEFF and U+200B are not.
  EXPECT_EQ(render("[{{ s.strip() }}]", R"({"s":"\u3000\u001f x\ufeff\u200b"})"), "[x\ufeff\u200b]");
  EXPECT_EQ(py::strip("\u00a0a\u00a0", std::nullopt, true, true), "a");
}

TEST(JinjaPython, MutatingMethodsAreRefusedAsInTheSandbox) {
  EXPECT_EQ(error_of("{% set xs = [] %}{{ xs.append(1) }}"), "access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(error_of("{% set d = {} %}{{ d.update({}) }}"), "access to attribute 'update' of 'dict' object is unsafe.");
}

TEST(JinjaFilters, TojsonIsJsonDumpsWithEnsureAsciiFalse) {
  EXPECT_EQ(render("{{ x | tojson }}", R"({"x":{"b":[1,2.5,10.0,true,null],"a":"é<>&'\"\\\n\t\u0001"}})"),
            R"({"b": [1, 2.5, 10.0, true, null], "a": "é<>&'\"\\\n\t\u0001"})");
  EXPECT_EQ(render("{{ x | tojson(indent=2) }}", R"({"x":{"a":[1,2]}})"), "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
  EXPECT_EQ(render("{{ x | tojson(separators=(',', ':'), sort_keys=true) }}", R"({"x":{"b":1,"a":2}})"), R"({"a":2,"b":1})");
  EXPECT_EQ(render("{{ x | tojson(ensure_ascii=true) }}", R"({"x":"é😀"})"), R"("\u00e9\ud83d\ude00")");
  EXPECT_EQ(error_of("{{ missing | tojson }}"), "Object of type Undefined is not JSON serializable");
}

TEST(JinjaFilters, CollectionFilters) {
  EXPECT_EQ(render("{{ xs | length }} {{ xs | first }} {{ xs | last }} {{ xs | join(',') }} {{ xs | sort | list }} {{ xs | reverse | list }}",
                   R"({"xs":[3,1,2]})"),
            "3 3 2 3,1,2 [1, 2, 3] [2, 1, 3]");
  EXPECT_EQ(render("{{ xs | map(attribute='n') | join }} {{ xs | selectattr('n', 'gt', 1) | map(attribute='n') | list }}",
                   R"({"xs":[{"n":1},{"n":2},{"n":3}]})"),
            "123 [2, 3]");
  EXPECT_EQ(render("{{ xs | select('odd') | list }} {{ xs | reject('odd') | list }} {{ xs | sum }} {{ xs | max }} {{ xs | unique | list }}",
                   R"({"xs":[1,2,3,3]})"),
            "[1, 3, 3] [2] 9 3 [1, 2, 3]");
  EXPECT_EQ(render("{{ d | dictsort }} {{ ['b', 'A', 'a'] | sort }} {{ ['b', 'a'] | map('upper') | list }}", R"({"d":{"b":1,"a":2}})"),
            "[('a', 2), ('b', 1)] ['A', 'a', 'b'] ['B', 'A']");
  EXPECT_EQ(error_of("{{ 'str' | items }}"), "Can only get item pairs from a mapping.");
}

TEST(JinjaFilters, StringFilters) {
  EXPECT_EQ(render("{{ ' x ' | trim }}|{{ 'ab' | upper }}|{{ 'hello world' | capitalize }}|{{ 'a&b' | e }}|{{ '3' | int + 1 }}|{{ 'x' | int }}|{{ 2.567 | round(1) }}"),
            "x|AB|Hello world|a&amp;b|4|0|2.6");
  EXPECT_EQ(render("{{ 'a\nb' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}"), "a\n  b|  a\n  b");
  EXPECT_EQ(render("{{ '%s-%s' | format(1, 2) }} {{ 'ab' | replace('a', 'c') }} {{ 12 | string | length }}"), "1-2 cb 2");
}

TEST(JinjaTests, TypeTests) {
  EXPECT_EQ(render("{{ 's' is string }}{{ 's' is sequence }}{{ 's' is iterable }}{{ 's' is mapping }}"), "TrueTrueTrueFalse");
  EXPECT_EQ(render("{{ {} is mapping }}{{ [] is sequence }}{{ 1 is number }}{{ true is number }}{{ true is integer }}{{ 1.0 is float }}"),
            "TrueTrueTrueTrueFalseTrue");
  EXPECT_EQ(render("{{ none is none }}{{ false is false }}{{ 0 is false }}{{ x is not defined }}{{ 3 is divisibleby 3 }}{{ 2 is in [1, 2] }}"),
            "TrueTrueFalseTrueTrueTrue");
  EXPECT_EQ(error_of("{{ 1 is nonsense }}"), "No test named 'nonsense'.");
}

TEST(JinjaGlobals, RaiseExceptionRangeAndNamespace) {
  try {
    render("line one\n{{ raise_exception('Bad things: ' ~ 1) }}");
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_TRUE(e.raised_by_template());
    EXPECT_EQ(e.message(), "Bad things: 1");
    EXPECT_EQ(e.line(), 2);
  }
  EXPECT_EQ(render("{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | list }}"), "[0, 1, 2] [1, 3, 5] [3, 2, 1]");
  EXPECT_EQ(render("{% set ns = namespace(a=1, b=[]) %}{{ ns.a }}{{ ns.b }}"), "1[]");
  EXPECT_EQ(render("{{ strftime_now('%Y') | length }}"), "4");
  EXPECT_EQ(render("{% set x %}a{{ 1 }}b{% endset %}{{ x }}"), "a1b");
  EXPECT_EQ(render("{% filter upper %}abc{% endfilter %}"), "ABC");
  EXPECT_EQ(render("{% generation %}kept{% endgeneration %}"), "kept");
}

TEST(JinjaErrors, SyntaxErrorsNameTheLine) {
  const char* bad[] = {"{% if x %}", "{{ 1 + }}", "{% for %}{% endfor %}", "{{ 'unterminated }}", "{% endif %}", "{{ (1 }}",
                       "{% unknown %}", "{{ x | }}", "{% set = 1 %}", "{# never closed", "{% macro %}{% endmacro %}", "{{ }}"};
  for (const char* source : bad) {
    SCOPED_TRACE(source);
    EXPECT_THROW(parse_template(tokenize(source)), TemplateError);
  }
  try {
    parse_template(tokenize("ok\nok\n{% if %}"));
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(std::string(e.what()).find("chat template, line 3"), std::string::npos);
  }
}

TEST(JinjaErrors, DeepNestingIsASyntaxErrorNotAStackOverflow) {
  // A hostile template must not recurse the parser off the end of the stack.
  const int n = 100000;
  const std::string sources[] = {
      "{{ " + std::string(n, '(') + "1" + std::string(n, ')') + " }}",
      "{{ " + std::string(n, '[') + std::string(n, ']') + " }}",
      "{{ " + [&] { std::string s; for (int i = 0; i < n; ++i) s += "not "; return s; }() + "x }}",
      "{{ " + std::string(n, '-') + "1 }}",
      [&] { std::string s; for (int i = 0; i < n; ++i) s += "{% if x %}"; return s; }(),
  };
  for (const std::string& source : sources) {
    SCOPED_TRACE(source.substr(0, 20));
    try {
      parse_template(tokenize(source));
      FAIL();
    } catch (const TemplateError& e) {
      EXPECT_NE(std::string(e.what()).find("nests blocks or expressions too deeply"), std::string::npos) << e.what();
    }
  }
  // Ordinary nesting is far below the limit.
  EXPECT_EQ(render("{{ " + std::string(50, '(') + "7" + std::string(50, ')') + " }}"), "7");
}

TEST(JinjaErrors, RunawayTemplatesStopAtTheLimits) {
  Interpreter::Limits small;
  small.max_iterations = 1000;
  const Body loops = parse_template(tokenize("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}"));
  try {
    Interpreter(loops, small).render({});
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.message(), "too many loop iterations");
  }
  EXPECT_NO_THROW(Interpreter(loops).render({}));  // 10^4 is fine by default
  EXPECT_EQ(error_of("{{ 'x' * 1000000000000 }}"), "the repetition is too large");
  EXPECT_EQ(error_of("{{ range(100000000000) }}"), "range too big");
}

TEST(ChatTemplate, SpecialTokensAndVariables) {
  ChatTemplate t("{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}{{ enable_thinking }}{{ tools }}");
  ChatRequest r;
  r.messages = ordered_json::parse(R"([{"role":"user","content":"hi"}])");
  r.variables = {{"enable_thinking", false}};
  EXPECT_EQ(t.render(r, {{"bos_token", "<s>"}}), "<s>user:hi;FalseNone");
  r.variables = {{"messages", 1}};
  EXPECT_THROW(t.render(r), Error);
}

// ------------------------------------------------------------------------------------------
// Differential cases: tests/data/chat/jinja_cases.jsonl holds templates rendered by Python
// Jinja2 as transformers configures it (tools/gen_jinja_cases.py); each must render the same
// here, or fail where Python fails.

namespace {

struct DiffCase {
  std::string template_source;
  ordered_json expected;  // {"rendered": ...} or {"error": {"type", "message"}}
};

std::vector<DiffCase> load_diff_cases() {
  std::vector<DiffCase> cases;
  std::istringstream in(qwenrt::test::read_text(qwenrt::test::data_path("chat/jinja_cases.jsonl")));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ordered_json j = ordered_json::parse(line);
    cases.push_back({j["template"].get<std::string>(), j});
  }
  return cases;
}

}  // namespace

TEST(JinjaDifferential, MatchesPythonJinja2) {
  const std::string vars = qwenrt::test::read_text(qwenrt::test::data_path("chat/jinja_variables.json"));
  const std::vector<DiffCase> cases = load_diff_cases();
  ASSERT_GE(cases.size(), 150u);
  int runtime_errors = 0;
  for (const DiffCase& c : cases) {
    SCOPED_TRACE(c.template_source);
    if (c.expected.contains("rendered")) {
      try {
        EXPECT_EQ(render(c.template_source, vars), c.expected["rendered"].get<std::string>());
      } catch (const std::exception& e) {
        ADD_FAILURE() << "failed: " << e.what();
      }
      continue;
    }
    std::string message;
    try {
      message = "(rendered) " + render(c.template_source, vars);
    } catch (const TemplateError& e) {
      message = e.message();
    }
    EXPECT_EQ(message.rfind("(rendered)", 0), std::string::npos) << "Python fails with: " << c.expected["error"]["message"];
    // Run-time failures carry Python's own words (what a user searching for them will find);
    // syntax errors are worded here, with the line.
    const std::string type = c.expected["error"]["type"].get<std::string>();
    if (type != "TemplateSyntaxError" && type != "SyntaxError") {
      EXPECT_EQ(message, c.expected["error"]["message"].get<std::string>());
      ++runtime_errors;
    }
  }
  EXPECT_GE(runtime_errors, 30);
}
