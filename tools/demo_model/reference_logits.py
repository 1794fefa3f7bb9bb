#!/usr/bin/python3
"""PyTorch's logits for an exported demo model, for the parity test: loads the BF16 safetensors,
computes in f32 (the weights widened exactly), and writes each sequence's logits as little-endian
float32 [T x vocab] next to a cases.json naming the token ids.

Usage: reference_logits.py MODEL_DIR OUT_DIR QWENRT TEXT [TEXT ...]   (qwenrt encodes the texts)
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import Qwen3, tokenize  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "BF16", name
        a, b = info["data_offsets"]
        raw = torch.frombuffer(bytearray(data[a:b]), dtype=torch.int16)
        out[name] = raw.view(torch.bfloat16).float().reshape(info["shape"])
    return out


def main():
    model_dir, out_dir, qwenrt, texts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    seqs = tokenize(qwenrt, model_dir, texts)
    c = json.load(open(os.path.join(model_dir, "config.json")))
    model = Qwen3(c)
    weights = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    state = model.hf_state()
    with torch.no_grad():
        for name, p in state.items():
            p.copy_(weights[name])
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for i, ids in enumerate(seqs):
        with torch.no_grad():
            logits = model(torch.tensor([ids]))[0].float()
        name = f"logits_{i}.f32"
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(logits.numpy().astype("<f4").tobytes())
        cases.append({"tokens": ids, "logits": name})
    json.dump({"vocab_size": c["vocab_size"], "cases": cases}, open(os.path.join(out_dir, "cases.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
