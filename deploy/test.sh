#!/usr/bin/env bash
# Installs what is missing, builds in Release, and runs the whole test suite;
# then the unit and end-to-end tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and each libFuzzer harness for a bounded time.
#   ./deploy/test.sh                       # everything
#   ATTEX_QUICK=1 ./deploy/test.sh         # the Release suite only
#   ATTEX_FUZZ_SECONDS=60 ./deploy/test.sh # fuzz longer (default 20 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="$(nproc 2>/dev/null || echo 2)"
attex_install_deps

echo "== Release build and tests"
attex_build "$BUILD_DIR"
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" --timeout 600)

if [ "${ATTEX_QUICK:-0}" = 1 ]; then exit 0; fi

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake -S . -B "$BUILD_DIR-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTEX_SANITIZE=ON \
  -DATTEX_BUILD_BENCH=OFF
cmake --build "$BUILD_DIR-asan" -j "$JOBS"
(cd "$BUILD_DIR-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$JOBS" --timeout 900 -LE no_sanitizer)

echo "== libFuzzer harnesses, ${ATTEX_FUZZ_SECONDS:-20} s each"
CXX=clang++ cmake -S . -B "$BUILD_DIR-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTEX_FUZZ=ON \
  -DATTEX_BUILD_TESTS=OFF -DATTEX_BUILD_BENCH=OFF
fuzzers=(bid_request campaign campaign_json billing_token)
cmake --build "$BUILD_DIR-fuzz" -j "$JOBS" --target "${fuzzers[@]/%/_fuzzer}"
for f in "${fuzzers[@]}"; do
  corpus="$(mktemp -d)"
  log="$(mktemp)"
  cp tests/fuzz/seeds/"$f"/* "$corpus"/
  rc=0
  "$BUILD_DIR-fuzz/tests/fuzz/${f}_fuzzer" -max_total_time="${ATTEX_FUZZ_SECONDS:-20}" \
    -print_final_stats=1 -detect_leaks=1 -artifact_prefix="$corpus/" "$corpus" >"$log" 2>&1 || rc=$?
  echo "-- $f: $(grep -E '^stat::number_of_executed_units' "$log" || echo 'no stats') (exit $rc)"
  if [ "$rc" -ne 0 ]; then
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20
    echo "fuzzer $f found a problem; the input is kept in $corpus"
    exit 1
  fi
  rm -rf "$corpus" "$log"
done
echo "fuzzing: no crash, leak or sanitizer report"
