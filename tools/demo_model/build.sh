#!/usr/bin/env bash
# Rebuilds the demo model from nothing: tokenizer, synthetic chats, training, exports.
# Needs Debian's python3-torch and libopenblas0-pthread (PyTorch on Debian's reference BLAS is
# ~10x slower), python3-jinja2, and a built qwenrt (build/qwenrt). Usage:
#   tools/demo_model/build.sh OUT_DIR [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:?usage: build.sh OUT_DIR [MINUTES]}"
minutes="${2:-50}"
work="$out/work"
mkdir -p "$work"
/usr/bin/python3 tools/demo_model/make_tokenizer.py tests/data/tokenizer/tokenizer.json tests/data/chat/templates/Qwen3.jinja "$work/tokenizer"
/usr/bin/python3 tools/demo_model/gen_data.py tests/data/chat/templates/Qwen3.jinja 200000 1 "$work/train.jsonl"
/usr/bin/python3 tools/demo_model/gen_data.py tests/data/chat/templates/Qwen3.jinja 2000 2 "$work/heldout.jsonl"
OPENBLAS_NUM_THREADS=2 /usr/bin/python3 tools/demo_model/train.py --data "$work/train.jsonl" --tokenizer "$work/tokenizer" \
  --qwenrt build/qwenrt --out "$out/qwen3-demo" --minutes "$minutes" | tee "$out/training.log"
build/qwenrt quantize "$out/qwen3-demo" "$out/qwen3-demo-q8_0.gguf" --type Q8_0
