#!/usr/bin/env bash
# Builds qwenrt and runs the main job: the built-in demo model answering questions, thinking first.
# Usage: scripts/run.sh [MODEL]   (a model directory, .gguf file or Hugging Face repo id instead of
# the demo model: it is described, then asked the same questions)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
model=("$@")
if [ ${#model[@]} -gt 0 ]; then ./build/qwenrt info --model "${model[0]}"; fi
show() { printf '\n$ qwenrt run %s\n' "$*"; ./build/qwenrt run "${model[@]}" "$@"; }
show "What is 2468 + 1357?"
show "What is 87 × 6?" --verbose
show "What is 1234 + 4321? /no_think"
show --hide-thinking "What is 4096 - 1234?"
