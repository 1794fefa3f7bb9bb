#!/usr/bin/python3
"""Reference values for qwenrt's quantized weight types, computed by llama.cpp's own Python package
(gguf-py, `gguf.quants`), which follows ggml's C reference block for block.

Writes tests/data/quant/<TYPE>.blocks (random but valid blocks: finite half-float scales, random
quants) and <TYPE>.f32 (their dequantized values, little-endian float32), and for Q4_0 also the
reference quantizer's blocks for random floats (q4_0_input.f32 -> q4_0_quantized.blocks).

Usage: gen_quant_cases.py PATH/TO/llama.cpp/gguf-py OUT_DIR   (needs numpy)
"""
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
from gguf.constants import GGMLQuantizationType as T  # noqa: E402
import gguf.quants as q  # noqa: E402

out = sys.argv[2]
rng = np.random.default_rng(20261201)


def halves(n, lo, hi):
    sign = rng.choice([-1.0, 1.0], size=n)
    return (sign * rng.uniform(lo, hi, size=n)).astype(np.float16).view(np.uint8).reshape(n, 2)


def blocks(qtype, n):
    size = {T.Q4_0: 18, T.Q4_K: 144, T.Q5_K: 176, T.Q6_K: 210}[qtype]
    b = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    if qtype == T.Q4_0:
        b[:, 0:2] = halves(n, 1e-3, 0.1)
    elif qtype in (T.Q4_K, T.Q5_K):
        b[:, 0:2] = halves(n, 1e-3, 0.05)   # d
        b[:, 2:4] = halves(n, 1e-3, 0.05)   # dmin
    elif qtype == T.Q6_K:
        b[:, 208:210] = halves(n, 1e-3, 0.05)  # d comes last
    return b


for name, qtype, n in (("Q4_0", T.Q4_0, 64), ("Q4_K", T.Q4_K, 16), ("Q5_K", T.Q5_K, 16), ("Q6_K", T.Q6_K, 16)):
    b = blocks(qtype, n)
    values = q.dequantize(b, qtype).astype("<f4")
    b.tofile(f"{out}/{name}.blocks")
    values.tofile(f"{out}/{name}.f32")

x = rng.normal(0.0, 0.05, size=32 * 64).astype(np.float32)
x[:32] = 0.0          # an all-zero block
x[32:64] *= 1e-30     # subnormal-sized values
x.astype("<f4").tofile(f"{out}/q4_0_input.f32")
q.quantize(x.reshape(64, 32), T.Q4_0).tofile(f"{out}/q4_0_quantized.blocks")
