#!/usr/bin/env python3
"""Measures demo models with qwenrt itself: each model is served by `qwenrt serve` (continuous
batching; a sequence's greedy output does not depend on what runs beside it), every held-out prompt
(gen_data.py output, already rendered by the chat template) goes to /v1/completions greedily, and the
reply is compared with the target: arithmetic and tool answers by the final answer after the
thinking, tool calls by the parsed <tool_call> JSON. With two models it also counts the prompts both
answer the same way.

Usage: evaluate.py QWENRT HELDOUT.jsonl N_PER_KIND MODEL [MODEL2]
"""
import collections
import concurrent.futures
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())["choices"][0]["text"]


def generate_all(qwenrt, model, prompts):
    port = free_port()
    server = subprocess.Popen([qwenrt, "serve", "--model", model, "--port", str(port), "--max-num-seqs", "64"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        body = lambda p: {"prompt": p, "max_tokens": 300, "temperature": 0}  # noqa: E731
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            return list(pool.map(lambda p: post(port, body(p)), prompts))
    finally:
        server.terminate()
        server.wait()


def main():
    qwenrt, path, per_kind, models = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    seen = collections.Counter()
    examples = []
    for line in open(path, encoding="utf-8"):
        ex = json.loads(line)
        if seen[ex["kind"]] < per_kind:
            seen[ex["kind"]] += 1
            examples.append(ex)
    outs = [generate_all(qwenrt, model, [ex["prompt"] for ex in examples]) for model in models]
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
