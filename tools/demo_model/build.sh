#!/usr/bin/env bash
# Rebuilds the demo model from nothing: tokenizer, synthetic chats, training, the exports under
# models/, the PyTorch reference logits and held-out sample under tests/data/demo, and the
# held-out evaluation measured with qwenrt.
# Needs Debian's python3-torch, python3-jinja2 and libopenblas0-pthread (PyTorch on Debian's reference
# BLAS is several times slower), and a built qwenrt (build/qwenrt). Usage:
#   tools/demo_model/build.sh [MINUTES]   (default 56; the training stops when the time is up)
#   TRAINED=DIR tools/demo_model/build.sh  (skip the training: export DIR, train.py's output)
#   TRAIN_ARGS="--export-every 15" tools/demo_model/build.sh  (more train.py flags)
# The step count depends on the machine's speed; train.py --max-steps N repeats a run exactly.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes="${1:-56}"
work="${WORK:-/tmp/qwenrt-demo-work}"
template=tests/data/chat/templates/Qwen3.jinja
mkdir -p "$work" tests/data/demo
/usr/bin/python3 tools/demo_model/make_tokenizer.py tests/data/tokenizer/tokenizer.json "$template" "$work/tokenizer"
/usr/bin/python3 tools/demo_model/gen_data.py "$template" 6000 2 "$work/heldout.jsonl" heldout
if [ -z "${TRAINED:-}" ]; then
  /usr/bin/python3 tools/demo_model/gen_data.py "$template" 450000 1 "$work/train.jsonl" train
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/demo_model/train.py --data "$work/train.jsonl" --tokenizer "$work/tokenizer" \
    --qwenrt build/qwenrt --out "$work/trained" --minutes "$minutes" ${TRAIN_ARGS:-} | tee "$work/trained.log"
  TRAINED="$work/trained"
  cp "$work/trained.log" "$TRAINED/training.log"
fi
mkdir -p models/qwen3-demo
cp "$TRAINED"/{config.json,generation_config.json,model.safetensors,tokenizer.json,tokenizer_config.json,training.log} models/qwen3-demo/
build/qwenrt quantize models/qwen3-demo models/qwen3-demo-q8_0.gguf --type Q8_0
# The tests' data: PyTorch's f32 logits of two chats, and the first 20 held-out prompts of each kind.
/usr/bin/python3 tools/demo_model/sample_heldout.py "$work/heldout.jsonl" 20 tests/data/demo/heldout.jsonl
/usr/bin/python3 tools/demo_model/reference_logits.py models/qwen3-demo tests/data/demo build/qwenrt \
  $'<|im_start|>user\nWhat is 1234 + 4321?<|im_end|>\n<|im_start|>assistant\n<think>\nAdd the digits' \
  $'<|im_start|>user\nCompute 57 × 3. /no_think<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n57 × 3 = 171.'
/usr/bin/python3 tools/demo_model/evaluate.py build/qwenrt "$work/heldout.jsonl" 400 models/qwen3-demo models/qwen3-demo-q8_0.gguf | tee "$work/eval.txt"
