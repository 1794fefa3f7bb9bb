#!/usr/bin/env bash
# Installs the Debian packages qwenrt needs to build and test. Safe to run repeatedly.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcli11-dev libfmt-dev
  libcpp-httplib-dev libcurl4-openssl-dev libgtest-dev libbenchmark-dev
)
# The server tests drive qwenrt with the official OpenAI Node SDK: Node.js and npm, from Debian
# when the machine has none of its own.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
