#!/usr/bin/env python3
"""Measures a demo model with qwenrt itself: for each held-out example (gen_data.py output), the
prompt goes through `qwenrt generate --prompt` greedily and the reply is compared with the target:
arithmetic by the final answer after the thinking, tool calls by the parsed <tool_call> JSON.

Usage: evaluate.py QWENRT MODEL HELDOUT.jsonl [N_PER_KIND]
"""
import collections
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


def main():
    qwenrt, model, path = sys.argv[1], sys.argv[2], sys.argv[3]
    per_kind = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    seen = collections.Counter()
    right = collections.Counter()
    for line in open(path, encoding="utf-8"):
        ex = json.loads(line)
        kind = ex["kind"]
        if seen[kind] >= per_kind:
            continue
        seen[kind] += 1
        out = subprocess.run([qwenrt, "generate", "--model", model, "--prompt", ex["prompt"], "-n", "300", "-t", "1"],
                             check=True, capture_output=True, text=True).stdout
        if kind == "tool-call":
            ok = tool_call(out) is not None and tool_call(out) == tool_call(ex["target"])
        else:
            ok = answer(out) == answer(ex["target"])
        right[kind] += ok
    for kind in sorted(seen):
        print(f"{kind:18s} {right[kind]:4d} / {seen[kind]:4d}  {100.0 * right[kind] / seen[kind]:5.1f} %")


if __name__ == "__main__":
    main()
