#!/usr/bin/env bash
# Builds the dnn2brain example programs on Debian 12 (installing missing packages) and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_build_packages

# -march=native: the kernels use this machine's vector width (AVX2 or AVX-512), as users' builds do.
cmake -S . -B build/examples -DCMAKE_BUILD_TYPE=Release -DDNN2BRAIN_BUILD_TESTS=OFF \
  -DDNN2BRAIN_BUILD_EXAMPLES=ON -DCMAKE_CXX_FLAGS="-march=native" >/dev/null
cmake --build build/examples -j "$(nproc)"
# The main program first: Fig. 1 on the planted-truth dataset (writes ./dnn2brain-fig1).
echo "== examples/fig1_functional_map"
build/examples/examples/fig1_functional_map --out dnn2brain-fig1
# The other figures, each into ./dnn2brain-<figure> (docs/figures.md).
for figure in fig2_top3_rois fig3a_grouped_searchlight fig3b_grouped_rois task_similarity; do
  echo "== examples/$figure"
  "build/examples/examples/$figure"
done
for example in rdm_compare quickstart roi_regression searchlight; do
  echo "== examples/$example"
  "build/examples/examples/$example"
done
