#!/usr/bin/env bash
# Builds qwenrt and runs the main job: a model's description, then a generation.
# Usage: scripts/run.sh [MODEL]   (default: the tiny Qwen3 test checkpoint shipped in tests/data)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
model="${1:-tests/data/models/qwen3-untied}"
./build/qwenrt info --model "$model"
echo "greedy continuation of tokens 39,289,75,78,263:"
./build/qwenrt generate --model "$model" --tokens 39,289,75,78,263 -n 16
echo "the chat prompt for one user turn, and the model's reply to it (a tiny random model: noise):"
printf '{"messages": [{"role": "user", "content": "Hello!"}], "add_generation_prompt": true}' |
  ./build/qwenrt render --model "$model" --request -
./build/qwenrt generate --model "$model" --chat "Hello!" -n 16
echo
echo "qwenrt run, one-shot, with sampling (same seed, same answer):"
./build/qwenrt run "$model" "Say hello." --seed 1 --temperature 0.7 -n 16 --verbose
