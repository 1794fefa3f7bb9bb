#!/usr/bin/env python3
"""Measures demo models with qwenrt itself: for each held-out example (gen_data.py output), the
prompt goes through `qwenrt generate --prompt` greedily and the reply is compared with the target:
arithmetic and tool answers by the final answer after the thinking, tool calls by the parsed
<tool_call> JSON. With two models it also counts the prompts both answer the same way.

Usage: evaluate.py QWENRT HELDOUT.jsonl N_PER_KIND MODEL [MODEL2]
"""
import collections
import concurrent.futures
import json
import re
import subprocess
import sys


def answer(text):
    text = text.replace("<|im_end|>", "")
    return text.split("</think>")[-1].strip()


def tool_call(text):
    m = re.search(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", text, re.S)
    if not m:
        return None
    try:
        return json.loads(m.group(1))
    except json.JSONDecodeError:
        return None


def correct(ex, out):
    if ex["kind"] == "tool-call":
        return tool_call(out) is not None and tool_call(out) == tool_call(ex["target"])
    return answer(out) == answer(ex["target"])


def generate(qwenrt, model, prompt):
    return subprocess.run([qwenrt, "generate", "--model", model, "--prompt", prompt, "-n", "300", "-t", "1"],
                          check=True, capture_output=True, text=True).stdout


def main():
    qwenrt, path, per_kind, models = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    seen = collections.Counter()
    examples = []
    for line in open(path, encoding="utf-8"):
        ex = json.loads(line)
        if seen[ex["kind"]] < per_kind:
            seen[ex["kind"]] += 1
            examples.append(ex)
    outs = []
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for model in models:
            outs.append(list(pool.map(lambda ex: generate(qwenrt, model, ex["prompt"]), examples)))
    for model, out in zip(models, outs):
        right = collections.Counter(ex["kind"] for ex, o in zip(examples, out) if correct(ex, o))
        print(model)
        for kind in sorted(seen):
            print(f"  {kind:18s} {right[kind]:4d} / {seen[kind]:4d}  {100.0 * right[kind] / seen[kind]:5.1f} %")
    if len(outs) == 2:
        same = sum(answer(a) == answer(b) and tool_call(a) == tool_call(b) for a, b in zip(*outs))
        print(f"same answers: {same} / {len(examples)}  {100.0 * same / len(examples):.1f} %")


if __name__ == "__main__":
    main()
