#!/usr/bin/python3
"""Reference data for `qwenrt quantize`: llama.cpp's own quantizer (llama-quantize, built by you
outside this repository) run on the demo model's F32 export, each output tensor's type and the
SHA-256 of its bytes, for Q4_0 and the K mixes. test_export checks that qwenrt writes the same.

Usage: gen_llama_quantize_cases.py LLAMA_QUANTIZE GGUF_PY_DIR QWENRT OUT_JSON   (needs numpy)
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

llama_quantize, gguf_py, qwenrt, out = sys.argv[1:5]
sys.path.insert(0, gguf_py)
from gguf import GGUFReader  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
demo = os.path.join(root, "models", "qwen3-demo")
with open(os.path.join(demo, "model.safetensors"), "rb") as f:
    source_sha = hashlib.sha256(f.read()).hexdigest()
files = {}
with tempfile.TemporaryDirectory() as tmp:
    f32 = os.path.join(tmp, "f32.gguf")
    subprocess.run([qwenrt, "quantize", demo, f32, "--type", "F32", "--quiet"], check=True)
    for ftype in ("Q4_0", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"):
        path = os.path.join(tmp, ftype + ".gguf")
        subprocess.run([llama_quantize, f32, path, ftype, "1"], check=True, capture_output=True)
        r = GGUFReader(path)
        tensors = [{"name": t.name, "type": t.tensor_type.name, "sha256": hashlib.sha256(t.data.tobytes()).hexdigest()}
                   for t in r.tensors]
        file_type = int(r.fields["general.file_type"].parts[-1][0])
        files[ftype] = {"file_type": file_type, "tensors": tensors}
with open(out, "w") as f:
    json.dump({"source": "models/qwen3-demo (F32 export by qwenrt quantize)", "source_sha256": source_sha,
               "llama_quantize": "llama.cpp mid-2026 (kainlan/llama.cpp-intel-optimizations), CPU build, 1 thread",
               "files": files}, f, indent=1)
