#!/usr/bin/python3
"""Quantization error of logits: NMSE (sum of squared differences over the sum of squares of the
reference) and top-1 agreement, between a reference dump and others of the same tokens (float32,
[n_tokens x vocab], as `qwenrt logits -o` and tools/compare/llama_logits.cpp write them).

Usage: quant_error.py VOCAB REF.f32 OTHER.f32 [OTHER.f32 ...]   (needs numpy)
"""
import sys

import numpy as np

vocab = int(sys.argv[1])
ref = np.fromfile(sys.argv[2], dtype="<f4").reshape(-1, vocab).astype(np.float64)
for path in sys.argv[3:]:
    x = np.fromfile(path, dtype="<f4").reshape(-1, vocab).astype(np.float64)
    assert x.shape == ref.shape, (path, x.shape, ref.shape)
    nmse = ((x - ref) ** 2).sum() / (ref ** 2).sum()
    top1 = (x.argmax(1) == ref.argmax(1)).mean()
    print(f"{path}: NMSE {nmse:.3e}  top-1 {100 * top1:.1f} % of {len(ref)} positions")
