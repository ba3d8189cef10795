#!/usr/bin/env bash
# Builds and runs the whole dnn2brain test suite on Debian 12, installing missing packages:
#  1. release build with warnings as errors: unit tests, real-data tests, examples, header
#     self-containment, two-TU ODR check, compile-time API check and the find_package consumer;
#  2. the unit tests, real-data tests and examples again under AddressSanitizer +
#     UndefinedBehaviorSanitizer (a Debug build at -O0, dnn2brain's internal asserts on);
#  3. every file reader under libFuzzer (clang, ASan + UBSan) for 20 s each, from the committed
#     seed corpora (scripts/fuzz.sh; a longer campaign is the same script with more seconds);
#  4. clang-format and clang-tidy.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_build_packages
ensure_packages catch2 clang-format clang-tidy

jobs=$(nproc)
echo "== release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DDNN2BRAIN_WERROR=ON \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release -j "$jobs" --output-on-failure

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
# -O0: with the sanitizers, -O1 compiles this template-heavy code 2.5x slower, and the tests
# still run in about a minute.
cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DDNN2BRAIN_SANITIZE=ON -DDNN2BRAIN_TEST_KERNEL_WIDTHS=OFF >/dev/null
cmake --build build/sanitize -j "$jobs" --target dnn2brain_sanitizer_programs
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/sanitize -j "$jobs" --output-on-failure -E "^(package|compile|odr)\."

scripts/fuzz.sh 20

echo "== clang-format"
files=$(git ls-files '*.hpp' '*.cpp' 2>/dev/null || find include tests examples bench -name '*.[hc]pp')
clang-format --dry-run -Werror $files

echo "== clang-tidy"
clang-tidy --quiet -p build/release tests/tidy/all_headers.cpp tests/tidy/io_headers.cpp

echo "== all tests passed"
