#!/usr/bin/env bash
# Installs what is missing, builds in Release, checks formatting and the
# docs, and runs the whole test suite; then the unit and end-to-end tests
# again under AddressSanitizer and UndefinedBehaviorSanitizer, and each
# libFuzzer harness for a bounded time (as many at once as there are cores).
# Prints how long each stage took.
#   ./deploy/test.sh                       # everything
#   ATTEX_QUICK=1 ./deploy/test.sh         # the Release build, checks and suite only
#   ATTEX_FUZZ_SECONDS=60 ./deploy/test.sh # fuzz longer (default 20 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="$(nproc 2>/dev/null || echo 2)"

STAGES=()
stage_start=$SECONDS
# Ends the current stage under the name $1 and notes its time.
stage_done() {
  STAGES+=("$(printf '%5d s  %s' $((SECONDS - stage_start)) "$1")")
  stage_start=$SECONDS
}
print_stages() {
  echo "== stage times (total ${SECONDS} s)"
  printf '  %s\n' "${STAGES[@]}"
}
trap print_stages EXIT

attex_install_deps
stage_done "packages"

echo "== Format and docs checks"
./deploy/check_format.sh
stage_done "clang-format check"

echo "== Release build and tests"
attex_build "$BUILD_DIR"
stage_done "Release build"
./deploy/check_docs.sh "$BUILD_DIR"
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" --timeout 600)
stage_done "Release tests"

if [ "${ATTEX_QUICK:-0}" = 1 ]; then exit 0; fi

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
# -O1 -g1: line tables for the reports' stacks, a fraction of -O2 -g's
# compile time; no benchmarks.
attex_configure "$BUILD_DIR-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DATTEX_SANITIZE=ON -DATTEX_BUILD_BENCH=OFF \
  -DATTEX_UNITY_BUILD=ON
cmake --build "$BUILD_DIR-asan" -j "$JOBS"
stage_done "sanitizer build"
# Leaks inside Debian's uninstrumented libraries: tests/sanitizer/lsan.supp.
lsan_supp="$PWD/tests/sanitizer/lsan.supp"
(cd "$BUILD_DIR-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS="suppressions=$lsan_supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$JOBS" --timeout 900 -LE no_sanitizer)
stage_done "sanitizer tests"

echo "== libFuzzer harnesses, ${ATTEX_FUZZ_SECONDS:-20} s each"
CXX=clang++ attex_configure "$BUILD_DIR-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DATTEX_FUZZ=ON \
  -DATTEX_BUILD_TESTS=OFF -DATTEX_BUILD_BENCH=OFF -DATTEX_UNITY_BUILD=ON
fuzzers=(bid_request campaign campaign_json billing_token openrtb_request)
cmake --build "$BUILD_DIR-fuzz" -j "$JOBS" --target "${fuzzers[@]/%/_fuzzer}"
stage_done "fuzzer build"
# Runs harness $1 from its seeds for the bounded time; its log in $2.
run_fuzzer() {
  local f="$1" log="$2" corpus
  corpus="$(mktemp -d)"
  cp tests/fuzz/seeds/"$f"/* "$corpus"/
  local rc=0
  "$BUILD_DIR-fuzz/tests/fuzz/${f}_fuzzer" -max_total_time="${ATTEX_FUZZ_SECONDS:-20}" \
    -print_final_stats=1 -detect_leaks=1 -artifact_prefix="$corpus/" "$corpus" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$corpus" >"$log.corpus"
  else
    rm -rf "$corpus"
  fi
  return "$rc"
}
# As many harnesses at once as there are cores, each on one.
fuzz_logs="$(mktemp -d)"
failed=""
for ((i = 0; i < ${#fuzzers[@]}; i += JOBS)); do
  pids=()
  for f in "${fuzzers[@]:i:JOBS}"; do
    run_fuzzer "$f" "$fuzz_logs/$f.log" &
    pids+=("$!:$f")
  done
  for entry in "${pids[@]}"; do
    rc=0
    wait "${entry%%:*}" || rc=$?
    f="${entry#*:}"
    echo "-- $f: $(grep -E '^stat::number_of_executed_units' "$fuzz_logs/$f.log" || echo 'no stats') (exit $rc)"
    if [ "$rc" -ne 0 ]; then
      grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$fuzz_logs/$f.log" | head -20
      echo "fuzzer $f found a problem; the input is kept in $(cat "$fuzz_logs/$f.log.corpus")"
      failed="$failed $f"
    fi
  done
done
rm -rf "$fuzz_logs"
if [ -n "$failed" ]; then exit 1; fi
stage_done "fuzzing"
echo "fuzzing: no crash, leak or sanitizer report"
