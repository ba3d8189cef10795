#!/usr/bin/env bash
# Builds the libFuzzer harnesses of the readers (clang, ASan + UBSan) and runs each for a given
# time, as many at once as there are cores:
#   scripts/fuzz.sh [SECONDS] [READER...]     (default: 20 s each, all readers)
# FUZZ_RUNS=N stops each reader after N executions instead (SECONDS still bounds it; 0: no limit);
# FUZZ_JOBS=J runs J readers at once (default: the number of cores).
# Readers: npy npz nifti nifti_gz mat_v5 mat_v73 neighbor_table. Each starts from the committed
# seeds in tests/fuzz/corpus/<reader> plus what earlier runs found (build/fuzz/corpus/<reader>; the
# committed seeds are never modified). A crash, a sanitizer report, an exception other than io_error,
# an allocation over FUZZ_MALLOC_LIMIT_MB (256) or an input slower than 10 s fails the script; the
# input is saved under build/fuzz/findings/<reader>/ and printed with the report.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_build_packages
ensure_packages clang-14 libclang-rt-14-dev

seconds=${1:-20}
shift || true
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(npy npz nifti nifti_gz mat_v5 mat_v73 neighbor_table)

build=build/fuzz
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE= \
  -DDNN2BRAIN_BUILD_FUZZERS=ON -DDNN2BRAIN_BUILD_TESTS=OFF -DDNN2BRAIN_BUILD_EXAMPLES=OFF \
  -DDNN2BRAIN_USE_OPENMP=OFF >/dev/null
binary_of() {
  case $1 in
    mat_v5 | mat_v73) echo fuzz_mat ;;
    *) echo "fuzz_$1" ;;
  esac
}
targets=()
for reader in "${readers[@]}"; do
  [ -d "tests/fuzz/corpus/$reader" ] || { echo "unknown reader '$reader'" >&2; exit 2; }
  targets+=("$(binary_of "$reader")")
done
if [ ${#readers[@]} -ge 7 ]; then
  cmake --build "$build" -j "$(nproc)" --target dnn2brain_fuzzers
else
  cmake --build "$build" -j "$(nproc)" --target $(printf '%s\n' "${targets[@]}" | sort -u)
fi

run() {
  local reader=$1 log="$build/logs/$1.log"
  local corpus="$build/corpus/$reader" findings="$build/findings/$reader"
  mkdir -p "$corpus" "$findings" "$build/logs"
  # Harness files go to a private directory on tmpfs when there is one.
  local tmp
  tmp=$(mktemp -d "${FUZZ_TMPDIR:-/dev/shm}/dnn2brain-fuzz.XXXXXX" 2>/dev/null || mktemp -d)
  local status=0
  TMPDIR=$tmp ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
    LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/$(binary_of "$reader")" "$corpus" "tests/fuzz/corpus/$reader" \
    -max_total_time="$seconds" -runs="${FUZZ_RUNS:--1}" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb="${FUZZ_MALLOC_LIMIT_MB:-256}" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?
  rm -rf "$tmp"
  local runs rate
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/.* exec\/s: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  printf '%-15s %10s executions %7s exec/s %5s corpus  %s\n' "$reader" "${runs:-?}" "${rate:-?}" \
    "$(ls "$corpus" | wc -l)" "$([ $status -eq 0 ] && echo ok || echo "FAILED (see $log)")"
  if [ $status -ne 0 ]; then
    grep -E "ERROR|SUMMARY|terminate|uncaught|malloc|Test unit written" "$log" | head -20 >&2
    return 1
  fi
}

echo "== fuzzing ${readers[*]} for ${seconds} s each"
failed=0
pids=()
for reader in "${readers[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "${FUZZ_JOBS:-$(nproc)}" ]; do wait -n || failed=1; done
  run "$reader" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
[ $failed -eq 0 ] || { echo "fuzzing found a problem" >&2; exit 1; }
