#!/usr/bin/env bash
# Builds qwenrt and runs every test. Usage: scripts/test.sh [--sanitize]
#   --sanitize  a second build with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The OpenAI Node SDK for the server tests, at the version package-lock.json pins.
(cd tests/server && npm ci --no-audit --no-fund --loglevel=error)
build=build
flags=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  build=build-asan
  # -O1 -g1 (line tables, no locals): half the compile time of -O2 -g, which kept CI near its
  # 30-minute limit; reports still name files and lines.
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
         -DQWENRT_SANITIZE=ON -DQWENRT_BUILD_BENCH=OFF)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$build" -G Ninja "${flags[@]}"
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
