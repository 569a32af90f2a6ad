#!/usr/bin/env bash
# Runs the whole test suite: unit tests, golden tests on ../shared/corpus,
# and the differential tests against the kernel (skipped, loudly, without
# root or network namespaces).
#   ./scripts/test.sh              build in build/, run everything
#   ./scripts/test.sh --sanitize   build in build-asan/ with ASan+UBSan, run unit + golden tests
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh build >/dev/null
jobs=$(nproc)
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCTRACK_SANITIZE=ON \
        -DCTRACK_BUILD_BENCH=OFF >/dev/null
  ninja -C build-asan
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE kdiff
else
  ninja -C build
  ctest --test-dir build --output-on-failure -j "$jobs" -LE kdiff
  # The kernel differential suite runs on its own: it builds network
  # namespaces and must not run in parallel with itself.
  ctest --test-dir build --output-on-failure -L kdiff
fi
