#!/usr/bin/env bash
# Builds the dnn2brain example programs on Debian 12 (installing missing packages) and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_build_packages

cmake -S . -B build/examples -DCMAKE_BUILD_TYPE=Release -DDNN2BRAIN_BUILD_TESTS=OFF \
  -DDNN2BRAIN_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/examples -j "$(nproc)"
for example in rdm_compare quickstart roi_regression searchlight; do
  echo "== examples/$example"
  "build/examples/examples/$example"
done
