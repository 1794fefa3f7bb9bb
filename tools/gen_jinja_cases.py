#!/usr/bin/env python3
"""Renders tests/data/chat/jinja_cases.jsonl: small templates covering the template language,
rendered by Python Jinja2 configured as Hugging Face transformers configures it for chat
templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson as
json.dumps(ensure_ascii=False), raise_exception). The C++ engine must give the same output, or
fail where Python fails (tests/unit/test_jinja.cpp).

Needs Debian's python3-jinja2 (apt-get install python3-jinja2); only run to regenerate the data.
"""
import json
import sys

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi <b>there</b> \u00e9\u4e2d"},
    {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello!", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": {"a": 1, "b": [1, 2.5, None, True], "c": {"d": "e"}}}}]},
    {"role": "tool", "content": "42"},
]
V = {
    "messages": MESSAGES,
    "xs": [3, 1, 2],
    "words": ["banana", "Apple", "cherry", "apple"],
    "people": [{"name": "Ann", "age": 31}, {"name": "bob", "age": 25}, {"name": "Cy", "age": 31}],
    "d": {"b": 2, "a": 1, "c": None},
    "s": "  Hello, World!\n",
    "f": 2.5,
    "n": 7,
    "big": 12345678901234567890,
    "t": True,
    "nothing": None,
    "empty": [],
    "text": "line one\nline two\n\nline four",
}

CASES = [
    # Whitespace control: trim_blocks, lstrip_blocks, - and + modifiers.
    "{% for x in xs %}\n  {{ x }}\n{% endfor %}",
    "{%- for x in xs -%}\n  {{ x }}\n{%- endfor -%}\n",
    "a\n\t {% if t %}\nb\n\t {% endif %}\nc",
    "a\n  {%+ if t %}b{% endif %}\n",
    "{% if t -%}\n\n  x  \n\n{%- endif %}",
    "<{{- ' x ' -}}>",
    "a {# comment #} b\n{#- c -#}\n  c",
    "  {# comment at line start #}\nafter",
    "{% raw %}{% if %}{{ x }}{% endraw %}",
    "{{ '{{' }}{{ '}}' }}",
    "x\r\n{% if t %}\r\ny\r\n{% endif %}\r\nz",
    # Literals and printing.
    "{{ 'a\\nb\\t\\'c\\\\' }}|{{ \"d\\\"e\" }}|{{ 'caf\\u00e9' }}|{{ 'x' 'y' }}",
    "{{ 1_000 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ -0.0 }} {{ 2 ** -1 }} {{ 1.5e300 * 1e10 }}",
    "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }} {{ [] }} {{ {} }} {{ () }}",
    "{{ [1, 'a', none, true, 2.0, [3], {'k': 'v'}] }}",
    "{{ {'a': 1, 'b': [1, {'c': none}]} }}",
    "{{ (1, 'a') }} {{ (1,) }} {{ ['it\\'s', 'say \"hi\"', 'both \\' \"'] }}",
    "{{ big }} {{ big | string }} {{ big | tojson }} {{ f }} {{ n }} {{ t }} {{ nothing }}",
    "{{ 'a' ~ 1 ~ none ~ true ~ 2.0 ~ [1] }}",
    # Arithmetic and comparison.
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** 0.5 }}",
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 10 - 2 - 3 }} {{ 100 / 10 / 5 }}",
    "{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ true == 1 }}",
    "{{ 'ab' * 3 }} {{ [1] * 3 }} {{ 3 * 'x' }} {{ [1, 2] + [3] }} {{ 'a' + 'b' }}",
    "{{ '%s=%d' % ('k', 5) }} {{ '%05.1f|%-4s|%x' % (3.14159, 'ab', 255) }} {{ '%s' % none }} {{ '100%%' % () }}",
    "{{ not true }} {{ not 0 }} {{ not [] }} {{ not 'x' }} {{ true and 'yes' }} {{ 0 or 'fallback' }} {{ none or [] }}",
    "{{ 'yes' if t else 'no' }} [{{ 'yes' if not t }}] {{ 1 if 0 else 2 if 0 else 3 }}",
    "{{ -1 | abs }} {{ (-1) | abs }} {{ -f }} {{ +n }}",
    "{{ 'b' in 'abc' }} {{ 2 in xs }} {{ 'a' in d }} {{ 'z' not in d }} {{ 'x' in missing }} {{ not 'a' in 'abc' }}",
    # Subscripts, slices, attributes.
    "{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ xs[::-1] }} {{ xs[5:] }} {{ xs[-10:1] }}",
    "{{ 'h\u00e9llo'[1] }} {{ 'h\u00e9llo'[-2:] }} {{ 'h\u00e9llo'[::-1] }} {{ 'abcdef'[1:5:2] }} {{ 'abc'[10:] }}",
    "{{ d.a }} {{ d['b'] }} {{ d.c }} [{{ d.missing }}] {{ messages[0].role }} {{ messages[1]['content'] }}",
    "{{ people[0].name }} {{ people.0.name }} {{ xs.1 }}",
    "{{ d.items() | list }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 9) }}",
    # Scoping.
    "{% set x = 1 %}{% for i in xs %}{% set x = i %}{% endfor %}{{ x }}",
    "{% set ns = namespace(total=0, seen=[]) %}{% for i in xs %}{% set ns.total = ns.total + i %}{% set ns.seen = ns.seen + [i] %}{% endfor %}{{ ns.total }} {{ ns.seen }}",
    "{% if t %}{% set y = 'set in if' %}{% endif %}{{ y }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set (c, e) = [3, 4] %}{{ c }}{{ e }}",
    "{% set block %}\n  text {{ n }}\n{% endset %}[{{ block }}]",
    "{% set x = 'outer' %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 'changed' %}{{ m() }}",
    "{% for i in xs %}{% set inner = i %}{% endfor %}[{{ inner }}]",
    # Loops.
    "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
    "{% for x in xs %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}",
    "{% for x in xs if x > 1 %}{{ loop.index }}:{{ x }}/{{ loop.length }} {% endfor %}",
    "{% for x in empty %}never{% else %}empty-else{% endfor %}",
    "{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %} {% for c in 'ab\u00e9' %}{{ c }}.{% endfor %}",
    "{% for row in [[1, 2], [3, 4]] %}{% for c in row %}{{ loop.index }}{{ c }}{% endfor %};{% endfor %}",
    "{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}",
    "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}",
    "{% for m in messages %}{{ m.role }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% for m in messages[::-1] %}{{ m.role[0] }}{% endfor %}",
    # Macros.
    "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bo', 'Hi') }} {{ greet(greeting='Yo', name='Cy') }}",
    "{% macro m(x) %}\n  {{ x }}\n{% endmacro %}[{{ m(1) }}][{{ m(2) | trim }}]",
    "{% macro outer() %}{% macro inner() %}in{% endmacro %}<{{ inner() }}>{% endmacro %}{{ outer() }}",
    "{% macro m(a) %}{{ a is defined }}{% endmacro %}{{ m() }}{{ m(1) }}",
    # Filters.
    "{{ s | trim }}|{{ s | trim('! \\n') }}|{{ nothing | trim }}|{{ 42 | trim }}",
    "{{ s | length }} {{ xs | length }} {{ d | length }} {{ 'h\u00e9' | length }} {{ xs | count }} {{ missing | length }}",
    "{{ 'hello world' | upper }} {{ 'HeLLo' | lower }} {{ \"they're bill's friends\" | title }} {{ 'hELLO wORLD' | capitalize }}",
    "{{ xs | first }} {{ xs | last }} {{ 'abc' | first }} {{ xs | join(', ') }} {{ people | join('/', attribute='name') }}",
    "{{ words | sort }} {{ words | sort(case_sensitive=true) }} {{ words | sort(reverse=true) }} {{ people | sort(attribute='age') | map(attribute='name') | list }}",
    "{{ words | unique | list }} {{ words | unique(case_sensitive=true) | list }} {{ words | min }} {{ words | max }} {{ people | max(attribute='age') }}",
    "{{ xs | reverse | list }} {{ 'abc' | reverse }} {{ xs | list }} {{ 'ab' | list }} {{ d | list }}",
    "{{ people | map(attribute='name') | map('upper') | list }} {{ xs | map('string') | join('-') }}",
    "{{ people | selectattr('age', 'equalto', 31) | map(attribute='name') | list }} {{ people | rejectattr('age', '==', 31) | list }}",
    "{{ xs | select('odd') | list }} {{ xs | reject('odd') | list }} {{ [0, 1, '', 'a', none] | select | list }} {{ people | selectattr('name', 'lower') | list }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | map(attribute='role') | join(',') }}",
    "{{ d | dictsort }} {{ d | dictsort(by='value', reverse=false) if false else '' }} {{ {'b': 1, 'A': 2} | dictsort }}",
    "{{ d | items | list }} {{ missing | items | list }}",
    "{{ xs | sum }} {{ people | sum(attribute='age') }} {{ [1.5, 2] | sum }} {{ xs | sum(start=10) }}",
    "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(-1) }} {{ 4.9 | int }} {{ '0x1A' | int(0, 16) }} {{ true | int }}",
    "{{ '2.5' | float }} {{ 'x' | float }} {{ 3 | float }} {{ '1e3' | float }}",
    "{{ 2.567 | round }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }} {{ 7 | round }}",
    "{{ text | indent }}|{{ text | indent(2, first=true) }}|{{ text | indent('> ', blank=true) }}",
    "{{ 'ab' | center(6) }}|{{ 'abc' | center(6) }}|{{ 'a&b<c>\"d\\'' | e }}|{{ 'x' | escape }}",
    "{{ 'a-b-c' | replace('-', '+') }} {{ 'a-b-c' | replace('-', '+', 1) }} {{ 'ab' | replace('', '.') }}",
    "{{ '%s and %s' | format('a', 'b') }} {{ none | default('d') }} {{ missing | default('d') }} {{ '' | default('e', true) }} {{ missing | d }}",
    "{{ xs | batch(2) | list }} {{ xs | batch(2, 0) | list }}",
    "{{ 'ab' | string }} {{ xs | string }} {{ nothing | string }} {{ f | string }} {{ t | string }}",
    "{{ d | tojson }} {{ messages[2].tool_calls | tojson }} {{ 'caf\u00e9 \"q\" \\\\ \\n \\u0001 <>&' | tojson }}",
    "{{ d | tojson(indent=2) }}|{{ xs | tojson(indent=0) }}|{{ d | tojson(sort_keys=true) }}|{{ d | tojson(separators=(',', ':')) }}",
    "{{ 'caf\u00e9 \U0001F600' | tojson(ensure_ascii=true) }} {{ [1.0, 1e-7, 1e16, 123456789.125] | tojson }} {{ {} | tojson }} {{ [] | tojson(indent=2) }}",
    "{{ {1: 'int key', true: 'bool key', none: 'none key'} | tojson }}",
    "{{ 'x' | attr('upper') is callable }}",
    "{% filter upper %}shout {{ n }}{% endfilter %}",
    "{% set x | upper %}block filter{% endset %}{{ x }}",
    # String methods.
    "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi\\n\\n'.strip('\\n') }}",
    "{{ 'a b  c\\td'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a  '.split(' ') }}",
    "{{ 'x</think>y</think>z'.split('</think>')[-1] }} {{ 'x</think>y'.split('</think>')[0].rstrip('\\n').split('<think>')[-1] }}",
    "{{ 'Hello'.startswith('He') }} {{ 'Hello'.startswith(('x', 'H')) }} {{ 'Hello'.endswith('lo') }} {{ 'Hello'.startswith('l', 2) }}",
    "{{ 'hello'.upper() }} {{ 'HELLO'.lower() }} {{ \"they're\".title() }} {{ 'hello'.capitalize() }} {{ 'a-b'.replace('-', '_') }}",
    "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'h\u00e9llo'.index('l') }}",
    "{{ ', '.join(['a', 'b']) }} {{ ''.join(xs | map('string')) }} {{ '{}-{}'.format(1, 2) }} {{ '{0}{0}{name}'.format('a', name='n') }}",
    "{{ '42'.isdigit() }} {{ 'abc'.isalpha() }} {{ ' \\t'.isspace() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ ''.isdigit() }}",
    "{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'ab'.center(6, '*') }} {{ 'ab'.ljust(4, '.') }} {{ 'ab'.rjust(4) }} {{ '42'.zfill(5) }} {{ '-42'.zfill(5) }}",
    "{{ 'prefix-body'.removeprefix('prefix-') }} {{ 'body.txt'.removesuffix('.txt') }}",
    "{{ xs.index(1) }} {{ xs.count(3) }}",
    # Unicode whitespace as Python's str.isspace() sees it.
    "[{{ '\\u3000\\u00a0 x \\u2028'.strip() }}] [{{ '\\ufeffx\\u200b'.strip() }}] [{{ '\\u001fx\\u001c' | trim }}]",
    # Tests.
    "{{ 'a' is string }}{{ 1 is string }}{{ xs is sequence }}{{ 'a' is sequence }}{{ d is sequence }}{{ d is mapping }}{{ xs is mapping }}{{ 1 is iterable }}{{ 'a' is iterable }}",
    "{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ '1' is number }}{{ 1 is integer }}{{ true is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ 1 is boolean }}",
    "{{ none is none }}{{ false is none }}{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 0 is false }}{{ missing is undefined }}{{ missing is defined }}{{ nothing is defined }}",
    "{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ 'aB' is lower }}",
    "{{ 1 is eq 1 }}{{ 1 is ne 2 }}{{ 1 is lt 2 }}{{ 2 is le 2 }}{{ 3 is gt 2 }}{{ 2 is ge 3 }}{{ 2 is in xs }}{{ 'a' is in 'abc' }}{{ none is sameas none }}",
    "{{ xs is sameas xs }}{{ range is callable }}{{ 'x' is callable }}{{ 1 is not string }}{{ not 1 is string }}",
    # Globals.
    "{{ range(3) | list }} {{ range(2, 5) | list }} {{ range(10, 0, -3) | list }} {{ range(0) | list }} {% for i in range(2) %}{{ i }}{% endfor %}",
    "{% set ns = namespace(a=1) %}{{ ns.a }} {{ ns.missing is defined }} {% set ns2 = namespace(d) %}{{ ns2.b }}",
    "{{ dict(a=1, b='x') }} {{ dict(d, z=0) }}",
    # Undefined behaviour.
    "[{{ missing }}][{{ missing | string }}][{{ missing ~ 'x' }}][{{ missing | trim }}][{{ missing | upper }}][{{ missing is none }}][{{ missing == none }}][{{ not missing }}]",
    "{% for x in missing %}x{% else %}else{% endfor %} {{ missing | list }} {{ missing | default([]) | length }}",
    "{% if missing %}yes{% elif missing is not defined %}not defined{% else %}no{% endif %}",
    "{{ d.missing | default('dflt') }} {{ d.missing is defined }} {{ messages[0].tool_calls is defined }} {{ (messages[0].tool_calls or []) | length }}",
    # Errors Python raises.
    "{{ missing.attr }}",
    "{{ missing['k'] }}",
    "{{ missing + 1 }}",
    "{{ missing() }}",
    "{{ d.missing.deeper }}",
    "{{ empty[0].role }}",
    "{{ 'x' in nothing }}",
    "{{ 'a' + 1 }}",
    "{{ 'a' + [1] }}",
    "{{ [1] + 'a' }}",
    "{{ 1 / 0 }}",
    "{{ 1 // 0 }}",
    "{{ 1 % 0 }}",
    "{{ 'a' < 1 }}",
    "{{ none < 1 }}",
    "{{ 1 | length }}",
    "{{ 'abc' | items | list }}",
    "{{ xs | tojson(indent='x') if false }}{{ missing | tojson }}",
    "{{ range(1, 2, 0) | list }}",
    "{{ raise_exception('custom failure: ' ~ n) }}",
    "{% set d2 = {} %}{% set d2.x = 1 %}",
    "{{ xs.append(4) }}",
    "{{ d.update({'z': 1}) }}",
    "{{ 'abc'.index('z') }}",
    "{{ xs.index(99) }}",
    "{{ 1 is nonexistent_test }}",
    "{{ 1 | nonexistent_filter }}",
    "{% for a, b in [1, 2] %}{% endfor %}",
    "{% set a, b = [1, 2, 3] %}",
    "{{ n() }}",
    "{{ 'x' * 'y' }}",
    "{{ -'x' }}",
    "{{ xs[1.5] }}",
    "{{ ''.join([1, 2]) }}",
    "{{ '{}'.format() }}",
    # Syntax errors.
    "{% if t %}unclosed",
    "{% endif %}",
    "{{ 1 + }}",
    "{{ (1, 2 }}",
    "{% for x %}{% endfor %}",
    "{% unknown_tag %}",
    "{{ x | }}",
    "{# unterminated comment",
    "{{ 'unterminated string }}",
    "{% set %}",
    "{% macro %}{% endmacro %}",
    "{% if t %}{% else %}{% else %}{% endif %}",
    "{% break %}",
    "{{ }}",
    "{{ 1 2 }}",
    "{% for x in xs %}{% endif %}",
]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/chat/jinja_cases.jsonl"
    env = make_env()
    with open(out_path, "w", encoding="utf-8") as out:
        for template in CASES:
            case = {"template": template}
            try:
                case["rendered"] = env.from_string(template).render(**V)
            except Exception as e:  # noqa: BLE001 - recording any failure is the point
                case["error"] = {"type": type(e).__name__, "message": str(e)}
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    with open(out_path.replace("jinja_cases.jsonl", "jinja_variables.json"), "w", encoding="utf-8") as out:
        json.dump(V, out, ensure_ascii=False, indent=1)
        out.write("\n")
    print(f"{len(CASES)} cases with jinja2 {jinja2.__version__}")


if __name__ == "__main__":
    main()
