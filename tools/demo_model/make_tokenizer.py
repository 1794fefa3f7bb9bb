#!/usr/bin/env python3
"""Builds the demo model's tokenizer: Qwen3's byte-level BPE cut down to its first MERGES merges.

In Qwen's vocabulary the 256 byte tokens come first and the token a merge makes has id 256 + its
rank, so keeping the first K merges keeps exactly ids 0 .. 255 + K. The normalizer (NFC), the
pre-tokenizer regex, the byte mapping and the decoder stay as they are; of the added tokens only
the ones chat and tool use need are kept, renumbered after the vocabulary.

Usage: make_tokenizer.py QWEN3_TOKENIZER_JSON QWEN3_TEMPLATE_JINJA OUT_DIR [--merges 4000]
"""
import argparse
import copy
import json
import os

KEEP_ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>",
              "<tool_response>", "</tool_response>", "<think>", "</think>"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer_json")
    ap.add_argument("template")
    ap.add_argument("out_dir")
    ap.add_argument("--merges", type=int, default=4000)
    args = ap.parse_args()

    with open(args.tokenizer_json, encoding="utf-8") as f:
        tok = json.load(f)
    model = tok["model"]
    inv = {i: s for s, i in model["vocab"].items()}
    k = args.merges
    merges = model["merges"][:k]
    vocab = {inv[i]: i for i in range(256 + k)}
    for rank, m in enumerate(merges):  # the id-equals-rank layout this cut relies on
        a, b = m.split(" ") if isinstance(m, str) else m
        assert vocab[a + b] == 256 + rank, (rank, m)
    out = copy.deepcopy(tok)
    out["model"]["vocab"] = vocab
    out["model"]["merges"] = merges
    by_content = {a["content"]: a for a in tok["added_tokens"]}
    added = []
    for n, content in enumerate(KEEP_ADDED):
        a = dict(by_content[content])
        a["id"] = 256 + k + n
        added.append(a)
    out["added_tokens"] = added

    with open(args.template, encoding="utf-8") as f:
        template = f.read()
    config = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(a["id"]): {kk: a[kk] for kk in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
                                 for a in added},
        "bos_token": None,
        "chat_template": template,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 2048,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=None)
    with open(os.path.join(args.out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    print(f"{len(vocab)} tokens + {len(added)} added, ids 0..{256 + k + len(added) - 1}")


if __name__ == "__main__":
    main()
