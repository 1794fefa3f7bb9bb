#!/usr/bin/env python3
"""Synthetic chats for the demo model, rendered through the real Qwen3 chat template.

Each output line is {"prompt": ..., "target": ..., "kind": ...}: the prompt is what the template
renders for the conversation so far with a generation prompt, the target what the assistant says
next (up to and including <|im_end|>); training puts the loss on the target only. Kinds:
  arith-think      arithmetic with a step-by-step <think> trace
  arith-nothink    enable_thinking false (the template writes the empty think block)
  arith-softswitch "/no_think" in the user turn (the model writes the empty think block)
  tool-call        a question a tool answers: the <tool_call> JSON
  tool-answer      the answer from the <tool_response>
  repeat           (training only) text said back: the copying the other tasks need, learned early
Multi-turn chats put earlier turns (arithmetic or tool use) before the one that is trained.

In the training split a tool chat is one example that trains both the call and the answer (a "spans"
list marks the trained parts); the held-out split keeps them apart so each is measured on its own, and
its operands (numbers, tool results) are ones the training split never contains.

Usage: gen_data.py TEMPLATE_JINJA N_EXAMPLES SEED OUT_JSONL [train|heldout]
"""
import json
import random
import sys
import zlib

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise ValueError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


# ---------------------------------------------------------------- arithmetic

def rand_number(rng, max_digits=4):
    digits = rng.randint(1, max_digits)
    lo = 0 if digits == 1 else 10 ** (digits - 1)
    return rng.randint(lo, 10 ** digits - 1)


def add_trace(a, b):
    lines = ["Add the digits from right to left."]
    da, db = str(a)[::-1], str(b)[::-1]
    carry = 0
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        s = x + y + carry
        expr = f"{x} + {y}" + (" + 1" if carry else "")
        if s >= 10:
            lines.append(f"{expr} = {s}, write {s - 10}, carry 1.")
        else:
            lines.append(f"{expr} = {s}, write {s}.")
        carry = 1 if s >= 10 else 0
    if carry:
        lines.append("Write the carry 1 in front.")
    lines.append(f"So {a} + {b} = {a + b}.")
    return "\n".join(lines)


def sub_trace(a, b):
    lines = []
    top, bottom = a, b
    if a < b:
        lines.append(f"{a} is smaller than {b}, so I compute {b} - {a} and make it negative.")
        top, bottom = b, a
    lines.append("Subtract the digits from right to left.")
    dt, db = str(top)[::-1], str(bottom)[::-1]
    borrow = 0
    for i in range(len(dt)):
        x = int(dt[i])
        y = int(db[i]) if i < len(db) else 0
        pre = ""
        if borrow:
            pre = f"{x} - 1 = {x - 1}, "
            x -= 1
        # Both digits come before the choice to borrow: a model that must write "<" before it has
        # written the second digit has to look that digit up twice (measured: most thinking-mode
        # subtraction errors were a wrong choice there).
        if x >= y:
            lines.append(f"{pre}{x} - {y} = {x - y}.")
            borrow = 0
        else:
            lines.append(f"{pre}{x} - {y} needs a borrow: {x + 10} - {y} = {x + 10 - y}.")
            borrow = 1
    lines.append(f"So {a} - {b} = {a - b}.")
    return "\n".join(lines)


def mul_trace(a, b):
    t, u = divmod(a, 10)
    if t == 0:
        return f"{a} × {b} = {a * b}.\nSo {a} × {b} = {a * b}."
    lines = [f"{a} = {t * 10} + {u}.", f"{t * 10} × {b} = {t * 10 * b}.", f"{u} × {b} = {u * b}."]
    lines.append(add_trace(t * 10 * b, u * b).replace("Add the digits", f"Now add {t * 10 * b} + {u * b}, digits"))
    lines.append(f"So {a} × {b} = {a * b}.")
    return "\n".join(lines)


ADD_Q = ["What is {a} + {b}?", "What is {a} plus {b}?", "Calculate {a} + {b}.", "{a} + {b} = ?", "Add {a} and {b}.",
         "What's {a}+{b}?", "Compute {a} + {b}."]
SUB_Q = ["What is {a} - {b}?", "What is {a} minus {b}?", "Calculate {a} - {b}.", "{a} - {b} = ?", "Subtract {b} from {a}.",
         "What's {a}-{b}?", "Compute {a} - {b}."]
MUL_Q = ["What is {a} × {b}?", "What is {a} times {b}?", "Calculate {a} * {b}.", "{a} * {b} = ?", "Multiply {a} by {b}.",
         "What's {a}*{b}?", "Compute {a} × {b}."]


def arithmetic(rng):
    op = rng.choice(["+", "-", "*"])
    if op == "+":
        a, b = rand_number(rng), rand_number(rng)
        q = rng.choice(ADD_Q).format(a=a, b=b)
        return q, add_trace(a, b), f"{a} + {b} = {a + b}."
    if op == "-":
        a, b = rand_number(rng), rand_number(rng)
        q = rng.choice(SUB_Q).format(a=a, b=b)
        return q, sub_trace(a, b), f"{a} - {b} = {a - b}."
    a, b = rng.randint(10, 99), rng.randint(1, 9)
    if rng.random() < 0.5:
        q = rng.choice(MUL_Q).format(a=a, b=b)
    else:
        q = rng.choice(MUL_Q).format(a=b, b=a)
    return q, mul_trace(a, b), f"{a} × {b} = {a * b}."


# ---------------------------------------------------------------- tools

TOOLS = {
    "get_weather": {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    "convert_units": {"type": "function", "function": {
        "name": "convert_units", "description": "Convert a value from one unit to another.",
        "parameters": {"type": "object", "properties": {
            "value": {"type": "number"}, "from_unit": {"type": "string"}, "to_unit": {"type": "string"}},
            "required": ["value", "from_unit", "to_unit"]}}},
    "get_time": {"type": "function", "function": {
        "name": "get_time", "description": "Get the local time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
}

CITIES = ["Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Cairo", "Lima", "Oslo", "Seoul", "Delhi", "Sydney",
          "Toronto", "Chicago", "Boston", "Denver", "Dublin", "Vienna", "Prague", "Warsaw", "Athens", "Lisbon", "Nairobi",
          "Bangkok", "Hanoi", "Manila", "Jakarta", "Beijing", "Shanghai", "Moscow", "Istanbul", "Dubai", "Mumbai",
          "Santiago", "Bogota", "Havana", "Helsinki", "Stockholm", "Zurich", "Munich", "Hamburg", "Osaka", "Kyoto",
          "Austin", "Seattle", "Miami", "Phoenix", "Houston", "Montreal", "Vancouver", "Auckland", "Perth", "Accra"]
CONDITIONS = ["sunny", "cloudy", "rainy", "snowy", "windy", "foggy", "clear", "stormy"]
UNITS = [("km", "miles", 0.621371), ("miles", "km", 1.609344), ("kg", "pounds", 2.204623), ("pounds", "kg", 0.453592),
         ("meters", "feet", 3.28084), ("feet", "meters", 0.3048), ("liters", "gallons", 0.264172),
         ("gallons", "liters", 3.785412), ("celsius", "fahrenheit", None), ("fahrenheit", "celsius", None)]

WEATHER_Q = ["What's the weather in {city}?", "What is the weather like in {city}?", "How is the weather in {city} today?",
             "Is it sunny in {city}?", "Tell me the weather in {city}."]
WEATHER_F_Q = ["What's the weather in {city} in fahrenheit?", "How warm is it in {city}, in fahrenheit?"]
CONVERT_Q = ["Convert {v} {f} to {t}.", "How many {t} is {v} {f}?", "What is {v} {f} in {t}?", "Please convert {v} {f} into {t}."]
TIME_Q = ["What time is it in {city}?", "What's the local time in {city}?", "Tell me the time in {city}."]


def fmt_number(x):
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return s if s != "-0" else "0"


def tool_use(rng):
    """(user text, tool name, arguments, reasoning for the call, tool response, final reasoning, answer)."""
    kind = rng.choice(["weather", "weather", "convert", "convert", "time"])
    if kind == "weather":
        city = rng.choice(CITIES)
        fahrenheit = rng.random() < 0.25
        q = rng.choice(WEATHER_F_Q if fahrenheit else WEATHER_Q).format(city=city)
        args = {"city": city, "unit": "fahrenheit"} if fahrenheit else {"city": city}
        unit = "fahrenheit" if fahrenheit else "celsius"
        temp = rng.randint(20, 95) if fahrenheit else rng.randint(-10, 35)
        cond = rng.choice(CONDITIONS)
        resp = {"city": city, "temperature": temp, "unit": unit, "condition": cond}
        sym = "°F" if fahrenheit else "°C"
        why = f"The user asks about the weather in {city}. I will call get_weather."
        answer = f"It is {temp} {sym} and {cond} in {city}."
        return q, "get_weather", args, why, resp, answer
    if kind == "convert":
        f, t, factor = rng.choice(UNITS)
        v = rng.choice([rng.randint(1, 500), round(rng.uniform(0.5, 100), 1)])
        if factor is None:
            result = v * 9 / 5 + 32 if f == "celsius" else (v - 32) * 5 / 9
        else:
            result = v * factor
        result = round(result, 2)
        q = rng.choice(CONVERT_Q).format(v=fmt_number(v), f=f, t=t)
        args = {"value": v, "from_unit": f, "to_unit": t}
        resp = {"value": v, "from_unit": f, "to_unit": t, "result": result}
        why = f"The user wants {fmt_number(v)} {f} in {t}. I will call convert_units."
        answer = f"{fmt_number(v)} {f} is {fmt_number(result)} {t}."
        return q, "convert_units", args, why, resp, answer
    city = rng.choice(CITIES)
    h, m = rng.randint(0, 23), rng.randint(0, 59)
    q = rng.choice(TIME_Q).format(city=city)
    args = {"city": city}
    resp = {"city": city, "time": f"{h:02d}:{m:02d}"}
    why = f"The user asks for the time in {city}. I will call get_time."
    answer = f"It is {h:02d}:{m:02d} in {city}."
    return q, "get_time", args, why, resp, answer


def tool_set(rng, needed):
    names = [needed] + rng.sample([n for n in TOOLS if n != needed], rng.randint(1, 2))
    rng.shuffle(names)
    return [TOOLS[n] for n in names]


# ---------------------------------------------------------------- repeating

REPEAT_Q = ["Repeat: {text}", "Say this back to me: {text}", "Repeat after me: {text}", "Echo: {text}"]


def repeat_text(rng):
    """Pieces of what the other tasks copy: numbers, sums, cities, times, values with units."""
    pieces = []
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(5)
        if k == 0:
            pieces.append(str(rand_number(rng)))
        elif k == 1:
            pieces.append(f"{rand_number(rng)} {rng.choice('+-×')} {rand_number(rng)}")
        elif k == 2:
            pieces.append(rng.choice(CITIES))
        elif k == 3:
            pieces.append(f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}")
        else:
            f, t, _ = rng.choice(UNITS)
            pieces.append(f"{fmt_number(round(rng.uniform(0.5, 500), rng.choice([0, 1])))} {f}")
    return " ".join(pieces)


# ---------------------------------------------------------------- held-out split

def held_out(key):
    """One operand set in eight belongs to the held-out split: training never sees it in any turn."""
    return zlib.crc32(key.encode()) % 8 == 0


def draw(make, rng, split):
    """make(rng) redrawn until its operands fall in `split` ("train", "heldout", or None for any)."""
    while True:
        item = make(rng)
        key = item[2] if make is arithmetic else json.dumps(item[4], sort_keys=True)
        if split is None or held_out(key) == (split == "heldout"):
            return item


# ---------------------------------------------------------------- chats

class Renderer:
    def __init__(self, template):
        self.t = make_env().from_string(template)

    def __call__(self, messages, tools=None, gen=False, thinking=True):
        kw = {"messages": messages, "add_generation_prompt": gen}
        if tools:
            kw["tools"] = tools
        if not thinking:
            kw["enable_thinking"] = False
        return self.t.render(**kw)


def example(rng, split):
    """(kind, tools, messages so far, the turns that follow: assistant turns are trained, thinking).
    A training example draws every turn from the training split; a held-out one its last turn."""
    merge_tools = split == "train"
    history_split = "train" if split == "train" else None
    history = []
    tools = None
    # Earlier turns, answered as the model would have (no thinking kept: the template drops it).
    # Most chats are single-turn: prompt tokens cost training time and carry no loss.
    for _ in range(rng.choice([0] * 17 + [1] * 2 + [2])):
        if rng.random() < 0.8:
            q, _trace, ans = draw(arithmetic, rng, history_split)
            history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]
        else:
            q, name, args, why, resp, ans = draw(tool_use, rng, history_split)
            tools = tools or tool_set(rng, name)
            if name not in [t["function"]["name"] for t in tools]:
                tools = tools + [TOOLS[name]]
            history += [{"role": "user", "content": q},
                        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": name, "arguments": args}}]},
                        {"role": "tool", "content": json.dumps(resp)},
                        {"role": "assistant", "content": ans}]
    r = rng.random()
    if split == "train" and r < 0.05:
        # Repeating text back: a dense, easy copying signal. Without it the model does not learn in
        # the time budget to attend to the question at all (every answer came out the same).
        text = repeat_text(rng)
        mode = rng.choice(["think", "nothink", "soft"])
        q = rng.choice(REPEAT_Q).format(text=text) + (" /no_think" if mode == "soft" else "")
        reply = {"role": "assistant", "content": text,
                 "reasoning_content": "The user wants the text repeated." if mode == "think" else ""}
        return "repeat", tools, history + [{"role": "user", "content": q}], [reply], mode != "nothink"
    r = rng.random()
    # Tool chats carry a long system prompt (the tool schemas) that is no loss: they are few (the
    # calls are mostly copying, learned early), and the tokens go to arithmetic, whose one-digit facts
    # and carries need many examples: answered without thinking they are also the cheapest per example.
    if r < 0.93:
        q, trace, ans = draw(arithmetic, rng, split)
        if tools is None and rng.random() < 0.05:
            tools = tool_set(rng, rng.choice(list(TOOLS)))  # tools offered, none needed
        mode = rng.choices(["think", "nothink", "soft"], weights=[0.4, 0.35, 0.25])[0]
        if mode == "soft":
            q = q + " /no_think"
        msgs = history + [{"role": "user", "content": q}]
        reply = {"role": "assistant", "content": ans, "reasoning_content": trace if mode == "think" else ""}
        return "arith-" + {"think": "think", "nothink": "nothink", "soft": "softswitch"}[mode], tools, msgs, [reply], mode != "nothink"
    q, name, args, why, resp, ans = draw(tool_use, rng, split)
    need = tool_set(rng, name)
    tools = need if tools is None else tools + [t for t in need if t not in tools]
    msgs = history + [{"role": "user", "content": q}]
    call = {"role": "assistant", "content": "", "reasoning_content": why,
            "tool_calls": [{"type": "function", "function": {"name": name, "arguments": args}}]}
    final = {"role": "assistant", "content": ans, "reasoning_content": "The tool answered. I will tell the user."}
    if merge_tools:
        # Both assistant turns follow the last user query, so the template keeps both thinking blocks:
        # one training sequence teaches the call and the answer.
        return "tool", tools, msgs, [call, {"role": "tool", "content": json.dumps(resp)}, final], True
    if rng.random() < 0.5:
        return "tool-call", tools, msgs, [call], True
    msgs = msgs + [call, {"role": "tool", "content": json.dumps(resp)}]
    return "tool-answer", tools, msgs, [final], True


def render_example(render, kind, tools, msgs, turns, thinking):
    """{"kind", "prompt", "target"[, "spans"]}: the prompt up to the first trained turn, the rest of the chat
    (without the template's final newline) and, when more than one turn is trained, the character spans
    of prompt + target that are."""
    prompt = render(msgs, tools, gen=True, thinking=thinking)
    spans, done = [], list(msgs)
    for turn in turns:
        if turn["role"] == "assistant":
            before = render(done, tools, gen=True, thinking=thinking)
            after = render(done + [turn], tools, gen=False, thinking=thinking)
            assert after.startswith(before) and after.endswith("<|im_end|>\n"), (before, after)
            assert render(msgs + turns, tools, gen=False, thinking=thinking).startswith(after)
            spans.append([len(before), len(after) - 1])
        done.append(turn)
    full = render(done, tools, gen=False, thinking=thinking)
    assert full.startswith(prompt) and full.endswith("<|im_end|>\n")
    for s, e in spans:
        assert full[e - len("<|im_end|>"):e] == "<|im_end|>"
    row = {"kind": kind, "prompt": prompt, "target": full[len(prompt):-1]}
    if len(spans) > 1:
        row["spans"] = spans
    return row


def main():
    template_path, n, seed, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    split = sys.argv[5] if len(sys.argv) > 5 else "train"
    assert split in ("train", "heldout"), "the split is train or heldout"
    with open(template_path, encoding="utf-8") as f:
        render = Renderer(f.read())
    rng = random.Random(seed)
    with open(out_path, "w", encoding="utf-8") as out:
        for _ in range(n):
            row = render_example(render, *example(rng, split))
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
